"""What the mock provider quotes back of a request: a key in the URL is masked in the 404 (as
the 401 masks a key in the header), and bytes that are not HTTP/1.x get an HTTP/1.1 answer."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest

from sandbox.mock.provider import MockProvider
from tests.conftest import OTHER_TOKEN, TOKEN

BODY = {"model": "gpt-3.5-turbo", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def provider() -> Iterator[MockProvider]:
    running = MockProvider([TOKEN], token_delay=0.0).start()
    yield running
    running.stop()


@pytest.mark.parametrize(("path", "shown"), [
    (f"/v1/chat/completions?key={TOKEN}", "/v1/chat/completions?key=sk-…c5Ge"),
    (f"/v1/chat/completions?tenant=blue&api_key={OTHER_TOKEN}",
     "/v1/chat/completions?tenant=blue&api_key=sk-…z0Xc"),
    (f"/v1/{TOKEN}/chat/completions", "/v1/sk-…c5Ge/chat/completions"),
    ("/v1/chat/completions?who=sk-proj-Ab3dEf6hIj9kLm2n", "/v1/chat/completions?who=sk-…Lm2n"),
    ("/v1/chat/completions?access_token=hunter2hunter2", "/v1/chat/completions?access_token=…ter2"),
], ids=["accepted-key-in-query", "other-key-under-api_key", "key-in-path", "key-shaped-value",
        "credential-name"])
def test_a_404_quotes_the_url_with_any_key_in_it_masked(provider: MockProvider, path: str,
                                                         shown: str) -> None:
    response = httpx.post(provider.url + path, json=BODY, trust_env=False,
                          headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 404
    assert response.json()["error"]["message"] == f"Invalid URL (POST {shown})"
    for secret in (TOKEN, OTHER_TOKEN[8:], "Ab3dEf6hIj9k", "hunter2hunt"):
        assert secret not in response.text, response.text


@pytest.mark.parametrize("model", [TOKEN, f"gpt-4o via {TOKEN}", "sk-proj-Ab3dEf6hIj9kLm2n"],
                         ids=["the-key", "the-key-inside", "a-key-shaped-model"])
def test_a_model_that_holds_a_key_is_quoted_back_masked(provider: MockProvider,
                                                         model: str) -> None:
    response = httpx.post(provider.url + "/v1/chat/completions", trust_env=False,
                          json={**BODY, "model": model},
                          headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert "sk-…" in response.json()["model"]
    for secret in (TOKEN[8:], "Ab3dEf6hIj9k"):
        assert secret not in response.text, response.text


# AF6: a key cut into pieces, each short of what is masked alone, by the rule the sandbox masks
# by: in query values, in path segments, the header's key (not accepted) in a query
@pytest.mark.parametrize(("path", "key"), [
    (f"/v1/chat/completions?a={TOKEN[:11]}&b={TOKEN[11:23]}&c={TOKEN[23:]}", TOKEN),
    (f"/v1/{TOKEN[:12]}/x/{TOKEN[12:21]}/y/{TOKEN[21:]}", TOKEN),
    (f"/v1/chat/completions?u={OTHER_TOKEN[:13].upper()}&v={OTHER_TOKEN[13:25]}"
     f"&w={OTHER_TOKEN[25:]}", OTHER_TOKEN),
], ids=["accepted-key-in-three-query-values", "accepted-key-in-path-segments",
        "header-key-in-query-values"])
def test_a_404_masks_a_key_cut_into_pieces(provider: MockProvider, path: str, key: str) -> None:
    response = httpx.post(provider.url + path, json=BODY, trust_env=False,
                          headers={"Authorization": f"Bearer {key}"})
    message = response.json()["error"]["message"]
    assert response.status_code == 404 and message.startswith("Invalid URL (POST /v1/"), message
    assert "sk-…" in message and f"…{key[-4:]}" in message, message
    for piece in (key[8:12], key[12:20], key[20:-4]):
        assert piece not in message and piece.upper() not in message, message


def test_a_model_holding_a_key_in_pieces_is_quoted_back_masked(provider: MockProvider) -> None:
    model = f"{TOKEN[:11]} / {TOKEN[11:22]} / {TOKEN[22:]}"
    response = httpx.post(provider.url + "/v1/chat/completions", trust_env=False,
                          json={**BODY, "model": model},
                          headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    for piece in (TOKEN[8:11], TOKEN[11:22], TOKEN[22:-4]):
        assert piece not in response.text, response.text


def test_a_model_name_is_quoted_back_as_sent(provider: MockProvider) -> None:
    response = httpx.post(provider.url + "/v1/chat/completions", trust_env=False,
                          json={**BODY, "model": "gpt-4o-mini-2024-07-18"},
                          headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.json()["model"] == "gpt-4o-mini-2024-07-18"
    assert "answering as gpt-4o-mini-2024-07-18" in response.text


def test_a_404_keeps_a_query_without_a_key_as_openai_quotes_it(provider: MockProvider) -> None:
    response = httpx.get(provider.url + "/v1/chat/completionz?tenant=blue&n=2", trust_env=False)
    assert response.json()["error"]["message"] == (
        "Invalid URL (GET /v1/chat/completionz?tenant=blue&n=2)")


def exchange(provider: MockProvider, raw: bytes) -> bytes:
    """What the provider answers ``raw`` with, until it closes the connection."""
    with socket.create_connection(("127.0.0.1", provider.port), timeout=10) as conn:
        conn.sendall(raw)
        answer = b""
        while piece := conn.recv(65536):
            answer += piece
    return answer


# An HTTP/2 client's first bytes (RFC 9113 §3.4): the preface, then an empty SETTINGS frame.
H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])


@pytest.mark.parametrize(("raw", "status"), [
    (H2_PREFACE, b"505"),
    (b"POST /v1/chat/completions HTTP/3.0\r\nContent-Length: 2\r\n\r\n{}", b"505"),
    (b"GET /healthz\r\n", b"400"),  # HTTP/0.9: no version, no headers
    (b"GET /healthz HTTP/1.1 extra\r\n\r\n", b"400"),
], ids=["h2-preface", "http3-version", "http09", "four-words"])
def test_a_request_line_of_no_http_1_gets_a_status_line_and_a_close(
        provider: MockProvider, raw: bytes, status: bytes) -> None:
    answer = exchange(provider, raw)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 " + status + b" "), answer
    assert b"\r\nConnection: close" in head and b"Content-Type: application/json" in head
    assert b'"error"' in body, answer
    if status == b"505":
        assert b"this server speaks HTTP/1.1 only" in body, answer
    assert provider.failures == ()
