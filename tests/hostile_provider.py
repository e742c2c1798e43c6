"""A hostile OpenAI-like provider on loopback, for the tests of what the sandbox does with an
answer: it echoes the key it receives where nothing masks it, nests JSON absurdly deep, inflates
to gigabytes, never ends, never answers or stops half way.

It speaks raw HTTP/1.1 over plain sockets (so it can break every rule) and plays the provider
behind the simulated gateway: a scenario whose Backend sets ``host``/``port`` sends the gateway
here (``hostile_folder``), with ``--provider openai`` so nothing redirects it to the mock.
"""

from __future__ import annotations

import json
import socket
import threading
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest

from sandbox.profiles import DEFAULT_PROFILE
from sandbox.runtimes.runtime import Runtime
from sandbox.runtimes.sim.runtime import SimRuntime
from sandbox.settings import Settings
from tests.conftest import REPO, TOKEN

# A handler gets the connection, the key the gateway sent (without "Bearer ") and a stop event
# to wait on instead of sleeping for ever.
Handler = Callable[[socket.socket, str, threading.Event], None]
JSON = [("Content-Type", "application/json")]


def completion(content: str, model: str = "gpt-4o-mini") -> bytes:
    return json.dumps({"id": "x", "object": "chat.completion", "model": model,
                       "choices": [{"index": 0, "message": {"role": "assistant",
                                                            "content": content},
                                    "finish_reason": "stop"}]}).encode()


def head(conn: socket.socket, status_line: str, headers: list[tuple[str, str]],
         body: bytes = b"") -> None:
    lines = [status_line] + [f"{name}: {value}" for name, value in headers]
    conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)


def whole(conn: socket.socket, body: bytes, status_line: str = "HTTP/1.1 200 OK",
          headers: list[tuple[str, str]] | None = None) -> None:
    head(conn, status_line, [*(headers or JSON), ("Content-Length", str(len(body))),
                             ("Connection", "close")], body)


def chunk(conn: socket.socket, data: bytes) -> None:
    conn.sendall(f"{len(data):x}\r\n".encode() + data + b"\r\n")


def sse_event(content: str, model: str = "gpt-4o-mini") -> bytes:
    delta = {"model": model, "choices": [{"index": 0, "delta": {"content": content}}]}
    return f"data: {json.dumps(delta)}\n\n".encode()


def stream(conn: socket.socket, pieces: list[str], model: str = "gpt-4o-mini") -> None:
    """An SSE answer, one network chunk per piece, then [DONE]."""
    head(conn, "HTTP/1.1 200 OK", [("Content-Type", "text/event-stream"),
                                   ("Transfer-Encoding", "chunked"), ("Connection", "close")])
    for piece in pieces:
        chunk(conn, sse_event(piece, model))
    chunk(conn, b"data: [DONE]\n\n")
    conn.sendall(b"0\r\n\r\n")


def gzip_of_zeros(mebibytes: int) -> bytes:
    """A gzip body a few KiB long that inflates to ``mebibytes`` MiB."""
    squeeze = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"\0" * (1 << 20)
    return b"".join([squeeze.compress(block) for _ in range(mebibytes)] + [squeeze.flush()])


@contextmanager
def hostile_provider(handler: Handler) -> Iterator[tuple[str, int]]:
    """Serve ``handler`` on 127.0.0.1 (one request per connection) until the block ends."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()
    connections: list[socket.socket] = []

    def serve_one(conn: socket.socket) -> None:
        with conn:
            key = _read_request(conn)
            if key is None:
                return
            with suppress(OSError):
                handler(conn, key, stop)

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            connections.append(conn)
            threading.Thread(target=serve_one, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[:2]
    finally:
        stop.set()
        with suppress(OSError):  # wakes the accept() below: a close alone does not, on Linux
            listener.shutdown(socket.SHUT_RDWR)
        listener.close()
        for conn in connections:
            with suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        thread.join(5)


def _read_request(conn: socket.socket) -> str | None:
    """Read one request; return the key it carries ("" for none), None when the peer left."""
    data = b""
    while b"\r\n\r\n" not in data:
        piece = conn.recv(65536)
        if not piece:
            return None
        data += piece
    header_block, _, rest = data.partition(b"\r\n\r\n")
    headers = {}
    for line in header_block.decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0") or 0)
    while len(rest) < length:
        piece = conn.recv(65536)
        if not piece:
            break
        rest += piece
    return headers.get("authorization", "").removeprefix("Bearer ")


SCENARIO = """\
id: hostile
title: An answer from a hostile provider
needs: [setup]
summary: The provider behind the Backend answers in ways no real one should.
security: The key is the test's own.
steps:
  - id: backend
    title: Backend pointing at the hostile provider
    apply: [manifests/backend.yaml, manifests/httproute.yaml]
  - id: ready
    title: Wait for the route
    wait:
      - resource: HTTPRoute/kgateway-system/openai
        conditions: {{Accepted: "True", ResolvedRefs: "True"}}
  - id: ask
    title: Ask
    request:
      path: /openai
      body: {{model: "", stream: {stream}, messages: [{{role: user, content: hi}}]}}
      stream: {stream}
{expect}  - id: cleanup
    title: Clean up
    cleanup: true
