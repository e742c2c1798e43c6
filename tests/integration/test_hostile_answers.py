"""What a provider answers cannot crash the sandbox, take its memory or keep it waiting for ever,
and what happened is said in words: JSON nested absurdly deep, a gzip bomb, a body of hundreds of
megabytes, an answer that never ends, a provider that never answers, an answer cut short.

The provider is a hostile loopback server behind the simulated gateway (``--provider openai``):
what the sandbox reads went through the gateway as it would on a real runtime.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import tracemalloc
from pathlib import Path

import pytest

from sandbox.walkthrough import exchange
from tests.hostile_provider import (
    JSON,
    chunk,
    completion,
    gzip_of_zeros,
    head,
    run_hostile,
    sse_event,
    stream,
    whole,
)

GUARD = 90.0  # seconds: a run that has not ended by then hangs (the defect), the test fails


@pytest.fixture
def impatient(monkeypatch: pytest.MonkeyPatch) -> exchange.Patience:
    """A deadline of 3 s for a whole answer, and a word after 1 s of waiting."""
    patience = exchange.Patience(deadline=3.0, first_note=1.0, note_every=60.0)
    monkeypatch.setattr(exchange, "PATIENCE", patience)
    return patience


def run(*args: object, **kwargs: object) -> tuple[int, str, str]:
    return asyncio.run(asyncio.wait_for(run_hostile(*args, **kwargs), GUARD))  # type: ignore[arg-type]


# -- P2: JSON nested too deeply -------------------------------------------------------------------
def deep_list(conn: socket.socket, key: str, stop: threading.Event) -> None:
    whole(conn, b"[" * 200000 + b"]" * 200000)


def deep_in_choices(conn: socket.socket, key: str, stop: threading.Event) -> None:
    whole(conn, b'{"model": "gpt-4o", "choices": ' + b"[" * 100000 + b"]" * 100000 + b"}")


def deep_stream(conn: socket.socket, key: str, stop: threading.Event) -> None:
    head(conn, "HTTP/1.1 200 OK", [("Content-Type", "text/event-stream"),
                                   ("Transfer-Encoding", "chunked"), ("Connection", "close")])
    chunk(conn, sse_event("before "))
    chunk(conn, b"data: " + b'{"a":' * 50000 + b"1" + b"}" * 50000 + b"\n\n")
    chunk(conn, sse_event("after"))
    chunk(conn, b"data: [DONE]\n\n")
    conn.sendall(b"0\r\n\r\n")


@pytest.mark.parametrize("handler", [deep_list, deep_in_choices], ids=["list", "choices"])
def test_json_nested_too_deeply_is_shown_as_text_with_a_note(
        handler: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, transcript = run(handler, tmp_path, monkeypatch, capsys)
    assert code == 0, out
    assert "internal error" not in out and "Traceback" not in out
    assert "note: the body is JSON nested too deeply to read: shown as text, as it came" in out
    assert "> Note: the body is JSON nested too deeply to read" in transcript


def test_json_nested_too_deeply_keeps_the_json_document_whole(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(deep_in_choices, tmp_path, monkeypatch, capsys, as_json=True)
    document, _ = json.JSONDecoder().raw_decode(out)
    response = document["scenarios"][-1]["steps"][2]["response"]
    assert code == 0 and response["status"] == 200
    assert response["notes"] == ["the body is JSON nested too deeply to read: shown as text, "
                                 "as it came"]
    assert response["body"].startswith('{"model": "gpt-4o", "choices": [[[')


def test_a_stream_chunk_nested_too_deeply_is_passed_over(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(deep_stream, tmp_path, monkeypatch, capsys, stream_step=True)
    assert code == 0, out
    assert "stream:   before after" in out and "internal error" not in out


# -- P3: bodies that take all the memory --------------------------------------------------------
def gzip_bomb(conn: socket.socket, key: str, stop: threading.Event) -> None:
    whole(conn, BOMB, headers=[*JSON, ("Content-Encoding", "gzip")])


def huge(conn: socket.socket, key: str, stop: threading.Event) -> None:
    length = 64 << 20
    head(conn, "HTTP/1.1 200 OK", [("Content-Type", "text/plain"),
                                   ("Content-Length", str(length)), ("Connection", "close")])
    block = b"A" * (1 << 20)
    for _ in range(64):
        conn.sendall(block)


BOMB = gzip_of_zeros(256)  # 256 MiB once inflated, some 250 KiB on the wire


@pytest.mark.parametrize(("handler", "how"), [
    (gzip_bomb, "it inflates to more than that from "),
    (huge, "64 MiB announced"),
], ids=["gzip-bomb", "64-MiB"])
def test_no_more_than_a_mebibyte_of_an_answer_is_read_and_kept(
        handler: object, how: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    tracemalloc.start()
    try:
        code, out, transcript = run(handler, tmp_path, monkeypatch, capsys, as_json=True)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 40 << 20, f"{peak >> 20} MiB"
    document, _ = json.JSONDecoder().raw_decode(out)
    response = document["scenarios"][-1]["steps"][2]["response"]
    assert response["status"] == 200 and code == 0
    assert len(response["body"].encode()) == 1 << 20
    [note] = response["notes"]
    assert note.startswith("only the first 1 MiB of the body is shown and checked: the answer "
                           f"was longer ({how}")
    assert "only the first 1 MiB of the body is shown" in transcript


# -- P4 and P11: answers that never end, never come, or break off ---------------------------------
def endless_plain(conn: socket.socket, key: str, stop: threading.Event) -> None:
    head(conn, "HTTP/1.1 200 OK", [*JSON, ("Transfer-Encoding", "chunked")])
    while not stop.wait(0.2):
        chunk(conn, b" ")


def endless_stream(conn: socket.socket, key: str, stop: threading.Event) -> None:
    head(conn, "HTTP/1.1 200 OK", [("Content-Type", "text/event-stream"),
                                   ("Transfer-Encoding", "chunked")])
    while not stop.wait(0.2):
        chunk(conn, sse_event("tick "))


@pytest.mark.parametrize(("handler", "stream_step"), [(endless_plain, False),
                                                      (endless_stream, True)],
                         ids=["plain", "stream"])
def test_an_answer_that_never_ends_is_given_up_at_the_deadline_saying_so(
        handler: object, stream_step: bool, impatient: exchange.Patience, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    started = time.monotonic()
    code, out, transcript = run(handler, tmp_path, monkeypatch, capsys, stream_step)
    assert time.monotonic() - started < 20
    assert code == 1
    assert "✗ failed: stopped waiting after 3 s: the answer (200 OK) had not ended (" in out
    assert "so far); the provider kept it open" in out
    assert "hint: the gateway answered, but the answer did not end as it should" in out
    assert "> Note: stopped waiting after 3 s" in transcript
    if stream_step:
        assert "stream:   tick tick " in out
    else:
        assert "the answer (200 OK) is still arriving after 1 s" in out


def test_a_provider_that_never_answers_is_said_to_stall_not_to_be_unreachable(
        impatient: exchange.Patience, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    seen_close = threading.Event()

    def silent(conn: socket.socket, key: str, stop: threading.Event) -> None:
        conn.settimeout(GUARD)
        if conn.recv(1) == b"" and not stop.is_set():  # the gateway hung up, not the test
            seen_close.set()

    started = time.monotonic()
    code, out, _ = run(silent, tmp_path, monkeypatch, capsys)
    assert time.monotonic() - started < 20
    assert code == 1
    assert "… no answer yet after 1 s: the gateway has the request and waits for the provider " \
           "to answer (agw-sandbox waits 3 s in all)" in out
    assert "✗ failed: no answer within 3 s: the gateway took the request and has sent nothing " \
           "back; the provider behind it has not answered" in out
    assert "hint: api.openai.com is slow or stalled" in out
    assert "internet connection" not in out and "could not reach" not in out
    # The simulated gateway, like a real proxy, drops the provider's call once its client left.
    assert seen_close.wait(10)


def cut_short(conn: socket.socket, key: str, stop: threading.Event) -> None:
    head(conn, "HTTP/1.1 200 OK", [*JSON, ("Content-Length", "1000")], b'{"model":')
    conn.shutdown(socket.SHUT_RDWR)


def chunks_cut_short(conn: socket.socket, key: str, stop: threading.Event) -> None:
    head(conn, "HTTP/1.1 200 OK", [*JSON, ("Transfer-Encoding", "chunked")])
    chunk(conn, completion("the first half")[:30])
    conn.shutdown(socket.SHUT_RDWR)


@pytest.mark.parametrize("handler", [cut_short, chunks_cut_short], ids=["length", "chunked"])
def test_an_answer_cut_short_is_said_to_break_off_not_blamed_on_the_gateway(
        handler: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, transcript = run(handler, tmp_path, monkeypatch, capsys)
    assert code == 1
    assert "> Note: the answer (200 OK) broke off after " in transcript
    assert "✗ failed: the answer (200 OK) broke off after " in out
    assert "the gateway ended it before its end" in " ".join(out.split())
    assert "could not reach the gateway" not in out and "check that the runtime is up" not in out
    assert "hint: the gateway answered, but the answer did not end as it should" in out
    assert '{"model":' in out  # what came is shown


def test_a_complete_answer_through_the_gateway_still_passes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The control: a provider that answers as OpenAI does, plainly and as a stream."""
    def plain(conn: socket.socket, key: str, stop: threading.Event) -> None:
        whole(conn, completion("hello there"))

    code, out, _ = run(plain, tmp_path, monkeypatch, capsys)
    assert code == 0 and "hello there" in out and "note:" not in out

    def streamed(conn: socket.socket, key: str, stop: threading.Event) -> None:
        stream(conn, ["hello ", "there"])

    code, out, _ = run(streamed, tmp_path / "s", monkeypatch, capsys, stream_step=True)
    assert code == 0 and "stream:   hello there" in out


