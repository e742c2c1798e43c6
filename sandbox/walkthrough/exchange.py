"""Sending the test request to the gateway over HTTP, streaming the answer as it arrives."""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Callable

from sandbox.catalog import checks
from sandbox.errors import RequestFailed
from sandbox.http_client import (
    AsyncBaseTransport,
    AsyncClient,
    HTTPError,
    InvalidURL,
    LocalProtocolError,
    Timeout,
)
from sandbox.walkthrough import shell_equivalents
from sandbox.walkthrough.events import RequestView, ResponseView
from sandbox.walkthrough.render import Context, RenderedRequest, masked_request


class GatewayUnreachable(RequestFailed):
    """No answer came back: the connection failed or broke (a port-forward reconnecting)."""


def new_client(transport: AsyncBaseTransport | None = None) -> AsyncClient:
    """One client per run; tests inject a transport, everyone else gets real loopback HTTP.

    The gateway is plain HTTP on 127.0.0.1 (the sim, or a port-forward), so this client never
    speaks TLS: it trusts no certificate authority at all rather than reading the CA bundle
    (about 30 ms at every start) for nothing. An https URL would fail, never pass unverified.
    """
    return AsyncClient(transport=transport, timeout=Timeout(90.0, connect=5.0),
                       trust_env=False, verify=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT))


def view_request(request: RenderedRequest, base_url: str, ctx: Context) -> RequestView:
    """The request as the panes show it (secrets masked in the values) and as a keyless curl."""
    shown = masked_request(request, ctx)
    body = shown.body.decode("utf-8", "replace") if shown.body else ""
    return RequestView(shown.method, base_url.rstrip("/") + shown.path, shown.headers, body,
                       shell_equivalents.curl(request, base_url, ctx))


async def send(client: AsyncClient, request: RenderedRequest, base_url: str, ctx: Context,
               on_chunk: Callable[[str], None]) -> ResponseView:
    url = base_url.rstrip("/") + request.path
    problem = unsendable(request)
    if problem is not None:
        raise RequestFailed(f"the request cannot be sent: {problem}", UNSENDABLE_HINT)
    started = time.perf_counter()
    pieces: list[str] = []
    content: list[str] = []
    try:
        async with client.stream(request.method, url, headers=list(request.headers),
                                 content=request.body) as response:
            latency = (time.perf_counter() - started) * 1000
            buffer = ""
            async for text in response.aiter_text():
                pieces.append(text)
                if request.stream:
                    buffer += text
                    *events, buffer = buffer.split("\n\n")
                    for delta in _deltas(events):
                        content.append(delta)
                        on_chunk(ctx.masker(delta))
    except (InvalidURL, LocalProtocolError, UnicodeError) as exc:
        # Their text may quote a header value, which may be the key: say it in our words.
        raise RequestFailed("the request cannot be sent: its method, path or a header holds "
                            "a character HTTP cannot carry", UNSENDABLE_HINT) from exc
    except HTTPError as exc:
        raise GatewayUnreachable(
            f"could not reach the gateway at {url}: {ctx.masker(str(exc)) or type(exc).__name__}",
            "check that the runtime is up (`agw-sandbox status`) and the port is right",
        ) from exc
    body = "".join(pieces)
    model, message = _summary(body) if not request.stream else (_stream_model(body), None)
    return ResponseView(
        status=response.status_code, reason=response.reason_phrase, latency_ms=latency,
        headers=tuple((k, ctx.masker(v)) for k, v in response.headers.items()),
        body=ctx.masker(_pretty(body)), content=ctx.masker("".join(content) or message or ""),
        model=model,
    )


UNSENDABLE_HINT = ("HTTP takes only printable ASCII in a method, path or header: remove the "
                   "character (often an invisible one pasted along) from the scenario, the "
                   "custom request, or the key given with --token or AGW_SANDBOX_TOKEN")
_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789"
                   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def unsendable(request: RenderedRequest) -> str | None:
    """What HTTP cannot carry in this request, named by place and position, never by value."""
    if not request.method or not set(request.method) <= _TOKEN:
        return f"the method {request.method!r} is not a valid HTTP method name"
    for index, char in enumerate(request.path, 1):
        if char <= " " or char == "\x7f":
            return f"the path holds {_describe(char)} at position {index}"
    for name, value in request.headers:
        if not name or not set(name) <= _TOKEN:
            return f"the header name {name!r} is not a valid HTTP header name"
        if framing := checks.framing_problem(name):
            return f"the {framing}"
        for index, char in enumerate(value, 1):
            if not (" " <= char <= "~" or char == "\t"):
                return f"the {name} header holds {_describe(char)} at position {index}"
    return None


def _describe(char: str) -> str:
    kind = "a space" if char == " " else \
        "a control character" if char < " " or char == "\x7f" else "a non-ASCII character"
    return f"{kind} (U+{ord(char):04X})"


def _deltas(events: list[str]) -> list[str]:
    out = []
    for event in events:
        for line in event.splitlines():
            if not line.startswith("data:") or line.strip() == "data: [DONE]":
                continue
            try:
                chunk = json.loads(line[5:])
                out.append(chunk["choices"][0]["delta"].get("content") or "")
            except (ValueError, KeyError, IndexError, TypeError):
                continue
    return [d for d in out if d]


def _stream_model(body: str) -> str | None:
    for line in body.splitlines():
        if line.startswith("data:") and "[DONE]" not in line:
            try:
                return str(json.loads(line[5:])["model"])
            except (ValueError, KeyError, TypeError):
                return None
    return None


def _summary(body: str) -> tuple[str | None, str | None]:
    try:
        data = json.loads(body)
    except ValueError:
        return None, None
    if not isinstance(data, dict):
        return None, None
    model = data.get("model")
    try:
        message = data["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        error = data.get("error")
        message = error.get("message") if isinstance(error, dict) else None
    return (str(model) if model else None), (str(message) if message else None)


def _pretty(body: str) -> str:
    try:
        return json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except ValueError:
        return body

