"""Reading an answer piece by piece: inflated no further than the limit, decoded whatever the
charset, a stream's lines masked even when a key is split across them."""

from __future__ import annotations

import gzip
import json
import tracemalloc
import zlib

import pytest

from sandbox.walkthrough.answer import MAX_BODY, Body, read_json
from sandbox.walkthrough.masking import Masker
from sandbox.walkthrough.sse import Events
from tests.conftest import TOKEN
from tests.hostile_provider import gzip_of_zeros, sse_event


def read(body: Body, data: bytes, piece: int = 65536) -> str:
    text = ""
    for start in range(0, len(data), piece):
        text += body.feed(data[start:start + piece])
        if body.full:
            break
    return text + body.end(None)


def test_a_gzip_bomb_is_inflated_no_further_than_the_limit() -> None:
    bomb = gzip_of_zeros(128)
    tracemalloc.start()
    try:
        body = Body("gzip", None)
        text = read(body, bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(text) == MAX_BODY and body.full and peak < 8 * MAX_BODY
    assert body.received < len(bomb)  # the rest of it was never even read
    assert body.notes == [f"only the first 1 MiB of the body is shown and checked: the answer "
                          f"was longer (it inflates to more than that from "
                          f"{body.received // 1024} KiB on the wire)"]


@pytest.mark.parametrize(("coding", "encoded"), [
    ("gzip", gzip.compress(b'{"ok": true}')),
    ("x-gzip", gzip.compress(b'{"ok": true}')),
    ("deflate", zlib.compress(b'{"ok": true}')),
    ("deflate", zlib.compress(b'{"ok": true}', wbits=-15)),  # raw, as some servers send it
    ("gzip, gzip", gzip.compress(gzip.compress(b'{"ok": true}'))),
    ("identity", b'{"ok": true}'),
    ("GZIP", gzip.compress(b'{"ok": true}')),
], ids=["gzip", "x-gzip", "deflate", "raw-deflate", "twice", "identity", "upper-case"])
def test_every_encoding_the_client_asks_for_is_read(coding: str, encoded: bytes) -> None:
    body = Body(coding, None)
    assert read(body, encoded, piece=3) == '{"ok": true}' and body.notes == []


def test_a_damaged_gzip_body_is_shown_as_far_as_it_goes_with_a_note() -> None:
    good = gzip.compress(" ".join(str(n) for n in range(100000)).encode())
    body = Body("gzip", None)
    text = read(body, good[:2000] + b"\xff" * 200 + good[2200:], piece=1000)
    assert text.startswith("0 1 2 3") and not text.endswith("99999")
    assert body.notes[0].startswith("the gzip-encoded body is damaged (Error -3")


def test_an_encoding_it_does_not_decode_is_named_and_not_shown() -> None:
    body = Body("br", None)
    assert read(body, b"\x8b\x05\x80hello\x03") == ""
    assert body.notes == ["the body is br-encoded, which agw-sandbox does not decode: not "
                          "shown (9 bytes received)"]


@pytest.mark.parametrize(("charset", "expected"), [
    (None, "café ☕"), ("utf-8", "café ☕"), ("hex", "café ☕"), ("zlib", "café ☕"),
    ("rot13", "café ☕"), ("no-such-charset", "café ☕"), ("latin-1", "cafÃ© â\x98\x95"),
])
def test_any_charset_named_is_read_as_text(charset: str | None, expected: str) -> None:
    """A charset Python knows only as a bytes codec ("zlib", "hex") or not at all is read as
    UTF-8; a multi-byte character split between two pieces arrives whole."""
    body = Body("", charset)
    assert read(body, "café ☕".encode(), piece=1) == expected


def test_a_split_key_is_masked_in_the_lines_of_the_stream_too() -> None:
    shown: list[str] = []
    events = Events(Masker([TOKEN]), shown.append)
    half = len(TOKEN) // 2
    stream = b"".join([sse_event("key: ", model="gpt-4o"), sse_event(TOKEN[:half]),
                       sse_event(TOKEN[half:]), sse_event(" end"), b"data: [DONE]\n\n"])
    for start in range(0, len(stream), 7):
        events.feed(stream[start:start + 7].decode())
    events.end()
    assert "".join(shown) == "key: sk-…c5Ge end" and events.model == "gpt-4o"
    body = events.shown_body()
    assert TOKEN[:half] not in body and TOKEN[half:] not in body
    contents = [json.loads(line[5:])["choices"][0]["delta"]["content"]
                for line in body.splitlines() if line.startswith("data: {")]
    assert contents == ["key: ", "sk-…c5Ge", "", " end"]
    assert events.content == f"key: {TOKEN} end"  # for the expectations only


def test_json_nested_too_deeply_is_text_with_a_note_and_merely_deep_json_is_indented() -> None:
    notes: list[str] = []
    deep = "[" * 100000 + "]" * 100000
    assert read_json(deep, notes) == (deep, None)
    assert notes == ["the body is JSON nested too deeply to read: shown as text, as it came"]
    notes.clear()
    fine = "[" * 50 + "]" * 50
    assert read_json(fine, notes)[0].startswith("[\n  [") and notes == []


@pytest.mark.parametrize(("coding", "encoded"), [
    ("gzip", gzip.compress(json.dumps({"n": list(range(3000))}).encode())),
    ("deflate", zlib.compress(json.dumps({"n": list(range(3000))}).encode())),
    ("gzip, gzip", gzip.compress(gzip.compress(json.dumps({"n": list(range(3000))}).encode()))),
], ids=["gzip", "deflate", "twice"])
@pytest.mark.parametrize("kept", [0.5, 0.97])
def test_an_encoded_body_cut_short_is_shown_as_far_as_it_goes_with_a_note(
        coding: str, encoded: bytes, kept: float) -> None:
    body = Body(coding, None)
    text = read(body, encoded[:int(len(encoded) * kept)], piece=100)
    assert text.startswith('{"n": [0, 1, 2') and not text.endswith("]}")
    layer = coding.split(",")[0]
    assert body.notes == [f"the {layer}-encoded body ends before its end: shown as far as it "
                          "could be read"]


def test_a_whole_encoded_body_has_no_note() -> None:
    body = Body("gzip", None)
    assert read(body, gzip.compress(b"[1]"), piece=1) == "[1]" and body.notes == []


def _events_of(stream: str, piece: int) -> tuple[list[str], Events]:
    shown: list[str] = []
    events = Events(Masker([TOKEN]), shown.append)
    for start in range(0, len(stream), piece):
        events.feed(stream[start:start + piece])
    events.end()
    return shown, events


def _event(content: str) -> str:
    return sse_event(content).decode().removesuffix("\n\n")


@pytest.mark.parametrize("piece", [1, 2, 7, 4096])
@pytest.mark.parametrize(("name", "end"), [("LF", "\n"), ("CRLF", "\r\n"), ("CR", "\r")])
@pytest.mark.parametrize("bom", ["", "\ufeff"], ids=["no-bom", "bom"])
def test_a_stream_is_read_whatever_its_line_ends_and_after_a_leading_bom(
        name: str, end: str, bom: str, piece: int) -> None:
    """SSE allows CR, LF and CRLF line ends and one byte order mark before the stream."""
    half = len(TOKEN) // 2
    stream = bom + ": a comment" + end + "".join(
        _event(content) + end + end for content in ("key: ", TOKEN[:half], TOKEN[half:], " !")
    ) + "data: [DONE]" + end + end
    shown, events = _events_of(stream, piece)
    assert "".join(shown) == "key: sk-…c5Ge !" and events.model == "gpt-4o-mini"
    body = events.shown_body()
    assert TOKEN[:half] not in body and TOKEN[half:] not in body
    assert body.count("data: ") == 5 and "\ufeff" not in body



def test_an_event_written_over_several_data_lines_is_read_as_one() -> None:
    """The SSE format joins an event's data lines with a line feed: here a JSON document
    written over three lines, its text split over two."""
    half = len(TOKEN) // 2
    stream = ('data: {"model": "m",\ndata: "choices": [{"delta": {"content": "hi '
              + TOKEN[:half] + '\ndata: ' + TOKEN[half:] + '"}}]}\n\ndata: [DONE]\n\n')
    shown, events = _events_of(stream, 5)
    assert "".join(shown) == "hi sk-…c5Ge" and events.model == "m"
    body = events.shown_body()
    assert TOKEN[:half] not in body and TOKEN[half:] not in body and "sk-…c5Ge" in body


@pytest.mark.parametrize("content_type", ["application/json", "text/event-stream"])
def test_an_answer_in_tiny_pieces_is_read_no_further_than_a_number_of_pieces(
        content_type: str) -> None:
    """Each piece costs the HTTP client (and the gateway relaying it) far more than its byte:
    2 MiB one byte at a time would take most of a minute, so pieces count against a bound."""
    from sandbox.walkthrough.answer import MAX_PIECES, Reading

    data = b'{"x": "' + b"ab" * (1 << 20) + b'"}'
    reading = Reading(Masker([TOKEN]), False, lambda text: None)
    reading.begin(200, "OK", {"content-type": content_type}, None, 1.0)
    fed = 0
    while fed < len(data) and reading.feed(data[fed:fed + 1]):
        fed += 1
    assert fed + 1 == MAX_PIECES < 1 << 17
    notes = reading.answer().view.notes
    assert notes == (f"the answer came in more than {MAX_PIECES} pieces (1 byte each on "
                     "average): only the first 64 KiB of it is shown and checked",)
