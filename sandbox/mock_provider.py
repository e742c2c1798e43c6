"""A stand-in for the OpenAI chat-completions API that shows which API key reached it.

Standard library only, on purpose: this very file runs inside the simulated runtime, as
``agw-sandbox mock-provider --port N``, and unchanged inside a stock ``python`` container in the
kind cluster (mounted from a ConfigMap and started as ``python mock_provider.py``).

It checks the ``Authorization`` header the way the real provider does (no key: 401; unknown key:
401 ``invalid_api_key``; accepted key: 200) and its answer names the key it received in masked
form, so a learner can see where the key came from in each scenario. Accepted keys come from
``--accept-key`` or the ``MOCK_PROVIDER_KEYS`` environment variable (comma-separated); they are
never printed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HEALTH_PATH = "/healthz"
COMPLETIONS_PATH = "/v1/chat/completions"
MODELS = ("gpt-3.5-turbo", "gpt-4o-mini", "gpt-4o")
_CREATED = 1_700_000_000  # fixed, so every answer is byte-for-byte reproducible
NO_KEY_MESSAGE = (
    "You didn't provide an API key. Send it in the Authorization header as "
    "'Bearer YOUR_KEY'. (mock provider)"
)


def mask(key: str) -> str:
    """Masked form of a key, ``sk-…abcd``; kept in step with ``sandbox.masking.mask_key``."""
    if len(key) <= 8:
        return f"…{key[-2:]}" if len(key) >= 6 else ("…" if key else "")
    prefix = key.split("-", 1)[0] + "-" if "-" in key[:6] else ""
    return f"{prefix}…{key[-4:]}"


def _error(message: str, kind: str, code: str | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


@dataclass(frozen=True)
class Received:
    """What one request carried, as the provider saw it (the key only in masked form)."""

    method: str
    path: str
    key: str  # masked, or "" when no Authorization header arrived
    model: str
    status: int


class MockProvider:
    """An OpenAI-compatible HTTP server on a background thread."""

    def __init__(
        self,
        accepted_keys: Iterable[str],
        host: str = "127.0.0.1",
        port: int = 0,
        token_delay: float = 0.02,
    ) -> None:
        self.accepted_keys = frozenset(k.strip() for k in accepted_keys if k.strip())
        self.token_delay = token_delay
        self.received: list[Received] = []
        self._lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"provider": self})
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        host = self._server.server_address[0]
        return f"http://{host if isinstance(host, str) else host.decode()}:{self.port}"

    def start(self) -> MockProvider:
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="mock-provider", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def record(self, entry: Received) -> None:
        with self._lock:
            self.received.append(entry)

    def check_key(self, authorization: str | None) -> tuple[int, dict[str, Any] | None, str]:
        """Return (status, error body or None, masked key) the way the real provider decides."""
        if not authorization or not authorization.strip():
            return 401, _error(NO_KEY_MESSAGE, "invalid_request_error", None), ""
        scheme, _, key = authorization.strip().partition(" ")
        key = key.strip() if scheme.lower() == "bearer" else authorization.strip()
        if key not in self.accepted_keys:
            message = f"Incorrect API key provided: {mask(key)}. (mock provider)"
            return 401, _error(message, "invalid_request_error", "invalid_api_key"), mask(key)
        return 200, None, mask(key)


def completion_text(masked_key: str, model: str) -> str:
    return (
        f"Hello from the mock provider, answering as {model}. "
        f"The request reached me with the API key {masked_key} in its Authorization header."
    )


class _Handler(BaseHTTPRequestHandler):
    provider: MockProvider
    protocol_version = "HTTP/1.1"
    server_version = "agw-sandbox-mock-provider"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this, Nagle's algorithm and
        # delayed ACKs add ~40 ms to every keep-alive response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: request lines could carry nothing secret, but stderr noise helps nobody."""

    def do_GET(self) -> None:
        if self.path == HEALTH_PATH:
            self._send_json(200, {"status": "ok"})
        elif self.path == "/v1/models":
            status, error, _ = self.provider.check_key(self.headers.get("Authorization"))
            if error is not None:
                self._send_json(status, error)
                return
            models = [{"id": m, "object": "model", "created": _CREATED, "owned_by": "mock"}
                      for m in MODELS]
            self._send_json(200, {"object": "list", "data": models})
        else:
            self._not_found()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self.path != COMPLETIONS_PATH:
            self._not_found()
            return
        status, error, masked = self.provider.check_key(self.headers.get("Authorization"))
        try:
            request = json.loads(raw or b"{}")
            if not isinstance(request, dict):
                raise ValueError("body is not a JSON object")
        except ValueError:
            self._answer(status, masked, "", error or _error(
                "We could not parse the JSON body of your request.", "invalid_request_error", None))
            return
        model = str(request.get("model") or "")
        if error is None and not model:
            error = _error("you must provide a model parameter", "invalid_request_error", None)
            status = 400
        if error is not None:
            self._answer(status, masked, model, error)
            return
        self.provider.record(Received("POST", self.path, masked, model, 200))
        text = completion_text(masked, model)
        if request.get("stream"):
            self._stream(model, text, request)
        else:
            self._send_json(200, _completion(model, text, request))

    def _answer(self, status: int, masked: str, model: str, body: dict[str, Any]) -> None:
        self.provider.record(Received(self.command, self.path, masked, model, status))
        self._send_json(status, body)

    def _not_found(self) -> None:
        message = f"Invalid URL ({self.command} {self.path})"
        self._send_json(404, _error(message, "invalid_request_error", None))

    def _send_json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body, indent=2, ensure_ascii=False).encode() + b"\n"
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, model: str, text: str, request: dict[str, Any]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        ident = _completion_id(request)
        for delta, finish in _deltas(text):
            chunk = {
                "id": ident, "object": "chat.completion.chunk", "created": _CREATED,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            self._write_chunk(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
            time.sleep(self.provider.token_delay)
        self._write_chunk(b"data: [DONE]\n\n")
        self._write_chunk(b"")

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


def _deltas(text: str) -> Iterable[tuple[dict[str, str], str | None]]:
    yield {"role": "assistant", "content": ""}, None
    words = text.split(" ")
    for index, word in enumerate(words):
        yield {"content": word if index == 0 else f" {word}"}, None
    yield {}, "stop"


def _completion_id(request: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(request.get("messages"), sort_keys=True).encode())
    return f"chatcmpl-mock-{digest.hexdigest()[:12]}"


def _completion(model: str, text: str, request: dict[str, Any]) -> dict[str, Any]:
    messages = request.get("messages") or []
    prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in messages
                        if isinstance(m, dict))
    completion_tokens = len(text.split())
    return {
        "id": _completion_id(request),
        "object": "chat.completion",
        "created": _CREATED,
        "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": text},
            "finish_reason": "stop",
        }],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="mock-provider", description="OpenAI-compatible mock provider that reveals masked keys"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--accept-key", action="append", default=[],
                        help="an API key to accept (repeatable); also MOCK_PROVIDER_KEYS")
    args = parser.parse_args(argv)
    keys = [*args.accept_key, *os.environ.get("MOCK_PROVIDER_KEYS", "").split(",")]
    try:
        provider = MockProvider(keys, host=args.host, port=args.port)
    except OSError as exc:
        print(f"mock-provider: cannot listen on {args.host}:{args.port}: {exc.strerror}. "
              "Pass --port with a free port.", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"mock provider listening on {provider.url} "
          f"({len(provider.accepted_keys)} accepted key(s))", flush=True)
    try:
        provider.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        provider._server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
