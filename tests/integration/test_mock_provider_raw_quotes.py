"""What the mock provider quotes of a request that Python's own parser refuses (the request
line's version, a fourth word, the method) holds no key; and its JSON answers carry no C1
control or bidi override raw (a `curl` of the mock would hand them to the terminal)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import httpx
import pytest

from sandbox.mock.provider import MockProvider

CANARY = "sk-test-canaryQ7z9X4m2W8p5R1v6"


@pytest.fixture
def provider() -> Iterator[MockProvider]:
    running = MockProvider([CANARY], token_delay=0.0).start()
    yield running
    running.stop()


def raw(provider: MockProvider, request_line: str) -> bytes:
    host, port = provider.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(request_line.encode() + b"\r\nHost: x\r\n\r\n")
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize("request_line", [
    f"POST /v1/chat/completions HTTP/{CANARY}",
    f"POST /v1/chat/completions HTTP/1.1 {CANARY}",
    f"{CANARY[:15]} /v1/chat/completions HTTP/1.1",
    f"POST /v1/chat/completions HTTP/{CANARY.upper()}",
], ids=["as-the-version", "a-fourth-word", "half-as-the-method", "upper-cased-version"])
def test_a_refused_request_line_is_quoted_without_its_key(provider: MockProvider,
                                                         request_line: str) -> None:
    answer = raw(provider, request_line).decode(errors="replace")
    assert answer.startswith("HTTP/1.")
    status = int(answer.split()[1])
    assert status in (400, 501)
    assert "canary" not in answer.lower() and "sk-…" in answer


@pytest.mark.parametrize("control", ["\x9b", "\x9d", "\u202e", "\u2066"])
def test_a_model_holding_terminal_controls_comes_back_with_them_escaped(
        provider: MockProvider, control: str) -> None:
    model = f"gpt-4o{control}31m-mini"
    answer = httpx.post(provider.url + "/v1/chat/completions", trust_env=False,
                        headers={"Authorization": f"Bearer {CANARY}"},
                        json={"model": model, "messages": [{"role": "user", "content": "hi"}]})
    assert answer.status_code == 200
    assert control.encode() not in answer.content
    assert json.loads(answer.content)["model"] == model  # the same text, written as an escape
