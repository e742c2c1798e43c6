"""Whatever a Docker daemon (or what stands in for one) does wrong is said in plain words: an
answer cut short, empty, a web page, not JSON, a connection reset, a host name unknown, an
error answer to a pull, never Python's exception text ("IncompleteRead(…)", "Expecting value")."""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.errors import RuntimeUnavailable
from sandbox.runtimes.kube import containers
from sandbox.runtimes.kube.containers import probe_docker
from tests.conftest import TOKEN
from tests.fake_docker import Writer, answer, fake_docker
from tests.helpers import run_cli
from tests.integration.test_prepare_unruly_docker import IMAGE, fake_daemon

NOT_DOCKER = "which is not what Docker answers"
PYTHONS_WORDS = ("IncompleteRead", "Expecting value", "line 1 column", "(('", "Error(",
                 "Max retries", "HTTPConnectionPool", "Errno", "Server Error for")


def sends(raw: bytes) -> Writer:
    def write(conn: socket.socket, over: threading.Event) -> None:
        conn.sendall(raw)
    return write


def ok(headers: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + headers


# (what /version answers, what the daemon is said to have answered)
BROKEN = [
    (sends(ok(b"Content-Length: 500\r\n\r\n") + b'{"Version": "24'),
     "/version by closing the connection after 15 of 500 bytes"),
    (sends(ok(b"Content-Length: 80\r\n\r\n") + b"{\r\n"),
     "/version by closing the connection after 3 of 80 bytes"),
    (sends(ok(b"Transfer-Encoding: chunked\r\n\r\n") + b'40\r\n{"Version": "24'),
     "/version by closing the connection in the middle of its answer"),
    (sends(ok(b"Transfer-Encoding: chunked\r\n\r\n") + b"2\r\n{}\r\n"),
     "/version by closing the connection in the middle of its answer"),
    (sends(ok(b"Transfer-Encoding: chunked\r\n\r\n") + b"zz\r\n{}\r\n0\r\n\r\n"),
     '/version with a chunk size that is not a number ("zz")'),
    (sends(ok(b"Content-Encoding: gzip\r\nContent-Length: 5\r\n\r\n") + b"hello"),
     "/version with an answer said to be compressed (gzip) that does not decompress"),
    (sends(ok(b"X-Long: " + b"a" * 70000 + b"\r\n\r\n")),
     "/version with a header line longer than 64 KiB"),
    (b"", "/version with an empty answer"),
    (b"  \r\n ", "/version with an answer of blanks only"),
    (answer(b"200 OK", b"<html><title>Welcome</title></html>", b"text/html; charset=utf-8"),
     "/version with an HTML page (text/html)"),
    (b"<!DOCTYPE html><p>hi</p>", "/version with an HTML page"),
    (b"hello world", '/version with something that is not JSON (first characters: "hello '
                     'world")'),
    (b'{"Version": "24"} and more', '/version with something that is not JSON (first '
                                    'characters: "{"Version": "24"} and more")'),
    (b"\xff\xfe{}", '/version with something that is not JSON (first characters: '
                    '"\\xff\\xfe{}")'),
    (b"error: " + b"x" * 45 + b" sk-test-" + b"Q" * 30,
     '/version with something that is not JSON (first characters: "error: ' + "x" * 45 + '…")'),
    (b"A" * 500, '/version with something that is not JSON (first characters: "'
                 + "A" * 59 + '…")'),
]


@pytest.mark.parametrize(("version", "answered"), BROKEN, ids=[said for _, said in BROKEN])
def test_a_broken_answer_is_said_in_plain_words(
        tmp_path: Path, version: object, answered: str) -> None:
    socket_path = tmp_path / "docker.sock"
    with fake_docker(socket_path, version), pytest.raises(RuntimeUnavailable) as caught:
        probe_docker(f"unix://{socket_path}")
    assert caught.value.message == (f"the Docker daemon at unix://{socket_path}, as given, "
                                    f"answered {answered}, {NOT_DOCKER}")


def test_doctor_shows_an_answers_first_characters_escaped_and_masked(
        tmp_path: Path, cli_env: dict[str, str]) -> None:
    socket_path = tmp_path / "docker.sock"
    with fake_docker(socket_path, f"key {TOKEN}\x1b]52;c;eA==\x07".encode()):
        result = run_cli("doctor", env={**cli_env, "DOCKER_HOST": f"unix://{socket_path}"},
                         timeout=60)
    shown = result.stdout + result.stderr
    assert (f'something that is not JSON (first characters: "key sk-…{TOKEN[-4:]}'
            '\\u001b]52;c;eA==\\u0007")') in shown, shown
    assert TOKEN[8:-4] not in shown and "\x1b" not in shown
    assert not [words for words in PYTHONS_WORDS if words in shown], shown


@contextlib.contextmanager
def resetting_listener() -> Iterator[int]:
    """A TCP port whose every connection is reset as soon as the request arrives."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)

    def serve() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = listener.accept()
                conn.recv(65536)
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                conn.close()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


def test_a_connection_reset_is_said_so() -> None:
    with resetting_listener() as port, pytest.raises(RuntimeUnavailable) as caught:
        probe_docker(f"tcp://127.0.0.1:{port}")
    assert caught.value.message == (f"the Docker daemon is not reachable at tcp://127.0.0.1:"
                                    f"{port}, as given (it reset the connection)")


def test_a_host_name_that_is_not_known_is_said_so(monkeypatch: pytest.MonkeyPatch) -> None:
    def unknown(*args: object, **kwargs: object) -> object:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", unknown)
    with pytest.raises(RuntimeUnavailable) as caught:
        probe_docker("tcp://docker.example:2375")
    assert caught.value.message == ("the Docker daemon is not reachable at "
                                    "tcp://docker.example:2375, as given (its host name could "
                                    "not be resolved: name or service not known)")


def self_signed(folder: Path, name: str) -> tuple[Path, Path]:
    """A certificate (and its key) nobody else vouches for, made by openssl."""
    folder.mkdir(parents=True, exist_ok=True)
    certificate, key = folder / f"{name}.pem", folder / f"{name}-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(certificate)],
                   check=True, capture_output=True)
    return certificate, key


@contextlib.contextmanager
def tls_listener(certificate: tuple[Path, Path] | None) -> Iterator[int]:
    """A TCP port that speaks TLS with ``certificate``, or (None) plain HTTP."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if certificate is not None:
        context.load_cert_chain(*certificate)

    def serve() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = listener.accept()
                with contextlib.suppress(OSError, ssl.SSLError):
                    if certificate is not None:
                        conn = context.wrap_socket(conn, server_side=True)
                    conn.recv(65536)
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                conn.close()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


@pytest.mark.parametrize(("server_speaks_tls", "said"), [
    (False, "(TLS failed: wrong version number)"),
    (True, "(its TLS certificate was not accepted: self"),  # "self-signed certificate"
])
def test_a_tls_failure_is_said_in_plain_words(
        no_docker_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        server_speaks_tls: bool, said: str) -> None:
    certs = tmp_path / "certs"
    client = self_signed(certs, "cert")
    (certs / "ca.pem").write_bytes(client[0].read_bytes())  # trusts only itself
    (certs / "key.pem").write_bytes(client[1].read_bytes())
    server = self_signed(tmp_path / "server", "server") if server_speaks_tls else None
    with tls_listener(server) as port:
        monkeypatch.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{port}")
        monkeypatch.setenv("DOCKER_TLS_VERIFY", "1")
        monkeypatch.setenv("DOCKER_CERT_PATH", str(certs))
        with pytest.raises(RuntimeUnavailable) as caught:
            probe_docker()
    assert caught.value.message.startswith(
        f"the Docker daemon is not reachable at tcp://127.0.0.1:{port}, set by DOCKER_HOST "
        + said), caught.value.message
    assert not [words for words in PYTHONS_WORDS if words in caught.value.message]


def test_a_refused_pull_says_what_docker_answered(
        no_docker_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with fake_daemon("pull_refused", monkeypatch), \
            pytest.raises(RuntimeUnavailable) as caught:
        containers.save_image(IMAGE, tmp_path / "node.tar")
    assert caught.value.message == (
        f"could not save the image {IMAGE} (Docker answered HTTP 500: pull access denied for "
        "kindest/node, repository does not exist)")


def test_a_full_disk_is_said_so(no_docker_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with fake_daemon("save_endless", monkeypatch), \
            pytest.raises(RuntimeUnavailable) as caught:
        containers.save_image(IMAGE, Path("/dev/full"))
    assert caught.value.message == f"could not save the image {IMAGE} (no space left on device)"


@pytest.mark.parametrize(("verify", "present", "said"), [
    ("1", (), "DOCKER_TLS_VERIFY asks for TLS, and CERTS has no cert.pem, key.pem nor ca.pem"),
    ("1", ("cert.pem", "key.pem"), "DOCKER_TLS_VERIFY asks for TLS, and CERTS has no ca.pem"),
    ("", ("cert.pem", "ca.pem"), "DOCKER_CERT_PATH asks for TLS, and CERTS has no key.pem"),
])
def test_tls_files_that_are_missing_are_named(
        no_docker_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, verify: str,
        present: tuple[str, ...], said: str) -> None:
    certs = tmp_path / "certs"
    certs.mkdir()
    for name in present:
        (certs / name).write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:2376")
    monkeypatch.setenv("DOCKER_TLS_VERIFY", verify)
    monkeypatch.setenv("DOCKER_CERT_PATH", str(certs))
    with pytest.raises(RuntimeUnavailable) as caught:
        containers.resolve_endpoint()
    assert caught.value.message == ("DOCKER_HOST is set but unusable ("
                                    + said.replace("CERTS", str(certs)) + ")")
    assert "DOCKER_CERT_PATH" in caught.value.hint
