"""What a well-behaved command does with its standard streams and with stop signals (SIGTERM…).

Pipes that close early (``| head -1``), descriptors closed by the caller (``>&-``), streams that
cannot encode our symbols (``PYTHONIOENCODING=ascii``) and stop signals all end in a short message
and a meaningful exit code, never in a traceback.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import functools
import io
import os
import signal
import sys
import threading
import time
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import FrameType
from typing import ParamSpec, TypeVar

from sandbox.untrusted import visible

T = TypeVar("T")
P = ParamSpec("P")

EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell reports for `yes | head -1`
# Every signal a person or a session manager may send whose default action ends the process
# (without the app's exit sequence, so with the terminal left in the app's modes): each one stops
# what the command started and exits 128 + the signal, as SIGTERM does. SIGKILL and SIGSTOP cannot
# be caught; SIGINT is Ctrl+C's; SIGPIPE and SIGXFSZ Python ignores (a write fails with EPIPE or
# EFBIG instead). The synchronous faults (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS) and
# SIGABRT are left to the interpreter on purpose: a Python handler only runs after the C code
# returns, so for a real fault the faulting instruction would run again and the process would
# spin instead of ending. Windows has only SIGTERM.
_ASYNCHRONOUS_STOPS = ("SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGALRM",
                       "SIGVTALRM", "SIGPROF", "SIGXCPU", "SIGIO", "SIGPWR", "SIGSTKFLT")
_REAL_TIME = (range(signal.SIGRTMIN, signal.SIGRTMAX + 1)  # every one ends a process by default
              if hasattr(signal, "SIGRTMIN") and hasattr(signal, "SIGRTMAX") else range(0))
STOP_SIGNALS: tuple[int, ...] = (
    *(getattr(signal, name) for name in _ASYNCHRONOUS_STOPS if hasattr(signal, name)),
    *_REAL_TIME)
# Those beyond SIGTERM and SIGHUP that the process did not start with at their default action
# are left as they were: ignored (`trap '' QUIT`), they would not have ended it; handled (a
# sampling profiler's SIGPROF), they are someone else's.
_LEFT_ALONE = frozenset(sig for sig in STOP_SIGNALS
                        if sig not in (signal.SIGTERM, getattr(signal, "SIGHUP", None))
                        and signal.getsignal(sig) != signal.SIG_DFL)
FALLBACK_ERRORS = "agw-sandbox-ascii"
EXIT_GRACE = 5.0  # seconds a process that has begun to stop has before its watchdog ends it

# The few symbols our output uses, for streams whose encoding lacks them; anything else is "?".
ASCII_FALLBACK = {"✓": "+", "✗": "x", "–": "-", "—": "--", "·": "-", "━": "=", "…": "...",
                  "→": "->", "“": '"', "”": '"', "‘": "'", "’": "'"}


def _ascii_fallback(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    unencodable = error.object[error.start:error.end]
    return "".join(ASCII_FALLBACK.get(char, "?") for char in unencodable), error.end


codecs.register_error(FALLBACK_ERRORS, _ascii_fallback)


def signal_name(signum: int) -> str:
    """A signal's name as ``kill -l`` gives it: SIGTERM, SIGRTMIN+3 (real-time signals between
    SIGRTMIN and SIGRTMAX have no name of their own), else its number."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        if _REAL_TIME and signum in _REAL_TIME:
            return f"SIGRTMIN+{signum - signal.SIGRTMIN}"
        return f"signal {signum}"


