"""Enter, Ctrl+P and Enter arriving together (a quick typist, a `serve` tab on slow Wi-Fi) leave
the app running: the palette they open is closed once, never with the screen under it."""

from __future__ import annotations

import os
import select
import sys
import time

import pytest

from tests.integration.test_cli_signals import Terminal


@pytest.mark.parametrize("burst", [b"\r\x10\r", b"\r\x10zzzz\r", b"\x10\r\r"])
def test_enter_ctrl_p_enter_in_one_write_leaves_the_app_answering(
        cli_env: dict[str, str], burst: bytes) -> None:
    terminal = Terminal([sys.executable, "-m", "sandbox", "--runtime", "sim", "--port", "0"],
                        {**cli_env, "TERM": "xterm-256color", "TEXTUAL_ANIMATIONS": "none"})
    try:
        terminal.read_until(lambda: b"Welcome" in terminal.output, 60)
        time.sleep(1.0)  # the runtime detected: Start starts at once
        for _ in range(3):
            os.write(terminal.master, burst)
            _drain(terminal, 2.0)
            assert terminal.process.poll() is None, terminal.output[-2000:]
        before = len(terminal.output)
        # F1: the app still answers keys (it redraws; what it shows depends on which screen
        # the burst left on top: the palette's first command may have opened the help)
        os.write(terminal.master, b"\x1bOP")
        terminal.read_until(lambda: len(terminal.output) > before, 30)
        _quit(terminal)
    finally:
        terminal.close()


def _quit(terminal: Terminal) -> None:
    """Ctrl+Q: the app ends as asked (exit 0), not on an error."""
    os.write(terminal.master, b"\x11")
    terminal.read_until(lambda: False, 30)
    assert terminal.process.wait(timeout=10) == 0
    assert b"internal error" not in terminal.output


def _drain(terminal: Terminal, seconds: float) -> None:
    """Read what the app writes for a while (its answer to the burst)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not terminal.closed:
        ready, _, _ = select.select([terminal.master], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(terminal.master, 65536)
            except OSError:  # EIO: the app has gone
                chunk = b""
            terminal.output += chunk
            terminal.closed = not chunk


@pytest.mark.parametrize("burst", [b"\r\x10", b"\r\x10\r"])
def test_a_burst_starts_and_its_palette_closes_with_esc(
        cli_env: dict[str, str], burst: bytes) -> None:
    """Enter (Start) and Ctrl+P together: the walkthrough is shown, the palette over it (or its
    command run, with the last Enter); an Esc after that closes it and the app stays."""
    terminal = Terminal([sys.executable, "-m", "sandbox", "--runtime", "sim", "--port", "0"],
                        {**cli_env, "TERM": "xterm-256color", "TEXTUAL_ANIMATIONS": "none"})
    try:
        terminal.read_until(lambda: b"Welcome" in terminal.output, 60)
        time.sleep(1.0)  # the runtime detected: Start starts at once
        os.write(terminal.master, burst)
        terminal.read_until(lambda: b"Scenarios" in terminal.output, 30)
        if burst == b"\r\x10":
            terminal.read_until(lambda: b"Search for commands" in terminal.output, 30)
        time.sleep(0.5)
        os.write(terminal.master, b"\x1b")  # Escape: closes the palette (if still open)
        _drain(terminal, 2.0)
        assert terminal.process.poll() is None, terminal.output[-2000:]
        before = len(terminal.output)
        os.write(terminal.master, b"\x1bOP")  # F1: the help of the walkthrough's scenario list
        terminal.read_until(lambda: b"Each line is one" in terminal.output[before:], 30)
        _quit(terminal)
    finally:
        terminal.close()


def test_esc_twice_to_close_the_palette_on_the_welcome_leaves_the_app(
        cli_env: dict[str, str]) -> None:
    """Ctrl+P on the first screen, then Esc twice in quick succession (to be sure it closed):
    the palette closes and the first screen stays; the second was not an Esc to quit."""
    terminal = Terminal([sys.executable, "-m", "sandbox", "--runtime", "sim", "--port", "0"],
                        {**cli_env, "TERM": "xterm-256color", "TEXTUAL_ANIMATIONS": "none"})
    try:
        terminal.read_until(lambda: b"Welcome" in terminal.output, 60)
        time.sleep(1.0)  # the runtime detected, the first screen settled
        os.write(terminal.master, b"\x10")
        terminal.read_until(lambda: b"Search for commands" in terminal.output, 30)
        time.sleep(0.5)
        os.write(terminal.master, b"\x1b")
        time.sleep(0.2)  # apart enough to be read as two keys (ESC ESC is Alt+Esc)
        os.write(terminal.master, b"\x1b")
        _drain(terminal, 2.0)
        assert terminal.process.poll() is None, terminal.output[-2000:]
        before = len(terminal.output)
        os.write(terminal.master, b"\x1bOP")  # F1: the first screen's help
        terminal.read_until(lambda: b"Choose a provider" in terminal.output[before:], 30)
        _quit(terminal)
    finally:
        terminal.close()
