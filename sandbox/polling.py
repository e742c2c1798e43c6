"""The one way the sandbox waits for something outside it: poll with backoff until a deadline.

``attempt`` returns the result when the thing is there, or None to try again; ``timed_out``
builds the error to raise at the deadline, from whatever the caller saw last.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")


@dataclass
class Deadline:
    """A timeout and the pause before each next attempt (doubling up to ``ceiling``)."""

    timeout: float
    interval: float = 0.05
    ceiling: float = 1.0
    clock: Callable[[], float] = time.monotonic
    ends: float = field(init=False)

    def __post_init__(self) -> None:
        self.ends = self.clock() + self.timeout

    @property
    def passed(self) -> bool:
        return self.clock() >= self.ends

    def pause(self) -> float:
        pause, self.interval = self.interval, min(self.interval * 2, self.ceiling)
        return pause


def poll(attempt: Callable[[], T | None], deadline: Deadline,
         timed_out: Callable[[], Exception]) -> T:
    """For code that runs in a thread (the blocking kubernetes client)."""
    while (result := attempt()) is None:
        if deadline.passed:
            raise timed_out()
        time.sleep(deadline.pause())
    return result


async def poll_async(attempt: Callable[[], Awaitable[T | None]], deadline: Deadline,
                     timed_out: Callable[[], Exception]) -> T:
    """For code on the event loop."""
    while (result := await attempt()) is None:
        if deadline.passed:
            raise timed_out()
        await asyncio.sleep(deadline.pause())
    return result
