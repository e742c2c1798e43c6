"""The one way agw-sandbox runs a subprocess: argument lists, no shell, our own errors."""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import shlex
import signal
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from sandbox.errors import CommandFailed, CommandTimedOut, RuntimeUnavailable
from sandbox.profiles import DEFAULT_PROFILE
from sandbox.records import record

INSTALL_HINTS = {
    "kind": f"install kind {DEFAULT_PROFILE.pins.kind}: "
            "https://kind.sigs.k8s.io/docs/user/quick-start/#installation",
    "helm": f"install Helm {DEFAULT_PROFILE.pins.helm_min.removesuffix('.0')} or newer: "
            "https://helm.sh/docs/intro/install/",
    "kubectl": "install kubectl: https://kubernetes.io/docs/tasks/tools/",
    "docker": "install Docker: https://docs.docker.com/get-docker/",
}
Process = asyncio.subprocess.Process
EXIT_POLL = 0.02  # seconds between looks at whether a command has exited
OUTPUT_GRACE = 1.0  # seconds to read what a command that has exited left in its pipes
HOLDER_GRACE = 0.5  # seconds a process left holding a command's output has to end on SIGTERM
# Every process started here, for the last resort of a process that cannot stop the usual way.
_STARTED: weakref.WeakSet[Process] = weakref.WeakSet()


@record
class Completed:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    # What the command left running, outside its session, holding its output once it had
    # ended ("pid 123 (sleep)"): each was stopped.
    stopped: tuple[str, ...] = ()


Echo = Callable[[str], None]


async def run(argv: Sequence[str], *, timeout: float = 60.0, check: bool = True,
              env: Mapping[str, str] | None = None, stdin: bytes | None = None,
              echo: Echo | None = None, keep: int | None = None) -> Completed:
    """Run ``argv``; raise :class:`CommandFailed` on a non-zero exit when ``check``.

    ``echo`` receives the command line first, as a user could type it. A command still running
    at ``timeout`` is killed, with everything it started, and :class:`CommandTimedOut` raised.
    ``keep`` bounds the bytes kept of each of stdout and stderr (the rest is read and dropped),
    for a command whose output is not ours to trust.
    """
    if echo is not None:
        echo("$ " + shlex.join(argv))
    # A session of its own, so that a hung tool's children (helm's plugins, a shell script's
    # sleep) are stopped with it instead of holding its pipes open.
    process = await _exec(argv, stdin=asyncio.subprocess.PIPE if stdin is not None
                          else asyncio.subprocess.DEVNULL, env=env, start_new_session=True)
    stdout, stderr = bytearray(), bytearray()
    readers = asyncio.ensure_future(_collect(process, stdout, stderr, keep))
    stopped: list[str] = []
    try:
        await asyncio.wait_for(_finish(process, stdin, readers), timeout)
    except TimeoutError:
        await _kill_group(process)
        raise CommandTimedOut(argv, timeout, stderr.decode(errors="replace"),
                              f"`{argv[0]}` seems stuck: run that command by hand to see "
                              "where it hangs (a network pull or a lock are the usual causes)"
                              ) from None
    except asyncio.CancelledError:
        await _kill_group(process)
        raise
    finally:
        stopped += await _release(process, readers)
    result = Completed(tuple(argv), process.returncode or 0, stdout.decode(errors="replace"),
                       stderr.decode(errors="replace"), tuple(stopped))
    if check and result.returncode != 0:
        raise CommandFailed(argv, result.returncode, result.stderr or result.stdout)
    return result


async def spawn(argv: Sequence[str], *, hint: str = "") -> Process:
    """Start a long-running ``argv`` (stdout and stderr piped) that dies with this process."""
    return await _exec(argv, stdin=asyncio.subprocess.DEVNULL, hint=hint,
                       preexec_fn=_die_with_parent if sys.platform == "linux" else None)


