"""A provider whose answer is not valid HTTP: the simulated gateway answers for it as
agentgateway does (its own 503), never relays the broken answer as its own, and the hint says
the provider misbehaved, not the gateway or the internet connection."""

from __future__ import annotations

import socket
import struct
import threading
from pathlib import Path

import pytest

from tests.hostile_provider import JSON, completion, head, run_hostile


def _then_ok(conn: socket.socket, informational: bytes) -> None:
    body = completion("hello after the hints")
    conn.sendall(informational + b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                 + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)


def early_hints(conn: socket.socket, key: str, stop: threading.Event) -> None:
    _then_ok(conn, b"HTTP/1.1 103 Early Hints\r\nLink: </x>; rel=preload\r\n\r\n"
             b"HTTP/1.1 100 Continue\r\n\r\n")


def processing_twice(conn: socket.socket, key: str, stop: threading.Event) -> None:
    _then_ok(conn, b"HTTP/1.1 102 Processing\r\n\r\n" * 2)


def switching(conn: socket.socket, key: str, stop: threading.Event) -> None:
    head(conn, "HTTP/1.1 101 Switching Protocols", [("Upgrade", "h2c"), ("Connection", "Upgrade")])


def lengths_disagree(conn: socket.socket, key: str, stop: threading.Event) -> None:
    head(conn, "HTTP/1.1 200 OK", [*JSON, ("Content-Length", "5"), ("Content-Length", "9")],
         b"{}")


def length_negative(conn: socket.socket, key: str, stop: threading.Event) -> None:
    head(conn, "HTTP/1.1 200 OK", [*JSON, ("Content-Length", "-1")], b"{}")


def status_line_cut(conn: socket.socket, key: str, stop: threading.Event) -> None:
    conn.sendall(b"HTTP/1.1 2")


def status_out_of_range(conn: socket.socket, key: str, stop: threading.Event) -> None:
    head(conn, "HTTP/1.1 099 Odd", [("Content-Length", "0")])


def reset_after_headers(conn: socket.socket, key: str, stop: threading.Event) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def headers_cut(conn: socket.socket, key: str, stop: threading.Event) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: applic")
    conn.shutdown(socket.SHUT_WR)


def header_too_long(conn: socket.socket, key: str, stop: threading.Event) -> None:
    head(conn, "HTTP/1.1 200 OK", [*JSON, ("X-Big", "a" * 200_000)], b"{}")


# Each with hyper 1.7's description of it (src/error.rs), after the fork's ``SendRequest: ``
INVALID = {
    "switching": (switching, "received unexpected message from connection"),
    "lengths-disagree": (lengths_disagree, "invalid content-length parsed"),
    "length-negative": (length_negative, "invalid content-length parsed"),
    "status-line-cut": (status_line_cut, "connection closed before message completed"),
    "status-out-of-range": (status_out_of_range, "invalid HTTP status-code parsed"),
    "reset-after-headers": (reset_after_headers, "connection error"),
    "header-too-long": (header_too_long, "message head is too large"),
    "headers-cut": (headers_cut, "connection closed before message completed"),
}


@pytest.mark.parametrize("answer", list(INVALID))
async def test_an_answer_that_is_not_http_is_the_gateways_503_naming_the_provider(
        answer: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    provider, description = INVALID[answer]
    code, out, transcript = await run_hostile(provider, tmp_path, monkeypatch, capsys)
    assert code == 1 and "Traceback" not in out
    said = f"upstream call failed: SendRequest: {description}"
    assert "503" in out and said in out, out
    assert said in transcript
    hint = ("hint: the provider reset the connection before its answer was whole"
            if description == "connection error" else
            "hint: the provider's answer was not valid HTTP")
    assert hint in out
    for wrong in ("internet connection", "check that the runtime is up", "closed the connection "
                  "without answering", "bytearray", "_SWITCH_UPGRADE", "(Connect)"):
        assert wrong not in out, out


@pytest.mark.parametrize("answer", [early_hints, processing_twice], ids=["103-100", "102-102"])
async def test_informational_answers_before_the_answer_are_passed_over(
        answer: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = await run_hostile(answer, tmp_path, monkeypatch, capsys)  # type: ignore[arg-type]
    assert code == 0 and "hello after the hints" in out, out


async def test_a_chunked_answer_that_also_gives_a_length_is_read_as_chunked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Transfer-Encoding wins over Content-Length (RFC 9112 6.3): the whole body arrives."""
    def both(conn: socket.socket, key: str, stop: threading.Event) -> None:
        body = completion("all of it")
        head(conn, "HTTP/1.1 200 OK", [*JSON, ("Content-Length", "5"),
                                       ("Transfer-Encoding", "chunked")],
             f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n")

    code, out, _ = await run_hostile(both, tmp_path, monkeypatch, capsys)
    assert code == 0 and "all of it" in out, out
