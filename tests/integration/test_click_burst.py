"""A click on Start then a click on Quit in one read (a double-click that drifts, a person who
changes their mind, a `serve` tab's two frames): the app quits as asked, never as a bug."""

from __future__ import annotations

import os
import re
import sys

import pytest

from tests.integration.test_cli_signals import Terminal
from tests.integration.test_palette_burst import _drain


def click(column: int, row: int) -> bytes:
    """A left click as an xterm sends it in SGR mode (1-based cells): press, then release."""
    return f"\x1b[<0;{column};{row}M\x1b[<0;{column};{row}m".encode()


_MOVE = re.compile(rb"\x1b\[(\d+);(\d+)H((?:(?!\x1b\[\d+;\d+H).)*)", re.DOTALL)
_STYLE = re.compile(rb"\x1b\[[\d;]*m")


def where(output: bytes, label: bytes) -> tuple[int, int]:
    """The cell (column, row; 1-based) where the app last drew ``label``, read from the cursor
    moves it wrote: each starts a run of text, drawn cell by cell."""
    for match in reversed(list(_MOVE.finditer(output))):
        text = _STYLE.sub(b"", match[3])
        if label in text:
            return int(match[2]) + len(text[:text.index(label)].decode()), int(match[1])
    raise AssertionError(f"{label!r} is not on the screen")


@pytest.mark.parametrize("order", [("Start", "Quit"), ("Start", "Start", "Quit"),
                                   ("Start", "Quit", "Quit")], ids="-".join)
def test_start_then_quit_clicked_in_one_write_quits_cleanly(
        cli_env: dict[str, str], order: tuple[str, ...]) -> None:
    terminal = Terminal([sys.executable, "-m", "sandbox", "--runtime", "sim", "--port", "0"],
                        {**cli_env, "TERM": "xterm-256color", "TEXTUAL_ANIMATIONS": "none"})
    try:
        terminal.read_until(lambda: b"Welcome" in terminal.output, 60)
        _drain(terminal, 1.5)  # the runtime detected: Start starts at once
        burst = b"".join(click(*where(bytes(terminal.output), f" {label} ".encode()))
                         for label in order)
        os.write(terminal.master, burst)
        terminal.read_until(lambda: False, 30)  # until the app has gone
        assert terminal.process.wait(timeout=10) == 0, terminal.output[-2000:]
        assert b"internal error" not in terminal.output
    finally:
        terminal.close()
