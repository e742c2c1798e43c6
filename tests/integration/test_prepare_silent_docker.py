"""`prepare` on a Docker endpoint that accepts connections and never answers: it gives up in
seconds, as `doctor` does, naming the endpoint; and each Docker API call other than the image
stream itself has a deadline."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.errors import RuntimeUnavailable
from tests.helpers import run_cli


@contextlib.contextmanager
def silent_listener(family: int, address: str | tuple[str, int],
                    answered: tuple[bytes, ...] = ()) -> Iterator[socket.socket]:
    """Accepts connections; answers the requests whose path holds one of ``answered`` (as a
    Docker daemon would, briefly) and never anything else."""
    listener = socket.socket(family)
    listener.bind(address)
    listener.listen(16)
    held: list[socket.socket] = []

    def serve(conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while request := conn.recv(65536):
                if any(path in request.split(b"\r\n", 1)[0] for path in answered):
                    body = b"OK" if b"/_ping" in request else b'{"ApiVersion": "1.43"}'
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                 b"Api-Version: 1.43\r\nContent-Length: "
                                 + str(len(body)).encode() + b"\r\n\r\n" + body)

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = listener.accept()
                held.append(conn)
                threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield listener
    finally:
        listener.close()
        for conn in held:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()


def test_prepare_gives_up_on_a_silent_docker_endpoint_within_seconds(
        cli_env: dict[str, str], tmp_path: Path) -> None:
    with silent_listener(socket.AF_INET, ("127.0.0.1", 0)) as listener:
        endpoint = f"tcp://127.0.0.1:{listener.getsockname()[1]}"
        started = time.monotonic()
        result = run_cli("prepare", str(tmp_path / "bundle"),
                         env={**cli_env, "DOCKER_HOST": endpoint}, timeout=60)
        seconds = time.monotonic() - started
    assert seconds < 15, seconds
    assert result.returncode == 2, result.stdout + result.stderr
    assert "[1/" in result.stdout
    # `doctor`'s words for the same endpoint
    assert (f"the Docker daemon is not reachable at {endpoint}, set by DOCKER_HOST (timed out)"
            in result.stderr)
    assert "`prepare` saves the images through Docker" in result.stderr
    assert list((tmp_path / "bundle").rglob("*.part")) == []


def test_a_docker_call_after_the_probe_has_a_deadline_too(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The daemon answers the probe, then never says whether it has the image."""
    from sandbox.runtimes.kube import containers

    monkeypatch.setattr(containers, "DOCKER_CALL_TIMEOUT", 1)
    path = tmp_path / "docker.sock"
    with silent_listener(socket.AF_UNIX, str(path), answered=(b"/_ping", b"/version")):
        monkeypatch.setenv("DOCKER_HOST", f"unix://{path}")
        started = time.monotonic()
        with pytest.raises(RuntimeUnavailable) as raised:
            containers.save_image("kindest/node:v1.34.0", tmp_path / "node.tar")
        seconds = time.monotonic() - started
    assert seconds < 10, seconds
    assert raised.value.message == "could not save the image kindest/node:v1.34.0 (timed out)"