async def stop(process: Process, grace: float = 5.0) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds; returns once the process has exited."""
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.terminate()
    try:
        await asyncio.wait_for(process.wait(), grace)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


async def _exec(argv: Sequence[str], *, stdin: int, env: Mapping[str, str] | None = None,
                hint: str = "", **options: object) -> Process:
    with _stop_signals_held():
        try:
            process = await asyncio.create_subprocess_exec(
                *argv, stdin=stdin, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, env={**os.environ, **env} if env else None,
                **options)  # type: ignore[arg-type]
        except FileNotFoundError as exc:
            raise RuntimeUnavailable(f"`{argv[0]}` is not installed (not found on PATH)",
                                     hint or INSTALL_HINTS.get(argv[0], f"install {argv[0]}")
                                     ) from exc
        _STARTED.add(process)
    return process


# The stop signals whose handler (the CLI's raises an exception) waits while a process starts.
HELD_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGQUIT)
_held: dict[int, Callable[[int, Any], Any]] = {}  # their handlers while held
_holding = 0  # the starts under way on the main thread
_pending: list[int] = []  # the signals that arrived meanwhile


@contextlib.contextmanager
def _stop_signals_held() -> Iterator[None]:
    """Hold the stop signals while a process starts and is registered, then handle any that
    arrived. A handler that raises in the middle of asyncio's spawn left the process running,
    known to nobody (asyncio kills the process it was starting, not the children it has);
    registered, it is stopped with everything else: the signal is raised again once the caller
    has it in hand. (Python runs signal handlers on the main thread only.)"""
    global _holding
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if _holding == 0:
        _held.update({sig: handler for sig in HELD_SIGNALS
                      if callable(handler := signal.getsignal(sig))})
        for sig in _held:
            signal.signal(sig, lambda signum, frame: _pending.append(signum))
    _holding += 1
    try:
        yield
    finally:
        _holding -= 1
        if _holding == 0:
            handlers = dict(_held)
            _held.clear()
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
            arrived = _pending[:1]  # the first: the handler of a stop ignores repeats
            _pending.clear()
            for signum in arrived:  # once the caller is stopping it with the rest, if need be
                asyncio.get_running_loop().call_soon(signal.raise_signal, signum)


async def _collect(process: Process, stdout: bytearray, stderr: bytearray,
                   keep: int | None) -> None:
    """Read the output as it comes (so a timeout still has what was said) up to its end;
    beyond ``keep`` bytes it is read and dropped, so the writer is never blocked."""
    async def collect(stream: asyncio.StreamReader | None, sink: bytearray) -> None:
        while stream is not None and (chunk := await stream.read(65536)):
            sink += chunk if keep is None else chunk[:max(0, keep - len(sink))]

    await asyncio.gather(collect(process.stdout, stdout), collect(process.stderr, stderr))


async def _finish(process: Process, stdin: bytes | None, readers: asyncio.Future[None]) -> None:
    """Feed stdin, wait for the command to exit, then for what is left in its pipes. Its exit
    is its end: something it started that keeps its output open (``sleep 300 &``) is not
    waited for (kubectl would wait for it, for ever)."""
    if stdin is not None and process.stdin is not None:
        process.stdin.write(stdin)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            await process.stdin.drain()
        process.stdin.close()
    while process.returncode is None:  # set at its exit; wait() also waits for its pipes
        await asyncio.sleep(EXIT_POLL)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(readers), OUTPUT_GRACE)


async def _release(process: Process, readers: asyncio.Future[None]) -> list[str]:
    """However the command ended: stop what it left holding its output, and close its pipes
    while the loop still runs (a pipe left to the garbage collector after the loop has closed
    ends in "Exception ignored … Event loop is closed"). Returns what was stopped outside the
    command's session ("pid 123 (sleep)")."""
    stopped: list[str] = []
    if not readers.done():
        await _kill_group(process, grace=1.0)
        await asyncio.wait({readers}, timeout=OUTPUT_GRACE)  # every writer gone: EOF at once
    if not readers.done():  # a writer outside its group (it left with setsid) holds them
        stopped = await _stop_holders(_read_ends(process))
        await asyncio.wait({readers}, timeout=OUTPUT_GRACE)
    if not readers.done():  # one that could not be stopped (another user's) holds them still
        readers.cancel()
        transport = getattr(process, "_transport", None)  # asyncio has no public close for it
        if transport is not None:
            transport.close()
        await asyncio.wait({readers}, timeout=OUTPUT_GRACE)
    if readers.done() and not readers.cancelled():
        readers.exception()  # seen, so never reported as "never retrieved"
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(process.wait(), OUTPUT_GRACE)  # its pipes' last callbacks run
    return stopped


