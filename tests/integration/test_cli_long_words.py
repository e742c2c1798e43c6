"""A command line's word that argparse quotes in an error (an unknown command, a value a check
refused, a word it did not recognise) is shortened to at most 80 characters with an ellipsis,
escaped as the rest of the output is, and masked first when it holds a key."""

from __future__ import annotations

import pytest

from tests.conftest import TOKEN
from tests.helpers import run_cli

LONG = "w" * 100_000
ESCAPES = "\x1b[31m" * 5_000  # red, 5 000 times: 25 000 characters, each ESC an escape


def shown_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "error:" in line]


@pytest.mark.parametrize("argv", [
    [LONG],                                    # invalid choice (the command)
    ["run", "--all", LONG],                    # run takes ids or --all: one or the other
    ["status", LONG],                          # unrecognized arguments
    ["--port", LONG],                          # invalid port_number value
    ["--provider", "x y " * 20_000],           # invalid choice, blanks inside
    ["--namespace", "N" * 100_000],            # a check's own message quoting it
    [f"--runtime={LONG}"],                     # as --option=value
    ["serve", "--max-tabs", LONG],
], ids=["command", "run", "unrecognized", "port", "provider", "namespace", "equals", "tabs"])
def test_a_long_word_is_shortened_in_the_error(cli_env: dict[str, str], argv: list[str]) -> None:
    """Before: `agw-sandbox <100 000 characters>` wrote all of them to stderr."""
    done = run_cli(*argv, env=cli_env, timeout=30)
    assert done.returncode == 2, done.stderr[:300]
    assert len(done.stderr) < 2_000, done.stderr[:300]
    assert "…" in done.stderr and "w" * 81 not in done.stderr, done.stderr[-600:]


def test_a_long_word_of_control_characters_is_escaped_and_shortened(
        cli_env: dict[str, str]) -> None:
    done = run_cli(ESCAPES, env=cli_env, timeout=30)
    assert done.returncode == 2
    assert "\x1b" not in done.stderr and "\\u001b[31m" in done.stderr
    quoted = done.stderr.split("invalid choice: '", 1)[1].split("'", 1)[0]
    assert len(quoted) <= 80 and quoted.endswith("…"), quoted
    assert not quoted[:-1].endswith(("\\", "\\u", "\\u0", "\\u00", "\\u001")), quoted


def test_a_key_at_the_end_of_a_long_word_is_masked_not_cut(cli_env: dict[str, str]) -> None:
    done = run_cli("x" * 60 + TOKEN, env=cli_env, timeout=30)
    assert done.returncode == 2
    assert TOKEN[3:15] not in done.stderr and TOKEN[-8:] not in done.stderr, done.stderr


def test_a_short_word_is_quoted_whole(cli_env: dict[str, str]) -> None:
    done = run_cli("stauts", env=cli_env, timeout=30)
    assert "invalid choice: 'stauts'" in done.stderr and "…" not in done.stderr
