"""``agw-sandbox serve``: the app in a browser tab, one app process per tab, through textual-serve.

The key reaches each app process through its environment only: the command line (which
textual-serve would print, and which ``ps`` shows) and the page never hold it. Every app process
runs in a process group of its own; closing its tab or stopping ``serve`` ends the group within
seconds (quit, then SIGTERM, then SIGKILL), and ``serve`` drains the app's output until it has
gone, so that an app busy drawing never blocks on a full pipe.
"""

from __future__ import annotations

import asyncio
import dataclasses
import html
import os
import re
import sys
from collections.abc import Mapping
from typing import Any, cast
from urllib.parse import urlsplit

from aiohttp import WSCloseCode, WSMsgType, web
from aiohttp.http_exceptions import HttpProcessingError
from textual_serve.app_service import AppService
from textual_serve.server import Server

from sandbox import stdio
from sandbox.catalog.loader import load_catalog
from sandbox.errors import SandboxError
from sandbox.settings import Settings, known_keys
from sandbox.web import DRIVER, console
from sandbox.web.app_process import TERM_GRACE, AppProcess
from sandbox.web.guard import MAX_HEIGHT, MAX_WIDTH, HostCheck, dimension, page_message
from sandbox.web.listen import MAX_TABS as MAX_TABS
from sandbox.web.listen import ServeOptions as ServeOptions
from sandbox.web.listen import addresses_of, bind_host, cannot_listen, check_host

TITLE = "agw-sandbox"
HEADER_TIMEOUT = 10.0  # seconds a connection has to send a whole request (or stay idle)
# textual-serve's page asks Google for a font: not in a room that may have no internet.
REMOTE_FONT = re.compile(r"<link[^>]*fonts\.googleapis\.com[^>]*>")


def check_ports(options: ServeOptions) -> None:
    """Refuse a gateway port that is the page's own: every tab's app would find it taken."""
    if options.gateway_port and options.gateway_port == options.port:
        raise SandboxError(
            f"--gateway-port {options.port} is the port serve's page listens on (--port "
            f"{options.port}): no tab's app could start its gateway there",
            "leave --gateway-port out (or pass --gateway-port 0: a free port for each tab's "
            "app), or give the page or the gateway another port")


def child_argv(settings: Settings, gateway_port: int) -> list[str]:
    """The app's command line: the settings, never the key."""
    # -P: `python -m` would put serve's working folder first on the import path, and a
    # `sandbox/` or `yaml.py` lying there would run in every tab, with the key.
    argv = [sys.executable, "-P", "-m", "sandbox", "--runtime", settings.runtime,
            "--provider", settings.provider, "--port", str(gateway_port),
            "--cluster-name", settings.cluster_name, "--profile", settings.profile]
    for directory in settings.scenario_dirs:
        argv += ["--scenarios", str(directory.resolve())]
    if settings.context:
        argv += ["--context", settings.context]
    if settings.namespace:
        argv += ["--namespace", settings.namespace]
    if settings.gateway:
        argv += ["--gateway", settings.gateway]
    if settings.install_kgateway:
        argv.append("--install")
    if settings.assume_yes:  # nobody in a browser tab can answer the terminal's question
        argv.append("--yes")
    return argv


def child_environment(settings: Settings, base: Mapping[str, str]) -> dict[str, str]:
    """The app's environment: ours, with the key and our web driver."""
    env = {name: value for name, value in base.items() if name != "AGW_SANDBOX_TOKEN"}
    env["AGW_SANDBOX_TOKEN"] = settings.token
    env["TEXTUAL_DRIVER"] = DRIVER
    return env


