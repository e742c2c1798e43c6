"""Stop signals held while a process starts, so that none leaves it running unknown to us."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

# The stop signals whose handler (the CLI's raises an exception) waits while a process starts.
HELD_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGQUIT)
_held: dict[int, Callable[[int, Any], Any]] = {}  # their handlers while held
_holding = 0  # the starts under way on the main thread
_pending: list[int] = []  # the signals that arrived meanwhile


@contextlib.contextmanager
def stop_signals_held() -> Iterator[None]:
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
