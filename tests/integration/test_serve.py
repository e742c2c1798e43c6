"""`agw-sandbox serve` over real loopback HTTP and websockets, with real app processes.

The browser itself is in tests/browser; here a websocket client stands in for the tab.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
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
from sandbox.web.app_process import AppProcess
from sandbox.web.guard import is_loopback
from sandbox.web.serve import child_argv, child_environment
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


def test_the_apps_command_line_uses_the_options_the_help_shows() -> None:
    """serve's console shows it as the command that runs the same app in a terminal."""
    argv = child_argv(Settings(runtime="cluster", context="shared", install_kgateway=True), 0)
    assert "--install" in argv and "--install-kgateway" not in argv


Served = tuple[subprocess.Popen[bytes], subprocess.Popen[bytes]]


def test_an_app_whose_session_ends_exits_by_itself(served_app: Served) -> None:
    """End-of-file on stdin is the web session going away: the app must not run on alone."""
    app, _ = served_app
    assert app.stdin is not None
    app.stdin.close()
    app.wait(timeout=10)
    assert group_members(app.pid) == []


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129),
                                              (signal.SIGINT, 130), (signal.SIGQUIT, 131)])
def test_a_served_app_stopped_by_a_signal_says_so_in_its_exit_status(
        served_app: Served, signum: int, code: int) -> None:
    """As in a terminal: 128 + the signal, never the 0 of a quit its tab asked for (Textual's web
    driver would take SIGTERM and SIGINT for a quit), and nothing it started stays."""
    app, _ = served_app
    app.send_signal(signum)
    assert app.wait(timeout=10) == code
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
                                              (signal.SIGHUP, 129), (signal.SIGUSR1, 138)])
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


# --- what a hostile page or client may send -----------------------------------------------------

@contextlib.asynccontextmanager
async def serving(cli_env: dict[str, str], *options: str,
                  cwd: Path | None = None) -> AsyncIterator[tuple[subprocess.Popen[str], int]]:
    """serve with ``options``; on the way out, stopped, and its console checked for tracebacks."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "sandbox", "serve", "--runtime", "sim",
                                "--port", str(port), *options], env=cli_env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd)
    console = ""
    try:
        await eventually(lambda: listening(port), 20, "serve to listen")
        yield process, port
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
        console = out + err
    assert TOKEN not in console
    for sign in ("Traceback", "Error handling request", "Exception", "Error:"):
        assert sign not in console, console


async def tab_alive(websocket: aiohttp.ClientWebSocketResponse, stamp: str) -> bool:
    """A ping answered with its own stamp: the tab and its session still work."""
    await websocket.send_str(f'["ping", "{stamp}"]')
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        message = await websocket.receive(timeout=deadline - time.monotonic())
        if message.type == aiohttp.WSMsgType.TEXT and message.data == f'["pong", "{stamp}"]':
            return True
        if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
            return False
    return False


MALFORMED = [
    "not json", '{"a": 1}', "[]", "[5]", '["stdin", 5]', '["stdin"]', '["stdin", "a", "b"]',
    '["stdin", "\\ud800"]',  # a lone surrogate: valid JSON, not encodable as UTF-8
    '["resize", {}]', '["resize", {"width": "x", "height": "y"}]',
    '["resize", {"width": -1, "height": -1}]', '["resize", {"width": 0, "height": 0}]',
    '["resize", {"width": true, "height": true}]', '["resize", {"width": 1.5, "height": 2}]',
    '["resize", [80, 24]]', '["ping", {"x": 1}]', '["ping", "' + "9" * 5000 + '"]',
    '["quit"]', '["blur", 1]', "[" * 100_000 + "]" * 100_000, '"stdin"', "null",
]


async def test_malformed_messages_are_dropped_and_the_tab_goes_on(cli_env: dict[str, str]) -> None:
    async with serving(cli_env) as (process, port), aiohttp.ClientSession() as session:
        websocket = await open_tab(session, port)
        app = await the_app(process.pid)
        for number, message in enumerate(MALFORMED):
            await websocket.send_str(message)
            assert await tab_alive(websocket, str(number)), message
        await websocket.send_bytes(b"\x00\xff binary")
        assert await tab_alive(websocket, "binary")
        assert alive(app) and process.poll() is None
        await websocket.close()


@pytest.mark.parametrize(("query", "columns", "rows"), [
    ("width=99999&height=99999", "500", "200"), ("width=501&height=201", "500", "200"),
    ("width=%C2%B2&height=%D9%A3", "80", "24"),  # ² and Arabic-Indic three: digits, not ASCII
    ("width=" + "7" * 5000, "80", "24"), ("width=120&height=40", "120", "40")],
    ids=["huge", "one-over", "not-ascii-digits", "5000-digits", "ordinary"])
async def test_the_size_in_the_address_is_checked_and_capped(
        cli_env: dict[str, str], query: str, columns: str, rows: str) -> None:
    async with serving(cli_env) as (process, port), aiohttp.ClientSession() as session:
        websocket = await session.ws_connect(f"http://127.0.0.1:{port}/ws?{query}")
        assert (await websocket.receive(timeout=20)).type == aiohttp.WSMsgType.BINARY
        app = await the_app(process.pid)
        environ = dict(item.split(b"=", 1) for item in
                       Path(f"/proc/{app}/environ").read_bytes().split(b"\0") if b"=" in item)
        assert (environ[b"COLUMNS"], environ[b"ROWS"]) == (columns.encode(), rows.encode())
        await websocket.close()


async def test_a_huge_resize_costs_no_more_than_the_largest_screen(
        cli_env: dict[str, str]) -> None:
    """30000×30000 used to make the tab's app grow to gigabytes (stopped here at 400 MB)."""
    async with serving(cli_env) as (process, port), aiohttp.ClientSession() as session:
        websocket = await open_tab(session, port)
        app = await the_app(process.pid)
        await asyncio.sleep(1)  # the first screen is drawn
        await websocket.send_str('["resize", {"width": 30000, "height": 30000}]')
        peak, deadline = 0, time.monotonic() + 6
        while time.monotonic() < deadline and peak < 400 and alive(app):
            with contextlib.suppress(TimeoutError):
                await websocket.receive(timeout=0.2)
            peak = max(peak, resident_megabytes(app))
        assert peak < 400, f"the tab's app grew to {peak} MB"
        assert await tab_alive(websocket, "after")
        await websocket.close()


