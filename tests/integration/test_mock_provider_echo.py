"""What the mock provider quotes back of a request: a key in the URL is masked in the 404 (as
the 401 masks a key in the header), and bytes that are not HTTP/1.x get an HTTP/1.1 answer."""

from __future__ import annotations

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


def test_a_404_keeps_a_query_without_a_key_as_openai_quotes_it(provider: MockProvider) -> None:
    response = httpx.get(provider.url + "/v1/chat/completionz?tenant=blue&n=2", trust_env=False)
    assert response.json()["error"]["message"] == (
        "Invalid URL (GET /v1/chat/completionz?tenant=blue&n=2)")