# -- the same in the app --------------------------------------------------------------------------
async def _ask_in_the_app(handler: object, tmp_path: Path, while_waiting: float = 0.0
                          ) -> tuple[str, str]:
    """Run setup, then the hostile scenario's request step in the app; return what the screen
    showed ``while_waiting`` seconds after the request went out (if asked), and at the end."""
    from sandbox.catalog.loader import load_catalog
    from sandbox.profiles import DEFAULT_PROFILE
    from sandbox.runtimes.sim.runtime import SimRuntime
    from sandbox.settings import Settings
    from sandbox.tui.app import make_app
    from tests.conftest import TOKEN
    from tests.hostile_provider import hostile_folder, hostile_provider
    from tests.ui.conftest import screen_text, settle
    from tests.ui.test_app import run_scenario

    with hostile_provider(handler) as (_, port):  # type: ignore[arg-type]
        folder = hostile_folder(tmp_path / "scenarios", port)
        settings = Settings(runtime="sim", provider="openai", port=0, token=TOKEN,
                            scenario_dirs=(folder,))
        app = make_app(settings, lambda: load_catalog((folder,)),
                       lambda chosen, name: SimRuntime(DEFAULT_PROFILE, 0, "openai", [TOKEN],
                                                       preflight=False),
                       lambda requested: ("sim", None))
        async with app.run_test(size=(200, 50)) as pilot:
            await settle(pilot)
            await pilot.press("enter")  # the provider screen: start
            await settle(pilot)
            screen = pilot.app.screen
            await run_scenario(pilot, screen, "setup", [])  # type: ignore[arg-type]
            while screen.selected.id != "hostile":  # type: ignore[attr-defined]
                await pilot.press("down")
            for _ in range(2):  # the Backend, the wait
                await pilot.press("n")
                await settle(pilot)
            await pilot.press("n")  # the request
            waiting = ""
            if while_waiting:
                await asyncio.sleep(while_waiting)
                await pilot.pause()
                waiting = screen_text(pilot.app)
            await settle(pilot)
            return waiting, screen_text(pilot.app)


def test_the_app_says_it_waits_then_that_no_answer_came(
        impatient: exchange.Patience, tmp_path: Path) -> None:
    def silent(conn: socket.socket, key: str, stop: threading.Event) -> None:
        stop.wait(GUARD)

    waiting, shown = asyncio.run(asyncio.wait_for(_ask_in_the_app(silent, tmp_path, 2.0), GUARD))
    assert "waiting for the gateway…" in waiting
    assert "no answer yet after 1 s: the gateway has the request and waits for" in waiting
    assert "no answer within 3 s: the gateway took the request and has sent" in shown
    assert "no answer yet" not in shown and "waiting for the gateway" not in shown
    assert "this is a bug" not in shown


def test_the_app_shows_json_nested_too_deeply_as_text_with_its_note(tmp_path: Path) -> None:
    _, shown = asyncio.run(asyncio.wait_for(_ask_in_the_app(deep_list, tmp_path), GUARD))
    assert "note: the body is JSON nested too deeply to read: shown as text" in shown
    assert "this is a bug" not in shown and "Something went wrong" not in shown
