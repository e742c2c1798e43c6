"""The one polling helper: it returns as soon as the thing is there, backs off, and fails with
the caller's own error at the deadline."""

from __future__ import annotations

import pytest

from sandbox.errors import WaitTimeout
from sandbox.polling import Deadline, poll, poll_async


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_poll_returns_the_first_result_and_backs_off(monkeypatch: pytest.MonkeyPatch) -> None:
    clock, pauses = FakeClock(), []

    def sleep(seconds: float) -> None:
        pauses.append(seconds)
        clock.now += seconds

    monkeypatch.setattr("sandbox.polling.time.sleep", sleep)
    answers = iter([None, None, None, None, "ready"])
    result = poll(lambda: next(answers), Deadline(10, 0.25, ceiling=1.0, clock=clock),
                  lambda: WaitTimeout("late", ""))
    assert result == "ready" and pauses == [0.25, 0.5, 1.0, 1.0]


def test_poll_raises_the_callers_error_at_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    monkeypatch.setattr("sandbox.polling.time.sleep",
                        lambda seconds: setattr(clock, "now", clock.now + seconds))
    attempts = []

    def never() -> None:
        attempts.append(clock.now)

    with pytest.raises(WaitTimeout, match="still pending after 3s"):
        poll(never, Deadline(3, 1.0, clock=clock),
             lambda: WaitTimeout("still pending after 3s", ""))
    assert attempts == [0.0, 1.0, 2.0, 3.0]  # one last look at the deadline itself


async def test_poll_async_gives_the_event_loop_back_between_attempts() -> None:
    answers = iter([None, None, 42])

    async def attempt() -> int | None:
        return next(answers)

    assert await poll_async(attempt, Deadline(5, 0.001), lambda: WaitTimeout("late", "")) == 42
