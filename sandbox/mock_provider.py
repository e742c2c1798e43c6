"""A stand-in for the OpenAI chat-completions API that shows which API key reached it.

Standard library only, on purpose: this very file runs inside the simulated runtime, as
``agw-sandbox mock-provider --port N``, and unchanged inside a stock ``python`` container in the
kind cluster (mounted from a ConfigMap and started as ``python mock_provider.py``).

It checks the ``Authorization`` header the way the real provider does (no key: 401; unknown key:
401 ``invalid_api_key``; accepted key: 200) and its answer names the key it received in masked
form, so a learner can see where the key came from in each scenario. Accepted keys come from
``--accept-key`` or the ``MOCK_PROVIDER_KEYS`` environment variable (comma-separated); they are
never printed.

It is longer than our other modules (about 500 lines) because it has to be one self-contained
file: the HTTP hardening it shares with the sim gateway lives here for the same reason.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import hashlib
import json
import os
import signal
import socket
import sys
import threading
import time
from collections import deque
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
BAD_JSON_MESSAGE = (
    "We could not parse the JSON body of your request. The OpenAI API expects a JSON object "
    "as the payload. (mock provider)"
)
MAX_BODY_BYTES = 4 * 1024 * 1024  # far above any chat request; refuses a runaway upload
IDLE_TIMEOUT = 10.0  # seconds a connection may stay silent (a stalled client, idle keep-alive)
REQUEST_DEADLINE = 15.0  # seconds to deliver one request line, headers and body in full
RECEIVED_LIMIT = 1000  # the newest requests kept for tests and the UI; older ones drop off


def mask(key: str) -> str:
    """Masked form of a key, ``sk-…abcd``; kept in step with
    ``sandbox.walkthrough.masking.mask_key``."""
    if len(key) <= 8:
        return f"…{key[-2:]}" if len(key) >= 6 else ("…" if key else "")
    prefix = key.split("-", 1)[0] + "-" if "-" in key[:6] else ""
    return f"{prefix}…{key[-4:]}"


def _error(message: str, kind: str, code: str | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


class BadRequest(Exception):
    """A request refused before (or while) its body is read; ``status`` is the answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# An idle server wakes this often to see whether it should stop; :meth:`GuardedServer.stop`
# does not wait for it. (At 0.05 s two servers kept an idle app at 4 CPU ticks in 10 s.)
POLL_INTERVAL = 0.5


class GuardedServer(ThreadingHTTPServer):
    """A thread per connection, a listen queue for bursts, and no tracebacks on stderr."""

    daemon_threads = True
    request_queue_size = 128  # the default of 5 stalls new connections under a burst

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.failures: deque[str] = deque(maxlen=100)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Keep the user's terminal clean: a client that hung up is routine, the rest is noted."""
        error = sys.exc_info()[1]
        if not isinstance(error, (ConnectionError, TimeoutError)):
            self.failures.append(type(error).__name__)

    def serve(self) -> None:
        """Serve until :meth:`stop`, waking twice a second at most while idle."""
        self.serve_forever(POLL_INTERVAL)

    def stop(self) -> None:
        """Stop serving now: a connection to ourselves ends the idle wait at once."""
        host, port = str(self.server_address[0]), int(self.server_address[1])
        stopper = threading.Thread(target=self.shutdown, name="stop", daemon=True)
        stopper.start()
        while stopper.is_alive():
            with contextlib.suppress(OSError):
                socket.create_connection((host, port), timeout=0.2).close()
            stopper.join(0.05)


class GuardedHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 handler hardened for hostile input: timeouts, a body cap, errors in our format.

    Subclasses say how an error looks (``error_body``) and read bodies with ``read_body``.
    """

    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT  # applied to the socket by StreamRequestHandler.setup
    request_deadline = REQUEST_DEADLINE
    max_body = MAX_BODY_BYTES

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this, Nagle's algorithm and
        # delayed ACKs add ~40 ms to every keep-alive response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: stderr noise helps nobody, and the terminal may be the user's."""

    def handle_one_request(self) -> None:
        # The idle timeout alone lets a client trickle a byte every few seconds forever; the
        # deadline bounds the wait for a whole request (on a kept-alive connection, the wait
        # for the next one too). It is lifted once the body is in (read_body), so a long
        # answer, such as a stream, is never cut.
        self._deadline = threading.Timer(self.request_deadline, self._abandon)
        self._deadline.daemon = True
        self._deadline.start()
        try:
            super().handle_one_request()
        finally:
            self._deadline.cancel()

    def _abandon(self) -> None:
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def error_body(self, status: int, message: str) -> tuple[str, bytes]:
        """Content type and body of an error answer; subclasses choose the format."""
        return "text/plain", message.encode()

    def send_error(self, code: int, message: str | None = None,
                   explain: str | None = None) -> None:
        """Every error, also those found while parsing, in our format instead of an HTML page."""
        self.close_connection = True
        text = message or self.responses.get(code, ("error",))[0]
        content_type, data = self.error_body(code, text)
        with contextlib.suppress(OSError):  # the client may be gone already
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

    def read_body(self) -> bytes | None:
        """The request body; None once a 400, 408 or 413 went out (the connection then closes)."""
        try:
            body = self._read_body()
        except BadRequest as exc:
            self.send_error(exc.status, exc.message)
            return None
        self._deadline.cancel()
        return body

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        values = {v.strip() for v in self.headers.get_all("Content-Length") or []}
        if len(values) > 1:
            raise BadRequest(400, "conflicting Content-Length headers")
        if not values:
            return b""
        return self._read_exact(self._length(values.pop(), "Content-Length", 10))

    def _length(self, text: str, what: str, base: int) -> int:
        digits = "0123456789abcdefABCDEF" if base == 16 else "0123456789"
        if not text or any(c not in digits for c in text):
            raise BadRequest(400, f"{what} must be a non-negative whole number of bytes, "
                                  f"not {text[:20]!r}")
        if len(text) > 12 or int(text, base) > self.max_body:
            raise BadRequest(413, f"the request body is larger than the limit of "
                                  f"{self.max_body} bytes")
        return int(text, base)

    def _read_exact(self, length: int) -> bytes:
        try:
            data = self.rfile.read(length)
        except TimeoutError:
            raise BadRequest(408, "timed out waiting for the request body") from None
        if len(data) < length:
            raise BadRequest(400, "the request body ended before Content-Length bytes arrived")
        return data

    def _read_chunked(self) -> bytes:
        body = b""
        while True:
            line = self._read_line()
            size = self._length(line.split(";", 1)[0].strip(), "a chunk size", 16)
            if len(body) + size > self.max_body:
                raise BadRequest(413, f"the request body is larger than the limit of "
                                      f"{self.max_body} bytes")
            if size == 0:
                while self._read_line():  # trailers, up to the blank line
                    pass
                return body
            body += self._read_exact(size)
            if self._read_line():
                raise BadRequest(400, "a chunk is longer than its size says")

    def _read_line(self) -> str:
        try:
            line = self.rfile.readline(1024)
        except TimeoutError:
            raise BadRequest(408, "timed out waiting for the request body") from None
        if not line.endswith(b"\n"):
            raise BadRequest(400, "the chunked request body is cut short or malformed")
        return line.decode("latin-1").strip()


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
        idle_timeout: float = IDLE_TIMEOUT,
        request_deadline: float = REQUEST_DEADLINE,
    ) -> None:
        self.accepted_keys = frozenset(k.strip() for k in accepted_keys if k.strip())
        self.token_delay = token_delay
        self.received: deque[Received] = deque(maxlen=RECEIVED_LIMIT)
        self._lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"provider": self, "timeout": idle_timeout,
                                                "request_deadline": request_deadline})
        self._server = GuardedServer((host, port), handler)
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
        host = self._server.server_address[0]
        return f"http://{host if isinstance(host, str) else host.decode()}:{self.port}"

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


