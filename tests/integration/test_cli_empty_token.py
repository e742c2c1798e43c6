"""`--token ''` (a variable that was meant to hold the key, and was empty) is refused, whatever
AGW_SANDBOX_TOKEN holds: it never stands for another key quietly."""

from __future__ import annotations

import pytest

from tests.conftest import TOKEN
from tests.helpers import run_cli


@pytest.mark.parametrize("argv", [
    ["run", "inline", "--runtime", "sim", "--port", "0", "--token", ""],
    ["run", "inline", "--runtime", "sim", "--port", "0", "--token="],
    ["mock-provider", "--port", "0", "--token", ""],
    ["serve", "--port", "0", "--token", ""],
], ids=["run", "run-equals", "mock-provider", "serve"])
def test_an_empty_token_is_refused(cli_env: dict[str, str], argv: list[str]) -> None:
    done = run_cli(*argv, env={**cli_env, "AGW_SANDBOX_TOKEN": TOKEN}, timeout=60)
    assert done.returncode == 2, done.stdout[-500:] + done.stderr
    assert "--token is empty: it gives no key" in done.stderr, done.stderr
    assert "leave --token out" in done.stderr
    assert TOKEN[8:] not in done.stdout + done.stderr
