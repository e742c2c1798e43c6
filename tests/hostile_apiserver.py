"""A Kubernetes API server that misbehaves on purpose, on a loopback port of the test's own.

``/version`` answers as a real server does unless the behaviour is about the first call; every
other path gets the behaviour: silence, an answer trickled a byte at a time, an answer cut short,
one that is not JSON, nested too deeply, far too large or compressed although nobody asked.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator

VERSION = {"major": "1", "minor": "34", "gitVersion": "v1.34.0"}
Behaviour = Callable[[socket.socket, str], None]


def answer(conn: socket.socket, body: bytes, status: str = "200 OK",
           headers: str = "Content-Type: application/json\r\n") -> None:
    conn.sendall(f"HTTP/1.1 {status}\r\n{headers}Content-Length: {len(body)}\r\n\r\n".encode()
                 + body)


def silence(conn: socket.socket, path: str) -> None:
    time.sleep(3600)


def trickled_headers(conn: socket.socket, path: str) -> None:
    """A status line, then header bytes every 0.2 s, for ever: each read gets a byte in time."""
    conn.sendall(b"HTTP/1.1 200 OK\r\n")
    while True:
        conn.sendall(b"X-Slow: " + b"a" * 3)
        for _ in range(200):
            conn.sendall(b"a")
            time.sleep(0.2)
        conn.sendall(b"\r\n")


def trickled_body(conn: socket.socket, path: str) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 1000000\r\n\r\n{\"items\": [")
    while True:
        conn.sendall(b" ")
        time.sleep(0.2)


def headers_then_close(conn: socket.socket, path: str) -> None:
    """What kapi.py's "trickle" ended with: part of the headers, then the connection closed."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")


def cut_short(conn: socket.socket, path: str) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n"
                 b"\r\n{\"kind\": \"Deployment\", \"status\": {\"replicas\": ")


def html(conn: socket.socket, path: str) -> None:
    answer(conn, b"<html><body>Welcome to nginx!</body></html>", headers="Content-Type: "
           "text/html\r\n")


def empty(conn: socket.socket, path: str) -> None:
    answer(conn, b"")


def array(conn: socket.socket, path: str) -> None:
    answer(conn, b"[{\"kind\": \"Deployment\"}]")


def deep(conn: socket.socket, path: str) -> None:
    answer(conn, b"{\"a\": " * 50000 + b"1" + b"}" * 50000)


def huge(conn: socket.socket, path: str) -> None:
    """200 MB of one JSON string, sent as fast as the test reads it."""
    size = 200 * 1024 * 1024
    conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                 f"{size}\r\n\r\n".encode() + b"{\"a\": \"")
    piece = b"A" * (1 << 20)
    for _ in range(200):
        conn.sendall(piece)


def gzipped(conn: socket.socket, path: str) -> None:
    answer(conn, gzip.compress(json.dumps({"kind": "Deployment"}).encode()),
           headers="Content-Type: application/json\r\nContent-Encoding: gzip\r\n")


class HostileApi:
    """Serves ``behaviour`` on every path (``/version`` too when ``first_call``)."""

    def __init__(self, behaviour: Callable[..., None], first_call: bool = False,
                 with_head: bool = False) -> None:
        self.behaviour = behaviour
        self.first_call = first_call
        self.with_head = with_head  # the behaviour also gets the request's line and headers
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(32)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.heads: list[str] = []  # each request's line and headers, as received
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self.listener.accept()
                self.connections.append(conn)
                threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError), conn:
            while True:
                head = b""
                while b"\r\n\r\n" not in head:
                    piece = conn.recv(65536)
                    if not piece:
                        return
                    head += piece
                text = head.split(b"\r\n\r\n")[0].decode(errors="replace")
                self.heads.append(text)
                path = text.split(" ")[1]
                if path.startswith("/version") and not self.first_call:
                    answer(conn, json.dumps(VERSION).encode())
                    continue
                if self.with_head:
                    self.behaviour(conn, path, text)  # type: ignore[call-arg]
                else:
                    self.behaviour(conn, path)
                return

    def close(self) -> None:
        self.listener.close()
        for conn in self.connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()


@contextlib.contextmanager
def hostile_api(behaviour: Callable[..., None], first_call: bool = False,
                with_head: bool = False) -> Iterator[HostileApi]:
    server = HostileApi(behaviour, first_call, with_head)
    try:
        yield server
    finally:
        server.close()


def kubeconfig(server: str, user: str = "    token: kc-test-token\n", cluster: str = "") -> str:
    """A kubeconfig with one context, ``c``; ``user`` and ``cluster`` are extra YAML lines."""
    return (f"apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n"
            f"    server: {server}\n{cluster}contexts:\n- name: c\n  context: {{cluster: c, "
            f"user: u}}\ncurrent-context: c\nusers:\n- name: u\n  user:\n{user}")


def status_for_everything(conn: socket.socket, path: str) -> None:
    """200 with a Status object, whatever was asked for (a proxy or webhook that answers so)."""
    answer(conn, json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                             "message": "no such thing", "code": 404}).encode())


def empty_object(conn: socket.socket, path: str) -> None:
    """200 with `{}` for everything (a proxy's idea of an answer)."""
    answer(conn, b"{}")


def without_kind(conn: socket.socket, path: str) -> None:
    """200 with an object that has the sections of one, but neither kind nor apiVersion."""
    answer(conn, json.dumps({"metadata": {"name": "x", "generation": 1}, "spec": {},
                             "status": {}, "items": []}).encode())


def kind_asked(path: str) -> str:
    """The kind of object (or list) that ``path`` asks for: those `status` reads."""
    kind = "CustomResourceDefinition" if "/customresourcedefinitions" in path else "Deployment"
    return kind + "List" if "labelSelector" in path else kind


def sections_of_the_wrong_type(conn: socket.socket, path: str) -> None:
    """The kind asked for, with a status that is a string and a spec that is a list."""
    kind = kind_asked(path)
    answer(conn, json.dumps({"kind": kind, "apiVersion": "apps/v1", "items": [],
                             "metadata": {"name": "x", "generation": 1},
                             "spec": ["replicas"], "status": "Failure"}).encode())


def not_a_number(conn: socket.socket, path: str) -> None:
    """A Deployment whose counts are NaN and Infinity: Python's json reads them, JSON has none."""
    kind = kind_asked(path)
    text = json.dumps({"kind": kind, "apiVersion": "apps/v1", "items": [],
                       "metadata": {"name": "x", "generation": "G"}, "spec": {"replicas": 1},
                       "status": {"replicas": "I", "updatedReplicas": "-I"}})
    for placeholder, constant in (('"G"', "NaN"), ('"-I"', "-Infinity"), ('"I"', "Infinity")):
        text = text.replace(placeholder, constant)
    answer(conn, text.encode())
