"""The CLI writes no byte of a terminal escape sequence that came from a scenario folder, a file
name or a provider's answer: each is shown as an escape (``\\u001b``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import TOKEN
from tests.untrusted_text import BIDI, C1, CSI, OSC0, OSC8, OSC52, echo_scenario

# What a provider could answer with (no NUL: it has to pass through argv as --set).
ANSWER = f"gpt-4o {OSC52}{OSC0}{OSC8}{CSI}{C1}{BIDI}"
RAW_BYTES = (b"\x1b", b"\x07", "\x9b".encode(), "\u202e".encode())


def cli(*args: str, env: dict[str, str], cwd: Path | None = None) -> tuple[int, bytes, bytes]:
    """The exit code and the exact bytes written to stdout and stderr."""
    done = subprocess.run([sys.executable, "-m", "sandbox", *args], env=env, cwd=cwd,
                          capture_output=True, timeout=90, check=False)
    return done.returncode, done.stdout, done.stderr


def no_raw(data: bytes) -> bool:
    return not [raw for raw in RAW_BYTES if raw in data]


def test_listing_a_folder_whose_name_holds_escapes_writes_none(cli_env: dict[str, str],
                                                               tmp_path: Path) -> None:
    folder = echo_scenario(tmp_path / f"w{OSC52}s{OSC0}{C1}")
    code, out, err = cli("scenarios", "--scenarios", str(folder), env=cli_env)
    assert code == 0, err
    assert no_raw(out + err)
    assert "echo           The model echoed  (" in out.decode()
    assert "w\\u001b]52;c;ZWNobyBvd25lZA==\\u0007s\\u001b]0;OWNED-TITLE\\u0007\\u009b31m" \
        in out.decode()


def test_check_names_each_hidden_character_and_writes_none(cli_env: dict[str, str],
                                                           tmp_path: Path) -> None:
    folder = echo_scenario(tmp_path / "hostile")
    text = (folder / "echo.yaml").read_text()
    (folder / "echo.yaml").write_text(
        text.replace("title: The model echoed", 'title: "T \\e]52;c;b3duZWQ=\\a"')
        .replace("summary: The provider names the model it answers as.",
                 'summary: "\\x9b2J \\u202eThe provider"'))
    code, out, err = cli("scenarios", "--check", str(folder), env=cli_env)
    assert code == 2 and no_raw(out + err)
    message = err.decode()
    assert "echo.yaml:2: 'title' holds the control character U+001B (ESC) at position 3" \
        in message
    assert "echo.yaml:4: 'summary' holds the control character U+009B (CSI) at position 1" \
        in message


def test_check_shows_an_emoji_selector_in_a_header_name_as_an_escape(
        cli_env: dict[str, str], tmp_path: Path) -> None:
    folder = echo_scenario(tmp_path / "selector")
    text = (folder / "echo.yaml").read_text()
    (folder / "echo.yaml").write_text(text.replace("      path: /openai", '      path: /openai\n'
                                                   '      headers: {"x\\uFE0Fa": b}', 1))
    code, out, err = cli("scenarios", "--check", str(folder), env=cli_env)
    assert code == 2 and "\ufe0f".encode() not in out + err
    assert "header name 'x\\ufe0fa' is not valid: use letters, digits and dashes" \
        in err.decode()


def test_an_error_quoting_a_path_writes_no_escape(cli_env: dict[str, str],
                                                  tmp_path: Path) -> None:
    code, out, err = cli("run", "setup", "--runtime", "sim", "--scenarios",
                         str(tmp_path / f"missing{OSC0}{CSI}"), env=cli_env)
    assert code == 2 and no_raw(out + err)
    assert "missing\\u001b]0;OWNED-TITLE\\u0007\\u001b[2J" in err.decode()


def test_run_shows_a_provider_answer_with_escapes_as_text(cli_env: dict[str, str],
                                                          tmp_path: Path) -> None:
    folder = echo_scenario(tmp_path / "echo")
    code, out, err = cli("run", "echo", "--runtime", "sim", "--port", "0", "-v", "--scenarios",
                         str(folder), "--set", f"model={ANSWER}", env=cli_env)
    assert code == 0, (out + err).decode()
    assert no_raw(out + err)
    text = out.decode()
    assert "model gpt-4o \\u001b]52;c;ZWNobyBvd25lZA==\\u0007\\u001b]0;OWNED-TITLE" in text
    assert "answering as gpt-4o \\u001b]52;c;" in text  # the answer itself
    assert "stream:   Hello from the mock provider, answering as gpt-4o \\u001b]52" in text
    assert "\\u009b31m\\u202edesrever\\u202c" in text and TOKEN not in text


def test_run_json_escapes_them_and_stays_the_same_document(cli_env: dict[str, str],
                                                           tmp_path: Path) -> None:
    folder = echo_scenario(tmp_path / "echo")
    code, out, err = cli("run", "echo", "--runtime", "sim", "--port", "0", "--json",
                         "--scenarios", str(folder), "--set", f"model={ANSWER}", env=cli_env)
    assert code == 0, (out + err).decode()
    assert no_raw(out + err)
    document = json.loads(out)
    ask = next(s for s in document["scenarios"][-1]["steps"] if s["id"] == "ask")
    assert ask["response"]["model"] == ANSWER


def test_ids_and_names_from_the_command_line_are_quoted_without_escapes(
        cli_env: dict[str, str]) -> None:
    code, out, err = cli("run", f"x{OSC0}", "--all", env=cli_env)  # an argparse error
    assert code == 2 and no_raw(out + err)
    assert "got x\\u001b]0;OWNED-TITLE\\u0007 and --all" in err.decode()
    code, out, err = cli("run", "setup", "--runtime", "cluster", "--yes", "--context",
                         f"c{OSC0}", env=cli_env)  # refused as it is read, quoted
    assert code == 2 and no_raw(out + err)
    assert "--context: 'c\\u001b]0;OWNED-TITLE\\u0007' has a control or invisible character" \
        in err.decode()
