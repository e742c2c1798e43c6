"""`agw-sandbox serve` over real loopback HTTP and websockets, with real app processes.

The browser itself is in tests/browser; here a websocket client stands in for the tab.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from textual_serve.download_manager import DownloadManager

from sandbox.settings import Settings
from sandbox.web.serve import AppProcess, child_argv, child_environment, is_loopback
from tests.conftest import TOKEN
from tests.helpers import run_cli


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def group_members(pgid: int) -> list[int]:
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(stat.parent.name))
    return members


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found += [int(child) for child in task.read_text().split()]
    return found


async def eventually(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


# --- the app process, as serve starts it -------------------------------------------------------

# What serve does with an app's output: pass on its first line, then read everything.
READER = ("import sys; sys.stdout.buffer.write(sys.stdin.buffer.readline()); sys.stdout.flush(); "
          "sys.stdin.buffer.read()")


@pytest.fixture
def served_app(cli_env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[bytes],
                                                          subprocess.Popen[bytes]]]:
    """The app exactly as serve starts it for a tab, and a process reading its output."""
    settings = Settings(runtime="sim", token=TOKEN)
    env = child_environment(settings, {**cli_env, "COLUMNS": "100", "ROWS": "30"})
    reader = subprocess.Popen([sys.executable, "-c", READER], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE)
    assert reader.stdin is not None and reader.stdout is not None
    app = subprocess.Popen(child_argv(settings, 0), env=env, stdin=subprocess.PIPE,
                           stdout=reader.stdin, stderr=subprocess.DEVNULL,
                           start_new_session=True)
    reader.stdin.close()  # the app holds the only writing end
    try:
        assert reader.stdout.readline() == b"__GANGLION__\n"  # the web driver is up
        time.sleep(1)  # and drawing
        yield app, reader
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(app.pid, signal.SIGKILL)
        reader.kill()
        app.wait()
        reader.wait()


def test_the_key_is_in_the_apps_environment_not_its_command_line() -> None:
    settings = Settings(runtime="sim", token=TOKEN, scenario_dirs=(Path("extra"),))
    argv = child_argv(settings, 0)
    env = child_environment(settings, {"AGW_SANDBOX_TOKEN": "sk-test-old", "HOME": "/h"})
    assert TOKEN not in " ".join(argv) and "--token" not in argv
    assert argv[-2:] == ["--scenarios", str(Path("extra").resolve())]
    profiled = child_argv(Settings(runtime="sim", profile="agentgateway-v1.4"), 0)
    assert profiled[profiled.index("--profile") + 1] == "agentgateway-v1.4"
    assert env["AGW_SANDBOX_TOKEN"] == TOKEN and env["HOME"] == "/h"
    own = child_argv(Settings(runtime="cluster", context="shared", namespace="team-a",
                              gateway="gw-a", assume_yes=True), 0)
    assert own[own.index("--namespace") + 1] == "team-a"
    assert own[own.index("--gateway") + 1] == "gw-a" and "--yes" in own


Served = tuple[subprocess.Popen[bytes], subprocess.Popen[bytes]]


def test_an_app_whose_session_ends_exits_by_itself(served_app: Served) -> None:
    """End-of-file on stdin is the web session going away: the app must not run on alone."""
    app, _ = served_app
    assert app.stdin is not None
    app.stdin.close()
    app.wait(timeout=10)
    assert group_members(app.pid) == []


def test_an_app_whose_server_was_killed_exits_with_its_group(served_app: Served) -> None:
    """The server gone without a word (SIGKILL): stdin ends and writes fail; nothing stays."""
    app, reader = served_app
    assert app.stdin is not None
    reader.kill()
    reader.wait()
    app.stdin.close()
    app.wait(timeout=10)
    assert group_members(app.pid) == []


# --- serve itself -------------------------------------------------------------------------------

@pytest.fixture
async def serve(cli_env: dict[str, str]) -> AsyncIterator[tuple[subprocess.Popen[str], int]]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "sandbox", "serve", "--runtime", "sim",
                                "--port", str(port)], env=cli_env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        await eventually(lambda: listening(port), 20, "serve to listen")
        yield process, port
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
        assert TOKEN not in out + err


async def open_tab(session: aiohttp.ClientSession, port: int,
                   origin: str | None = None) -> aiohttp.ClientWebSocketResponse:
    """What the page's script does: a websocket to /ws, then wait for the first frame."""
    origin = origin or f"http://127.0.0.1:{port}"
    websocket = await session.ws_connect(f"http://127.0.0.1:{port}/ws?width=100&height=30",
                                         headers={"Origin": origin})
    message = await websocket.receive(timeout=20)
    assert message.type == aiohttp.WSMsgType.BINARY
    return websocket


async def the_app(serve_pid: int) -> int:
    (app,) = await eventually(lambda: children(serve_pid), 10, "the app process")
    return int(app)


async def test_the_page_names_the_sandbox_and_no_command_line(
        serve: tuple[subprocess.Popen[str], int]) -> None:
    _, port = serve
    async with aiohttp.ClientSession() as session, \
            session.get(f"http://127.0.0.1:{port}/") as response:
        page = await response.text()
    assert response.status == 200
    assert "<div>agw-sandbox</div>" in page and "-m sandbox" not in page
    assert f'data-session-websocket-url="ws://127.0.0.1:{port}/ws"' in page


