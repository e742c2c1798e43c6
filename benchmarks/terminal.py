"""Drive a command in a fresh tmux pane and read its screen, as a person at a terminal would.

The benchmarks measure from outside the process: interpreter start, imports, the CLI and the
first frame all count, and the screen is read with ``tmux capture-pane``.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import time
import uuid
from pathlib import Path

from environment import user_environment

POLL = 0.005  # seconds between screen reads while timing a paint
# A tmux server of our own, so other tmux users on the machine neither see nor disturb ours.
SOCKET = f"agw-bench-{uuid.uuid4().hex[:6]}"


def tmux(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    # The server started by the first call passes its environment on to every pane.
    return subprocess.run(["tmux", "-L", SOCKET, *args], capture_output=True, text=True,
                          check=check, env=user_environment())


class Server:
    """Keeps our tmux server up between launches (it exits with its last session)."""

    def __enter__(self) -> Server:
        if shutil.which("tmux") is None:
            raise SystemExit("tmux is needed: apt-get install -y tmux")
        tmux("new-session", "-d", "-s", "keeper", "sleep 3600")
        return self

    def __exit__(self, *_: object) -> None:
        tmux("kill-server", check=False)


class Pane:
    """One tmux session running one command; the pane's process is the command itself."""

    def __init__(self, command: list[str], width: int = 120, height: int = 40,
                 keep_open: bool = False) -> None:
        self.name = "bench-" + uuid.uuid4().hex[:8]
        line = " ".join(map(shlex.quote, command))
        # keep_open leaves the last screen readable if the command dies; exec makes the pane's
        # pid the command's own, for reading its CPU ticks.
        shell = f"{line}; sleep 30" if keep_open else f"exec {line}"
        tmux("new-session", "-d", "-s", self.name, "-x", str(width), "-y", str(height), shell)

    def screen(self) -> str:
        return tmux("capture-pane", "-t", self.name, "-p", check=False).stdout

    def pid(self) -> int:
        return int(tmux("display", "-p", "-t", self.name, "#{pane_pid}").stdout.strip())

    def keys(self, *keys: str) -> None:
        tmux("send-keys", "-t", self.name, *keys)

    def wait_for(self, *texts: str, timeout: float = 20.0) -> float:
        """Seconds until every one of ``texts`` is on the screen; raises when they never are."""
        start = time.perf_counter()
        while time.perf_counter() - start < timeout:
            screen = self.screen()
            if all(text in screen for text in texts):
                return time.perf_counter() - start
            time.sleep(POLL)
        raise RuntimeError(f"{texts!r} never appeared; the screen was:\n{self.screen()}")

    def close(self) -> None:
        """Ends the session and waits until every process of it is gone: a launch that ends
        while the next one starts would take CPU from that one, whichever is measured."""
        found = tmux("display", "-p", "-t", self.name, "#{pane_pid}", check=False).stdout.strip()
        processes = _with_descendants(int(found)) if found.isdigit() else []
        tmux("kill-session", "-t", self.name, check=False)
        deadline = time.monotonic() + 10
        while any(Path(f"/proc/{pid}").exists() for pid in processes):
            if time.monotonic() > deadline:
                raise RuntimeError(f"processes {processes} outlived their tmux session by 10 s")
            time.sleep(POLL)

    def __enter__(self) -> Pane:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _with_descendants(pid: int) -> list[int]:
    """``pid`` and every process under it (read from /proc: Linux, like the CPU ticks)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:  # ended while we read
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        found.append(current := todo.pop())
        todo.extend(parents.get(current, []))
    return found


def paint_time(texts: str | tuple[str, ...], command: list[str]) -> float:
    """Seconds from launching ``command`` until ``texts`` are on its screen (20 s limit)."""
    start = time.perf_counter()
    with Pane(command, keep_open=True) as pane:
        pane.wait_for(*((texts,) if isinstance(texts, str) else texts))
        return time.perf_counter() - start


def cpu_ticks(pid: int) -> int:
    """User plus system CPU ticks used so far (100 ticks = 1 CPU-second on Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of the line


def idle_ticks(pid: int, seconds: float) -> int:
    before = cpu_ticks(pid)
    time.sleep(seconds)
    return cpu_ticks(pid) - before


HELLO_APP = '''
from textual.app import App
from textual.widgets import Static


class Hello(App[None]):
    def compose(self):
        yield Static("Hello from a bare Textual app")


Hello().run()
'''
HELLO_TEXT = "Hello from a bare Textual app"
