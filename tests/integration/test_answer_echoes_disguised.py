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

from sandbox.walkthrough.masking import mask_key
from tests.helpers import readable_key
from tests.hostile_provider import JSON, chunk, completion, head, run_hostile, sse_event, whole

KEYS = {  # three shapes of key, each run with another of the records
    "sk-test": ("sk-test-Hb5Nw2Qz8Lc4Rt7Vm1Xk3Pd6Jf9Gs0Ue", False),
    "sk-ant": ("sk-ant-api03-Kp4Wn8Ty2Lq6Zb9Xc3Rv7Md1Hf5Js0Ga", True),
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


ECHOES = {
    "line break (A22)": (content(lambda key: key[:15] + "\n" + key[15:]), False),
    "fullwidth (A26)": (content(fullwidth), False),
    "percent-encoded (A27)": (content(lambda key: "".join(f"%{ord(c):02X}" for c in key)), False),
    "upper case (A21)": (content(str.upper), False),
    "a space (A23)": (content(lambda key: key[:15] + " " + key[15:]), False),
    "two headers (A29)": (halves_in_headers, False),
    "two SSE comments (A16)": (halves_in_sse_comments, True),
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
