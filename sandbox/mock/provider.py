"""The mock provider's server: checks the key like the real provider and answers with a
completion that names, masked, the key it received."""

from __future__ import annotations

import socket
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from . import openai
from .guarded import IDLE_TIMEOUT, REQUEST_DEADLINE, GuardedHandler, GuardedServer

RECEIVED_LIMIT = 1000  # the newest requests kept for tests and the UI; older ones drop off


@dataclass(frozen=True)
class Received:
    """What one request carried, as the provider saw it (the key only in masked form)."""

    method: str
    path: str
    key: str  # masked, or "" when no Authorization header arrived
    model: str
    status: int


class _GuardedServer6(GuardedServer):
    address_family = socket.AF_INET6  # --host ::1 and other IPv6 addresses


class MockProvider:
    """An OpenAI-compatible HTTP server on a background thread."""

    def __init__(
        self,
        accepted_keys: Iterable[str],
        host: str = "127.0.0.1",
        port: int = 0,
        token_delay: float = 0.02,
        idle_timeout: float = IDLE_TIMEOUT,
        request_deadline: float = REQUEST_DEADLINE,
    ) -> None:
        self.accepted_keys = frozenset(k.strip() for k in accepted_keys if k.strip())
        self.token_delay = token_delay
        self.received: deque[Received] = deque(maxlen=RECEIVED_LIMIT)
        self._lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"provider": self, "timeout": idle_timeout,
                                                "request_deadline": request_deadline})
        server = GuardedServer if ":" not in host else _GuardedServer6
        self._server = server((host.strip("[]"), port), handler)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def failures(self) -> tuple[str, ...]:
        """Exceptions that escaped a handler (by type name); empty when every input was handled."""
        return tuple(self._server.failures)

    @property
    def url(self) -> str:
        address = self._server.server_address[0]
        host = address if isinstance(address, str) else address.decode()
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}"

    def start(self) -> MockProvider:
        self._thread = threading.Thread(
            target=self._server.serve, name="mock-provider", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.stop()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def record(self, entry: Received) -> None:
        with self._lock:
            self.received.append(entry)

    def check_key(self, authorization: str | None) -> tuple[int, dict[str, Any] | None, str]:
        """Return (status, error body or None, masked key) the way the real provider decides."""
        return openai.check_key(authorization, self.accepted_keys)


class _Handler(GuardedHandler):
    provider: MockProvider
    server_version = "agw-sandbox-mock-provider"

    def error_body(self, status: int, message: str) -> tuple[str, bytes]:
        # Python's own parser quotes the request line ("Bad request version ('HTTP/sk-…')"):
        # no key in it is quoted back, as none is in the answers' other quotes.
        headers = getattr(self, "headers", None)  # none yet when the request line is bad
        sent = openai.bearer_key(headers.get("Authorization")) if headers is not None else None
        keys = [*self.provider.accepted_keys, *([sent] if sent else [])]
        body = openai.error(openai.quoted_text(message, keys), "invalid_request_error", None)
        return "application/json", openai.json_bytes(body)

    def do_GET(self) -> None:
        if self.read_body() is None:  # a body on a GET is read and ignored, never left behind
            return
        if self.path == openai.HEALTH_PATH:
            self._send_json(200, {"status": "ok"})
        elif self.path == openai.MODELS_PATH:
            status, error, _ = self.provider.check_key(self.headers.get("Authorization"))
            if error is not None:
                self._send_json(status, error)
                return
            models = [{"id": m, "object": "model", "created": openai.CREATED, "owned_by": "mock"}
                      for m in openai.MODELS]
            self._send_json(200, {"object": "list", "data": models})
        else:
            self._not_found()

    def do_POST(self) -> None:
        raw = self.read_body()
        if raw is None:
            return
        if self.path != openai.COMPLETIONS_PATH:
            self._not_found()
            return
        status, error, masked = self.provider.check_key(self.headers.get("Authorization"))
        request, problem = openai.parse(raw)
        if request is None:
            # The key is checked first, as the real API does: no key is a 401 whatever the body.
            self._answer(status if error else 400, masked, "", error or problem)
            return
        # The model is quoted back (the answer's model, "answering as"): never a key in it.
        model = openai.quoted_text(str(request.get("model") or ""), self._keys_known())
        if error is None and not model:
            error = openai.error("you must provide a model parameter",
                                 "invalid_request_error", None)
            status = 400
        if error is not None:
            self._answer(status, masked, model, error)
            return
        self.provider.record(Received("POST", self.path, masked, model, 200))
        text = openai.completion_text(masked, model)
        if request.get("stream"):
            self._stream(model, text, request)
        else:
            self._send_json(200, openai.completion(model, text, request))

    def _answer(self, status: int, masked: str, model: str, body: dict[str, Any]) -> None:
        self.provider.record(Received(self.command, self.path, masked, model, status))
        self._send_json(status, body)

    def do_PUT(self) -> None:
        self._wrong_method()

    def do_PATCH(self) -> None:
        self._wrong_method()

    def do_DELETE(self) -> None:
        self._wrong_method()

    def _wrong_method(self) -> None:
        if self.path not in (openai.COMPLETIONS_PATH, openai.HEALTH_PATH, openai.MODELS_PATH):
            self.close_connection = True  # the body, if any, is not read
            self._not_found()
            return
        self.send_error(405, f"Invalid method for URL ({self.command} {self._quoted_path()})")

    def _not_found(self) -> None:
        message = f"Invalid URL ({self.command} {self._quoted_path()})"
        self._send_json(404, openai.error(message, "invalid_request_error", None))

    def _quoted_path(self) -> str:
        """The path as an error quotes it: no key in it (accepted, or sent in the header)."""
        return openai.quoted_path(self.path, self._keys_known())

    def _keys_known(self) -> list[str]:
        """The keys the mock accepts and the one the request's header holds."""
        sent = openai.bearer_key(self.headers.get("Authorization"))
        return [*self.provider.accepted_keys, sent]

    def _send_json(self, status: int, body: dict[str, Any]) -> None:
        data = openai.json_bytes(body)
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
        ident = openai.completion_id(request)
        for delta, finish in openai.deltas(text):
            chunk = {
                "id": ident, "object": "chat.completion.chunk", "created": openai.CREATED,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            self._write_chunk(b"data: " + openai.json_bytes(chunk, indent=None) + b"\n")
            time.sleep(self.provider.token_delay)
        self._write_chunk(b"data: [DONE]\n\n")
        self._write_chunk(b"")

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()
