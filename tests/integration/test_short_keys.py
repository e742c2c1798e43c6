"""AC1: a placeholder in a key's place (`OPENAI_API_KEY=test`, `the`, `a`), too short to be an
API key, does not hide those words in what people wrote: the scenarios' prose, the step titles,
what a walkthrough says of them. Where the key stands (the answer that echoes it) it is still
masked."""

from __future__ import annotations

import pytest

from sandbox.walkthrough.masking import Masker
from tests.helpers import run_cli


@pytest.mark.parametrize("placeholder", ["test", "the", "openai", "a"])
def test_a_placeholder_key_leaves_the_scenarios_words_alone(
        cli_env: dict[str, str], placeholder: str) -> None:
    env = {name: value for name, value in cli_env.items() if name != "AGW_SANDBOX_TOKEN"}
    env["OPENAI_API_KEY"] = placeholder
    listed = run_cli("scenarios", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "Set up the gateway" in listed.stdout and "Key inline in the Backend" in listed.stdout
    ran = run_cli("run", "inline", "--runtime", "sim", "--port", "0", "-v", env=env)
    assert ran.returncode == 0, ran.stderr
    assert "for a quick test only." in ran.stdout
    assert "Route /openai to the Backend" in ran.stdout


def test_a_short_key_in_use_is_masked_where_it_stands_not_in_prose(
        cli_env: dict[str, str]) -> None:
    env = {**cli_env, "AGW_SANDBOX_TOKEN": "test"}
    ran = run_cli("run", "inline", "--runtime", "sim", "--port", "0", "-v", env=env)
    assert ran.returncode == 0, ran.stderr
    assert "for a quick test only." in ran.stdout
    assert "the API key … in its Authorization header" in ran.stdout  # the mock's echo


def test_a_masker_for_prose_skips_keys_shorter_than_any_api_key() -> None:
    assert Masker(["test", "sk-test-Zq8rTfW3nLp6Yx2V"], short=False)(
        "a quick test with sk-test-Zq8rTfW3nLp6Yx2V") == "a quick test with sk-…Yx2V"
    assert Masker(["test"])("a quick test") == "a quick …"