class SandboxServer(Server):
    """textual-serve's server with our app processes, same-origin checks and a bounded stop."""

    def __init__(self, settings: Settings, options: ServeOptions) -> None:
        self.argv = child_argv(settings, options.gateway_port)
        super().__init__(" ".join(self.argv[1:]), host=options.host, port=options.port,
                         title=TITLE)
        self.env = child_environment(settings, os.environ)
        self.options = options
        self.hosts = HostCheck(options.host, options.public, options.allow_hosts)
        self.sessions: dict[AppProcess, web.WebSocketResponse] = {}

    async def on_startup(self, app: web.Application) -> None:
        """Say where to point the browser (textual-serve would print the command line)."""

    async def on_shutdown(self, app: web.Application) -> None:
        """No new tab by now (the port is closed): stop every app before the handlers end."""
        await self.stop_sessions()

    async def handle_index(self, request: web.Request) -> Any:
        self._check_host(request)
        if len(self.sessions) >= self.options.max_tabs:
            return _all_tabs_taken(self.options.max_tabs)
        # The page's websocket address is the one the browser used, not the bind address.
        self.public_url = f"http://{request.host}"
        page = await super().handle_index(request)
        if isinstance(page, web.Response) and page.text is not None:
            page.text = REMOTE_FONT.sub("", page.text)
        return page

    async def handle_download(self, request: web.Request) -> web.StreamResponse:
        self._check_host(request)  # a transcript delivered to a tab: only to our own page
        return await super().handle_download(request)

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        self._check_host(request)
        if not _same_origin(request):
            raise web.HTTPForbidden(text="the sandbox is driven from its own page only\n")
        if len(self.sessions) >= self.options.max_tabs:
            raise web.HTTPServiceUnavailable(text=_tabs_taken_text(self.options.max_tabs))
        # heartbeat: a tab that vanished without closing (a laptop lid) ends within ~30 s.
        websocket = web.WebSocketResponse(heartbeat=15, timeout=TERM_GRACE)
        session = AppProcess(self.argv, self.env, write_bytes=websocket.send_bytes,
                             write_str=websocket.send_str, close=websocket.close,
                             download_manager=self.download_manager)
        self.sessions[session] = websocket  # counted before the first await: the cap holds
        try:
            await websocket.prepare(request)  # a bad handshake is a 400, and no app starts
            await session.start(_size(request, "width", 80, MAX_WIDTH),
                                _size(request, "height", 24, MAX_HEIGHT))
            await self._process_messages(websocket, session)
        except SandboxError as exc:  # the app could not be started: one line, no traceback
            stdio.say(f"agw-sandbox: a tab's app did not start: {exc}")
        finally:
            await session.stop()
            self.sessions.pop(session, None)
            if websocket.prepared:
                await websocket.close()
        return websocket

    async def _process_messages(self, websocket: web.WebSocketResponse,
                                app_service: AppService) -> None:
        """Pass the page's messages on to its app; anything the page never sends is dropped."""
        async for frame in websocket:
            if frame.type != WSMsgType.TEXT or (message := page_message(frame.data)) is None:
                continue
            if message.kind == "stdin":
                await app_service.send_bytes(message.text.encode("utf-8"))
            elif message.kind == "resize":
                await app_service.set_terminal_size(message.width, message.height)
            elif message.kind == "ping":
                await websocket.send_json(["pong", message.text])
            elif message.kind == "blur":
                await app_service.blur()
            elif message.kind == "focus":
                await app_service.focus()

    def _check_host(self, request: web.Request) -> None:
        """A Host that is not this machine's is a DNS-rebinding page: turned away."""
        if not self.hosts.allows(request.host):
            hint = (" (a name of your own: start serve with --allow-host NAME)"
                    if self.options.public else "")
            raise web.HTTPForbidden(text=f"this address is not served here{hint}\n")

    async def stop_sessions(self) -> None:
        """Stop every app, then close its tab's websocket ("Session ended" in the page)."""
        sessions = list(self.sessions.items())
        await asyncio.gather(*(session.stop() for session, _ in sessions), return_exceptions=True)
        await asyncio.gather(*(websocket.close(code=WSCloseCode.GOING_AWAY)
                               for _, websocket in sessions), return_exceptions=True)


def _same_origin(request: web.Request) -> bool:
    """Browsers let any page open a websocket to any address; only our own page may drive us."""
    origin = request.headers.get("Origin")
    try:
        return origin is None or urlsplit(origin).netloc == request.host
    except ValueError:  # "http://[::1" and the like
        return False


