"""A streamed answer that breaks off inside an echoed key: every record of it (terminal,
``--json``, transcript) masks the beginning of the key the way the screen does, ``sk-…``."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

import pytest

from tests.conftest import TOKEN
from tests.hostile_provider import chunk, head, run_hostile, sse_event


def fragments(key: str) -> list[str]:
    """Every 6-character piece of the key after its ``sk-`` prefix: none may be written."""
    return [key[i:i + 6] for i in range(3, len(key) - 5)]


def leaked(text: str) -> list[str]:
    return [piece for piece in fragments(TOKEN) if piece in text]


def _stream_head(conn: socket.socket) -> None:
    head(conn, "HTTP/1.1 200 OK", [("Content-Type", "text/event-stream"),
                                   ("Transfer-Encoding", "chunked"), ("Connection", "close")])


def last_char_missing(conn: socket.socket, key: str, stop: threading.Event) -> None:
    """The key but its last character as the last delta, then the connection closes."""
    _stream_head(conn)
    for piece in ("a ", key[:-1]):
        chunk(conn, sse_event(piece))


def prefix_over_two_deltas(conn: socket.socket, key: str, stop: threading.Event) -> None:
    _stream_head(conn)
    for piece in ("your key: ", key[:12], key[12:-4]):
        chunk(conn, sse_event(piece))


def cut_inside_the_line(conn: socket.socket, key: str, stop: threading.Event) -> None:
    """The last event's line itself ends inside the key: no newline, no closing quote."""
    _stream_head(conn)
    chunk(conn, sse_event("a "))
    line = 'data: {"choices": [{"index": 0, "delta": {"content": "' + key[:-2]
    chunk(conn, line.encode())


def cut_inside_a_json_escape(conn: socket.socket, key: str, stop: threading.Event) -> None:
    """The key written with JSON escapes (``\\u0073k-…``), cut before its end."""
    _stream_head(conn)
    chunk(conn, sse_event("a "))
    escaped = "".join(f"\\u{ord(c):04x}" for c in key[:20])
    chunk(conn, ('data: {"choices": [{"index": 0, "delta": {"content": "' + escaped
                 + '"}}]}\n\n').encode())


def model_is_the_cut_key(conn: socket.socket, key: str, stop: threading.Event) -> None:
    """The key, less its last character, as the stream's model: a whole field, not a tail."""
    _stream_head(conn)
    chunk(conn, sse_event("a ", model=key[:-1]))


def error_event_holds_the_cut_key(conn: socket.socket, key: str, stop: threading.Event) -> None:
    _stream_head(conn)
    chunk(conn, sse_event("a "))
    error = {"error": {"message": f"key {key[:-3]} over quota", "type": "insufficient_quota"}}
    chunk(conn, f"data: {json.dumps(error)}\n\n".encode())


CUTS = {"last-char-missing": last_char_missing, "prefix-over-two-deltas": prefix_over_two_deltas,
        "cut-inside-the-line": cut_inside_the_line,
        "cut-inside-a-json-escape": cut_inside_a_json_escape,
        "model-is-the-cut-key": model_is_the_cut_key,
        "error-event-holds-the-cut-key": error_event_holds_the_cut_key}


@pytest.mark.parametrize("cut", list(CUTS))
async def test_a_stream_cut_inside_the_key_leaves_no_part_of_it_in_any_record(
        cut: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, transcript = await run_hostile(CUTS[cut], tmp_path, monkeypatch, capsys,
                                              stream_step=True, as_json=True)
    assert "Traceback" not in out and code != 0
    assert leaked(out) == [], out
    assert leaked(transcript) == [], transcript
    document, _ = json.JSONDecoder().raw_decode(out[out.index("{"):])
    response = document["scenarios"][-1]["steps"][2]["response"]
    assert "broke off" in " ".join(response["notes"])
    assert "sk-…" in response["body"] and "sk-…" in transcript
