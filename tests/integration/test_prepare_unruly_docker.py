"""`prepare` against a Docker daemon that streams too much or too slowly: an image archive is
capped in size, and a pull or save that makes no progress for a while, or takes far too long in
all, stops naming the image; no partial archive is left behind."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from sandbox.errors import RuntimeUnavailable
from sandbox.profiles import DEFAULT_PROFILE
from sandbox.runtimes.kube import bundle, containers

IMAGE = "kindest/node:v1.34.0"


class FakeDaemon(BaseHTTPRequestHandler):
    """Answers like a Docker daemon until the image itself: then as ``mode`` says."""

    protocol_version = "HTTP/1.1"
    mode = "save_endless"
    done = threading.Event()

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path.endswith("/_ping"):
            self._answer(b"OK", "text/plain")
        elif path.endswith("/version"):
            self._answer(json.dumps({"ApiVersion": "1.43", "Version": "24.0"}).encode())
        elif path.endswith("/json") and "/images/" in path:
            if self.mode.startswith("pull") and not self.server.pulled:  # type: ignore[attr-defined]
                self._answer(b'{"message": "No such image"}', status=404)
            else:
                self._answer(json.dumps({"Id": "sha256:" + "a" * 64,
                                         "RepoTags": [IMAGE]}).encode())
        elif path.endswith("/get"):
            self._stream(b"\0" * 65536, every=0.0 if self.mode == "save_endless" else 0.1)
        else:
            self._answer(b'{"message": "not here"}', status=404)

    def do_POST(self) -> None:
        if "/images/create" in self.path and self.mode == "pull_refused":
            self._answer(b'{"message": "pull access denied for kindest/node, repository does '
                         b'not exist"}', status=500)
        elif "/images/create" in self.path:
            self._stream(b'{"status": "Downloading", "progress": "[=> ]"}\r\n', every=0.05)
        else:
            self._answer(b'{"message": "not here"}', status=404)

    def _answer(self, body: bytes, kind: str = "application/json", status: int = 200) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Api-Version", "1.43")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _stream(self, piece: bytes, every: float) -> None:
        """Headers, then ``piece`` again and again (``*_stall``: nothing at all) until the test
        ends."""
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        with contextlib.suppress(OSError):
            while not self.done.is_set():
                if self.mode.endswith("stall"):
                    self.done.wait(0.1)
                    continue
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                if every:
                    self.done.wait(every)
        self.close_connection = True  # the client's reader, still waiting, sees the end


@contextlib.contextmanager
def fake_daemon(mode: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    handler = type("Handler", (FakeDaemon,), {"mode": mode, "done": threading.Event()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    server.pulled = False  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{server.server_address[1]}")
    try:
        yield
    finally:
        handler.done.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture(autouse=True)
def quick_limits(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("DOCKER_CONTEXT", "DOCKER_CONFIG", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(containers, "MAX_ARCHIVE_BYTES", 4 * 1024 * 1024)
    monkeypatch.setattr(containers, "STALL_SECONDS", 1)
    monkeypatch.setattr(containers, "ARCHIVE_DEADLINE", 4)


def test_an_archive_that_grows_past_the_cap_stops_the_save(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    dest = tmp_path / "node.tar"
    with fake_daemon("save_endless", monkeypatch):
        started = time.monotonic()
        with pytest.raises(RuntimeUnavailable) as raised:
            containers.save_image(IMAGE, dest)
    assert time.monotonic() - started < 10
    assert raised.value.message == (f"the archive of {IMAGE} grew past 4 MiB, far more than "
                                    "such an image takes; the save was stopped")
    assert "docker image ls" in raised.value.hint
    assert dest.stat().st_size <= 4 * 1024 * 1024


@pytest.mark.parametrize(("mode", "message"), [
    ("save_stall", f"saving {IMAGE} made no progress for 1 s"),
    ("pull_stall", f"pulling {IMAGE} made no progress for 1 s"),
    ("save_slow", f"saving {IMAGE} took more than 4 s"),
    ("pull_endless", f"pulling {IMAGE} took more than 4 s"),
])
def test_a_transfer_without_progress_or_without_end_stops_naming_the_image(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, mode: str, message: str) -> None:
    said: list[str] = []
    with fake_daemon(mode, monkeypatch):
        started = time.monotonic()
        with pytest.raises(RuntimeUnavailable) as raised:
            containers.save_image(IMAGE, tmp_path / "node.tar", said.append)
        seconds = time.monotonic() - started
    assert seconds < 9, seconds
    assert raised.value.message.startswith(message), raised.value.message
    assert "agw-sandbox prepare" in raised.value.hint
    stalled = [line for line in said if "no progress for 0.5 s" in line]
    assert stalled == ([f"{message.split(' made')[0]}: no progress for 0.5 s; giving up after "
                        "1 s without any"] if "stall" in mode else []), said


def test_prepare_leaves_no_partial_archive(monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    lines: list[str] = []
    with fake_daemon("save_endless", monkeypatch), pytest.raises(RuntimeUnavailable) as raised:
        asyncio.run(bundle.prepare(tmp_path / "b", [DEFAULT_PROFILE], lines.append))
    assert "grew past 4 MiB" in raised.value.message
    assert lines[0].startswith("[1/")
    assert [p for p in (tmp_path / "b").rglob("*") if p.is_file()] == []
