"""A provider that echoes the key it received gets it masked in every part of its answer: the
reason phrase, the model, a header's name, the streamed text (even split over several pieces) and
the stream's model, in the terminal, ``--json``, the transcript and the app."""

from __future__ import annotations

import base64
import json
import socket
import threading
from pathlib import Path

import pytest

from tests.conftest import TOKEN
from tests.hostile_provider import (
    JSON,
    completion,
    head,
    hostile_provider,
    in_the_app,
    run_hostile,
    stream,
    whole,
)

MASKED = "sk-…c5Ge"


def fragments(key: str) -> list[str]:
    """Every 8-character piece of the key but the prefix all test keys share: none may be
    shown (its mask shows four)."""
    return [key[i:i + 8] for i in range(1, len(key) - 7)]


def leaked(text: str) -> list[str]:
    return [piece for piece in fragments(TOKEN) if piece in text]


def echo_reason(conn: socket.socket, key: str, stop: threading.Event) -> None:
    whole(conn, completion("ok"), f"HTTP/1.1 401 key {key} refused")


def echo_model(conn: socket.socket, key: str, stop: threading.Event) -> None:
    whole(conn, completion("hello", model=key))


def echo_header_name(conn: socket.socket, key: str, stop: threading.Event) -> None:
    whole(conn, completion("hello"), headers=[*JSON, (f"x-{key}", "seen"),
                                              ("x-request-id", f"req-{key}")])


def split_in_two(conn: socket.socket, key: str, stop: threading.Event) -> None:
    half = len(key) // 2
    stream(conn, ["your key is ", key[:half], key[half:], " bye"])


def split_in_many(conn: socket.socket, key: str, stop: threading.Event) -> None:
    """One character per piece, and the key's base64 form split in three."""
    encoded = base64.b64encode(key.encode()).decode()
    stream(conn, ["key ", *key, " as base64 ", encoded[:5], encoded[5:20], encoded[20:], "!"])


def stream_model(conn: socket.socket, key: str, stop: threading.Event) -> None:
    stream(conn, ["hi"], model=key)


ECHOES = {"reason": (echo_reason, False), "model": (echo_model, False),
          "header-name": (echo_header_name, False), "split-in-two": (split_in_two, True),
          "split-in-many": (split_in_many, True), "stream-model": (stream_model, True)}


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
@pytest.mark.parametrize("echo", list(ECHOES))
async def test_a_key_the_provider_echoes_is_masked_everywhere(
        echo: str, as_json: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    handler, stream_step = ECHOES[echo]
    _, out, transcript = await run_hostile(handler, tmp_path, monkeypatch, capsys,
                                           stream_step, as_json)
    assert "Traceback" not in out
    assert leaked(out) == [], out
    assert leaked(transcript) == [], transcript
    assert MASKED in out and MASKED in transcript
    if as_json:
        document, _ = json.JSONDecoder().raw_decode(out[out.index("{"):])
        assert document["scenarios"][-1]["steps"][2]["response"]["status"] in (200, 401)


async def test_the_streamed_text_reads_as_the_provider_wrote_it_with_the_key_masked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, transcript = await run_hostile(split_in_two, tmp_path, monkeypatch, capsys, True)
    assert code == 0, out
    assert f"stream:   your key is {MASKED} bye" in out
    assert f"your key is {MASKED} bye" in transcript


def test_the_reason_and_model_are_masked_in_the_app(tmp_path: Path) -> None:
    """T04/T08: the response pane shows the reason phrase and the model, masked."""
    def both(conn: socket.socket, key: str, stop: threading.Event) -> None:
        body = completion("hello", model=key)
        whole(conn, body, f"HTTP/1.1 401 key {key} refused")

    shown, response = in_the_app(both, tmp_path, expect="    expect: {status: 401}\n",
                                 size=(200, 50))
    assert response is not None and response.status == 401
    assert leaked(shown) == [], shown
    assert f"401 key {MASKED} refused" in shown and f"model {MASKED}" in shown


def test_head_writes_what_the_provider_sends(tmp_path: Path) -> None:
    """The helper itself: a raw status line reaches the client as written."""
    def raw(conn: socket.socket, key: str, stop: threading.Event) -> None:
        head(conn, "HTTP/1.1 418 I am a teapot", [("Content-Length", "0")])

    with hostile_provider(raw) as address, socket.create_connection(address) as client:
        client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert client.recv(100).startswith(b"HTTP/1.1 418 I am a teapot")
