"""An answer sent one byte per chunk: read up to a bound on the number of pieces, with a note,
in a few seconds rather than most of a minute."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from sandbox.walkthrough.answer import MAX_PIECES
from tests.hostile_provider import JSON, head, run_hostile


def one_byte_chunks(conn: socket.socket, key: str, stop: threading.Event) -> None:
    head(conn, "HTTP/1.1 200 OK", [*JSON, ("Transfer-Encoding", "chunked")])
    block = b"1\r\na\r\n" * 65536
    for _ in range(32):  # 2 MiB of body, 2 million chunks
        if stop.is_set():
            return
        conn.sendall(block)
    conn.sendall(b"0\r\n\r\n")


async def test_an_answer_in_one_byte_chunks_stops_at_the_bound_of_pieces(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    started = time.process_time()
    _, out, transcript = await run_hostile(one_byte_chunks, tmp_path, monkeypatch, capsys)
    spent = time.process_time() - started
    assert f"the answer came in more than {MAX_PIECES} pieces (1 byte each on average)" in out
    assert "pieces" in transcript and "Traceback" not in out
    assert spent < 15, f"{spent:.1f} s of CPU"
