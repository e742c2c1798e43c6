"""Headers larger than the mock provider takes: a 431 every time, through the sim gateway too.

A key of 100 KB (a pasted file, a key repeated) makes an ``Authorization`` line longer than the
mock reads (64 KiB, as Python's parser). The mock answered 431 and closed with the rest of the
request unread, so its system reset the connection: the peer, still sending, saw the reset and
not the answer (the gateway then said 503, "could not reach the mock provider") about one time
in six.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from sandbox.mock.provider import MockProvider
from sandbox.profiles import DEFAULT_PROFILE
from sandbox.runtimes.sim.runtime import SimRuntime
from sandbox.walkthrough.events import ResponseView
from sandbox.walkthrough.hints import status_hint
from tests.conftest import TOKEN
from tests.helpers import GATEWAY, backend, route

TRIES = 30
LONG_KEY = "sk-test-" + "Hd4Vn8" * 17_000  # 102 KB: one header line over the 64 KiB limit
BODY = json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]})
PAUSE = 0.05  # between a request's head and its body: the server has answered by then


def request_bytes(*header_lines: str) -> bytes:
    return "\r\n".join(["POST /v1/chat/completions HTTP/1.1", "Host: 127.0.0.1",
                        *header_lines, "Content-Type: application/json",
                        f"Content-Length: {len(BODY)}", "", BODY]).encode()


def answer_to(port: int, data: bytes) -> bytes:
    """Send the request's head, then its body a moment later (as a proxy's client sends them,
    in two writes), then read the answer until the server closes: a reset while sending, or
    instead of the answer, fails the test."""
    head_ends = data.index(b"\r\n\r\n") + 4
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data[:head_ends])
        time.sleep(PAUSE)
        sock.sendall(data[head_ends:])
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


@pytest.fixture
def mock() -> Iterator[MockProvider]:
    provider = MockProvider([TOKEN], token_delay=0.0).start()
    yield provider
    provider.stop()


@pytest.mark.parametrize("header_lines", [
    (f"Authorization: Bearer {LONG_KEY}",),
    tuple(f"X-Note-{n}: {'n' * 900}" for n in range(120)),  # 120 lines: over 100 headers
], ids=["line", "count"])
def test_the_mock_answers_431_to_headers_too_large_every_time(
        mock: MockProvider, header_lines: tuple[str, ...]) -> None:
    """RFC 9110 §15.5.20; the rest of the request is read before closing (RFC 9112 §9.6), so
    the client gets the answer, not a reset."""
    for _ in range(TRIES):
        answer = answer_to(mock.port, request_bytes(*header_lines))
        assert answer.startswith(b"HTTP/1.1 431 "), answer[:80]
        assert b"Connection: close" in answer
        assert b"Hd4Vn8Hd4Vn8" not in answer
    assert mock.failures == ()


@pytest.fixture
def gateway_to_mock_with_long_key() -> Iterator[int]:
    sim = SimRuntime(DEFAULT_PROFILE, 0, "mock", [TOKEN], token_delay=0.0)
    asyncio.run(sim.up(lambda line: None))
    upstream = sim.mock_upstream()
    assert upstream is not None and sim.gateway is not None
    for doc in (GATEWAY, backend({"kind": "Inline", "inline": LONG_KEY}, *upstream), route()):
        asyncio.run(sim.apply(doc))
    yield sim.gateway.port
    asyncio.run(sim.down())


def test_the_gateway_passes_on_the_mocks_431_every_time(
        gateway_to_mock_with_long_key: int) -> None:
    """The gateway relays the provider's status, as agentgateway keeps a non-2xx status; the
    hint says what is true: the headers (the key) are too large, not the mock unreachable."""
    url = f"http://127.0.0.1:{gateway_to_mock_with_long_key}/openai"
    statuses = []
    with httpx.Client(timeout=10) as client:
        for _ in range(TRIES):
            answer = client.post(url, content=BODY, headers={"Content-Type": "application/json"})
            statuses.append(answer.status_code)
            assert "Hd4Vn8Hd4Vn8" not in answer.text
    assert statuses == [431] * TRIES, statuses
    hint = status_hint(ResponseView(431, "", 1.0, (), answer.text, "", None), "mock")
    assert "headers are larger than the server takes" in hint


@pytest.fixture
def resetting_provider() -> Iterator[int]:
    """A provider that reads the start of a request and resets the connection (SO_LINGER 0)."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(1000)
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    stop.set()
    listener.close()
    thread.join(5)


def test_a_provider_that_resets_the_request_is_said_as_a_reset_not_unreachable(
        resetting_provider: int) -> None:
    """The connection was made: hyper's error is SendRequest's, not Connect's (which the sim
    said: "upstream call failed: Connect: Broken pipe"), and the hint did not say the truth
    ("could not reach the mock provider")."""
    sim = SimRuntime(DEFAULT_PROFILE, 0, "mock", [TOKEN], token_delay=0.0)
    asyncio.run(sim.up(lambda line: None))
    try:
        assert sim.gateway is not None
        docs = (GATEWAY, backend({"kind": "Inline", "inline": LONG_KEY}, "127.0.0.1",
                                 resetting_provider), route())
        for doc in docs:
            asyncio.run(sim.apply(doc))
        with httpx.Client(timeout=10) as client:  # reset while sending, or before answering
            answers = [client.post(f"http://127.0.0.1:{sim.gateway.port}/openai", content=BODY)
                       for _ in range(TRIES)]
    finally:
        asyncio.run(sim.down())
    said = {(answer.status_code, answer.text) for answer in answers}
    assert said == {(503, "upstream call failed: SendRequest: connection error")}, said
    answer = answers[0]
    hint = status_hint(ResponseView(503, "", 1.0, (), answer.text, "", None), "mock")
    assert "reset" in hint and "could not reach" not in hint, hint
