"""A provider that echoes only parts of the key: its middle alone (no head, no tail), in an error's
``code`` or ``param`` or in the content; four characters an event in a stream's ``top_logprobs``
beside a second alternative, or in one choice's deltas between another's; or as the UTF-8 byte
values of ``logprobs`` tokens. Each is masked in every record: the terminal, ``--json``, the
Markdown transcript, and for one of them the app."""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sandbox.walkthrough.key_mask import mask_key
from tests.helpers import readable_key
from tests.hostile_provider import chunk, completion, head, in_the_app, run_hostile, whole

KEY = "sk-test-Jq4Vx8Nm2Tb6Wc9Lz3Hr7Pk"  # 30 characters: the mask hides 23 of them
Handler = Callable[[socket.socket, str, threading.Event], None]


def secret_pieces(key: str) -> list[str]:
    """The four-character pieces of what the mask hides (after ``sk-test-``, before the last
    four): none of them may be read anywhere."""
    return [key[at:at + 4] for at in range(8, len(key) - 7, 4)]


def shown_of(record: str, key: str) -> int:
    """How many pieces of the key a person could read in ``record``: counted, never quoted
    (a failing test must not show them either)."""
    spelled = "".join(bytes(int(value) for value in re.findall(r"\d+", array)
                            if int(value) < 256).decode("latin-1")
                      for array in re.findall(r"\[\s*\d+(?:\s*,\s*\d+)*\s*\]",
                                              record.replace("\\n", "\n")))
    return sum(len(readable_key(text, key)) + sum(piece in text for piece in secret_pieces(key))
               for text in (record, spelled))


def unauthorized(error: Callable[[str], dict[str, str]]) -> Handler:
    def handler(conn: socket.socket, key: str, stop: threading.Event) -> None:
        body = json.dumps({"error": error(key)}).encode()
        whole(conn, body, status_line="HTTP/1.1 401 Unauthorized")
    return handler


def middle_in_content(conn: socket.socket, key: str, stop: threading.Event) -> None:
    whole(conn, completion("your key middle is " + key[10:-3] + ", keep it"))


def events(conn: socket.socket, chunks: list[dict[str, Any]]) -> None:
    """An SSE answer of these events, one network chunk each, then [DONE]."""
    head(conn, "HTTP/1.1 200 OK", [("Content-Type", "text/event-stream"),
                                   ("Transfer-Encoding", "chunked"), ("Connection", "close")])
    for each in chunks:
        chunk(conn, f"data: {json.dumps(each)}\n\n".encode())
    chunk(conn, b"data: [DONE]\n\n")
    conn.sendall(b"0\r\n\r\n")


def top_two_streamed(conn: socket.socket, key: str, stop: threading.Event) -> None:
    """Each event: content "x", and the key's next four characters as the first of two
    alternatives in ``top_logprobs`` (the second is "y")."""
    events(conn, [{"model": "gpt-4o-mini", "choices": [{"index": 0, "delta": {"content": "x"},
                   "logprobs": {"content": [{"token": "x", "logprob": -0.1, "top_logprobs": [
                       {"token": key[at:at + 4], "logprob": -0.2},
                       {"token": "y", "logprob": -2.0}]}]}}]}
                  for at in range(0, len(key), 4)])


def one_choice_between_another(conn: socket.socket, key: str, stop: threading.Event) -> None:
    """Two choices streamed in turn: choice 0 says the key four characters an event, choice 1
    says "ok " between each of them (each event names its choice by its ``index``)."""
    turns: list[dict[str, Any]] = []
    for at in range(0, len(key), 4):
        for index, said in ((0, key[at:at + 4]), (1, "ok ")):
            turns.append({"model": "gpt-4o-mini",
                          "choices": [{"index": index, "delta": {"content": said}}]})
    events(conn, turns)


def dealt_between_choices(conn: socket.socket, key: str, stop: threading.Event) -> None:
    """One answer, not streamed, with two choices: the key dealt out between them in turns,
    four characters at a time."""
    body = json.loads(completion("-"))
    body["choices"] = [{"index": index, "finish_reason": "stop", "message": {
        "role": "assistant", "content": "".join(key[at:at + 4]
                                                for at in range(4 * index, len(key), 8))}}
                       for index in (0, 1)]
    whole(conn, json.dumps(body).encode())