def resident_megabytes(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    return 0


async def test_the_number_of_tabs_is_capped_and_the_page_says_so(
        cli_env: dict[str, str]) -> None:
    async with serving(cli_env, "--max-tabs", "2") as (process, port), \
            aiohttp.ClientSession() as session:
        tabs = [await open_tab(session, port) for _ in range(2)]
        async with session.get(f"http://127.0.0.1:{port}/") as response:
            page = await response.text()
        assert response.status == 503
        assert "All 2 sessions of this agw-sandbox are in use" in page and "--max-tabs" in page
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await open_tab(session, port)
        assert refused.value.status == 503
        assert len(children(process.pid)) == 2
        await tabs[0].close()
        await eventually(lambda: len(children(process.pid)) == 1, 10, "the closed tab's app")
        async with session.get(f"http://127.0.0.1:{port}/") as response:
            assert response.status == 200
        await tabs[1].close()


def this_machines_address() -> str | None:
    """A non-loopback address of this machine, if it has one (the route to a test network)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("198.51.100.1", 9))  # nothing is sent: UDP only picks a route
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if address.startswith("127.") else address


async def test_public_serving_still_checks_the_host(cli_env: dict[str, str]) -> None:
    """--public opens the port to the room, not the page to every name (DNS rebinding)."""
    async with serving(cli_env, "--public", "--allow-host", "Workshop.Example") as (_, port), \
            aiohttp.ClientSession() as session:
        accepted = ["127.0.0.1", "localhost", "[::1]", socket.gethostname(), "workshop.example",
                    *filter(None, [this_machines_address()])]
        refused = ["attacker.example", "workshop.example.attacker.example", "203.0.113.9",
                   "0.0.0.0", "224.0.0.1", "127.0.0.1@attacker.example", "[::1"]
        for host in accepted + refused:
            async with session.get(f"http://127.0.0.1:{port}/",
                                   headers={"Host": f"{host}:{port}"}) as response:
                assert (response.status == 200) is (host in accepted), (host, response.status)
        with pytest.raises(aiohttp.WSServerHandshakeError) as rebound:
            await session.ws_connect(f"http://127.0.0.1:{port}/ws",
                                     headers={"Host": f"attacker.example:{port}",
                                              "Origin": f"http://attacker.example:{port}"})
        assert rebound.value.status == 403


async def test_half_sent_requests_are_closed_in_time(cli_env: dict[str, str]) -> None:
    async with serving(cli_env) as (_, port):
        loop = asyncio.get_running_loop()
        half_sent = []
        for _ in range(30):
            client = socket.create_connection(("127.0.0.1", port))
            client.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1\r\n")  # no end
            client.setblocking(False)
            half_sent.append(client)
        async with aiohttp.ClientSession() as session, \
                session.get(f"http://127.0.0.1:{port}/") as response:
            assert response.status == 200  # others are served meanwhile
        try:
            for client in half_sent:  # closed by the server: end-of-file
                assert await asyncio.wait_for(loop.sock_recv(client, 100), 20) == b""
        finally:
            for client in half_sent:
                client.close()


async def test_each_tab_gets_its_own_transcript_in_its_browser(cli_env: dict[str, str],
                                                               tmp_path: Path) -> None:
    """Nothing lands in serve's directory, where two tabs would write over each other."""
    workdir = tmp_path / "presenter"
    workdir.mkdir()
    async with serving(cli_env, cwd=workdir) as (_, port), aiohttp.ClientSession() as session:
        tabs = [await open_tab(session, port) for _ in range(2)]
        keys = await asyncio.gather(*(delivered_transcript(tab) for tab in tabs))
        transcripts = []
        for key in keys:
            async with session.get(f"http://127.0.0.1:{port}/download/{key}") as response:
                transcripts.append((response.headers["Content-Disposition"],
                                    await response.text()))
        for tab in tabs:
            await tab.close()
    (first, first_text), (second, second_text) = transcripts
    assert first != second and "agw-sandbox-transcript-" in first
    assert first_text.startswith("# agw-sandbox transcript") and TOKEN not in first_text
    assert second_text.startswith("# agw-sandbox transcript")
    assert list(workdir.iterdir()) == []


async def delivered_transcript(tab: aiohttp.ClientWebSocketResponse) -> str:
    """Start, run a step (n) and ask for the transcript (w) until the app delivers one: its
    delivery key."""
    deadline, presses = time.monotonic() + 60, 0
    while time.monotonic() < deadline:
        # Enter (Start, once the first screen listens; later the next scenario), n, w, ...
        await tab.send_str(json.dumps(["stdin", "\rnw"[presses % 3]]))
        presses += 1
        pause = time.monotonic() + 1
        with contextlib.suppress(TimeoutError):
            while time.monotonic() < pause:
                message = await tab.receive(timeout=pause - time.monotonic())
                if message.type == aiohttp.WSMsgType.TEXT and "deliver_file_start" in message.data:
                    return str(json.loads(message.data)[1])
                assert message.type in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT)
    raise AssertionError("no transcript was delivered")


