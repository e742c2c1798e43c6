"""AG4: the mock provider masks a key cut in two (or any run of it as long as the app masks: half
of what its mask hides, 12 to 24 characters) in what it quotes back, the model it answers as
and the URL a 404 or a 405 quotes, percent-encoded or not, as the app's masker does."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote, unquote_plus

import httpx
import pytest

from sandbox.mock.provider import MockProvider
from tests.conftest import OTHER_TOKEN, TOKEN

CANARY = "sk-test-canaryQ7z9X4m2W8p5R1v6"  # the report's key: its mask hides 23 characters
BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
# The app masks runs of 12 characters or more of these keys (half of the 23 and 31 hidden)
SHOWN_MOST = 11


@pytest.fixture
def provider() -> Iterator[MockProvider]:
    running = MockProvider([CANARY, TOKEN], token_delay=0.0).start()
    yield running
    running.stop()


def longest_run(text: str, key: str) -> int:
    """The most consecutive characters of ``key`` (in any case) that ``text`` holds once its
    JSON escapes and percent-encoding are read: the tests' own reading, not the mock's."""
    plain = unquote_plus(text).encode("ascii", "backslashreplace").decode("unicode_escape")
    plain = plain.lower()
    key = key.lower()
    best = 0
    for start in range(len(key)):
        length = best + 1
        while start + length <= len(key) and key[start:start + length] in plain:
            best, length = length, length + 1
    return best


def post(provider: MockProvider, path: str, key: str, **body: object) -> httpx.Response:
    return httpx.post(provider.url + path, json={**BODY, **body}, trust_env=False,
                      headers={"Authorization": f"Bearer {key}"})


@pytest.mark.parametrize(("model", "key"), [
    (f"{CANARY[:14]} {CANARY[14:]}", CANARY),
    (f"{CANARY[:15]}\0{CANARY[15:]}", CANARY),
    (f"{CANARY[:15]}\t{CANARY[15:]}", CANARY),
    (f"{CANARY[:15]}\x01{CANARY[15:]}", CANARY),
    (f"{CANARY[:10]}\0{CANARY[10:]}", CANARY),
    (f"gpt-4o for {TOKEN[:20].upper()} and {TOKEN[20:]}", TOKEN),
    (f"code {TOKEN[8:-4]}", TOKEN),  # its middle alone: no prefix, no last four
    (f"{TOKEN[:19]}/{TOKEN[19:]}", TOKEN),
], ids=["blank-at-14", "nul-at-15", "tab-at-15", "soh-at-15", "nul-at-10", "upper-case-half",
        "middle-alone", "slash-at-19"])
@pytest.mark.parametrize("stream", [False, True], ids=["answer", "stream"])
def test_a_model_holding_a_key_cut_in_two_is_quoted_back_masked(
        provider: MockProvider, model: str, key: str, stream: bool) -> None:
    response = post(provider, "/v1/chat/completions", key, model=model, stream=stream)
    assert response.status_code == 200
    assert longest_run(response.text, key) <= SHOWN_MOST, response.text
    assert "…" in response.text and "answering" in response.text


def test_what_the_model_keeps_of_a_key_cut_in_two_is_its_masks(provider: MockProvider) -> None:
    response = post(provider, "/v1/chat/completions", CANARY,
                    model=f"{CANARY[:14]} {CANARY[14:]}")
    assert response.json()["model"] == "sk-… …R1v6"


@pytest.mark.parametrize(("path", "key"), [
    (f"/v1/chat/completions?a={CANARY[:14]}&b={CANARY[14:]}", CANARY),
    (f"/v1/x/{CANARY[:14]}/{CANARY[14:]}", CANARY),
    (f"/v1/chat/completions?a={CANARY[:11]}&b={quote(CANARY[11:22], safe='')}"
     f"&c={CANARY[22:]}", CANARY),
    ("/v1/chat/completions?a=" + CANARY[:11] + "&b=" + "".join(
        f"%{ord(char):02X}" for char in CANARY[11:22]) + f"&c={CANARY[22:]}", CANARY),
    (f"/v1/x/{CANARY[:15]}%00{CANARY[15:]}", CANARY),
    (f"/v1/chat/completions?q={CANARY[:15]}+{CANARY[15:]}", CANARY),
    (f"/v1/{quote(TOKEN[:20], safe='')}?z={quote(TOKEN[20:], safe='')}", TOKEN),
    (f"/v1/chat/completions?q={OTHER_TOKEN[3:20]}%20{OTHER_TOKEN[20:]}", OTHER_TOKEN),
], ids=["query-halves", "path-halves", "query-one-piece-percent-encoded",
        "query-pieces-mixed-encoding", "path-nul-encoded", "query-plus-blank",
        "path-and-query-encoded", "header-key-halves-in-query"])
def test_a_404_masks_a_key_cut_in_two_in_its_url(provider: MockProvider, path: str,
                                                   key: str) -> None:
    response = post(provider, path, key)
    message = response.json()["error"]["message"]
    assert response.status_code == 404 and message.startswith("Invalid URL (POST /v1/"), message
    assert longest_run(message, key) <= SHOWN_MOST, message
    assert "…" in message, message


def test_a_405_masks_a_key_cut_in_two_in_its_url(provider: MockProvider) -> None:
    response = httpx.put(provider.url + f"/v1/chat/completions?a={CANARY[:14]}&b={CANARY[14:]}",
                         trust_env=False, headers={"Authorization": f"Bearer {CANARY}"})
    assert response.status_code in (404, 405)
    assert longest_run(response.text, CANARY) <= SHOWN_MOST, response.text


def test_what_a_404_shows_of_a_key_cut_in_two_is_quoted(provider: MockProvider) -> None:
    response = post(provider, f"/v1/x/{CANARY[:15]}%00{CANARY[15:]}?n=2&t=a%20b", CANARY)
    assert response.json()["error"]["message"] == (
        "Invalid URL (POST /v1/x/sk-…%00…R1v6?n=2&t=a%20b)")


def test_a_url_with_words_of_no_key_is_quoted_as_sent(provider: MockProvider) -> None:
    path = "/v1/chat/completionz?tenant=blue%20team&model=gpt-4o&n=2&from=sk-test"
    response = post(provider, path, CANARY)
    assert response.json()["error"]["message"] == f"Invalid URL (POST {path})"
