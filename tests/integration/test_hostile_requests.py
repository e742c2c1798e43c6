"""The mock provider and the sim gateway stay up and answer clearly whatever a client sends.

Raw loopback sockets play the hostile client: malformed bodies, lying Content-Length headers,
requests that stop half-way, slow trickles and odd methods. Every answer comes in the server's
own format, no connection is held past its deadline, and nothing reaches stderr.
"""

from __future__ import annotations

import asyncio
import select
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest

from sandbox.mock.guarded import GuardedHandler
from sandbox.mock.provider import MockProvider
from sandbox.profiles import DEFAULT_PROFILE
from sandbox.runtimes.sim.runtime import SimRuntime
from tests.conftest import TOKEN
from tests.helpers import GATEWAY, backend, route

AUTH = {"Authorization": f"Bearer {TOKEN}"}
BODY = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
IDLE, DEADLINE = 0.5, 1.0  # short, so a held connection shows within the test's patience


@dataclass
class Target:
    """One server under attack: where to send, what its errors look like, what escaped."""

    port: int
    path: str
    error_type: str
    failures: Callable[[], tuple[str, ...]]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"


@pytest.fixture(params=["mock", "gateway"])
def target(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Target]:
    if request.param == "mock":
        provider = MockProvider([TOKEN], token_delay=0.0, idle_timeout=IDLE,
                                request_deadline=DEADLINE).start()
        yield Target(provider.port, "/v1/chat/completions", "application/json",
                     lambda: provider.failures)
        provider.stop()
        return
    monkeypatch.setattr(GuardedHandler, "timeout", IDLE)
    monkeypatch.setattr(GuardedHandler, "request_deadline", DEADLINE)
    sim = SimRuntime(DEFAULT_PROFILE, 0, "mock", [TOKEN], token_delay=0.0)
    asyncio.run(sim.up(lambda line: None))
    upstream = sim.mock_upstream()
    assert upstream is not None and sim.gateway is not None
    for doc in (GATEWAY, backend({"kind": "Inline", "inline": TOKEN}, *upstream), route()):
        asyncio.run(sim.apply(doc))
    gateway = sim.gateway
    yield Target(gateway.port, "/openai", "text/plain",
                 lambda: gateway.failures + (sim.mock.failures if sim.mock else ()))
    asyncio.run(sim.down())


