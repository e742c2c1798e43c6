"""The one way agw-sandbox runs a subprocess: argument lists, no shell, our own errors."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sandbox.errors import CommandFailed, CommandTimedOut, RuntimeUnavailable
from sandbox.proc.held import HELD_SIGNALS, stop_signals_held
from sandbox.proc.holders import read_ends, stop_holders
from sandbox.proc.started import EXIT_POLL, STARTED, Process, stop_everything_started
from sandbox.proc.tree import stop_tree
from sandbox.profiles import DEFAULT_PROFILE
from sandbox.records import record

__all__ = ["EXIT_POLL", "HELD_SIGNALS", "INSTALL_HINTS", "Completed", "Echo", "Process", "run",
           "spawn", "start_piped", "stop", "stop_everything_started"]

INSTALL_HINTS = {
    "kind": f"install kind {DEFAULT_PROFILE.pins.kind}: "
            "https://kind.sigs.k8s.io/docs/user/quick-start/#installation",
    "helm": f"install Helm {DEFAULT_PROFILE.pins.helm_min.removesuffix('.0')} or newer: "
            "https://helm.sh/docs/intro/install/",
    "kubectl": "install kubectl: https://kubernetes.io/docs/tasks/tools/",
    "docker": "install Docker: https://docs.docker.com/get-docker/",
}
OUTPUT_GRACE = 1.0  # seconds to read what a command that has exited left in its pipes
TIMEOUT_GRACE = 5.0  # seconds a command stopped at its timeout has to tidy up on SIGTERM
STOP_GRACE = 2.0  # the same for a command stopped because the sandbox is stopping


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
    stdout, stderr = bytearray(), bytearray()
    # Filled as the process starts and its output begins to be read, while the stop signals
    # wait: wherever a stop lands from then on, it lands in the try, which stops it.
    started: list[Process] = []
    readers: list[asyncio.Future[Any]] = []
    stopped: list[str] = []
    try:
        # A session of its own, so that a hung tool's children (helm's plugins, a shell
        # script's sleep) are stopped with it instead of holding its pipes open.
        await _exec(argv, stdin=asyncio.subprocess.PIPE if stdin is not None
                    else asyncio.subprocess.DEVNULL, env=env, into=started,
                    start_new_session=True)
        with stop_signals_held():  # a stop between the two would leave it never awaited
            readers.append(_collect(started[0], stdout, stderr, keep))
        async with asyncio.timeout(timeout):
            await _finish(started[0], stdin, readers[0])  # created as it is awaited
    except TimeoutError:
        await stop_tree(started[0], grace=TIMEOUT_GRACE)
        raise CommandTimedOut(argv, timeout, stderr.decode(errors="replace"),
                              f"`{argv[0]}` seems stuck: run that command by hand to see "
                              "where it hangs (a network pull or a lock are the usual causes)"
                              ) from None
    except BaseException:  # cancelled, or a stop signal raised right here
        if started:
            await stop_tree(started[0], grace=STOP_GRACE)
        raise
    finally:
        if started:
            stopped += await _release(started[0], readers)
    process = started[0]
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
                hint: str = "", into: list[Process] | None = None, **options: object) -> Process:
    """Start ``argv``; the process is added to ``into`` before any stop signal can land."""
    with stop_signals_held():
        try:
            process = await asyncio.create_subprocess_exec(
                *argv, stdin=stdin, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, env={**os.environ, **env} if env else None,
                **options)  # type: ignore[arg-type]
        except FileNotFoundError as exc:
            raise RuntimeUnavailable(f"`{argv[0]}` is not installed (not found on PATH)",
                                     hint or INSTALL_HINTS.get(argv[0], f"install {argv[0]}")
                                     ) from exc
        STARTED.add(process)
        if into is not None:
            into.append(process)
    return process


def _collect(process: Process, stdout: bytearray, stderr: bytearray,
             keep: int | None) -> asyncio.Future[Any]:
    """Read the output as it comes (so a timeout still has what was said) up to its end;
    beyond ``keep`` bytes it is read and dropped, so the writer is never blocked. Call it while
    the stop signals are held: its readers are scheduled before one can land."""
    async def collect(stream: asyncio.StreamReader | None, sink: bytearray) -> None:
        while stream is not None and (chunk := await stream.read(65536)):
            sink += chunk if keep is None else chunk[:max(0, keep - len(sink))]

    return asyncio.gather(collect(process.stdout, stdout), collect(process.stderr, stderr))


async def _finish(process: Process, stdin: bytes | None, readers: asyncio.Future[Any]) -> None:
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


async def _release(process: Process, reading: list[asyncio.Future[Any]]) -> list[str]:
    """However the command ended: stop what it left holding its output, and close its pipes
    while the loop still runs (a pipe left to the garbage collector after the loop has closed
    ends in "Exception ignored … Event loop is closed"). Returns what was stopped outside the
    command's session ("pid 123 (sleep)")."""
    stopped: list[str] = []
    readers = reading[0] if reading else asyncio.get_running_loop().create_future()
    if not reading:  # stopped before its output was read: nothing to wait for
        readers.cancel()
    try:
        if not readers.done():
            await stop_tree(process, grace=1.0)
            await asyncio.wait({readers}, timeout=OUTPUT_GRACE)  # every writer gone: EOF at once
        # A writer outside its group (it left with setsid, its parent gone) holds them; or,
        # cut short (a stop signal cancels the readers), whether one does is not known.
        if not _read_to_the_end(readers):
            stopped = await stop_holders(read_ends(process))
            await asyncio.wait({readers}, timeout=OUTPUT_GRACE)
    finally:
        # Closed whatever happened, even if the readers were cancelled before their end (as
        # asyncio.run cancels every task when a stop signal ends it) or this was cut short:
        # one that could not be stopped (another user's) may hold the pipes still.
        readers.cancel()
        transport = getattr(process, "_transport", None)  # asyncio has no public close for it
        if transport is not None:
            transport.close()
    await asyncio.wait({readers}, timeout=OUTPUT_GRACE)
    if not readers.cancelled():
        readers.exception()  # seen, so never reported as "never retrieved"
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(process.wait(), OUTPUT_GRACE)  # its pipes' last callbacks run
    return stopped


def _read_to_the_end(readers: asyncio.Future[Any]) -> bool:
    """Whether the command's output was read up to its end: then no writer holds its pipes."""
    return readers.done() and not readers.cancelled() and readers.exception() is None


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
    with stop_signals_held():
        try:
            process = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE if stderr else asyncio.subprocess.DEVNULL,
                env=dict(env), start_new_session=True)
        except FileNotFoundError as exc:
            raise RuntimeUnavailable(f"`{argv[0]}` is not installed (not found on PATH)",
                                     INSTALL_HINTS.get(argv[0], f"install {argv[0]}")) from exc
        STARTED.add(process)
    return process


