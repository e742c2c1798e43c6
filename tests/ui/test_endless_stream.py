"""A provider that streams lines carrying no text for ever (blank lines, comments, empty data):
the app stops reading at the same bound as `run`, says so with the same note, holds a few
megabytes for it, and quits at once with ctrl+q, even in the middle of such a stream."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import tracemalloc
from pathlib import Path

import pytest
from textual.pilot import Pilot

from sandbox.catalog.loader import load_catalog
from sandbox.profiles import DEFAULT_PROFILE
from sandbox.runtimes.runtime import Runtime
from sandbox.runtimes.sim.runtime import SimRuntime
from sandbox.settings import Settings
from sandbox.tui.app import SandboxApp, make_app
from sandbox.tui.screens.walkthrough import WalkthroughScreen
from sandbox.tui.widgets.exchange_panes import ResponsePane
from tests.conftest import TOKEN
from tests.hostile_provider import head, hostile_folder, hostile_provider
from tests.ui.conftest import screen_text, settle
from tests.ui.test_app import start
from tests.ui.test_untrusted_text import select

NOTE = ("only the first 1 MiB of the body is shown and checked: the answer was longer (the "
        "rest was not read)")
STEP_LIMIT = 60.0  # seconds for the step on a loaded machine; a few when all is well


class Endless:
    """Streams ``line`` over and over, ``pause`` seconds between chunks of about 60 KB, until
    the gateway leaves (``left`` is set then); ``sent`` counts the bytes."""

    def __init__(self, line: bytes, pause: float = 0.0) -> None:
        self.chunk = line * (60000 // len(line))
        self.pause = pause
        self.sent = 0
        self.left = threading.Event()

    def __call__(self, conn: socket.socket, key: str, stop: threading.Event) -> None:
        head(conn, "HTTP/1.1 200 OK", [("Content-Type", "text/event-stream"),
                                       ("Transfer-Encoding", "chunked")])
        try:
            while not stop.is_set():
                conn.sendall(f"{len(self.chunk):x}\r\n".encode() + self.chunk + b"\r\n")
                self.sent += len(self.chunk)
                if self.pause:
                    stop.wait(self.pause)
        finally:
            self.left.set()


def _app(folder: Path) -> SandboxApp:
    settings = Settings(runtime="sim", provider="openai", port=0, token=TOKEN,
                        scenario_dirs=(folder,))

    def runtime_factory(chosen: Settings, name: str) -> Runtime:
        return SimRuntime(DEFAULT_PROFILE, chosen.port, "openai", [chosen.token],
                          token_delay=0.0, preflight=False)

    return make_app(settings, lambda: load_catalog([folder]), runtime_factory,
                    lambda requested: ("sim", "Docker is not reachable (test)"))


async def _at_the_request(pilot: Pilot[None]) -> WalkthroughScreen:
    """Past the setup, the hostile scenario's Backend and its wait: its request is next."""
    screen = await start(pilot)
    await pilot.press("g")
    await settle(pilot)
    await select(pilot, screen, "hostile")
    for _ in range(2):
        await pilot.press("n")
        await settle(pilot)
    assert screen.session.progress["hostile"].index == 2
    return screen


@pytest.mark.parametrize("line", [b"\n", b"\r\n", b": keep-alive\n", b"data:\n\n",
                                  b"data: \r\n\r\n"],
                         ids=["blank", "blank-crlf", "comment", "empty-data", "empty-data-crlf"])
async def test_an_endless_stream_of_empty_lines_ends_at_the_bound_with_the_note(
        tmp_path: Path, line: bytes) -> None:
    provider = Endless(line)
    with hostile_provider(provider) as (_, port):
        app = _app(hostile_folder(tmp_path / "scenarios", port, stream=True))
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await _at_the_request(pilot)
            tracemalloc.start()
            try:
                started = time.monotonic()
                await pilot.press("n")
                await asyncio.wait_for(app.workers.wait_for_complete(), STEP_LIMIT)
                await pilot.pause()
                spent = time.monotonic() - started
                peak = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
            response = screen.query_one(ResponsePane).response
            assert response is not None and response.notes == (NOTE,)
            assert "note: only the first 1 MiB" in \
                screen_text(app)
            assert peak < 48 << 20, f"{peak >> 20} MiB held for a 1 MiB answer"
            assert spent < STEP_LIMIT
            # the gateway stopped reading when the app did, and hung up on the provider
            assert await asyncio.to_thread(provider.left.wait, 15)
            await pilot.press("ctrl+q")
            await pilot.pause()
            assert not app.is_running


async def test_ctrl_q_in_the_middle_of_an_endless_stream_quits_at_once(tmp_path: Path) -> None:
    provider = Endless(b"\n", pause=0.05)  # about 1.2 MB a second: the bound is seconds away
    with hostile_provider(provider) as (_, port):
        app = _app(hostile_folder(tmp_path / "scenarios", port, stream=True))
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await _at_the_request(pilot)
            await pilot.press("n")
            while provider.sent < 180000:
                await pilot.pause(0.02)
            pressed = time.monotonic()
            await pilot.press("ctrl+q")
            await pilot.pause()
            assert not app.is_running
            assert time.monotonic() - pressed < 2
        assert not screen.session.started  # the runtime stopped on the way out
