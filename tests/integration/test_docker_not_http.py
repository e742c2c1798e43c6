"""Whatever listens at DOCKER_HOST may not speak HTTP at all (an SSH server, a closed door, a
flood of headers): the message says what it did, in words, never Python's exception tuple."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.errors import RuntimeUnavailable
from sandbox.runtimes.kube.containers import probe_docker
from tests.fake_docker import Writer, fake_docker
from tests.helpers import run_cli

NOT_DOCKER = "which is not what Docker answers"
BANNER = b"SSH-2.0-OpenSSH_9.6\r\n\x1b]0;PWNED\x07"


@contextlib.contextmanager
def greeter(path: Path, greeting: bytes) -> Iterator[None]:
    """A server at ``path`` that, as sshd does, speaks first (``greeting``) and then hangs up."""
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    listener.listen(8)

    def serve() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = listener.accept()
                with conn:
                    conn.sendall(greeting)

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield
    finally:
        listener.close()
        path.unlink(missing_ok=True)


def sends(raw: bytes) -> Writer:
    def write(conn: socket.socket, over: threading.Event) -> None:
        conn.sendall(raw)
    return write


def refused(socket_path: Path) -> RuntimeUnavailable:
    with pytest.raises(RuntimeUnavailable) as caught:
        probe_docker(f"unix://{socket_path}")
    return caught.value


@pytest.mark.parametrize(("greeting", "began"), [
    (BANNER, '"SSH-2.0-OpenSSH_9.6"'),
    (b"220 mail.example ESMTP\r\n", '"220 mail.example ESMTP"'),
    (b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n", '"\\u0016\\u0003\\u0001'),
])
def test_a_server_that_speaks_another_protocol_is_named_so(
        tmp_path: Path, greeting: bytes, began: str) -> None:
    socket_path = tmp_path / "docker.sock"
    with greeter(socket_path, greeting):
        error = refused(socket_path)
    assert error.message.startswith(
        f"the Docker daemon at unix://{socket_path}, as given, answered something that is not "
        f"HTTP (it began with {began}"), error.message
    assert error.message.endswith(NOT_DOCKER), error.message
    assert "Connection aborted" not in error.message and "\x1b" not in error.message
    assert "DOCKER_HOST" in error.hint


@pytest.mark.parametrize(("version", "answered"), [
    (sends(BANNER), 'something that is not HTTP (it began with "SSH-2.0-OpenSSH_9.6")'),
    (sends(b""), "/version by closing the connection without answering"),
    (sends(b"HTTP/1.1 200 OK\r\n" + b"X-A: b\r\n" * 150 + b"\r\n"),
     "/version with more than 100 header lines"),
])
def test_an_answer_that_is_not_http_is_named_in_words(
        tmp_path: Path, version: object, answered: str) -> None:
    socket_path = tmp_path / "docker.sock"
    with fake_docker(socket_path, version):
        error = refused(socket_path)
    assert error.message == (f"the Docker daemon at unix://{socket_path}, as given, answered "
                             f"{answered}, {NOT_DOCKER}")


def test_doctor_names_an_ssh_server_at_docker_host(
        tmp_path: Path, cli_env: dict[str, str]) -> None:
    socket_path = tmp_path / "docker.sock"
    with greeter(socket_path, BANNER):
        result = run_cli("doctor", env={**cli_env, "DOCKER_HOST": f"unix://{socket_path}"},
                         timeout=60)
    shown = result.stdout + result.stderr
    assert ("set by DOCKER_HOST, answered something that is not HTTP (it began with "
            '"SSH-2.0-OpenSSH_9.6")') in shown, shown
    assert "BadStatusLine" not in shown and "(('" not in shown and "\x1b" not in shown