def bytes_only(conn: socket.socket, key: str, stop: threading.Event) -> None:
    """The key only as the byte values of ``logprobs`` tokens (their text says "?"), five
    bytes a token, each again in its ``top_logprobs``."""
    body = json.loads(completion("fine"))
    body["choices"][0]["logprobs"] = {"content": [
        {"token": "?", "logprob": -0.1, "bytes": list(key[at:at + 5].encode()),
         "top_logprobs": [{"token": "?", "logprob": -0.1,
                           "bytes": list(key[at:at + 5].encode())}]}
        for at in range(0, len(key), 5)]}
    whole(conn, json.dumps(body).encode())


ERROR = "    expect: {status: 401}\n"
ECHOES: dict[str, tuple[Handler, bool, str]] = {  # the handler, streamed, expected step
    "an error's code is the middle (18)": (unauthorized(lambda key: {
        "message": "Incorrect API key provided: " + key[:8] + "*" * 10 + key[-4:],
        "code": key[8:-4]}), False, ERROR),
    "an error's param is 14 of the middle": (unauthorized(lambda key: {
        "message": "bad key", "param": key[9:23], "code": "invalid_api_key"}), False, ERROR),
    "the content holds 17 of the middle": (middle_in_content, False,
                                           "    expect: {status: 200}\n"),
    "top_logprobs, two alternatives an event": (top_two_streamed, True,
                                                "    expect: {status: 200}\n"),
    "one choice's deltas between another's": (one_choice_between_another, True,
                                              "    expect: {status: 200}\n"),
    "logprobs bytes only": (bytes_only, False, "    expect: {status: 200}\n"),
    "dealt between two choices": (dealt_between_choices, False, "    expect: {status: 200}\n"),
}


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "terminal"])
@pytest.mark.parametrize("echo", list(ECHOES))
async def test_a_part_of_the_key_the_provider_echoes_is_masked_in_every_record(
        echo: str, as_json: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    handler, streamed, expect = ECHOES[echo]
    code, out, transcript = await run_hostile(handler, tmp_path, monkeypatch, capsys, streamed,
                                              as_json, token=KEY, expect=expect)
    traceback = "Traceback" in out
    assert not traceback and code == 0  # the step saw what it expected
    for name, record in (("output", out), ("transcript", transcript)):
        count = shown_of(record, KEY)  # (a count: pytest would quote the call's arguments)
        assert count == 0, f"{count} pieces of the key in the {name}"
    if as_json:
        document, _ = json.JSONDecoder().raw_decode(out[out.index("{"):])
        response = document["scenarios"][-1]["steps"][2]["response"]
        assert response["status"] == (401 if expect == ERROR else 200)
    if "middle" in echo and "content" in echo:
        masked_where_it_stood = ("your key middle is …, keep it" in out
                                 and "…, keep it" in transcript)
        assert masked_where_it_stood
    if echo == "one choice's deltas between another's":
        answered = mask_key(KEY) in out  # choice 0's answer, read on its own
        assert answered


def test_the_app_shows_a_middle_of_the_key_masked(tmp_path: Path) -> None:
    """The response pane and the body it scrolls through: the key's middle alone, in the
    content, is masked where it stands."""
    from tests.conftest import TOKEN as key  # the key the app is given

    def whole_and_middle(conn: socket.socket, sent: str, stop: threading.Event) -> None:
        whole(conn, completion(f"key {sent}, your key middle is {sent[10:-3]}, keep it"))

    shown, response = in_the_app(whole_and_middle, tmp_path)
    assert response is not None and response.status == 200
    body = response.body
    middle = key[10:-3]
    for name, record in (("screen", shown), ("body", body)):
        count = shown_of(record, key) + (middle in record)
        assert count == 0, f"{count} pieces of the key in the {name}"
    masked_where_it_stood = f"key {mask_key(key)}, your key middle is …, keep it" in shown
    assert masked_where_it_stood