def raw(port: int, data: bytes, wait: float = 5.0) -> bytes:
    """Send bytes and read until the server closes; a server that holds on fails the test."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        sock.sendall(data)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


def head(path: str, *lines: str) -> bytes:
    return "\r\n".join([f"POST {path} HTTP/1.1", "Host: 127.0.0.1",
                        f"Authorization: Bearer {TOKEN}", *lines, "", ""]).encode()


def status_of(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/1.1 "), f"no HTTP answer: {answer[:80]!r}"
    return int(answer.split(b" ", 2)[1])


def assert_quiet(target: Target, capfd: pytest.CaptureFixture[str]) -> None:
    err = capfd.readouterr().err
    assert "Traceback" not in err and err == ""
    assert target.failures() == ()


@pytest.mark.parametrize("body", [b'{"model": "gpt-4o", "messages": [', b"[1, 2, 3]",
                                  bytes(range(256)), b"[" * 100_000],
                         ids=["truncated", "array", "binary", "deep"])
def test_a_malformed_body_with_a_valid_key_is_a_400_like_the_real_api(
        target: Target, body: bytes, capfd: pytest.CaptureFixture[str]) -> None:
    response = httpx.post(target.url, content=body, headers=AUTH, trust_env=False)
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert_quiet(target, capfd)


@pytest.mark.parametrize(("length", "status"), [("abc", 400), ("-5", 400), ("1e3", 400),
                                                (str(10**15), 413), ("9" * 5000, 413)],
                         ids=["letters", "negative", "float", "10^15", "5000-digits"])
def test_a_bad_content_length_is_answered_in_the_servers_format(
        target: Target, length: str, status: int, capfd: pytest.CaptureFixture[str]) -> None:
    answer = raw(target.port, head(target.path, f"Content-Length: {length}"))
    assert status_of(answer) == status
    assert f"Content-Type: {target.error_type}".encode() in answer
    assert b"<html" not in answer.lower()
    assert_quiet(target, capfd)


def test_a_body_that_stops_coming_gets_a_408_within_the_timeout(
        target: Target, capfd: pytest.CaptureFixture[str]) -> None:
    started = time.monotonic()
    answer = raw(target.port, head(target.path, "Content-Length: 100") + b'{"model": "x",')
    assert status_of(answer) == 408
    assert time.monotonic() - started < DEADLINE + 1
    assert_quiet(target, capfd)


@pytest.mark.parametrize("opening", [b"GET /\r\n", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
                                     b"POST /openai HTTP/1.1\r\nHost: "],
                         ids=["http09", "tls-hello", "half-a-header"])
def test_a_request_that_never_completes_is_dropped_not_held(
        target: Target, opening: bytes, capfd: pytest.CaptureFixture[str]) -> None:
    started = time.monotonic()
    raw(target.port, opening)
    assert time.monotonic() - started < DEADLINE + 1
    assert_quiet(target, capfd)


def test_slow_trickling_clients_are_cut_off_while_others_are_served(
        target: Target, capfd: pytest.CaptureFixture[str]) -> None:
    clients = [socket.create_connection(("127.0.0.1", target.port)) for _ in range(60)]
    try:
        for client in clients:
            client.sendall(f"POST {target.path} HTTP/1.1\r\nX-Slow: ".encode())
        served = httpx.post(target.url, json=BODY, headers=AUTH, trust_env=False, timeout=2)
        assert served.status_code == 200
        # One byte every 0.2 s beats the idle timeout; only the per-request deadline stops it.
        still_open = set(clients)
        give_up = time.monotonic() + DEADLINE + 2
        while still_open and time.monotonic() < give_up:
            for client in list(still_open):
                readable, _, _ = select.select([client], [], [], 0)
                try:
                    closed = bool(readable) and client.recv(1) == b""
                    if not closed:
                        client.sendall(b"x")
                except OSError:
                    closed = True
                if closed:
                    still_open.discard(client)
            time.sleep(0.2)
        assert not still_open, f"{len(still_open)} slow connections still held"
    finally:
        for client in clients:
            client.close()
    assert_quiet(target, capfd)


@pytest.mark.skipif(shutil.which("ss") is None, reason="needs ss (iproute2)")
def test_the_listen_queue_takes_a_burst_of_connections(target: Target) -> None:
    listing = subprocess.run(["ss", "-Hltn", f"sport = :{target.port}"], capture_output=True,
                             text=True, check=True).stdout.split()
    assert int(listing[2]) >= 128  # Send-Q of a listener is its backlog; Python's default is 5


def test_a_chunked_upload_is_read_in_full(target: Target,
                                          capfd: pytest.CaptureFixture[str]) -> None:
    def pieces() -> Iterator[bytes]:
        yield b'{"model": "gpt-4o", '
        yield b'"messages": [{"role": "user", "content": "hi"}]}'

    response = httpx.post(target.url, content=pieces(), headers=AUTH, trust_env=False)
    assert response.status_code == 200, response.text
    assert response.json()["usage"]["prompt_tokens"] == 1  # the message arrived, not just {}
    assert_quiet(target, capfd)


def test_an_upload_over_the_size_cap_is_a_413(target: Target,
                                              capfd: pytest.CaptureFixture[str]) -> None:
    answer = raw(target.port, head(target.path, "Transfer-Encoding: chunked")
                 + b"%x\r\n" % (5 * 1024 * 1024))
    assert status_of(answer) == 413
    assert_quiet(target, capfd)


def test_unknown_methods_get_an_error_in_the_servers_format(
        target: Target, capfd: pytest.CaptureFixture[str]) -> None:
    response = httpx.request("BREW", target.url, headers=AUTH, trust_env=False)
    assert response.status_code == 501
    assert response.headers["content-type"] == target.error_type
    assert "<html" not in response.text.lower()
    assert_quiet(target, capfd)


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_the_mock_answers_wrong_methods_with_an_openai_style_405(method: str) -> None:
    provider = MockProvider([TOKEN], token_delay=0.0).start()
    try:
        response = httpx.request(method, f"{provider.url}/v1/chat/completions", json=BODY,
                                 headers=AUTH, trust_env=False)
    finally:
        provider.stop()
    assert response.status_code == 405
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert method in response.json()["error"]["message"]


BODY_TEXT = b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}'
SMUGGLED = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def framed(*lines: str, version: str = "HTTP/1.1", path: str = "") -> bytes:
    """A POST whose body is BODY_TEXT sent chunked, then a second request riding after it."""
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(BODY_TEXT), BODY_TEXT)
    request = head(path, *lines).replace(b"HTTP/1.1", version.encode(), 1)
    return request + chunked + SMUGGLED


# (header lines, status): the framing RFC 9112 refuses, then one it only cannot serve.
REFUSED = {
    "content-length-and-chunked": (["Content-Length: 5", "Transfer-Encoding: chunked"], 400),
    "chunked-then-content-length": (["Transfer-Encoding: chunked", "Content-Length: 80"], 400),
    "xchunked": (["Transfer-Encoding: xchunked"], 400),
    "chunked-not-last": (["Transfer-Encoding: chunked, identity"], 400),
    "chunked-twice": (["Transfer-Encoding: chunked", "Transfer-Encoding: chunked"], 400),
    "empty-coding": (["Transfer-Encoding: "], 400),
    "space-before-colon": (["Content-Length : 5"], 400),
    "tab-before-colon": (["Transfer-Encoding\t: chunked"], 400),
    "gzip-then-chunked": (["Transfer-Encoding: gzip, chunked"], 501),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_framing_rfc_9112_refuses_is_answered_once_and_the_connection_closed(
        target: Target, capfd: pytest.CaptureFixture[str], case: str) -> None:
    lines, status = REFUSED[case]
    answer = raw(target.port, framed(*lines, path=target.path))
    assert status_of(answer) == status, answer[:200]
    assert answer.count(b"HTTP/1.1 ") == 1  # the riding request got no answer of its own
    assert b"connection: close" in answer.lower()
    assert_quiet(target, capfd)


def test_transfer_encoding_in_http_1_0_is_refused(target: Target,
                                                  capfd: pytest.CaptureFixture[str]) -> None:
    answer = raw(target.port, framed("Transfer-Encoding: chunked", version="HTTP/1.0",
                                     path=target.path))
    assert answer.split(b" ", 2)[1] == b"400" and answer.count(b" 400 ") == 1
    assert_quiet(target, capfd)


def test_a_plain_chunked_request_is_still_served_and_the_next_one_too(
        target: Target, capfd: pytest.CaptureFixture[str]) -> None:
    last = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    answer = raw(target.port, framed("Transfer-Encoding: chunked", path=target.path)
                 .replace(SMUGGLED, last))
    assert status_of(answer) == 200
    assert answer.count(b"HTTP/1.1 ") == 2  # a well-framed keep-alive request, then the next
    assert_quiet(target, capfd)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_a_body_with_nan_is_a_400_like_the_real_api(target: Target, constant: str) -> None:
    body = BODY_TEXT.decode().replace('"model"', f'"temperature": {constant}, "model"')
    response = httpx.post(target.url, content=body, headers=AUTH, trust_env=False)
    assert response.status_code == 400
    assert "could not parse the JSON body" in response.text