async def test_closing_the_tab_ends_its_app(serve: tuple[subprocess.Popen[str], int]) -> None:
    process, port = serve
    async with aiohttp.ClientSession() as session:
        websocket = await open_tab(session, port)
        app = await the_app(process.pid)
        cmdline = Path(f"/proc/{app}/cmdline").read_bytes()
        environ = Path(f"/proc/{app}/environ").read_bytes().split(b"\0")
        assert TOKEN.encode() not in cmdline
        assert f"AGW_SANDBOX_TOKEN={TOKEN}".encode() in environ
        await websocket.close()
    await eventually(lambda: not alive(app), 10, "the app to end with its tab")
    assert process.poll() is None and group_members(app) == []


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130),
                                              (signal.SIGHUP, 129)])
async def test_stopping_serve_ends_every_app_and_frees_the_port(
        serve: tuple[subprocess.Popen[str], int], signum: int, code: int) -> None:
    process, port = serve
    async with aiohttp.ClientSession() as session:
        tabs = [await open_tab(session, port) for _ in range(2)]
        apps = await eventually(lambda: len(found := children(process.pid)) == 2 and found, 10,
                                "an app per tab")
        started = time.monotonic()
        process.send_signal(signum)
        await eventually(lambda: process.poll() is not None, 15, "serve to stop")
        for tab in tabs:
            await tab.close()
    assert time.monotonic() - started < 10
    assert process.returncode == code
    assert not any(alive(app) or group_members(app) for app in apps)
    assert not listening(port)


async def test_a_page_from_elsewhere_cannot_drive_the_sandbox(
        serve: tuple[subprocess.Popen[str], int]) -> None:
    """Any web page may open a websocket to 127.0.0.1, and DNS rebinding may serve its own."""
    process, port = serve
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await open_tab(session, port, origin="http://attacker.example")
        assert refused.value.status == 403
        async with session.get(f"http://127.0.0.1:{port}/",
                               headers={"Host": f"rebound.example:{port}"}) as response:
            assert response.status == 403
    assert children(process.pid) == []


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("[::1]", True), ("localhost", True),
    ("LOCALHOST", True), ("0.0.0.0", False), ("::", False), ("192.168.1.10", False),
    ("localhost.attacker.example", False), ("", False)])
def test_only_loopback_addresses_count_as_this_machine(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_a_non_loopback_address_needs_public(cli_env: dict[str, str]) -> None:
    result = run_cli("serve", "--host", "0.0.0.0", "--port", str(free_port()), env=cli_env)
    assert result.returncode == 2
    assert "--host 0.0.0.0 is not a loopback address" in result.stderr
    assert "--public" in result.stderr and "Traceback" not in result.stderr


def test_public_serving_warns_who_can_drive_it(cli_env: dict[str, str]) -> None:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "sandbox", "serve", "--public", "--port",
                                str(port)], env=cli_env, text=True, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while not listening(port) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert "anyone who can reach this port drives the sandbox" in err
    assert "0.0.0.0" in err


def test_a_taken_port_is_reported(cli_env: dict[str, str]) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = run_cli("serve", "--port", str(port), env=cli_env)
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "--port" in result.stderr and "Traceback" not in result.stderr


def test_port_0_serves_on_a_free_port_and_says_which(cli_env: dict[str, str]) -> None:
    process = subprocess.Popen([sys.executable, "-m", "sandbox", "serve", "--port", "0"],
                               env=cli_env, text=True, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert match and int(match[1]) != 0, line
        with socket.create_connection(("127.0.0.1", int(match[1])), timeout=5) as page:
            page.sendall(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            assert page.recv(100).split(b"\r\n")[0].endswith(b" 200 OK")
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)


def test_a_broken_scenario_directory_is_reported_before_serving(cli_env: dict[str, str],
                                                                 tmp_path: Path) -> None:
    result = run_cli("serve", "--port", "0", "--scenarios", str(tmp_path / "missing"),
                     env=cli_env)
    assert result.returncode == 2
    assert "not a directory of scenario files" in result.stderr
    assert "serving" not in result.stdout


def test_a_cluster_without_a_context_is_refused_before_serving(cli_env: dict[str, str]) -> None:
    result = run_cli("serve", "--port", "0", "--runtime", "cluster", env=cli_env)
    assert result.returncode == 2
    assert "--runtime cluster needs --context NAME, for every tab's app" in result.stderr
    assert "serving" not in result.stdout


async def test_an_app_that_dies_ends_its_tabs_session(
        serve: tuple[subprocess.Popen[str], int]) -> None:
    process, port = serve
    async with aiohttp.ClientSession() as session:
        websocket = await open_tab(session, port)
        os.kill(await the_app(process.pid), signal.SIGKILL)
        deadline = time.monotonic() + 10
        while not websocket.closed and time.monotonic() < deadline:
            await websocket.receive(timeout=deadline - time.monotonic())
        assert websocket.closed  # the page shows "Session ended" instead of a frozen screen
    await eventually(lambda: children(process.pid) == [], 5, "the dead app to be reaped")
    assert process.poll() is None


async def test_an_app_still_drawing_after_its_tab_closed_is_read_to_the_end() -> None:
    """Its output must be drained: an app blocked on a full pipe could not quit."""

    async def tab_gone(data: bytes | str) -> None:
        raise ConnectionResetError("Cannot write to closing transport")

    async def close() -> None:
        pass

    frame = b"D" + (60_000).to_bytes(4, "big") + b"x" * 60_000
    script = ("import sys; out = sys.stdout.buffer; out.write(b'__GANGLION__\\n'); "
              f"[out.write({frame!r}) for _ in range(40)]; out.flush()")
    app = AppProcess([sys.executable, "-c", script], dict(os.environ), write_bytes=tab_gone,
                     write_str=tab_gone, close=close, download_manager=DownloadManager())
    await app.start(80, 24)
    assert app._process is not None
    assert await asyncio.wait_for(app._process.wait(), 10) == 0  # 2.4 MB written, none blocked
    await app.stop()
