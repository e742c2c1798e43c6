"""A bug that ends the app is said as one, after the terminal is restored, with nothing of a key:
Textual's own report is a traceback with every frame's local variables, a key among them."""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import TOKEN
from tests.integration.test_cli_signals import Terminal

# The app, with a bug of the test's own where the key is a local variable: in a message handler
# (the first screen's mount) or in a worker of the app's (as its start-up is).
_PROGRAM = textwrap.dedent("""
    import os, sys
    from sandbox.cli import main
    from sandbox.tui.app import SandboxApp

    def in_handler(self):
        key = os.environ["AGW_SANDBOX_TOKEN"]
        raise RuntimeError("cannot use " + key)

    def in_worker(self):
        async def failing():
            key = os.environ["AGW_SANDBOX_TOKEN"]
            raise ValueError({{"key": key}})
        self.run_worker(failing(), exit_on_error=True)

    SandboxApp.on_mount = {where}
    sys.argv = ["agw-sandbox", "--runtime", "sim", "--port", "0"]
    sys.exit(main())
""")


def _crash(where: str, env: dict[str, str], folder: Path) -> tuple[int, str]:
    program = folder / "crashing.py"  # a file: a traceback shows its lines
    program.write_text(_PROGRAM.format(where=where))
    terminal = Terminal([sys.executable, str(program)],
                        {**env, "TERM": "xterm-256color", "TEXTUAL_ANIMATIONS": "none"})
    try:
        terminal.read_until(lambda: False, 60)  # everything, up to EOF
        return terminal.process.wait(timeout=10), terminal.output.decode(errors="replace")
    finally:
        terminal.close()


@pytest.mark.parametrize(("where", "error"), [("in_handler", "RuntimeError"),
                                              ("in_worker", "ValueError")])
def test_a_bug_in_the_app_is_said_once_the_terminal_is_restored_without_the_key(
        cli_env: dict[str, str], tmp_path: Path, where: str, error: str) -> None:
    code, output = _crash(where, cli_env, tmp_path)
    assert code == 70
    assert output.rindex("\x1b[?1049l") < output.index("agw-sandbox: internal error")  # restored
    assert re.search(rf"internal error \({error}( at [^)]+)?\); this is a bug in agw-sandbox",
                     output)
    assert "AGW_SANDBOX_DEBUG=1" in output
    assert TOKEN not in output and TOKEN[-10:] not in output
    assert "Traceback" not in output and "locals" not in output


def test_the_details_of_a_bug_in_the_app_are_its_traceback_masked_without_locals(
        cli_env: dict[str, str], tmp_path: Path) -> None:
    code, output = _crash("in_handler", {**cli_env, "AGW_SANDBOX_DEBUG": "1"}, tmp_path)
    assert code == 70
    assert "Traceback (most recent call last)" in output
    assert re.search(r"RuntimeError: cannot use sk-…\S{4}\s", output), output[-600:]
    assert TOKEN not in output and TOKEN[-10:] not in output
    assert 'raise RuntimeError("cannot use " + key)' in output  # the line, as a traceback shows it
    assert "key = 'sk" not in output  # not its value, as a traceback with locals would