class _Handler(GuardedHandler):
    provider: MockProvider
    server_version = "agw-sandbox-mock-provider"

    def error_body(self, status: int, message: str) -> tuple[str, bytes]:
        return "application/json", _json_bytes(_error(message, "invalid_request_error", None))

    def do_GET(self) -> None:
        if self.read_body() is None:  # a body on a GET is read and ignored, never left behind
            return
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
        raw = self.read_body()
        if raw is None:
            return
        if self.path != COMPLETIONS_PATH:
            self._not_found()
            return
        status, error, masked = self.provider.check_key(self.headers.get("Authorization"))
        request, problem = _parse(raw)
        if request is None:
            # The key is checked first, as the real API does: no key is a 401 whatever the body.
            self._answer(status if error else 400, masked, "", error or problem)
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

    def do_PUT(self) -> None:
        self._wrong_method()

    def do_PATCH(self) -> None:
        self._wrong_method()

    def do_DELETE(self) -> None:
        self._wrong_method()

    def _wrong_method(self) -> None:
        if self.path not in (COMPLETIONS_PATH, HEALTH_PATH, "/v1/models"):
            self.close_connection = True  # the body, if any, is not read
            self._not_found()
            return
        self.send_error(405, f"Invalid method for URL ({self.command} {self.path})")

    def _not_found(self) -> None:
        message = f"Invalid URL ({self.command} {self.path})"
        self._send_json(404, _error(message, "invalid_request_error", None))

    def _send_json(self, status: int, body: dict[str, Any]) -> None:
        data = _json_bytes(body)
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


ROLES = ("system", "developer", "user", "assistant", "tool")


def _json_bytes(body: dict[str, Any]) -> bytes:
    return json.dumps(body, indent=2, ensure_ascii=False).encode() + b"\n"


def _parse(raw: bytes) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """The request object, or None and the 400 error the real API gives for this body."""
    try:
        request = json.loads(raw or b"{}")
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or absurdly deep
        return None, _error(BAD_JSON_MESSAGE, "invalid_request_error", None)
    if not isinstance(request, dict):
        kind = "an array" if isinstance(request, list) else f"a {type(request).__name__}"
        message = f"Invalid type for body: expected an object, but got {kind} instead."
        return None, _error(message, "invalid_request_error", None)
    if "messages" not in request:
        return None, _error("Missing required parameter: 'messages'.", "invalid_request_error",
                            "missing_required_parameter")
    messages = request["messages"]
    if not isinstance(messages, list):
        message = "Invalid type for 'messages': expected an array of message objects."
        return None, _error(message, "invalid_request_error", "invalid_type")
    if not messages:
        return None, _error("Invalid 'messages': empty array. Expected an array with minimum "
                            "length 1.", "invalid_request_error", "empty_array")
    for index, entry in enumerate(messages):
        if not isinstance(entry, dict) or entry.get("role") not in ROLES:
            message = (f"Invalid value for 'messages[{index}].role': supported values are "
                       + ", ".join(f"'{role}'" for role in ROLES) + ".")
            return None, _error(message, "invalid_request_error", "invalid_value")
    if not isinstance(request.get("stream", False), bool):
        return None, _error("Invalid type for 'stream': expected a boolean.",
                            "invalid_request_error", "invalid_type")
    return request, {}


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


def port_number(text: str) -> int:
    """An argparse type: a TCP port from 0 to 65535, where 0 means any free port."""
    port = int(text) if text.strip().lstrip("+-").isdigit() else -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a TCP port: use a number from 0 to 65535 (0 picks a free one)")
    return port


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="mock-provider", description="OpenAI-compatible mock provider that reveals masked keys"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=port_number, default=8000,
                        help="TCP port, 0 to 65535 (0 picks a free one)")
    parser.add_argument("--accept-key", action="append", default=[],
                        help="an API key to accept (repeatable); also MOCK_PROVIDER_KEYS")
    args = parser.parse_args(argv)
    keys = [*args.accept_key, *os.environ.get("MOCK_PROVIDER_KEYS", "").split(",")]
    try:
        provider = MockProvider(keys, host=args.host, port=args.port)
    except OSError as exc:
        taken = exc.errno in (errno.EADDRINUSE, errno.EACCES)
        print(f"mock-provider: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}. "
              + ("Pass --port with a free port (0 picks one)." if taken else
                 "Pass --host with an address of this machine, such as 127.0.0.1."),
              file=sys.stderr)
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
