"""Every process started here, and the last resort that stops them from any thread."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
import weakref
from pathlib import Path

Process = asyncio.subprocess.Process
EXIT_POLL = 0.02  # seconds between looks at whether a command has exited
# Every process started here, for the last resort of a process that cannot stop the usual way.
STARTED: weakref.WeakSet[Process] = weakref.WeakSet()


def stop_everything_started(grace: float = 1.0) -> None:
    """The last resort of a process that must end now, from any thread: SIGTERM to every
    process started here that is still running (to its whole group when it leads one, as the
    tools run by :func:`run` do), then SIGKILL to those still there after ``grace`` seconds.

    "Started here" includes a child whose start a stop signal interrupted before it was
    registered (the signal raises wherever the main thread is, asyncio's spawn included): any
    child of this process still running is one of ours, as only this module starts them."""
    for signum in (signal.SIGTERM, signal.SIGKILL):
        running = [process.pid for process in _snapshot() if process.returncode is None]
        running += [pid for pid in _children() if pid not in running]
        for pid in running:
            _signal_process(pid, signum)
        deadline = time.monotonic() + grace
        while running and time.monotonic() < deadline:
            time.sleep(EXIT_POLL)  # the loop that would reap them may be stuck: no waiting on them
            running = [pid for pid in running if _alive(pid)]
        if not running:
            return


def _children() -> list[int]:
    """This process's children that are still running (Linux's /proc; elsewhere none known)."""
    found = []
    with contextlib.suppress(OSError):
        for entry in Path("/proc").iterdir():
            state = process_state(entry.name) if entry.name.isdigit() else None
            if state is not None and state[0] != "Z" and state[1] == os.getpid():
                found.append(int(entry.name))
    return found


def process_state(pid: int | str) -> tuple[str, int] | None:
    """A process's state letter and parent (None: it is gone, or /proc does not say)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return fields[0], int(fields[1])
    except (OSError, IndexError, ValueError):
        return None


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs still (a zombie has ended: only its parent has yet to notice)."""
    state = process_state(pid)
    if state is not None:
        return state[0] != "Z"
    try:
        os.kill(pid, 0)  # without /proc: a zombie counts as running, till ``grace`` is over
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _snapshot() -> list[Process]:
    for _ in range(10):  # another thread may start a process meanwhile
        with contextlib.suppress(RuntimeError):
            return list(STARTED)
    return []


def _signal_process(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if os.getpgid(pid) == pid:
            os.killpg(pid, signum)
        else:
            os.kill(pid, signum)
