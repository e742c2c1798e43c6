"""A command and everything it started, stopped together: its group and its descendants."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

from sandbox.proc.holders import HOLDER_GRACE, ended
from sandbox.proc.started import EXIT_POLL, Process, process_state

KILL_GRACE = 1.0  # seconds what got SIGKILL has to be gone (it cannot refuse: reaping is all)


def descendants(pid: int) -> list[int]:
    """The processes descended from ``pid``, by the parent each names in Linux's /proc (a
    child in a session of its own included); elsewhere none are known, and the process group
    is all there is to stop. Read it while ``pid`` runs: a process whose parent has died is
    adopted by another, and no chain leads to it any more."""
    children: dict[int, list[int]] = {}
    with contextlib.suppress(OSError):
        for entry in Path("/proc").iterdir():
            state = process_state(entry.name) if entry.name.isdigit() else None
            if state is not None and state[0] != "Z":
                children.setdefault(state[1], []).append(int(entry.name))
    found: list[int] = []
    parents = [pid]
    while parents:
        parents = [child for parent in parents for child in children.get(parent, [])
                   if child not in found]
        found += parents
    return found


async def stop_tree(process: Process, grace: float) -> None:
    """Stop ``process``, its process group and all its descendants: SIGTERM first (kind or
    helm tidy up what they started), SIGKILL to whatever is left once the process has exited
    and :data:`HOLDER_GRACE` has passed (a child that ignores SIGTERM does not hold the stop),
    or after ``grace`` seconds. Each descendant is pinned by a pidfd as it is found, so that a
    pid reused meanwhile is never signalled."""
    pinned = _frozen(process)
    try:
        for signum in (signal.SIGTERM, signal.SIGKILL):
            _signal_all(process, pinned, signum)
            _signal_all(process, pinned, signal.SIGCONT)  # to act on it, what _frozen stopped
            if signum == signal.SIGTERM:
                await _until(lambda: process.returncode is not None, grace)
                if process.returncode is not None:  # what it leaves has a little longer
                    await _until(lambda: _all_ended(process, pinned), HOLDER_GRACE)
            else:
                await _until(lambda: _all_ended(process, pinned), KILL_GRACE)
            if _all_ended(process, pinned):
                return
    finally:
        for fd in pinned:
            os.close(fd)


def _frozen(process: Process) -> list[int]:
    """SIGSTOP to the process's group, then to each descendant as it is found, until no new
    one appears: a process stopped starts no other, so none started as the stop begins (nor
    one that is leaving for a session of its own) escapes it. A pidfd for each descendant."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGSTOP)
    found: dict[int, int] = {}
    while new := [pid for pid in descendants(process.pid) if pid not in found]:
        for pid in new:
            found[pid] = -1
            with contextlib.suppress(OSError, AttributeError):  # AttributeError: no pidfd
                found[pid] = os.pidfd_open(pid)
                signal.pidfd_send_signal(found[pid], signal.SIGSTOP)
    return [fd for fd in found.values() if fd >= 0]


def _signal_all(process: Process, pinned: list[int], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)
    for fd in pinned:
        with contextlib.suppress(OSError):
            signal.pidfd_send_signal(fd, signum)


def _all_ended(process: Process, pinned: list[int]) -> bool:
    """Whether the process has exited, its group is empty and each descendant has ended."""
    if process.returncode is None or not all(map(ended, pinned)):
        return False
    if Path("/proc/self/stat").exists():  # a zombie has ended, only its parent (init, in a
        return not _running_in_group(process.pid)  # container maybe slow to reap) is left
    try:
        os.killpg(process.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # a member is another user's: not ours to wait for
        return True
    return False


def _running_in_group(group: int) -> bool:
    """Whether a process of the group ``group`` runs still (Linux's /proc; zombies aside)."""
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
            if entry.name.isdigit() and int(fields[2]) == group and fields[0] != "Z":
                return True
    return False


async def _until(done: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline:
        await asyncio.sleep(EXIT_POLL)
