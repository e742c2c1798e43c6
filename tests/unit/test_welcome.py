"""The first screen's key line follows the CLI's precedence and never shows a key whole."""

from __future__ import annotations

from sandbox.settings import DEMO_TOKEN, resolve_token
from sandbox.tui.welcome import describe_key, key_for, key_origin, setup_plan
from tests.conftest import OTHER_TOKEN, TOKEN


def test_an_agw_sandbox_token_is_named_and_masked_not_called_a_demo_key() -> None:
    env = {"AGW_SANDBOX_TOKEN": TOKEN}
    token = resolve_token("mock", None, env)
    line = describe_key(token, key_origin(token, env))
    assert line == "your key sk-…c5Ge, from AGW_SANDBOX_TOKEN"
    assert "demo" not in line and TOKEN not in line


def test_the_demo_key_is_called_so() -> None:
    assert describe_key(DEMO_TOKEN, key_origin(DEMO_TOKEN, {})).startswith(
        "the sandbox's demo key sk-…")


def test_openai_takes_the_flag_before_either_variable() -> None:
    env = {"OPENAI_API_KEY": OTHER_TOKEN, "AGW_SANDBOX_TOKEN": "sk-test-agw-0000000000"}
    cli_token = resolve_token("openai", TOKEN, env)  # agw-sandbox --provider openai --token …
    assert key_for("openai", cli_token, env) == TOKEN
    assert key_origin(cli_token, env) == "--token"


def test_openai_takes_agw_sandbox_token_before_openai_api_key() -> None:
    env = {"OPENAI_API_KEY": OTHER_TOKEN, "AGW_SANDBOX_TOKEN": TOKEN}
    mock_token = resolve_token("mock", None, env)  # started with the mock, then switched
    assert key_for("openai", mock_token, env) == TOKEN


def test_switching_to_openai_finds_openai_api_key_and_back_to_the_mock_drops_it() -> None:
    env = {"OPENAI_API_KEY": OTHER_TOKEN}
    assert key_for("openai", resolve_token("mock", None, env), env) == OTHER_TOKEN
    openai_token = resolve_token("openai", None, env)
    assert key_for("mock", openai_token, env) == DEMO_TOKEN  # a real key never goes to the mock
    assert key_for("openai", DEMO_TOKEN, {}) == ""


def test_the_plan_names_the_runtime_or_says_it_is_still_being_detected() -> None:
    assert "detect the runtime" in setup_plan(None, 0, False)[0]
    assert setup_plan("sim", 0, False)[0] == "start the simulated gateway on a free local port"
    assert "127.0.0.1:8080" in setup_plan("kind", 8080, True)[1]