def _size(request: web.Request, name: str, default: int, limit: int) -> int:
    return dimension(request.query.get(name, ""), limit) or default


def _tabs_taken_text(max_tabs: int) -> str:
    return (f"All {max_tabs} sessions of this agw-sandbox are in use (each browser tab runs an "
            "app of its own). Close a tab you no longer need, then reload this page; the "
            "presenter can allow more with serve --max-tabs.")


def _all_tabs_taken(max_tabs: int) -> web.Response:
    text = html.escape(_tabs_taken_text(max_tabs))
    return web.Response(status=503, content_type="text/html", text=(
        f"<!DOCTYPE html>\n<html><head><title>{TITLE}: no free session</title></head>\n"
        f"<body style=\"font-family: monospace\"><h1>{TITLE}</h1><p>{text}</p></body></html>\n"))


def serve(settings: Settings, options: ServeOptions) -> int:
    """Serve until Ctrl+C or a stop signal (SIGTERM…); then stop every app and free the port."""
    options = dataclasses.replace(options, host=bind_host(options.host))
    addresses = addresses_of(options)  # a name is judged by what it resolves to
    warning = check_host(options, addresses)
    check_ports(options)
    load_catalog(settings.scenario_dirs)  # a broken scenario file is reported here, not per tab
    if settings.runtime == "cluster" and not settings.context:  # likewise, not in every tab
        raise SandboxError("--runtime cluster needs --context NAME, for every tab's app",
                           "pass --context NAME (and --yes: nobody in a tab can confirm)")
    if warning:  # it names --host, which may be the key pasted one word too early
        from sandbox.walkthrough.masking import Masker

        stdio.say(f"agw-sandbox: {Masker(known_keys(settings.token, os.environ))(warning)}")
    server = SandboxServer(settings, options)
    console.quiet_logs((HttpProcessingError, ConnectionError))
    stop = _StopEvent()
    with stdio.call_on_stop_signals(stop.set) as seen:
        asyncio.run(_serve(server, options, addresses, stop))
    if seen.signum is not None:
        raise stdio.Terminated(seen.signum)
    return 0


class _StopEvent:
    """A stop request from a signal handler, kept if it comes before the loop waits for it."""

    def __init__(self) -> None:
        self.requested = False
        self.event: asyncio.Event | None = None

    def set(self, code: int) -> None:
        self.requested = True
        if self.event is not None:
            self.event.set()

    async def wait(self) -> None:
        self.event = asyncio.Event()
        if not self.requested:
            await self.event.wait()


async def _serve(server: SandboxServer, options: ServeOptions, addresses: list[str],
                 stop: _StopEvent) -> None:
    # keepalive_timeout: a connection that has not sent a whole request within it is closed,
    # so half-sent requests cannot hold sockets (aiohttp has no header timeout of its own).
    runner = web.AppRunner(await server._make_app(), handle_signals=False,
                           shutdown_timeout=TERM_GRACE, access_log=None,
                           keepalive_timeout=HEADER_TIMEOUT)
    await runner.setup()
    try:
        try:
            # every address the name has, as create_server binds them (aiohttp passes its
            # host on as is); a name looked up again here could wait on the resolver for ever
            hosts = cast(str, addresses)
            await web.TCPSite(runner, hosts, options.port).start()
        except (OSError, UnicodeError) as exc:  # UnicodeError: a name idna cannot encode
            raise cannot_listen(exc, options) from exc
        print(f"agw-sandbox: serving the app on {_page_address(runner, options)} (one app per "
              "browser tab; Ctrl+C stops them all)", flush=True)
        await stop.wait()
    finally:
        await runner.cleanup()


def _page_address(runner: web.AppRunner, options: ServeOptions) -> str:
    """The address to open; with --port 0, the port the system picked."""
    port = options.port
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            port = int(address[1])
    if options.host in ("0.0.0.0", "::"):
        return f"every address of this machine, port {port} (here: http://127.0.0.1:{port}/)"
    return f"http://{f'[{options.host}]' if ':' in options.host else options.host}:{port}/"
