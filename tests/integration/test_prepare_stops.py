"""`prepare` stops when asked: Ctrl+C, SIGTERM or SIGHUP while an image is being saved ends it
within seconds, leaves no half file, and says "stopped" only once that is true.

A Docker Engine API on a Unix socket stands in for the daemon: it has every image and saves it
slowly (1 MB/s), as a 1 GB node image over conference Wi-Fi would come.
"""

from __future__ import annotations

import json
import re
import signal
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import unquote

import pytest

from sandbox.runtimes.kube.bundle import INDEX
from tests.helpers import stop_with

CHUNK = 64 * 1024
RATE = 1024 * 1024  # bytes per second
LONGEST = 120.0  # seconds an archive streams at most


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: SlowDockerApi

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def address_string(self) -> str:  # a Unix socket has no (host, port)
        return "unix"

    def _json(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Api-Version", "1.43")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        path = unquote(self.path.split("?", 1)[0])
        if path.endswith("/_ping"):
            self._json(200, "OK")
        elif path.endswith("/version"):
            self._json(200, {"ApiVersion": "1.43", "MinAPIVersion": "1.12", "Version": "24.0.7",
                             "Components": [{"Name": "Engine"}]})
        elif match := re.fullmatch(r"(?:/v[\d.]+)?/images/(.+)/json", path):
            name = match[1].split("@", 1)[0]
            self._json(200, {"Id": "sha256:" + "ab" * 32, "RepoTags": [name]})
        elif re.fullmatch(r"(?:/v[\d.]+)?/images/(.+)/get", path):
            self._stream_archive()
        else:
            self._json(404, {"message": f"no such thing: {path}"})

    def do_POST(self) -> None:
        self._json(201, {})

    def _stream_archive(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/x-tar")
        self.send_header("Connection", "close")
        self.end_headers()
        self.server.saving.set()
        started = time.monotonic()
        try:
            while time.monotonic() - started < LONGEST:
                self.wfile.write(b"\0" * CHUNK)
                self.wfile.flush()
                time.sleep(CHUNK / RATE)
        except OSError:  # the client went away: what a stopped prepare does
            self.server.client_left.set()
        self.close_connection = True


class SlowDockerApi(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, socket_path: Path) -> None:
        super().__init__(str(socket_path), Handler)
        self.saving = threading.Event()
        self.client_left = threading.Event()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


@pytest.fixture
def slow_docker(tmp_path: Path) -> Iterator[SlowDockerApi]:
    api = SlowDockerApi(tmp_path / "docker.sock")
    try:
        yield api
    finally:
        api.stop()


@pytest.mark.parametrize(("signum", "code", "said"), [
    (signal.SIGINT, 130, "agw-sandbox: interrupted; everything it started has been stopped"),
    (signal.SIGTERM, 143, "agw-sandbox: stopped by SIGTERM; everything it started has been "
                          "stopped"),
    (signal.SIGHUP, 129, "agw-sandbox: stopped by SIGHUP; everything it started has been "
                         "stopped")])
def test_a_stop_signal_ends_prepare_during_an_image_save(
        slow_docker: SlowDockerApi, cli_env: dict[str, str], tmp_path: Path,
        signum: signal.Signals, code: int, said: str) -> None:
    bundle = tmp_path / "bundle"
    env = {**cli_env, "DOCKER_HOST": f"unix://{tmp_path / 'docker.sock'}"}
    prepare = subprocess.Popen([sys.executable, "-m", "sandbox", "prepare", str(bundle)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert slow_docker.saving.wait(30), "the save never started"
        part = next(iter(bundle.glob("images/*.part")), None)
        deadline = time.monotonic() + 10
        while (part is None or part.stat().st_size < 256 * 1024) and time.monotonic() < deadline:
            time.sleep(0.05)
            part = part or next(iter(bundle.glob("images/*.part")), None)
        assert part is not None and part.stat().st_size >= 256 * 1024
        took, out, err = stop_with(prepare, signum)
    finally:
        if prepare.poll() is None:
            prepare.kill()
            prepare.communicate()
    assert prepare.returncode == code, err
    assert took < 4, f"prepare took {took:.1f}s to stop"
    assert said in err and "Traceback" not in out + err
    assert list(bundle.rglob("*.part")) == [] and not (bundle / INDEX).exists()
    assert slow_docker.client_left.wait(5)  # the download itself has stopped
