"""A stream from the Docker daemon read with two deadlines: one for a pause without progress, one
for the whole transfer, so that a stalled or endless pull or save stops, saying which it was."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from sandbox.errors import RuntimeUnavailable

Piece = TypeVar("Piece")
_END, _FAILED, _PIECE = "end", "failed", "piece"
POLL = 0.25  # seconds between looks at the deadlines and the stop event


def paced(start: Callable[[], Iterable[Piece]], doing: str, hint: str, *, stall: float,
          deadline: float, stop: threading.Event,
          say: Callable[[str], None] | None = None) -> Iterator[Piece]:
    """The pieces of the stream that ``start`` opens, read in a thread of its own (a read that
    blocks cannot be timed otherwise); :class:`RuntimeUnavailable` once ``stall`` seconds pass
    without a piece or ``deadline`` seconds in all; it ends early once ``stop`` is set. Half way
    to ``stall`` it tells ``say`` that it is waiting. An exception of the stream is raised here
    as it is."""
    pieces: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=8)
    abandoned = threading.Event()
    threading.Thread(target=_read, args=(start, pieces, abandoned), daemon=True,
                     name=f"read {doing}").start()
    started = last = time.monotonic()
    warned = False
    try:
        while not stop.is_set():
            now = time.monotonic()
            if now - started > deadline:
                raise RuntimeUnavailable(f"{doing} took more than {duration(deadline)}", hint)
            if now - last > stall:
                raise RuntimeUnavailable(f"{doing} made no progress for {duration(stall)}", hint)
            if say is not None and not warned and now - last > stall / 2:
                warned = True
                say(f"{doing}: no progress for {duration(stall / 2)}; giving up after "
                    f"{duration(stall)} without any")
            try:
                kind, value = pieces.get(timeout=POLL)
            except queue.Empty:
                continue
            if kind == _END:
                return
            if kind == _FAILED:
                raise value  # type: ignore[misc]  # only exceptions are sent as _FAILED
            yield value  # type: ignore[misc]  # only the stream's pieces are sent as _PIECE
            last, warned = time.monotonic(), False
    finally:
        abandoned.set()  # the reader stops handing pieces over (its read ends on its own)


def _read(start: Callable[[], Iterable[object]], pieces: queue.Queue[tuple[str, object]],
          abandoned: threading.Event) -> None:
    try:
        for piece in start():
            if not _hand_over(pieces, (_PIECE, piece), abandoned):
                return
    except Exception as exc:  # handed to the reader's thread, which raises it
        _hand_over(pieces, (_FAILED, exc), abandoned)
        return
    _hand_over(pieces, (_END, None), abandoned)


def _hand_over(pieces: queue.Queue[tuple[str, object]], item: tuple[str, object],
               abandoned: threading.Event) -> bool:
    """Put ``item`` in the queue, waiting for room; False once nobody reads any more."""
    while not abandoned.is_set():
        try:
            pieces.put(item, timeout=POLL)
            return True
        except queue.Full:
            continue
    return False


def duration(seconds: float) -> str:
    """``45 s``, ``2 min``, ``1 h``: a deadline in words."""
    if seconds < 120:
        return f"{seconds:g} s"
    return f"{seconds / 60:g} min" if seconds < 7200 else f"{seconds / 3600:g} h"


def size_in_words(size: int) -> str:
    """``4 GiB``, ``512 MiB``: a limit in words."""
    return f"{size / 1024**3:g} GiB" if size >= 1024**3 else f"{size / 1024**2:g} MiB"