class Terminated(KeyboardInterrupt):
    """A stop signal (SIGTERM…) arrived. It unwinds like Ctrl+C: every cleanup on that path runs."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def signal_name(self) -> str:
        return signal_name(self.signum)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


class _GuardedStdout(io.FileIO):
    """Descriptor 1, whose write failures (a closed descriptor, a full device, a terminal
    gone) are kept for one message at the end instead of ending the command in the middle:
    what it started still stops in order and its files are still written. A reader that left
    (EPIPE) still raises, for the quiet exit ``| head -1`` expects."""

    lost: str | None = None  # why what was written here did not arrive
    closed_by_caller = False  # the descriptor was closed when Python started (``>&-``)

    def write(self, data: typing.Any) -> int:
        size = len(memoryview(data))
        if self.lost is None and self.closed_by_caller and size:
            self.lost = "it was closed (>&-)"
        if self.lost is not None:
            return size
        try:
            return super().write(data)
        except BrokenPipeError:
            raise
        except OSError as exc:
            self.lost = exc.strerror or str(exc)
            return size


_stdout_guard: _GuardedStdout | None = None
_stdout_holds = "the output"


def name_stdout(what: str) -> None:
    """Say what the command writes to standard output (``the report``, ``the transcript``),
    for the message if it cannot be written."""
    global _stdout_holds
    _stdout_holds = what


def stdout_lost() -> str | None:
    """If something written to standard output did not arrive: a message saying so."""
    if _stdout_guard is None or _stdout_guard.lost is None:
        return None
    return (f"cannot write {_stdout_holds} to standard output: {_stdout_guard.lost}\n"
            "  hint: it is lost; run the command again with standard output open and room to "
            "write (`> report.txt` on a disk with free space)")


def _guard_stdout(closed: bool) -> None:
    """Put descriptor 1 behind :class:`_GuardedStdout`, unless someone (a test's capture) has
    already put another stream in place of the interpreter's own."""
    global _stdout_guard
    if not closed and (sys.stdout is not sys.__stdout__ or sys.stdout is None
                       or not isinstance(sys.stdout, io.TextIOWrapper)):
        return
    try:
        if not closed and sys.stdout.fileno() != 1:
            return
        encoding = "utf-8" if closed else sys.stdout.encoding
        guard = _GuardedStdout(1, "w", closefd=False)
    except (OSError, ValueError):
        return
    guard.closed_by_caller = closed
    _stdout_guard = guard
    sys.stdout = io.TextIOWrapper(io.BufferedWriter(guard), encoding=encoding,
                                  errors=FALLBACK_ERRORS, line_buffering=True)


def prepare_streams() -> None:
    """Give the process usable stdin, stdout and stderr, whatever the caller handed over."""
    closed = {name: getattr(sys, name) is None for name in ("stdin", "stdout", "stderr")}
    for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        if closed[name]:  # the descriptor was closed when Python started
            _reopen_as_devnull(fd)
            if fd != 1:
                setattr(sys, name, open(fd, "r" if fd == 0 else "w",  # noqa: SIM115
                                        encoding="utf-8", closefd=False))
    _guard_stdout(closed["stdout"])
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            with contextlib.suppress(ValueError, io.UnsupportedOperation):
                # Line buffering: progress shows up when piped (`| tee log`) and on a signal.
                stream.reconfigure(errors=FALLBACK_ERRORS, line_buffering=True)


def _reopen_as_devnull(fd: int) -> None:
    """Occupy a closed descriptor so that no file or socket opened later takes its number."""
    try:
        os.fstat(fd)
    except OSError:
        null = os.open(os.devnull, os.O_RDWR)
        if null != fd:
            os.dup2(null, fd)
            os.close(null)


def say(message: str) -> None:
    """Write a message to stderr; a stderr that is gone (closed pipe, hung-up terminal) is fine.

    Messages quote what was given (a path, a name, a problem in a scenario file): a control
    character in it is shown as an escape, never sent to the terminal.
    """
    with contextlib.suppress(OSError, ValueError):
        print(visible(message), file=sys.stderr, flush=True)


def discard_stdout() -> None:
    """After EPIPE: send what is still buffered to /dev/null, so the exit does not fail again."""
    _discard(sys.stdout)


def release_streams() -> None:
    """Flush stdout and stderr before Python's own last flush, which ends in exit status 120
    when it fails; one whose terminal has gone (EIO) or whose reader left goes to /dev/null."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            _discard(stream)


def discard_terminal_output() -> None:
    """The terminal has gone: stdout and stderr go to /dev/null, so that nothing written while
    the process stops (a last message, an error report) fails or waits on it."""
    _discard(sys.__stdout__)
    _discard(sys.__stderr__)


def _discard(stream: io.TextIOBase | typing.TextIO | None) -> None:
    with contextlib.suppress(OSError, ValueError, AttributeError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, stream.fileno())  # type: ignore[union-attr]  # None: AttributeError
        os.close(null)


@contextlib.contextmanager
def raise_on_stop_signals() -> Iterator[None]:
    """Turn every stop signal (SIGTERM, SIGHUP…) into :class:`Terminated` in the main thread."""

    def stop(signum: int, frame: FrameType | None) -> None:
        global _last_stop
        _ignore_repeats()
        _last_stop = signum
        raise Terminated(signum)

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    # Ctrl+C raised where the main thread is, as SIGTERM is: left at Python's own handler,
    # asyncio.run would take SIGINT over and only cancel its task, which a long step in the loop
    # (a List of thousands of items) sees when it next awaits, seconds later. One the process
    # was started with ignored (a script's background job) stays ignored.
    ctrl_c = signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with _handlers(stop), _handlers(interrupt, (signal.SIGINT,) if ctrl_c else (), only=True):
        yield


_last_stop: int | None = None


def stop_reason() -> str:
    """What is stopping the command, for a record of it: the stop signal, else Ctrl+C."""
    return signal_name(_last_stop) if _last_stop is not None else "Ctrl+C"


@dataclass
class Stop:
    """Which stop signal arrived, if any."""

    signum: int | None = None


@contextlib.contextmanager
def call_on_stop_signals(exit_app: Callable[[int], None], *, interrupt: bool = False,
                         on_signal: Callable[[int], None] | None = None,
                         also: tuple[int, ...] = ()) -> Iterator[Stop]:
    """For an asyncio app: every stop signal (and SIGINT with ``interrupt``) calls
    ``exit_app(128 + signum)`` on its loop.

    The app then leaves the way its own quit key does, restoring the terminal. Before its loop
    runs (or after it ended), the signal raises :class:`Terminated` instead. ``on_signal(signum)``
    runs at once, in the handler: where the loop may be too stuck to ever run ``exit_app``, it
    arms :func:`end_process_within`. ``also`` are more signals to take the same way.
    """
    seen = Stop()

    def stop(signum: int, frame: FrameType | None) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            _ignore_repeats()
            raise Terminated(signum) from None
        if seen.signum is None:
            seen.signum = signum
            if on_signal is not None:
                on_signal(signum)
            loop.call_soon_threadsafe(functools.partial(exit_app, 128 + signum))

    with _handlers(stop, ((signal.SIGINT,) if interrupt else ()) + also):
        yield seen


_watchdog_lock = threading.RLock()  # re-entrant: a signal handler may interrupt its holder
_watchdog: threading.Timer | None = None


def end_process_within(seconds: float, code: int, last_words: Callable[[], None]) -> None:
    """Arm, once, the watchdog of a process that has begun to stop: unless it has exited within
    ``seconds``, ``last_words()`` runs (to stop what it started) and the process ends with
    ``code``, whatever its other threads are stuck on (a terminal that has gone, a full queue)."""
    global _watchdog
    with _watchdog_lock:
        if _watchdog is not None:
            return
        _watchdog = threading.Timer(seconds, _end_process, (code, last_words))
        _watchdog.daemon = True  # a process that exits in time does not wait for it
        _watchdog.start()


def _end_process(code: int, last_words: Callable[[], None]) -> None:
    try:
        last_words()
    finally:
        os._exit(code)


@contextlib.contextmanager
def _handlers(handler: Callable[[int, FrameType | None], None],
              extra: tuple[int, ...] = (), *, only: bool = False) -> Iterator[None]:
    """``handler`` for every stop signal and ``extra`` (only for ``extra`` with ``only``)."""
    signals = extra if only else STOP_SIGNALS + extra
    previous = {sig: signal.signal(sig, handler) for sig in signals if sig not in _LEFT_ALONE}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _ignore_repeats() -> None:
    """A second signal must not cut the cleanup short (a handler, not SIG_IGN: that is inherited
    by any child started meanwhile)."""
    for sig in STOP_SIGNALS:
        if sig not in _LEFT_ALONE:
            signal.signal(sig, lambda signum, frame: None)


STOP_GRACE = 2.0  # seconds stopped work in a thread has to notice, before the stop goes on


async def in_thread(call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``asyncio.to_thread``, in a daemon thread: for blocking work that cannot notice a stop
    (the kubernetes client's socket reads). A cancelled await returns at once and leaves the
    thread to end on its own, where ``to_thread`` would hold the process's exit until it is done."""
    return await in_daemon_thread(lambda stop: call(*args, **kwargs), grace=0.0)


async def in_daemon_thread(work: Callable[[threading.Event], T],
                           grace: float = STOP_GRACE) -> T:
    """``work(stop)`` in a thread of its own. Cancelling the await (Ctrl+C, SIGTERM, SIGHUP) sets
    ``stop`` and returns once the thread has noticed, or after ``grace`` seconds: a
    thread still stuck then (a read from a stalled daemon) is a daemon thread, which cannot keep
    the process alive, where ``asyncio.to_thread`` would hold its exit until the work is done."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()
    stop = threading.Event()

    def settle(outcome: Callable[[], None]) -> None:
        if not done.done():
            outcome()

    def run() -> None:
        try:
            result = work(stop)
        except BaseException as exc:  # handed to the awaiting task, which re-raises it
            error = exc
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits
                loop.call_soon_threadsafe(settle, lambda: done.set_exception(error))
        else:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(settle, lambda: done.set_result(result))

    thread = threading.Thread(target=run, name="agw-sandbox-stoppable", daemon=True)
    thread.start()
    try:
        return await done
    except asyncio.CancelledError:
        stop.set()
        deadline = time.monotonic() + grace
        while thread.is_alive() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        raise
