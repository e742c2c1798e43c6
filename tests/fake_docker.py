"""A Docker daemon of the test's own on a UNIX socket, answering ``/_ping``, ``/version`` and
``/info`` as the test says: a shape of its choosing, or an answer that drips or never ends."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

VERSION: dict[str, Any] = {"Version": "24.0.7", "ApiVersion": "1.43", "MinAPIVersion": "1.12",
                           "Os": "linux", "Components": [{"Name": "Engine", "Version": "24.0.7"}]}
INFO: dict[str, Any] = {"NCPU": 4, "MemTotal": 8 * 1024**3, "ServerVersion": "24.0.7",
                        "OperatingSystem": "Debian GNU/Linux 12"}
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nApi-Version: 1.43\r\n"

# How one path is answered: a JSON-able value, raw bytes (sent whole), or a writer given the
# connection and the event that says the test is over.
Writer = Callable[[socket.socket, threading.Event], None]
Answer = Any


def drip(length: int = 1000, every: float = 0.2) -> Writer:
    """Headers that announce ``length`` bytes, then one space every ``every`` seconds."""
    def write(conn: socket.socket, over: threading.Event) -> None:
        conn.sendall(HEAD + b"Content-Length: %d\r\n\r\n" % length)
        for _ in range(length):
            if over.wait(every):
                return
            conn.sendall(b" ")
    return write


def drip_headers(every: float = 0.2) -> Writer:
    """The status line, then a header that never ends, a byte at a time."""
    def write(conn: socket.socket, over: threading.Event) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
        while not over.wait(every):
            conn.sendall(b"a")
    return write


def answer(status: bytes, body: bytes = b"", content_type: bytes = b"application/json",
           length: int | None = None) -> Writer:
    """One answer of ``status`` ("404 Not Found") with ``body``, whose Content-Length says
    ``length`` (the body's own by default); the connection is closed after it."""
    def write(conn: socket.socket, over: threading.Event) -> None:
        announced = len(body) if length is None else length
        conn.sendall(b"HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n"
                     % (status, content_type, announced) + body)
    return write


def huge(announced: int = 300_000_000) -> Writer:
    """A JSON string that goes on for ``announced`` bytes, sent as fast as it is read."""
    def write(conn: socket.socket, over: threading.Event) -> None:
        conn.sendall(HEAD + b"Content-Length: %d\r\n\r\n{\"Version\": \"" % announced)
        piece = b"A" * 65536
        for _ in range(announced // len(piece)):
            if over.is_set():
                return
            conn.sendall(piece)
    return write


def _send(conn: socket.socket, answer: Answer, over: threading.Event) -> None:
    if callable(answer):
        answer(conn, over)
        return
    body = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
    conn.sendall(HEAD + b"Content-Length: %d\r\n\r\n" % len(body) + body)


def _serve(conn: socket.socket, answers: dict[str, Answer], over: threading.Event,
           asked: list[str]) -> None:
    with contextlib.suppress(OSError), conn, conn.makefile("rb") as reader:
        while request := reader.readline():
            while reader.readline() not in (b"\r\n", b"\n", b""):
                pass  # headers; the probe's requests have no body
            path = request.split(b" ")[1].decode().split("?")[0]
            asked.append(path)
            name = "/" + path.rsplit("/", 1)[-1]
            if name == "/_ping" and name not in answers:
                conn.sendall(HEAD.replace(b"json", b"plain") + b"Content-Length: 2\r\n\r\nOK")
            elif name in answers:
                _send(conn, answers[name], over)
                if callable(answers[name]):
                    return
            else:
                _send(conn, {"message": f"page not found: {path}"}, over)


@contextlib.contextmanager
def fake_docker(path: Path, version: Answer = None, info: Answer = None,
                ping: Answer = None) -> Iterator[list[str]]:
    """Serve at ``path`` until the block ends (every connection then closed); yields the paths
    asked, in order. ``version`` and ``info`` default to Docker 24's answers, ``ping`` to
    Docker's "OK"."""
    answers = {"/version": VERSION if version is None else version,
               "/info": INFO if info is None else info}
    if ping is not None:
        answers["/_ping"] = ping
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    listener.listen(16)
    over, asked, held = threading.Event(), [], []

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = listener.accept()
                held.append(conn)
                threading.Thread(target=_serve, args=(conn, answers, over, asked),
                                 daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield asked
    finally:
        over.set()
        listener.close()
        path.unlink(missing_ok=True)
        for conn in held:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        time.sleep(0.05)
