"""Core-dumping signals sent with ``kill`` (SIGSEGV, SIGABRT…) stop the app as SIGTERM does.

Their default action ends the process without the app's exit sequence, leaving the terminal in
the alternate screen with mouse reporting on. A Python handler alone cannot take them: it runs
only after the C code returns, so a real fault would run its instruction again, and again, and
the process would spin instead of ending. So they are blocked in every thread, and one thread
takes those that arrive with ``sigwaitinfo``. The kernel delivers a real fault to the thread
that caused it and, the signal being blocked there, with its default action: a real crash still
dumps core at once. Only a signal sent from outside waits in the process's queue, and the taker
hands it to the main thread's stop handler. Children inherit the blocked set; Go programs
(kubectl, helm, kind) unblock these signals themselves, and they are stopped with SIGTERM and
SIGKILL anyway.
"""

from __future__ import annotations

import _thread
import contextlib
import signal
import threading
from collections.abc import Iterator

CORE_DUMPS: frozenset[int] = frozenset(
    getattr(signal, name) for name in ("SIGABRT", "SIGBUS", "SIGFPE", "SIGILL", "SIGSEGV",
                                       "SIGSYS", "SIGTRAP") if hasattr(signal, name))
SUPPORTED = hasattr(signal, "sigwaitinfo") and hasattr(signal, "pthread_sigmask")
# What the stop handlers are given: none where they cannot be taken safely (macOS, Windows).
TAKEN: tuple[int, ...] = tuple(sorted(CORE_DUMPS)) if SUPPORTED else ()

_taker_lock = threading.Lock()
_taker: threading.Thread | None = None


@contextlib.contextmanager
def blocked() -> Iterator[None]:
    """Block :data:`TAKEN` in the calling (main) thread, and so in every thread it starts from
    now on, and start the taker. Enter it before the app starts any thread and before a handler
    is set for them; on leaving, the thread's mask is as it was."""
    if not SUPPORTED:
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, CORE_DUMPS)
    _start_taker()
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _start_taker() -> None:
    global _taker
    with _taker_lock:
        if _taker is None:  # one per process, asleep in sigwaitinfo until a signal comes
            _taker = threading.Thread(target=_take, name="sent-faults", daemon=True)
            _taker.start()


def _take() -> None:
    main = threading.main_thread().ident
    while True:
        signum = signal.sigwaitinfo(CORE_DUMPS).si_signo
        if callable(signal.getsignal(signum)):  # a stop handler is in place: it takes it
            _thread.interrupt_main(signal.Signals(signum))
            _wake(main)
        else:  # nobody takes it now: what the kernel would have done, to this thread
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signum})
            signal.pthread_kill(threading.get_ident(), signum)


def _wake(main: int | None) -> None:
    """``interrupt_main`` marks the handler to run, but a main thread asleep in the app's event
    loop only runs it once a system call is interrupted: Textual's resize signal does that and
    costs one size check."""
    if main is not None and callable(signal.getsignal(signal.SIGWINCH)):
        with contextlib.suppress(ProcessLookupError):
            signal.pthread_kill(main, signal.SIGWINCH)
