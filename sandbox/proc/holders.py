"""What a command left running outside its session, holding its output: found and stopped."""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import signal
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sandbox.proc.started import EXIT_POLL, Process

HOLDER_GRACE = 0.5  # seconds a process left holding a command's output has to end on SIGTERM


def read_ends(process: Process) -> list[int]:
    """The descriptors of our ends of the command's stdout and stderr pipes."""
    transport: Any = getattr(process, "_transport", None)  # asyncio's (no public accessor)
    ends = []
    for child_fd in (1, 2):
        pipe = transport.get_pipe_transport(child_fd) if transport is not None else None
        handle: Any = pipe.get_extra_info("pipe") if pipe is not None else None
        with contextlib.suppress(OSError, ValueError, AttributeError):
            ends.append(handle.fileno())
    return ends


def _pipe_holders(read_ends: Sequence[int]) -> dict[int, str]:
    """The processes of our own user, other than this one, that hold the other end of one of
    ``read_ends`` (Linux's /proc links them to the same ``pipe:[inode]``), with their names."""
    links = set()
    for fd in read_ends:
        with contextlib.suppress(OSError):
            links.add(f"pipe:[{os.fstat(fd).st_ino}]")
    holders: dict[int, str] = {}
    if not links or not Path("/proc/self/fd").is_dir():
        return holders
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):  # gone meanwhile, or not ours to look into
            if entry.stat().st_uid == os.getuid() and _holds(entry, links):
                holders[int(entry.name)] = (entry / "comm").read_text().strip()
    return holders


def _holds(process_dir: Path, links: set[str]) -> bool:
    """Whether one of the process's descriptors is one of ``links``."""
    for fd in (process_dir / "fd").iterdir():
        with contextlib.suppress(OSError):  # closed meanwhile
            if str(fd.readlink()) in links:
                return True
    return False


async def stop_holders(read_ends: Sequence[int]) -> list[str]:
    """SIGTERM to each process holding the command's output, SIGKILL to those still there after
    :data:`HOLDER_GRACE`; each named "pid 123 (sleep)". A pidfd pins the process found, so a
    pid reused meanwhile is never signalled."""
    pinned: dict[int, str] = {}
    for pid, name in _pipe_holders(read_ends).items():
        with contextlib.suppress(OSError):
            pinned[os.pidfd_open(pid)] = f"pid {pid} ({name})"
    try:
        for signum in (signal.SIGTERM, signal.SIGKILL):
            running = [fd for fd in pinned if not ended(fd)]
            for fd in running:
                with contextlib.suppress(OSError):
                    signal.pidfd_send_signal(fd, signum)
            deadline = time.monotonic() + HOLDER_GRACE
            while running and time.monotonic() < deadline and not all(map(ended, running)):
                await asyncio.sleep(EXIT_POLL)
        return list(pinned.values())
    finally:
        for fd in pinned:
            os.close(fd)


def ended(pidfd: int) -> bool:
    """Whether the process behind ``pidfd`` has ended (its pidfd is then readable)."""
    return bool(select.select([pidfd], [], [], 0)[0])
