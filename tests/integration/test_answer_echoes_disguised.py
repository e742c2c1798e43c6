"""A provider that echoes the key disguised (fullwidth, percent-encoded, upper-cased, split by a
space or a line break, in two SSE comment lines, one half in each of two headers) gets it masked
in every record of the answer: the terminal, ``--json`` and the Markdown transcript; and the
body the app shows masks it as its decoded content does."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from sandbox.walkthrough.key_mask import mask_key
from tests.helpers import readable_key
from tests.hostile_provider import (
    JSON,
    chunk,
    completion,
    head,
    in_the_app,
    run_hostile,
    sse_event,
    stream,
    whole,
)

KEYS = {  # three shapes of key, each run with another of the records
    "sk-test": ("sk-test-Hb5Nw2Qz8Lc4Rt7Vm1Xk3Pd6Jf9Gs0Ue", False),
    "sk-ant": ("sk-ant-api03-Kp4Wn8Ty2Lq6Zb9Xc3Rv7", True),
    "metacharacters": ("sk-mt+a.b*c?d(e)f[g]h{i}j|k^l$m\\o7Q2w9E4x", True),
}


def fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) for c in text)


def content(disguise: Callable[[str], str]) -> Callable[[socket.socket, str, threading.Event],
                                                        None]:
    def handler(conn: socket.socket, key: str, stop: threading.Event) -> None:
        whole(conn, completion("x " + disguise(key)))
    return handler


def halves_in_headers(conn: socket.socket, key: str, stop: threading.Event) -> None:
    """One half in a header only ``--json`` keeps, the other in one the transcript keeps."""
    half = len(key) // 2
    whole(conn, completion("ok"), headers=[*JSON, ("X-Half-A", key[:half]),
                                           ("X-Request-Id", key[half:])])


def halves_in_sse_comments(conn: socket.socket, key: str, stop: threading.Event) -> None:
    head(conn, "HTTP/1.1 200 OK", [("Content-Type", "text/event-stream"),
                                   ("Transfer-Encoding", "chunked"), ("Connection", "close")])
    chunk(conn, f": {key[:12]}\n".encode())
    chunk(conn, f": {key[12:]}\n".encode() + sse_event("ok"))
    chunk(conn, b"data: [DONE]\n\n")
    conn.sendall(b"0\r\n\r\n")


def logprobs_tokens(conn: socket.socket, key: str, stop: threading.Event) -> None:
    """V4: the key as a model's tokens, nine characters each, side by side in ``logprobs``."""
    body = json.loads(completion("x " + key))
    body["choices"][0]["logprobs"] = {"content": [{"token": key[at:at + 9], "logprob": -0.5}
                                                  for at in range(0, len(key), 9)]}
    whole(conn, json.dumps(body).encode())


def deltas_of_four(conn: socket.socket, key: str, stop: threading.Event) -> None:
    """V4: the key streamed four characters an event."""
    stream(conn, ["x ", *(key[at:at + 4] for at in range(0, len(key), 4))])


ECHOES = {
    "line break (A22)": (content(lambda key: key[:15] + "\n" + key[15:]), False),
    "fullwidth (A26)": (content(fullwidth), False),
    "percent-encoded (A27)": (content(lambda key: "".join(f"%{ord(c):02X}" for c in key)), False),
    "upper case (A21)": (content(str.upper), False),
    "a space (A23)": (content(lambda key: key[:15] + " " + key[15:]), False),
    "two headers (A29)": (halves_in_headers, False),
    "two SSE comments (A16)": (halves_in_sse_comments, True),
    "logprobs tokens (V4)": (logprobs_tokens, False),
    "deltas of four characters (V4)": (deltas_of_four, True),
}


@pytest.mark.parametrize("shape", list(KEYS))
@pytest.mark.parametrize("echo", list(ECHOES))
async def test_a_disguised_key_the_provider_echoes_is_masked_in_every_record(
        echo: str, shape: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    handler, stream_step = ECHOES[echo]
    key, as_json = KEYS[shape]
    code, out, transcript = await run_hostile(handler, tmp_path, monkeypatch, capsys,
                                              stream_step, as_json, token=key)
    assert code == 0 and "Traceback" not in out, out
    assert readable_key(out, key) == [], out
    assert readable_key(transcript, key) == [], transcript
    if "headers" in echo:
        assert f"x-request-id: …{key[-4:]}".lower() in transcript.lower()
    else:
        assert mask_key(key) in out and mask_key(key) in transcript
    if as_json:
        document, _ = json.JSONDecoder().raw_decode(out[out.index("{"):])
        response = document["scenarios"][-1]["steps"][2]["response"]
        assert response["status"] == 200
        shown = json.dumps(response, ensure_ascii=False)
        assert ("sk-…" in shown and f"…{key[-4:]}" in shown) if "headers" in echo \
            else mask_key(key) in shown


def test_the_app_shows_the_body_and_headers_masked_as_the_content(tmp_path: Path) -> None:
    """A22 and A29 in the response pane: the body holds the key split by an escaped line
    break (its decoded content is masked too), and two headers hold one half each."""
    from tests.conftest import TOKEN as key  # the key the app is given

    def both(conn: socket.socket, sent: str, stop: threading.Event) -> None:
        half = len(sent) // 2
        whole(conn, completion("x " + sent[:15] + "\n" + sent[15:]),
              headers=[*JSON, ("X-Half-A", sent[:half]), ("X-Half-B", sent[half:])])

    shown, response = in_the_app(both, tmp_path)  # the screen, and the body its pane scrolls
    assert response is not None and response.status == 200
    body = response.body
    assert readable_key(shown, key) == [] and readable_key(body, key) == [], (shown, body)
    assert f"x {mask_key(key)}" in shown and f"x-half-b:       …{key[-4:]}" in shown, shown
    assert f'"content": "x {mask_key(key)}"' in body, body
