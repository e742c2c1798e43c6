"""Codings an answer may come in, through the simulated gateway as agentgateway relays them:
a transfer coding before chunked is undone as far as hyper undoes it (the chunks) and the rest
named in a note, every member of a gzip body is read (RFC 1952 allows several, curl and
browsers read them all), and an answer that is not JSON is not blamed on the Backend's model."""

from __future__ import annotations

import gzip
import socket
import threading
from pathlib import Path

import pytest

from tests.hostile_provider import JSON, completion, head, run_hostile, whole

EXPECT_MODEL = "    expect: {status: 200, model: gpt-4o}\n"


def gzip_then_chunked(conn: socket.socket, key: str, stop: threading.Event) -> None:
    body = gzip.compress(completion("squeezed"))
    head(conn, "HTTP/1.1 200 OK", [*JSON, ("Transfer-Encoding", "gzip, chunked")])
    half = len(body) // 2
    for part in (body[:half], body[half:]):
        conn.sendall(f"{len(part):x}\r\n".encode() + part + b"\r\n")
    conn.sendall(b"0\r\n\r\n")


async def test_a_transfer_coding_before_chunked_is_named_in_a_note(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, transcript = await run_hostile(gzip_then_chunked, tmp_path, monkeypatch, capsys)
    assert code == 0, out
    # the gzip bytes as they are, with no chunk size before them
    assert "```text\n\\u001f" in transcript, transcript
    assert "note: the body looks gzip" in out
    assert "the body looks gzip-compressed (it begins as gzip data does) but no " \
        "Content-Encoding says so: shown undecoded" in " ".join(transcript.split())


def two_members(conn: socket.socket, key: str, stop: threading.Event) -> None:
    body = completion("one answer in two gzip members", model="gpt-4o-2024")
    whole(conn, gzip.compress(body[:25]) + gzip.compress(body[25:]),
          headers=[*JSON, ("Content-Encoding", "gzip")])


async def test_every_member_of_a_gzip_body_is_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = await run_hostile(two_members, tmp_path, monkeypatch, capsys,
                                              expect=EXPECT_MODEL)
    assert code == 0, out
    assert "one answer in two gzip members" in out and "model gpt-4o-2024" in out
    assert "note:" not in out


def _answer(body: bytes, content_type: str | None) -> object:
    def handler(conn: socket.socket, key: str, stop: threading.Event) -> None:
        whole(conn, body, headers=[("Content-Type", content_type)] if content_type else [])
    return handler


@pytest.mark.parametrize(("body", "content_type", "said"), [
    (b"", "application/json", "the body is empty"),
    (b"", None, "the body is empty"),
    (b"all good", "text/plain", "text/plain"),
    (b"<html><body>Welcome</body></html>", "text/html; charset=utf-8", "text/html"),
    (b'{"model": ', "application/json", "application/json"),
], ids=["empty-json", "empty", "text", "html", "cut-json"])
async def test_an_answer_that_is_not_json_is_said_to_name_no_model(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        body: bytes, content_type: str | None, said: str) -> None:
    code, out, _ = await run_hostile(_answer(body, content_type),  # type: ignore[arg-type]
                                     tmp_path, monkeypatch, capsys, expect=EXPECT_MODEL)
    assert code == 1
    flat = " ".join(out.split())
    assert f"hint: the answer is not JSON ({said}), so it names no model" in flat, out
    assert "the Backend's model replaces" not in flat


def huge_chunk_extension(conn: socket.socket, key: str, stop: threading.Event) -> None:
    body = completion("ok")
    head(conn, "HTTP/1.1 200 OK", [*JSON, ("Transfer-Encoding", "chunked")])
    conn.sendall(f"{len(body):x};".encode() + b"e" * 200000 + b"\r\n" + body + b"\r\n0\r\n\r\n")


def bad_chunk_size(conn: socket.socket, key: str, stop: threading.Event) -> None:
    head(conn, "HTTP/1.1 200 OK", [*JSON, ("Transfer-Encoding", "chunked")])
    conn.sendall(b"zz\r\n" + completion("ok") + b"\r\n0\r\n\r\n")
    stop.wait(5)  # the provider keeps the connection open: the gateway is the one to end it


@pytest.mark.parametrize("handler", [huge_chunk_extension, bad_chunk_size],
                         ids=["200-KB-extension", "bad-size"])
async def test_malformed_chunks_are_named_as_a_possible_cause_not_only_a_closed_connection(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        handler: object) -> None:
    code, out, transcript = await run_hostile(handler,  # type: ignore[arg-type]
                                              tmp_path, monkeypatch, capsys)
    assert code == 1
    flat = " ".join(out.split())
    assert "the answer (200 OK) broke off after 0 bytes: the gateway ended it before its end" \
        in flat, out
    assert "or sent a body it could not read (such as malformed chunks" in flat
    assert "the connection closed before its end" not in flat
    assert "or sent a body that is not valid HTTP" in flat  # the hint
    assert "> Note: the answer (200 OK) broke off after 0 bytes" in transcript