"""
BACKEND = """\
apiVersion: gateway.kgateway.dev/v1alpha1
kind: Backend
metadata: {{name: openai, namespace: kgateway-system}}
spec:
  type: AI
  ai:
    llm:
      host: 127.0.0.1
      port: {port}
      openai:
        authToken: {{kind: Inline, inline: "${{token}}"}}
"""


def hostile_folder(folder: Path, port: int, stream: bool = False,
                   expect: str = "    expect: {status: 200}\n") -> Path:
    """A scenario folder whose ``hostile`` scenario asks the provider on ``port`` once."""
    (folder / "manifests").mkdir(parents=True, exist_ok=True)
    (folder / "hostile.yaml").write_text(
        SCENARIO.format(stream=str(stream).lower(), expect=expect))
    (folder / "manifests" / "backend.yaml").write_text(BACKEND.format(port=port))
    (folder / "manifests" / "httproute.yaml").write_text(
        (REPO / "scenarios" / "manifests" / "httproute.yaml").read_text())
    return folder


async def run_hostile(handler: Handler, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                      capsys: pytest.CaptureFixture[str], stream_step: bool = False,
                      as_json: bool = False, token: str = TOKEN,
                      expect: str = "    expect: {status: 200}\n") -> tuple[int, str, str]:
    """``agw-sandbox run hostile --provider openai [--json] --transcript T.md`` in-process,
    with the simulated gateway sending the request (with ``token``) to ``handler``; returns
    the exit code, what the terminal got (standard output, then standard error), and the
    transcript."""
    from sandbox import headless

    with hostile_provider(handler) as (_, port):
        folder = hostile_folder(tmp_path / "scenarios", port, stream=stream_step, expect=expect)
        settings = Settings(runtime="sim", provider="openai", port=0, token=token,
                            scenario_dirs=(folder,))

        def sim(chosen: Settings, name: str, ask: object = None) -> Runtime:
            return SimRuntime(DEFAULT_PROFILE, 0, "openai", [token], preflight=False)

        monkeypatch.setattr(headless, "make_runtime", sim)
        transcript = tmp_path / "t.md"
        code = await headless.run(settings, "sim", ["hostile"], False, as_json, True,
                                  transcript_path=transcript)
    captured = capsys.readouterr()
    return code, captured.out + "\n" + captured.err, transcript.read_text()


def in_the_app(handler: Handler, tmp_path: Path, expect: str = "    expect: {status: 200}\n",
               size: tuple[int, int] = (200, 60)) -> tuple[str, Any]:
    """The app on the simulated runtime with ``--provider openai`` runs ``setup``, then
    ``hostile`` against ``handler``, as a person pressing its keys would; returns the screen's
    text and the response its pane shows (a ``ResponseView``), once that has come."""
    import asyncio

    from sandbox.catalog.loader import load_catalog
    from sandbox.tui.app import make_app
    from sandbox.tui.widgets.exchange_panes import ResponsePane
    from tests.ui.conftest import screen_text, settle
    from tests.ui.test_app import run_scenario

    async def drive() -> tuple[str, Any]:
        with hostile_provider(handler) as (_, port):
            folder = hostile_folder(tmp_path / "scenarios", port, expect=expect)
            settings = Settings(runtime="sim", provider="openai", port=0, token=TOKEN,
                                scenario_dirs=(folder,))
            app = make_app(settings, lambda: load_catalog((folder,)),
                           lambda chosen, name: SimRuntime(DEFAULT_PROFILE, 0, "openai",
                                                           [TOKEN], preflight=False),
                           lambda requested: ("sim", None))
            async with app.run_test(size=size) as pilot:
                await settle(pilot)
                await pilot.press("enter")  # the provider screen: start
                await settle(pilot)
                screen = pilot.app.screen
                await run_scenario(pilot, screen, "setup", [])  # type: ignore[arg-type]
                await run_scenario(pilot, screen, "hostile", [])  # type: ignore[arg-type]
                return screen_text(pilot.app), screen.query_one(ResponsePane).response

    return asyncio.run(drive())
