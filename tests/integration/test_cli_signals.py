"""Stop signals as a service manager or a closing terminal sends them: `forward` and the app."""

from __future__ import annotations

import asyncio
import fcntl
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TOKEN
from tests.integration.test_kind_runtime import controller, fakes, free_port
from tests.kubeemu import ApplyingEmulator, install_gateway_api

__all__ = ["fakes"]  # a fixture, used by name


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.kmock(cls=ApplyingEmulator)
async def test_forward_shows_its_address_at_once_and_sigterm_stops_it(
        fakes: Path, kmock: Any, podman_socket: str) -> None:
    """`agw-sandbox forward | tee log`, later stopped by `kill`: the address line is there
    immediately, and SIGTERM gets a message, exit code 143 and the port-forward gone."""
    install_gateway_api(kmock)
    port = free_port()
    env = {**os.environ, "DOCKER_HOST": podman_socket, "AGW_SANDBOX_TOKEN": TOKEN}
    async with controller(kmock):
        cli = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "sandbox", "forward", "--runtime", "kind", "--port",
            str(port), env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        assert cli.stdout is not None and cli.stderr is not None
        try:
            seen = ""
            async with asyncio.timeout(60):
                while "Press Ctrl+C" not in seen:
                    line = (await cli.stdout.readline()).decode()
                    assert line, seen
                    seen += line
            assert f"The gateway is at http://127.0.0.1:{port}" in seen
            assert listening(port)
            cli.send_signal(signal.SIGTERM)
            stderr = (await asyncio.wait_for(cli.stderr.read(), 30)).decode()
            await asyncio.wait_for(cli.wait(), 30)
        finally:  # a failed assertion must not leave the port-forward running
            if cli.returncode is None:
                cli.kill()
                await cli.wait()
    assert cli.returncode == 143, stderr
    assert "agw-sandbox: stopped by SIGTERM; everything it started has been stopped" in stderr
    assert "Traceback" not in stderr
    assert not listening(port)


class Terminal:
    """The app's side of a pseudo-terminal, and everything the app wrote to it."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 110, 0, 0))
        self.process = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env)
        os.close(slave)
        self.output = bytearray()
        self.closed = False

    def read_until(self, done: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not done() and not self.closed:
            assert time.monotonic() < deadline, bytes(self.output[-2000:])
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:  # EIO: every writer of the terminal has gone
                    chunk = b""
                self.output += chunk
                self.closed = not chunk

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        os.close(self.master)


@pytest.mark.parametrize(("stop", "said"), [
    (signal.SIGTERM, "stopped by SIGTERM"), (signal.SIGHUP, "stopped by SIGHUP"),
    (signal.SIGINT, "interrupted"),  # `kill -INT`: Ctrl+C itself is a key in the app
    # signals whose default action ends a process without Textual's exit sequence
    (signal.SIGUSR1, "stopped by SIGUSR1"), (signal.SIGQUIT, "stopped by SIGQUIT"),
    (signal.SIGXCPU, "stopped by SIGXCPU"),
    # asynchronous ones that also end a process by default, and a real-time signal
    (signal.SIGIO, "stopped by SIGIO"), (signal.SIGPWR, "stopped by SIGPWR"),
    (signal.SIGRTMIN + 3, "stopped by SIGRTMIN+3"),
    # those whose default action dumps core, sent with `kill` (a real fault still dumps core:
    # test_sent_faults)
    (signal.SIGSEGV, "stopped by SIGSEGV"), (signal.SIGABRT, "stopped by SIGABRT"),
    (signal.SIGBUS, "stopped by SIGBUS"), (signal.SIGSYS, "stopped by SIGSYS")])
def test_a_stop_signal_to_the_app_restores_the_terminal(cli_env: dict[str, str],
                                                        stop: int, said: str) -> None:
    port = free_port()
    env = {**cli_env, "TERM": "xterm-256color", "TEXTUAL_ANIMATIONS": "none"}
    terminal = Terminal([sys.executable, "-m", "sandbox", "--runtime", "sim", "--port",
                         str(port)], env)
    try:
        terminal.read_until(lambda: b"What the setup will do" in terminal.output, 60)
        assert b"\x1b[?1049h" in terminal.output  # the app took the alternate screen
        os.write(terminal.master, b"\r")  # Start, with the mock provider
        terminal.read_until(lambda: listening(port), 60)
        time.sleep(0.5)
        before = len(terminal.output)
        terminal.process.send_signal(stop)
        terminal.read_until(lambda: terminal.process.poll() is not None, 30)
        terminal.read_until(lambda: False, 5)  # the rest, up to EOF
        after = bytes(terminal.output[before:])
        assert terminal.process.wait(timeout=10) == 128 + stop
    finally:
        terminal.close()
    assert b"\x1b[?1049l" in after  # back to the main screen
    assert b"\x1b[?25h" in after  # cursor shown again
    assert b"\x1b[?1000l" in after and b"\x1b[?1006l" in after  # mouse reporting off
    assert f"agw-sandbox: {said}; everything it started has been stopped".encode() in after
    assert b"Traceback" not in terminal.output
    assert not listening(port)  # the simulated gateway stopped with the app
