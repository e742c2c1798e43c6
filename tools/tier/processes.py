"""Processes for the tier: run a command, start a daemon, find, signal and stop PIDs, list ports.

The only module of the tier that starts processes. It is stdlib-only on purpose (the tier runs
before any virtual environment exists), so it does not use the project's sandbox.proc.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import signal
import subprocess  # noqa: TID251 -- stdlib-only tool outside the sandbox package
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import TierError

# Children started by this Python process, kept so that they can be reaped (no zombies).
_spawned: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class Completed:
    """The outcome of a finished command."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class Proc:
    """A process by PID and start time, so that a reused PID is never taken for it."""

    name: str
    pid: int
    start: int

    @classmethod
    def of(cls, name: str, pid: int) -> Proc | None:
        start = start_time(pid)
        return None if start is None else cls(name, pid, start)

    def running(self) -> bool:
        _reap(self.pid)
        return start_time(self.pid) == self.start and not _zombie(self.pid)


def run(argv: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None,
        timeout: float = 3600.0) -> Completed:
    """Run argv to completion, capturing its output (never through a shell)."""
    try:
        done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=timeout, check=False)
    except FileNotFoundError as exc:
        raise TierError("run", f"{argv[0]} is not installed") from exc
    except subprocess.TimeoutExpired as exc:
        raise TierError("run", f"{' '.join(argv)} took longer than {timeout:.0f} s") from exc
    return Completed(tuple(argv), done.returncode, done.stdout, done.stderr)


def spawn_detached(argv: list[str], log: Path, env: dict[str, str] | None = None) -> int:
    """Start argv in a session of its own (Ctrl+C and the caller's exit do not reach it)."""
    with log.open("ab") as out:
        child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, env=env,
                                 stderr=subprocess.STDOUT, start_new_session=True, close_fds=True)
    _spawned[child.pid] = child
    return child.pid


def exited(pid: int) -> int | None:
    """The exit code of a child spawned here once it has ended, else None."""
    child = _spawned.get(pid)
    return None if child is None else child.poll()


def _reap(pid: int) -> None:
    child = _spawned.get(pid)
    if child is not None and child.poll() is not None:
        del _spawned[pid]


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Fields after the command name, which may itself hold spaces and parentheses.
    return text[text.rindex(")") + 2:].split()


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot, or None when it does not exist."""
    fields = _stat_fields(pid)
    return None if fields is None else int(fields[19])


def _zombie(pid: int) -> bool:
    fields = _stat_fields(pid)
    return fields is not None and fields[0] in ("Z", "X")


def started_from(bin_dir: Path, mentioning: Path) -> list[int]:
    """PIDs running a binary from bin_dir whose arguments mention the folder `mentioning`.

    Every process of a tier names its run folder in its arguments, so this finds them even when
    their parent is gone (an orphan's parent PID says nothing).
    """
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            exe = (entry / "exe").readlink()
        except OSError:
            continue
        if exe.parent == bin_dir and any(str(mentioning) in a for a in cmdline(int(entry.name))):
            found.append(int(entry.name))
    return sorted(found)


def cmdline(pid: int) -> list[str]:
    """The process's arguments (empty when it is gone)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def stop(procs: list[Proc], *, first: list[Proc] | None = None, grace: float = 10.0) -> list[Proc]:
    """SIGTERM first (or all of procs), wait up to grace seconds, then SIGKILL what remains.

    Returns the processes that had to be killed.
    """
    _signal(first if first is not None else procs, signal.SIGTERM)
    if _wait_gone(procs, grace):
        return []
    left = [p for p in procs if p.running()]
    _signal(left, signal.SIGKILL)
    if not _wait_gone(left, 5.0):
        raise TierError("stop", "still running after SIGKILL: " + _names(left))
    return left


def _signal(procs: list[Proc], sig: signal.Signals) -> None:
    for p in procs:
        if p.running():
            with contextlib.suppress(ProcessLookupError):
                os.kill(p.pid, sig)


def _wait_gone(procs: list[Proc], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while any(p.running() for p in procs):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _names(procs: list[Proc]) -> str:
    return ", ".join(f"{p.name} (pid {p.pid})" for p in procs)


def listening_ports(pid: int) -> list[tuple[str, int]]:
    """The TCP addresses pid listens on, from /proc (no ss or lsof needed)."""
    inodes = set()
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            target = str(fd.readlink())
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        return []
    return sorted(a for inode, a in _listeners().items() if inode in inodes)


def listening(port: int) -> bool:
    """Whether anything listens on TCP port (any address)."""
    return any(p == port for _, p in _listeners().values())


def _listeners() -> dict[str, tuple[str, int]]:
    found = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A":  # TCP_LISTEN
                host, port = fields[1].split(":")
                found[fields[9]] = (_address(host), int(port, 16))
    return found


def _address(hex_host: str) -> str:
    # The kernel prints each 32-bit word of the address in host (little-endian) byte order.
    raw = bytes.fromhex(hex_host)
    ordered = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    return str(ipaddress.ip_address(ordered))