async def test_an_apps_stderr_stays_off_the_servers_console(
        capfd: pytest.CaptureFixture[str]) -> None:
    async def discard(data: bytes | str) -> None:
        pass

    async def close() -> None:
        pass

    script = ("import sys; sys.stderr.write('Traceback (most recent call last): locals\\n'); "
              "sys.stdout.write('__GANGLION__\\n'); sys.stdout.flush()")
    app = AppProcess([sys.executable, "-c", script], dict(os.environ), write_bytes=discard,
                     write_str=discard, close=close, download_manager=DownloadManager())
    await app.start(80, 24)
    assert app._process is not None
    assert await asyncio.wait_for(app._process.wait(), 10) == 0
    await app.stop()
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err


async def test_the_page_asks_nothing_of_the_internet(
        serve: tuple[subprocess.Popen[str], int]) -> None:
    _, port = serve
    async with aiohttp.ClientSession() as session, \
            session.get(f"http://127.0.0.1:{port}/") as response:
        page = await response.text()
    assert "googleapis" not in page and "https://" not in page


MALFORMED_HTTP = {
    "not-http": (b"GARBAGE\r\n\r\n", 400),
    "tls-hello": (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x5a" * 40, 400),
    "no-host": (b"GET / HTTP/1.1\r\n\r\n", 400),
    "huge-header": (b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX: " + b"a" * 100_000 + b"\r\n\r\n",
                    400),
    "length-and-chunked": (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n"
                           b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    "websocket-bad-key": (b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                          b"Connection: Upgrade\r\nSec-WebSocket-Key: bad\r\n"
                          b"Sec-WebSocket-Version: 13\r\n\r\n", 400),
    "websocket-without-upgrade": (b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 400),
    "host-not-utf8": (b"GET / HTTP/1.1\r\nHost: \xff\xfe\r\n\r\n", 403),
    "host-half-bracket": (b"GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", 403),
    "host-list": (b"GET / HTTP/1.1\r\nHost: 127.0.0.1:80, rebound.example\r\n\r\n", 403),
    "host-with-a-path": (b"GET / HTTP/1.1\r\nHost: localhost/x@rebound.example\r\n\r\n", 403),
}


async def test_malformed_http_gets_an_answer_and_the_console_no_traceback(
        cli_env: dict[str, str]) -> None:
    async with serving(cli_env) as (process, port):  # serving checks the console at the end
        for name, (request, status) in MALFORMED_HTTP.items():
            with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
                client.sendall(request)
                first = client.recv(200).split(b"\r\n")[0]
            assert first.split(b" ")[1] == str(status).encode(), (name, first)
        assert children(process.pid) == []  # no app for a handshake that failed


async def test_tabs_closed_at_any_moment_of_start_up_leave_no_app_behind(
        cli_env: dict[str, str]) -> None:
    """Closing a tab while its app starts, at many moments, as a room full of people does."""
    moments = [0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.2, 1.6, 2.5] * 2  # seconds after opening
    async with serving(cli_env) as (process, port), aiohttp.ClientSession() as session:
        apps: set[int] = set()

        async def open_and_close(moment: float) -> None:
            websocket = await session.ws_connect(f"http://127.0.0.1:{port}/ws?width=100&height=30")
            await asyncio.sleep(moment)
            apps.update(children(process.pid))
            await websocket.close()

        for start in range(0, len(moments), 5):
            await asyncio.gather(*(open_and_close(m) for m in moments[start:start + 5]))
        await eventually(lambda: children(process.pid) == [], 20, "every tab's app to end")
        assert not any(alive(app) or group_members(app) for app in apps)
        assert process.poll() is None


def test_a_tabs_app_runs_no_code_from_the_folder_serve_was_started_in(
        tmp_path: Path, cli_env: dict[str, str]) -> None:
    """`python -m` puts the working folder first on the import path: a `sandbox/` or a
    `yaml.py` lying there (a downloaded workshop folder) must not run in every tab, with the
    key in its environment."""
    planted = tmp_path / "planted"
    (tmp_path / "sandbox").mkdir()
    for name in ("sandbox/__init__.py", "sandbox/__main__.py", "yaml.py"):
        (tmp_path / name).write_text(f"open({str(planted)!r}, 'a').write({name!r})\n")
    settings = Settings(runtime="sim", token=TOKEN)
    argv = child_argv(settings, 0)
    probe = [*argv[:argv.index("sandbox") + 1], "--version"]  # the same interpreter and flags
    done = subprocess.run(probe, env=child_environment(settings, cli_env), cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert not planted.exists(), planted.read_text()
    assert done.returncode == 0 and "agw-sandbox" in done.stdout


@pytest.mark.parametrize(("host", "said"), [
    ("no-such-host.invalid", "does not resolve"), ("bad host", "does not resolve"),
    ("a" * 64 + ".invalid", "does not resolve"),  # a label too long for a name: idna refuses
    ("192.0.2.1", "not an address of this machine"),  # TEST-NET-1: nobody's machine
])
def test_a_host_this_machine_cannot_listen_on_is_said_as_the_host(
        cli_env: dict[str, str], host: str, said: str) -> None:
    """A --host that does not resolve was said as a taken port ("pick another port")."""
    result = run_cli("serve", "--runtime", "sim", "--port", "0", "--public", "--host", host,
                     env=cli_env)
    assert result.returncode == 2, result.stderr
    assert said in result.stderr and "--host" in result.stderr, result.stderr
    assert "another port" not in result.stderr and "internal error" not in result.stderr
