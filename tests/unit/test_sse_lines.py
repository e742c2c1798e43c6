"""A stream of lines that carry no text (blank lines, comments, empty data) costs about its own
bytes to keep and little time to read, whatever pieces it comes in: a provider that sends a
mebibyte of nothing neither fills the memory nor holds the app's loop."""

from __future__ import annotations

import time
import tracemalloc

import pytest

from sandbox.walkthrough.answer import MAX_BODY, Reading
from sandbox.walkthrough.masking import Masker
from sandbox.walkthrough.sse import Events
from tests.conftest import TOKEN
from tests.hostile_provider import sse_event

EMPTY_LINES = {
    "blank LF": "\n", "blank CRLF": "\r\n", "blank CR": "\r",
    "comment": ": keep-alive\n", "short comment": ":\n",
    "empty data": "data:\n\n", "data, a space": "data: \n\n", "no blank line": "data:\n",
    "unknown field": "retry: 10\n",
}


def _read(text: str, piece: int) -> Events:
    events = Events(Masker([TOKEN]), lambda chunk: None)
    for start in range(0, len(text), piece):
        events.feed(text[start:start + piece])
    events.end()
    return events


def _stream_of(line: str, piece: int) -> tuple[Events, int, float]:
    """``line`` repeated over a little more than MAX_BODY, fed ``piece`` characters at a
    time: the events, the most memory they held at once, and the seconds reading took (timed
    apart: tracing memory slows it down)."""
    text = line * (MAX_BODY // len(line) + 1)
    started = time.process_time()
    _read(text, piece)
    spent = time.process_time() - started
    tracemalloc.start()
    try:
        events = _read(text, piece)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert events.body == text  # kept as it came
    return events, peak, spent


@pytest.mark.parametrize("line", EMPTY_LINES.values(), ids=EMPTY_LINES.keys())
@pytest.mark.parametrize("piece", [65536, 997])
def test_a_mebibyte_of_lines_without_text_is_kept_in_about_its_own_size(
        line: str, piece: int) -> None:
    events, peak, spent = _stream_of(line, piece)
    assert peak < 4 * MAX_BODY, f"{peak / MAX_BODY:.1f} MiB held for 1 MiB of {line!r}"
    assert spent < 3, f"{spent:.1f} s of CPU for 1 MiB of {line!r}"
    assert events.content == "" and events.shown_body() == events.body


def test_text_between_a_mebibyte_of_blank_lines_is_still_read_and_masked() -> None:
    """The blank lines kept compactly take nothing from what the events around them say."""
    shown: list[str] = []
    half = len(TOKEN) // 2
    stream = ("\n" * 300000 + sse_event("key: ", model="m").decode() + ": c\n" * 1000
              + sse_event(TOKEN[:half]).decode() + "\r\n" * 300000
              + sse_event(TOKEN[half:]).decode() + "data:\n\n" * 1000 + "data: [DONE]\n\n")
    events = Events(Masker([TOKEN]), shown.append)
    for start in range(0, len(stream), 4096):
        events.feed(stream[start:start + 4096])
    events.end()
    assert "".join(shown) == "key: sk-…c5Ge" and events.model == "m"
    assert events.body == stream and events.content == "key: " + TOKEN
    body = events.shown_body()
    assert TOKEN[:half] not in body and TOKEN[half:] not in body
    assert body.count("\n") == stream.count("\n") and body.count("\r\n") == 300000


def test_a_stream_of_blank_lines_stops_at_the_bound_with_the_note_run_gives() -> None:
    """Every byte counts against the bound, the blank lines' too: the same note as any answer
    longer than the bound."""
    reading = Reading(Masker([TOKEN]), True, lambda chunk: None)
    reading.begin(200, "OK", {"content-type": "text/event-stream"}, None, 1.0)
    fed = 0
    while reading.feed(b"\n" * 60000):
        fed += 60000
    assert fed < MAX_BODY <= fed + 60000
    view = reading.answer().view
    assert view.notes == ("only the first 1 MiB of the body is shown and checked: the answer "
                          "was longer (the rest was not read)",)
    assert len(view.body) == MAX_BODY