def _read_ends(process: Process) -> list[int]:
    """The descriptors of our ends of the command's stdout and stderr pipes."""
    transport: Any = getattr(process, "_transport", None)  # asyncio's, as in _release
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


async def _stop_holders(read_ends: Sequence[int]) -> list[str]:
    """SIGTERM to each process holding the command's output, SIGKILL to those still there after
    :data:`HOLDER_GRACE`; each named "pid 123 (sleep)". A pidfd pins the process found, so a
    pid reused meanwhile is never signalled."""
    pinned: dict[int, str] = {}
    for pid, name in _pipe_holders(read_ends).items():
        with contextlib.suppress(OSError):
            pinned[os.pidfd_open(pid)] = f"pid {pid} ({name})"
    try:
        for signum in (signal.SIGTERM, signal.SIGKILL):
            running = [fd for fd in pinned if not _ended(fd)]
            for fd in running:
                with contextlib.suppress(OSError):
                    signal.pidfd_send_signal(fd, signum)
            deadline = time.monotonic() + HOLDER_GRACE
            while running and time.monotonic() < deadline and not all(map(_ended, running)):
                await asyncio.sleep(EXIT_POLL)
        return list(pinned.values())
    finally:
        for fd in pinned:
            os.close(fd)


def _ended(pidfd: int) -> bool:
    """Whether the process behind ``pidfd`` has ended (its pidfd is then readable)."""
    return bool(select.select([pidfd], [], [], 0)[0])


async def _kill_group(process: Process, grace: float = 5.0) -> None:
    """Stop the process and everything in its session: SIGTERM first, so that kind or helm can
    tidy up what they started, then SIGKILL after ``grace`` seconds."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)
        try:
            await asyncio.wait_for(process.wait(), grace)
            return
        except TimeoutError:
            continue


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the child gets SIGTERM if agw-sandbox dies, so nothing it starts outlives it."""
    import ctypes

    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


async def start_piped(argv: Sequence[str], env: Mapping[str, str], *,
                      stderr: bool = True) -> asyncio.subprocess.Process:
    """Start ``argv`` with piped standard streams, in a session (process group) of its own.

    Its own group lets the caller stop it together with everything it started, and keeps a
    Ctrl+C meant for the caller away from it. ``env`` is the child's whole environment.
    Without ``stderr``, what the child writes there goes to /dev/null.
    """
    with _stop_signals_held():
        try:
            process = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE if stderr else asyncio.subprocess.DEVNULL,
                env=dict(env), start_new_session=True)
        except FileNotFoundError as exc:
            raise RuntimeUnavailable(f"`{argv[0]}` is not installed (not found on PATH)",
                                     INSTALL_HINTS.get(argv[0], f"install {argv[0]}")) from exc
        _STARTED.add(process)
    return process


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
            state = _state(entry.name) if entry.name.isdigit() else None
            if state is not None and state[0] != "Z" and state[1] == os.getpid():
                found.append(int(entry.name))
    return found


def _state(pid: int | str) -> tuple[str, int] | None:
    """A process's state letter and parent (None: it is gone, or /proc does not say)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return fields[0], int(fields[1])
    except (OSError, IndexError, ValueError):
        return None


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs still (a zombie has ended: only its parent has yet to notice)."""
    state = _state(pid)
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
            return list(_STARTED)
    return []


def _signal_process(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if os.getpgid(pid) == pid:
            os.killpg(pid, signum)
        else:
            os.kill(pid, signum)
