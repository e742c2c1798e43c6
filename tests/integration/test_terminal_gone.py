"""The app never outlives its terminal: a tmux session killed, a window closed, at any moment.

Found by launching the app in tmux and killing the session the moment the first screen showed:
some apps stayed alive for good, their terminal gone, deaf to SIGTERM (their shutdown blocked on
Textual's output queue). Tested here the same way, many times, at different moments of start-up.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.test_cli_signals import Terminal

LAUNCHES = 32  # at least 20: one launch in five or so used to survive
AT_ONCE = 8
# When the terminal goes: seconds after the welcome is on screen, or (negative) after launch,
# before the first screen. Most just after the welcome: the start-up is busiest then.
MOMENTS = (0.0, 0.0, 0.01, 0.02, 0.03, 0.0, 0.05, 0.1, 0.3, -0.3, -0.8, 1.0)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


class Tmux:
    """A tmux server of the test's own, so that no other session is touched."""

    def __init__(self, env: dict[str, str]) -> None:
        self.socket = f"agw-test-{os.getpid()}"
        self.socket_path = ""
        self.env = env

    def __call__(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True,
                              text=True, env=self.env, timeout=20).stdout

    def launch(self, name: str, command: str) -> int:
        self("new-session", "-d", "-s", name, "-x", "120", "-y", "40", command)
        self.socket_path = self("display", "-p", "#{socket_path}").strip() or self.socket_path
        return int(self("list-panes", "-t", name, "-F", "#{pane_pid}").split()[0])

    def shows(self, name: str, text: str) -> bool:
        return text in self("capture-pane", "-p", "-t", name)

    def kill_server(self) -> None:
        self("kill-server")
        if self.socket_path:  # tmux leaves its socket file behind
            Path(self.socket_path).unlink(missing_ok=True)


@pytest.fixture
def tmux(cli_env: dict[str, str]) -> Iterator[Tmux]:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (apt-get install tmux)")
    # In colour, as most people see it: more to write, and the queue fills sooner.
    server = Tmux({**{name: value for name, value in cli_env.items() if name != "NO_COLOR"},
                   "TERM": "xterm-256color", "LANG": "C.UTF-8"})
    try:
        yield server
    finally:
        server.kill_server()


def test_killing_the_terminal_during_start_up_never_leaves_an_app_behind(
        tmux: Tmux, cli_env: dict[str, str]) -> None:
    # Mostly with PYTHONUNBUFFERED=1, as container images and IDEs often set it: each write to
    # the vanished terminal then fails at once, and the queue fills soonest.
    env = " ".join(f"{name}={value}" for name, value in cli_env.items() if name != "NO_COLOR")
    command = f"exec env {env} {{}}{sys.executable} -m sandbox --runtime sim --port 0"
    apps: list[int] = []
    try:
        for batch in range(0, LAUNCHES, AT_ONCE):
            launched = []
            for index in range(batch, min(batch + AT_ONCE, LAUNCHES)):
                name = f"app{index}"
                unbuffered = "PYTHONUNBUFFERED=1 " if index % 4 else ""
                launched.append((name, tmux.launch(name, command.format(unbuffered)),
                                 MOMENTS[index % len(MOMENTS)], time.monotonic()))
            apps += [pid for _, pid, _, _ in launched]
            _kill_each_at_its_moment(tmux, launched)
        deadline = time.monotonic() + 15  # the watchdog's few seconds, on a busy machine
        while any(alive(pid) for pid in apps) and time.monotonic() < deadline:
            time.sleep(0.2)
        survivors = [pid for pid in apps if alive(pid)]
        assert survivors == [], f"{len(survivors)} of {len(apps)} apps outlived their terminal"
    finally:
        for pid in apps:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _kill_each_at_its_moment(tmux: Tmux, launched: list[tuple[str, int, float, float]]) -> None:
    pending = list(launched)
    shown: dict[str, float] = {}
    deadline = time.monotonic() + 60
    while pending and time.monotonic() < deadline:
        for item in list(pending):
            name, _, moment, started = item
            now = time.monotonic()
            if moment < 0:
                due = now - started >= -moment
            else:
                if name not in shown and tmux.shows(name, "Welcome to agw-sandbox"):
                    shown[name] = now
                due = name in shown and now - shown[name] >= moment
            if due:
                tmux("kill-session", "-t", name)
                pending.remove(item)
        time.sleep(0.005)
    for name, *_ in pending:
        tmux("kill-session", "-t", name)


def test_a_terminal_that_hangs_up_ends_the_app_with_129(cli_env: dict[str, str]) -> None:
    """The pty's other side closed as the app starts drawing: it leaves, and says so in its
    exit code, as a command whose terminal hung up does."""
    terminal = Terminal([sys.executable, "-m", "sandbox", "--runtime", "sim", "--port", "0"],
                        {**cli_env, "TERM": "xterm-256color"})
    try:
        terminal.read_until(lambda: b"\x1b[?1049h" in terminal.output, 60)
        os.close(terminal.master)
        terminal.closed = True
        assert terminal.process.wait(timeout=15) == 129
    finally:
        if terminal.process.poll() is None:
            terminal.process.kill()
            terminal.process.wait()


WEDGED = """
import sys, threading, time
from sandbox import proc, stdio
import asyncio

async def start_child():  # in a session of its own, as serve's apps and the tools are
    return await proc.start_piped(["sleep", "600"], {"PATH": "/usr/bin:/bin"})

child = asyncio.run(start_child())
print(child.pid, flush=True)
threading.Thread(target=threading.Event().wait).start()  # a thread that never ends
stdio.end_process_within(0.5, 143, proc.stop_everything_started)
"""


def test_the_watchdog_ends_a_wedged_process_and_what_it_started(cli_env: dict[str, str]) -> None:
    """Whatever the threads are stuck on, the process ends with the code asked for, and the
    processes it started go with it."""
    started = time.monotonic()
    process = subprocess.run([sys.executable, "-c", WEDGED], capture_output=True, text=True,
                             env=cli_env, timeout=20, cwd=Path(__file__).parents[2])
    child = int(process.stdout.split()[0])
    assert process.returncode == 143, process.stderr
    assert time.monotonic() - started < 10
    deadline = time.monotonic() + 5
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(child)
