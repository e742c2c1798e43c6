"""An HTTP/1.1 server and handler hardened for hostile input: timeouts, a body cap, a burst queue,
errors in the caller's format and no tracebacks on the terminal (the mock provider and the sim
gateway both serve through it)."""

from __future__ import annotations

import contextlib
import re
import socket
import sys
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_BODY_BYTES = 4 * 1024 * 1024  # far above any chat request; refuses a runaway upload
IDLE_TIMEOUT = 10.0  # seconds a connection may stay silent (a stalled client, idle keep-alive)
REQUEST_DEADLINE = 15.0  # seconds to deliver one request line, headers and body in full
# An answer sent before the request was read in full (its headers too large, its body over the
# cap) is followed by reading what the client still sends, until it closes, for at most this
# long and this much (RFC 9112 §9.6): closing with bytes unread makes the system reset the
# connection, and a client still sending then sees the reset, never the answer.
LINGER_SECONDS = 2.0
LINGER_BYTES = MAX_BODY_BYTES + 1024 * 1024
LINGER_STATUSES = (413, 431)


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
    raw_requestline: bytes  # the request line as read (set by handle_one_request)

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

    def parse_request(self) -> bool:
        """The request line and headers, then the framing RFC 9112 allows; anything else is
        answered 400 (or 501 for a transfer coding we do not speak) and the connection closed,
        so that no second request can hide in the body of a first."""
        if len(self.raw_requestline.split()) == 2:  # HTTP/0.9's ``GET /path``: Python would
            # wait for headers that never come, then answer without a status line
            self.command, self.request_version = "", self.protocol_version
            self.requestline = ""
            self.send_error(400, "the request line has no HTTP version: this server speaks "
                                 "HTTP/1.1 (METHOD PATH HTTP/1.1)")
            return False
        if not super().parse_request():
            return False
        # A line that is not "name: value" ("Content-Length : 5") ends Python's header parse
        # early: what follows it would be taken for the body. It is a defect, refused here.
        problem = (400, "a header line is not 'Name: value' (a space before the colon?)"
                   ) if self.headers.defects else _framing_problem(
            self.request_version, self.headers.keys(),
            self.headers.get_all("Transfer-Encoding") or [], "Content-Length" in self.headers)
        if problem is not None:
            self.send_error(*problem)
            return False
        return True

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
        if getattr(self, "request_version", "HTTP/0.9") == "HTTP/0.9":
            # Python answers an unread version (HTTP/2.0's preface, a fourth word) as HTTP/0.9,
            # a bare body; an HTTP/1.1 server answers with its status line and headers.
            self.request_version = self.protocol_version
        text = message or self.responses.get(code, ("error",))[0]
        if code == 505:  # Python's "Invalid HTTP version (2.0)"
            text += ": this server speaks HTTP/1.1 only (with curl: --http1.1)"
        content_type, data = self.error_body(code, text)
        with contextlib.suppress(OSError):  # the client may be gone already
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            if code in LINGER_STATUSES:
                self._linger()

    def _linger(self) -> None:
        """Read and drop what the client still sends after an early answer, until it closes or
        :data:`LINGER_SECONDS` or :data:`LINGER_BYTES` run out; then the connection closes."""
        self.wfile.flush()
        self.connection.shutdown(socket.SHUT_WR)  # the answer is whole: the client may close
        deadline = time.monotonic() + LINGER_SECONDS
        dropped = 0
        while dropped < LINGER_BYTES and (left := deadline - time.monotonic()) > 0:
            self.connection.settimeout(left)
            try:
                piece = self.connection.recv(65536)
            except TimeoutError:
                return
            if not piece:
                return
            dropped += len(piece)

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
        if "Transfer-Encoding" in self.headers:  # checked in parse_request: it ends in chunked
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


# RFC 9110 §5.6.2: a field name is a token. A space before the colon (RFC 9112 §5.1) is the
# usual way to smuggle a header past one parser and into the next.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def _framing_problem(version: str, names: list[str], transfer_encoding: list[str],
                     content_length: bool) -> tuple[int, str] | None:
    """Why RFC 9112 refuses this request's head, as (status, message); None when it is fine."""
    for name in names:
        if not _TOKEN.fullmatch(name):
            return 400, f"the header name {name!r} is not a token (a space before its colon?)"
    if not transfer_encoding:
        return None
    if content_length:  # §6.3: a smuggling attempt, or a broken client
        return 400, "Transfer-Encoding and Content-Length together"
    if version == "HTTP/1.0":  # §6.1: HTTP/1.0 has no transfer codings
        return 400, "Transfer-Encoding in an HTTP/1.0 request"
    codings = [c.strip().lower() for value in transfer_encoding for c in value.split(",")]
    if codings[-1:] != ["chunked"] or codings.count("chunked") > 1:  # §6.3, §7.1
        return 400, "Transfer-Encoding must end with chunked, once"
    if len(codings) > 1:  # §6.1: a coding we do not understand
        return 501, f"the transfer coding {codings[0]!r} is not supported"
    return None
