"""A tab whose app dies says so on serve's console (one line), and the browser's screen takes
whatever text the app draws, as a terminal does: no tab ends without a word.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from textual_serve.download_manager import DownloadManager

from sandbox.web import console
from sandbox.web.app_process import AppProcess
from sandbox.web.browser_driver import BrowserDriver
from tests.conftest import TOKEN
from tests.integration.test_serve import children, eventually, free_port, listening, open_tab

GREETING = "sys.stdout.write('__GANGLION__\\n'); sys.stdout.flush()"


async def _discard(data: bytes | str) -> None:
    pass


async def _close() -> None:
    pass


def app_process(script: str) -> AppProcess:
    return AppProcess([sys.executable, "-c", f"import sys, time; {script}"], dict(os.environ),
                      write_bytes=_discard, write_str=_discard, close=_close,
                      download_manager=DownloadManager())


async def ended(app: AppProcess) -> None:
    assert app._process is not None and app._task is not None
    await asyncio.wait_for(app._process.wait(), 10)
    await asyncio.wait_for(asyncio.shield(app._task), 10)


@pytest.mark.parametrize(("script", "said"), ids=["crash", "killed"], argvalues=[
    (f"{GREETING}; sys.stderr.write('Traceback: UnicodeEncodeError\\n'); sys.exit(1)",
     "a tab's app ended unexpectedly (exit status 1)"),
    (f"{GREETING}; import os, signal; os.kill(os.getpid(), signal.SIGKILL)",
     "a tab's app ended unexpectedly (killed by SIGKILL)"),
])
async def test_an_app_that_dies_gets_one_line_on_the_console(
        capfd: pytest.CaptureFixture[str], script: str, said: str) -> None:
    app = app_process(script)
    await app.start(80, 24)
    await ended(app)
    await app.stop()
    out, err = capfd.readouterr()
    lines = err.splitlines()
    assert len(lines) == 1 and said in lines[0], err
    assert lines[0].startswith("agw-sandbox: serve: ")
    assert "Session ended" in lines[0]  # what the tab shows, so the presenter can match them
    assert lines[0].endswith("to see why, run the same app in a terminal: agw-sandbox")
    assert "Traceback" not in out + err


async def test_an_app_that_quits_or_is_stopped_says_nothing(
        capfd: pytest.CaptureFixture[str]) -> None:
    quits = app_process(f"{GREETING}; sys.exit(0)")  # ctrl+q in the tab
    await quits.start(80, 24)
    await ended(quits)
    await quits.stop()
    closed = app_process(f"{GREETING}; time.sleep(60)")  # its tab closed: serve stops it
    await closed.start(80, 24)
    await asyncio.sleep(0.5)
    await closed.stop()
    assert closed._process is not None and closed._process.returncode != 0
    assert capfd.readouterr().err == ""


async def test_an_app_that_says_it_is_leaving_then_fails_still_gets_its_line(
        capfd: pytest.CaptureFixture[str]) -> None:
    # An app's "exit" packet closes its tab, and serve then stops the app: that stop was not
    # asked for by the tab, so the exit status that follows is still reported.
    exits = ("import json; packet = json.dumps({'type': 'exit'}).encode(); "
             "sys.stdout.buffer.write(b'M' + len(packet).to_bytes(4, 'big') + packet); "
             "sys.stdout.flush(); time.sleep(0.3); sys.exit(3)")
    app = AppProcess([sys.executable, "-c", f"import sys, time; {GREETING}; {exits}"],
                     dict(os.environ), write_bytes=_discard, write_str=_discard,
                     close=_close, download_manager=DownloadManager())
    stopping: list[asyncio.Future[None]] = []

    async def close() -> None:  # the tab's websocket closes: its handler then stops the app
        stopping.append(asyncio.ensure_future(app.stop()))

    app.remote_close = close  # type: ignore[method-assign]
    await app.start(80, 24)
    await ended(app)
    await asyncio.gather(*stopping)
    lines = capfd.readouterr().err.splitlines()
    assert stopping  # serve's own stop came before the app had ended
    assert len(lines) == 1 and "ended unexpectedly (exit status 3)" in lines[0], lines


@dataclass
class Console:
    """What serve printed on its console, once it has stopped."""

    err: str = ""


@contextlib.asynccontextmanager
async def serving(cli_env: dict[str, str]) -> AsyncIterator[tuple[int, int, Console]]:
    """Real serve (sim) on a free port: its pid, its port, and its console once stopped."""
    port = free_port()
    serve = subprocess.Popen([sys.executable, "-m", "sandbox", "serve", "--runtime", "sim",
                              "--port", str(port)], env=cli_env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    printed = Console()
    try:
        await eventually(lambda: listening(port), 20, "serve to listen")
        yield serve.pid, port, printed
    finally:
        serve.send_signal(signal.SIGTERM)
        out, printed.err = serve.communicate(timeout=30)
    assert TOKEN not in out + printed.err
    assert serve.returncode == 128 + signal.SIGTERM


@pytest.mark.parametrize(("signum", "said"), ids=["SIGKILL", "SIGTERM", "SIGHUP", "SIGINT"],
                         argvalues=[
    (signal.SIGKILL, "ended unexpectedly (killed by SIGKILL)"),
    (signal.SIGTERM, "ended unexpectedly (stopped by SIGTERM, exit status 143)"),
    (signal.SIGHUP, "ended unexpectedly (stopped by SIGHUP, exit status 129)"),
    (signal.SIGINT, "ended unexpectedly (stopped by SIGINT, exit status 130)"),
])
async def test_serve_says_which_tab_ended_when_its_app_is_killed(
        cli_env: dict[str, str], signum: int, said: str) -> None:
    async with serving(cli_env) as (serve, port, printed), aiohttp.ClientSession() as session:
        websocket = await open_tab(session, port)
        (app,) = await eventually(lambda: children(serve), 10, "the app process")
        os.kill(app, signum)  # an administrator's kill, a session manager's hang-up
        while not websocket.closed:
            await websocket.receive(timeout=10)
        await eventually(lambda: children(serve) == [], 5, "the dead app to be reaped")
    lines = [line for line in printed.err.splitlines() if "tab's app" in line]
    assert len(lines) == 1 and said in lines[0], printed.err
    assert "in a terminal: agw-sandbox --runtime sim --provider mock --port 0 " in lines[0]


async def test_tabs_closed_by_their_browser_leave_the_console_silent(
        cli_env: dict[str, str]) -> None:
    async with serving(cli_env) as (serve, port, printed), aiohttp.ClientSession() as session:
        for wait in (0.0, 2.0):  # closed at its first frame, and once it has drawn
            websocket = await open_tab(session, port)
            await eventually(lambda: children(serve), 10, "the app process")
            await asyncio.sleep(wait)
            await websocket.close()
            await eventually(lambda: children(serve) == [], 10, "the app to end")
        await asyncio.sleep(1)
    assert "tab's app" not in printed.err, printed.err


def test_the_browser_gets_what_a_terminal_would_show_for_text_utf8_cannot_carry() -> None:
    driver = BrowserDriver.__new__(BrowserDriver)  # only its writing: no app, no stdin
    written: list[bytes] = []
    driver._write = written.append  # type: ignore[assignment,method-assign]
    driver.write("model gpt-4o\ud800 ✓")  # a lone surrogate: no UTF-8 stream can carry it
    assert written == [b"D" + len("model gpt-4o? ✓".encode()).to_bytes(4, "big")
                       + "model gpt-4o? ✓".encode()]


def test_the_line_shows_a_folder_name_s_hidden_characters_as_escapes() -> None:
    argv = [sys.executable, "-m", "sandbox", "--scenarios", "/tmp/talk\x1b]0;PWNED\x07\u202e"]
    line = console.app_ended(-signal.SIGKILL, argv)
    assert "--scenarios '/tmp/talk\\u001b]0;PWNED\\u0007\\u202e'" in line
    assert "\x1b" not in line and "\x07" not in line and "\u202e" not in line
