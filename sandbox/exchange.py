"""Sending the test request to the gateway over HTTP, streaming the answer as it arrives."""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Callable

from sandbox.errors import RequestFailed
from sandbox.events import RequestView, ResponseView
from sandbox.http_client import AsyncBaseTransport, AsyncClient, HTTPError, Timeout
from sandbox.render import Context, RenderedRequest, shell_safe


def new_client(transport: AsyncBaseTransport | None = None) -> AsyncClient:
    """One client per run; tests inject a transport, everyone else gets real loopback HTTP."""
    return AsyncClient(transport=transport, timeout=Timeout(90.0, connect=5.0),
                             trust_env=False)


def view_request(request: RenderedRequest, base_url: str, ctx: Context) -> RequestView:
    url = base_url.rstrip("/") + request.path
    body = request.body.decode("utf-8", "replace") if request.body else ""
    headers = tuple((k, ctx.masker(v)) for k, v in request.headers)
    return RequestView(request.method, url, headers, ctx.masker(body),
                       as_curl(request, url, ctx))


def as_curl(request: RenderedRequest, url: str, ctx: Context) -> str:
    """A runnable curl; secrets become "$VAR" so the command carries no key."""
    parts = ["curl", "-sS"]
    if request.method != ("POST" if request.body else "GET"):
        parts += ["-X", request.method]
    parts.append(shlex.quote(url))
    for key, value in request.headers:
        parts += ["-H", _quote_keep_vars(shell_safe(f"{key}: {value}", ctx))]
    if request.body:
        compact = json.dumps(json.loads(request.body)) if _is_json(request.body) else \
            request.body.decode("utf-8", "replace")
        parts += ["-d", _quote_keep_vars(shell_safe(compact, ctx))]
    return " ".join(parts)


def _quote_keep_vars(text: str) -> str:
    """Single-quote, but leave $VARS outside the quotes so the shell expands them."""
    if "$" not in text:
        return shlex.quote(text)
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`")
    return f'"{escaped}"'


def _is_json(body: bytes) -> bool:
    try:
        json.loads(body)
    except ValueError:
        return False
    return True


async def send(client: AsyncClient, request: RenderedRequest, base_url: str, ctx: Context,
               on_chunk: Callable[[str], None]) -> ResponseView:
    url = base_url.rstrip("/") + request.path
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
    except HTTPError as exc:
        raise RequestFailed(
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


async def fetch_text(url: str, timeout: float = 60.0) -> str:
    """Download a small text file (the Gateway API CRD bundle)."""
    try:
        async with AsyncClient(timeout=timeout, follow_redirects=True) as client:
            response = await client.get(url)
            response.raise_for_status()
    except HTTPError as exc:
        raise RequestFailed(f"could not download {url}: {exc}",
                            "check the internet connection (or a proxy: HTTPS_PROXY)") from exc
    return response.text
