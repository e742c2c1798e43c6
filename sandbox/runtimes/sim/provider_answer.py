"""A provider's answer read as agentgateway's HTTP client (hyper) reads it: informational
answers before it passed over, an answer that is not valid HTTP refused rather than relayed."""

from __future__ import annotations

import http.client
import socket
from typing import Any

from sandbox.profiles.llm_requests import BrokenAnswer

MAX_INFORMATIONAL = 100  # 1xx answers passed over before the answer is said to be broken
_MAX_LINE = 65536


class InvalidAnswer(http.client.HTTPException):
    """The provider's answer is not valid HTTP; ``description`` is what hyper says of it."""

    def __init__(self, reason: str, description: str) -> None:
        super().__init__(reason)
        self.description = description


# hyper 1.7's words (src/error.rs, ``Error::description``) for what the answer's head breaks
INCOMPLETE = "connection closed before message completed"
UNEXPECTED = "received unexpected message from connection"
TOO_LARGE = "message head is too large"
BAD_STATUS = "invalid HTTP status-code parsed"
BAD_VERSION = "invalid HTTP version parsed"
BAD_LENGTH = "invalid content-length parsed"


def hyper_error(exc: BaseException) -> BrokenAnswer:
    """What hyper's client reports for an answer that broke in this way."""
    if isinstance(exc, InvalidAnswer):
        return BrokenAnswer(exc.description)
    if isinstance(exc, (http.client.RemoteDisconnected, http.client.IncompleteRead)):
        return BrokenAnswer(INCOMPLETE)
    if isinstance(exc, http.client.BadStatusLine):
        line = str(exc.args[0]) if exc.args else ""
        if not line.endswith("\n"):
            return BrokenAnswer(INCOMPLETE)  # the connection ended inside the status line
        return BrokenAnswer(BAD_STATUS if line.startswith("HTTP/1.") else BAD_VERSION)
    if isinstance(exc, http.client.HTTPException):  # a line over 64 KiB, over 100 headers
        return BrokenAnswer(TOO_LARGE)
    if isinstance(exc, OSError) and exc.errno is not None:  # a reset: hyper's Kind::Io
        return BrokenAnswer("connection error", f"{exc.strerror} (os error {exc.errno})")
    return BrokenAnswer(INCOMPLETE)


class _Watched:
    """The answer's stream, noting whether a line read from it met its end."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.ended = False

    def readline(self, limit: int = -1) -> bytes:
        line: bytes = self._stream.readline(limit)
        self.ended = self.ended or not line
        return line

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class ProviderResponse(http.client.HTTPResponse):
    """An answer whose 1xx answers (102, 103 …) are passed over, as hyper does, but a 101 to a
    request that asked for no upgrade, a flood of them, or a head cut short is refused
    (http.client takes the end of the connection for the end of the headers)."""

    _informational = 0

    def __init__(self, sock: socket.socket, *args: Any, **kwargs: Any) -> None:
        super().__init__(sock, *args, **kwargs)
        self._watched = _Watched(self.fp)
        self.fp = self._watched  # type: ignore[assignment]

    def begin(self) -> None:
        super().begin()
        if self._watched.ended:
            raise InvalidAnswer("the answer ended before its headers did", INCOMPLETE)
        # http.client reads chunks only for "chunked" alone; hyper whenever chunked is the last
        # coding ("gzip, chunked"), leaving the others undone (RFC 9112 6.1, 6.3)
        codings = (self.msg.get("Transfer-Encoding") or "").split(",")
        if not self.chunked and codings[-1].strip().lower() == "chunked":
            self.chunked, self.chunk_left, self.length = True, None, None

    def _read_status(self) -> tuple[str, int, str]:
        while True:
            # http.client's own status-line reader (typeshed does not list it)
            version, status, reason = super()._read_status()  # type: ignore[misc]
            if status == 101:
                raise InvalidAnswer("101 Switching Protocols to a request that asked for none",
                                    UNEXPECTED)
            if status == 100 or status >= 200:
                return version, status, reason  # begin() passes over a 100 itself
            self._informational += 1
            if self._informational > MAX_INFORMATIONAL:
                raise InvalidAnswer(f"more than {MAX_INFORMATIONAL} informational answers",
                                    TOO_LARGE)
            self._skip_headers()

    def _skip_headers(self) -> None:
        while True:
            line = self.fp.readline(_MAX_LINE + 1)
            if len(line) > _MAX_LINE:
                raise http.client.LineTooLong("header line")
            if line in (b"\r\n", b"\n", b""):
                return


def body_length(response: http.client.HTTPResponse) -> str | None:
    """The Content-Length to relay: None for a chunked answer (Transfer-Encoding wins over a
    length, RFC 9112 6.3) or one without; InvalidAnswer when the lengths given disagree or are
    not whole numbers."""
    if response.chunked:
        return None
    values = {value.strip() for header in response.msg.get_all("Content-Length") or []
              for value in header.split(",")}
    if not values:
        return None
    if len(values) > 1 or not all(value.isdigit() and value.isascii() for value in values):
        raise InvalidAnswer("its Content-Length is not one whole number", BAD_LENGTH)
    return values.pop()
