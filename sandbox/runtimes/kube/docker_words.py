"""What a Docker daemon answered, or how talking to it failed, in plain words (never Python's)."""

from __future__ import annotations

import os
import re
import socket
import ssl
import sys
import unicodedata
from http.client import (
    BadStatusLine,
    HTTPException,
    IncompleteRead,
    LineTooLong,
    RemoteDisconnected,
)
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sandbox.documents import load_json
from sandbox.runtimes.kube.file_kinds import kind_of
from sandbox.untrusted import shortened, visible

SHOWN_CHARACTERS = 60  # of an answer that is not what was expected: enough to recognise it
SHOWN_MESSAGE = 160  # of an error's message: Docker's own are a sentence or two
MAX_CAUSES = 20  # exceptions looked at in one chain: a chain that loops ends there
SOCKET_DENIED = "permission denied on the Docker socket; add your user to the 'docker' group"
# Words for the errors that have no type of their own to tell them by.
KNOWN_CAUSES = (
    ("No such file or directory", "no Docker socket found"),
    ("Connection refused", "connection refused"),
    ("Permission denied", SOCKET_DENIED),
    ("timed out", "timed out"),
)
_ENCODING = re.compile(r"content-encoding: ([^,]{1,40}),")


def error_words(body: bytes, content_type: str) -> str:
    """What an HTTP error answer said, to follow its status ("HTTP 404"): Docker's ``message``,
    a page's kind or the answer's first characters, in parentheses; "" when it said nothing."""
    if not body.strip():
        return ""
    try:
        answer = load_json(body)
    except ValueError:
        answer = None
    if isinstance(answer, dict) and isinstance(answer.get("message"), str):
        return f" ({_shortened(answer['message'], SHOWN_MESSAGE)})"
    if _is_html(body, content_type):
        return f" ({_html_page(content_type)})"
    return f" ({first_characters(body)})"


def body_words(body: bytes, content_type: str, exc: ValueError | None = None) -> str:
    """An answer that should have been JSON and is not, in words: empty, a web page, a number
    too long to read (``exc``, why it was not read), or what it begins with."""
    if exc is not None and (number := long_number(body, exc)) is not None:
        return number
    if not body.strip():
        return "an empty answer" if not body else "an answer of blanks only"
    if _is_html(body, content_type):
        return _html_page(content_type)
    return f"something that is not JSON (first characters: {first_characters(body)})"


def long_number(body: bytes, exc: ValueError) -> str | None:
    """JSON that Python refuses only for a number of more digits than it converts (4300), in
    words; None for any other reason."""
    if "integer string conversion" not in str(exc) and "Exceeds the limit" not in str(exc):
        return None
    digits = max(map(len, re.findall(rb"\d+", body)), default=0)
    return f"a number of {digits} digits (JSON, but more digits than any count has)"


def first_characters(body: bytes) -> str:
    """The start of ``body`` in quotes, escaped: bytes that are not UTF-8 as ``\\xff``."""
    text = body[:SHOWN_CHARACTERS * 4].decode("utf-8", "backslashreplace").strip()
    return f'"{_shortened(text, SHOWN_CHARACTERS)}"'


def _shortened(text: str, limit: int) -> str:
    """``text``'s first line, at most ``limit`` characters long, its hidden characters escaped.
    A line cut short ends at a blank where there is one: a word cut in two (a key's head)
    would be too short to be recognised and masked."""
    lines = text.strip().splitlines()
    line = lines[0] if lines else ""
    if len(line) > limit:
        cut = line[:limit - 1]
        blank = cut.rfind(" ")
        line = (cut[:blank] if blank > limit // 2 else cut) + "…"
    return visible(line)


def _media_type(content_type: str) -> str:
    """``text/html`` of ``text/html; charset=utf-8``."""
    return content_type.split(";", 1)[0].strip().lower()


def _is_html(body: bytes, content_type: str) -> bool:
    return _says_html(content_type) or body.lstrip()[:15].lower().startswith(
        (b"<!doctype html", b"<html"))


def _says_html(content_type: str) -> bool:
    return _media_type(content_type) in ("text/html", "application/xhtml+xml")


def _html_page(content_type: str) -> str:
    """An HTML page, and its media type when that says so (a page sent as JSON is only a
    page)."""
    return (f"an HTML page ({visible(_media_type(content_type))})" if _says_html(content_type)
            else "an HTML page")


def short_cause(exc: BaseException) -> str:
    """Why a call to the daemon failed, in a few plain words: what the innermost cause that has
    words of its own says (a refused or reset connection, an unknown host, a timeout, TLS, an
    error answer), else the exception's own first line."""
    if (words := failure_words(exc)) is not None:
        return words
    return text_words(exc)


def text_words(exc: BaseException) -> str:
    """``exc``'s own text, short (for the SDK's own sentences: an address it cannot parse)."""
    text = str(exc).strip()
    for needle, cause in KNOWN_CAUSES:
        if needle in text:
            return cause
    text = text.splitlines()[0] if text else type(exc).__name__
    return visible(text if len(text) < 120 else text[:117] + "…")


def failure_words(exc: BaseException) -> str | None:
    """The words for the first exception in ``exc``'s chain that has words of its own."""
    for cause in causes(exc):
        if (words := _words_of(cause)) is not None:
            return words
    return None


def answer_words(exc: BaseException, path: str) -> str | None:
    """What a daemon that broke HTTP while answering ``path`` did, to follow "answered"; None
    when ``exc`` says nothing of an answer (the connection failed before any)."""
    for cause in causes(exc):
        if (words := _answer_of(cause, path)) is not None:
            return words
    return None


def causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it wraps, outermost first: the SDK and urllib3 keep the cause in the
    arguments, in ``reason`` or as the exception's cause or context."""
    found: list[BaseException] = []
    pending: list[BaseException | None] = [exc]
    while pending and len(found) < MAX_CAUSES:
        current = pending.pop(0)
        if current is None or any(current is seen for seen in found):
            continue
        found.append(current)
        pending += [arg for arg in current.args if isinstance(arg, BaseException)]
        reason = getattr(current, "reason", None)
        pending += [reason if isinstance(reason, BaseException) else None,
                    current.__cause__, current.__context__]
    return found


def _answer_of(exc: BaseException, path: str) -> str | None:
    from urllib3.exceptions import DecodeError, InvalidChunkLength, InvalidHeader, ProtocolError

    if isinstance(exc, RemoteDisconnected):
        return f"{path} by closing the connection without answering"
    if isinstance(exc, BadStatusLine):
        began = _shortened(str(exc.args[0] if exc.args else ""), 41).rstrip("…")
        return f'something that is not HTTP (it began with "{began}")'
    if isinstance(exc, InvalidChunkLength):
        size = exc.length.strip()[:20].decode("ascii", "backslashreplace")
        return (f'{path} with a chunk size that is not a number ("{visible(size)}")' if size
                else f"{path} by closing the connection in the middle of its answer")
    if isinstance(exc, IncompleteRead):
        return _cut_short(exc, path)
    if isinstance(exc, ProtocolError) and "ended prematurely" in str(exc):
        return f"{path} by closing the connection in the middle of its answer"
    if isinstance(exc, DecodeError):
        encoding = _ENCODING.search(str(exc))
        coding = f" ({visible(encoding.group(1).strip())})" if encoding else ""
        return f"{path} with an answer said to be compressed{coding} that does not decompress"
    if isinstance(exc, InvalidHeader) and "Content-Length" in str(exc):  # urllib3's own check
        return f"{path} with Content-Length headers that differ"
    if isinstance(exc, LineTooLong):
        return f"{path} with a header line longer than 64 KiB"
    if isinstance(exc, HTTPException) and "more than 100 headers" in str(exc):
        return f"{path} with more than 100 header lines"
    if isinstance(exc, HTTPException):
        return f"{path} with broken HTTP ({text_words(exc)})"
    return None


def _cut_short(exc: IncompleteRead, path: str) -> str:
    """An answer that ended before its length: urllib3 counts the bytes of the whole answer,
    http.client those of a chunk (whose answer's length is not known)."""
    partial: Any = exc.partial
    if isinstance(partial, int) and isinstance(exc.expected, int):
        return (f"{path} by closing the connection after {partial} of "
                f"{partial + exc.expected} bytes")
    return f"{path} by closing the connection in the middle of its answer"


def _words_of(exc: BaseException) -> str | None:
    """Words for one exception that has words of its own, or None."""
    status = getattr(getattr(exc, "response", None), "status_code", None)
    explanation = getattr(exc, "explanation", None)
    if isinstance(status, int) and explanation is not None:  # the docker SDK's APIError
        said = _shortened(str(explanation), SHOWN_MESSAGE)
        return f"Docker answered HTTP {status}" + (f": {said}" if said else "")
    if isinstance(exc, TimeoutError) or type(exc).__name__.endswith(("Timeout", "TimeoutError")):
        return "timed out"
    if isinstance(exc, OSError):
        return _os_words(exc)
    return None


def _os_words(exc: OSError) -> str | None:
    where = f": {visible(str(exc.filename))}" if exc.filename else ""
    if isinstance(exc, socket.gaierror):
        return f"its host name could not be resolved: {_lower(exc.strerror or 'unknown')}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"its TLS certificate was not accepted: {_lower(exc.verify_message or '')}"
    if isinstance(exc, ssl.SSLError):
        reason = (exc.reason or "").replace("_", " ").lower() or text_words(exc)
        return f"TLS failed: {visible(reason)}"
    if isinstance(exc, FileNotFoundError) and not where:
        return "no Docker socket found"
    if isinstance(exc, PermissionError) and not where:
        return SOCKET_DENIED
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError):
        return "it reset the connection"
    if isinstance(exc, BrokenPipeError):
        return "it closed the connection while the request was being sent"
    if exc.strerror:
        return _lower(exc.strerror) + where
    return None


def _lower(text: str) -> str:
    """A sentence's start in lower case (an error's "No space left on device")."""
    return visible(text[:1].lower() + text[1:])


# The schemes the docker SDK reads in DOCKER_HOST (ssh:// is refused on its own, before).
DOCKER_SCHEMES = ("unix", "tcp", "http", "https", "npipe", "ssh", "http+unix")
NO_PORT_0 = ("port 0 is not a port a daemon listens on: write the daemon's port (2375, or 2376 "
             "with TLS)")


def address_words(url: str) -> str | None:
    """What is wrong with a Docker address that the SDK would refuse in its own words ("Invalid
    bind address format: port is required", for a port that is there), in ours; None when
    nothing here is wrong (the SDK's parse still follows)."""
    scheme, found, _ = url.partition("://")
    if not found:
        return _unslashed_words(url)
    if found and scheme.lower() not in DOCKER_SCHEMES:
        plain = unicodedata.normalize("NFKC", scheme).lower()
        if plain in DOCKER_SCHEMES:
            return (f"its scheme '{scheme}' is written in look-alike letters (fullwidth, say): "
                    f"write it {plain}://")
        return (f"its scheme '{scheme}' is not one Docker knows: write unix://, tcp://, http:// "
                "or https://")
    if scheme.lower() == "unix":
        return _socket_path_words(url.partition("://")[2])
    if scheme.lower() not in ("tcp", "http", "https"):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:  # a bracket left open: the SDK's words name it
        return None
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        return ("a Docker address has no query or fragment (the part from '?' or '#'): "
                "remove it")
    try:
        port = parts.port
    except ValueError:  # no number, or out of range: the SDK's words name it
        return None
    return NO_PORT_0 if port == 0 else None


# A scheme and a colon with no "//" after it (``unix:/var/run/docker.sock``): the SDK reads some
# of these, the docker CLI (and so kind) none.
_SCHEME_ALONE = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*):(?!//)(?P<rest>.*)", re.DOTALL)


def _unslashed_words(url: str) -> str | None:
    """What to write for an address without ``://``: a bare socket path, a scheme followed by
    ':' alone, a host and port with no scheme; None for anything else (the SDK's words)."""
    if url.startswith("/"):
        return f"it is a socket path with no scheme: write unix://{shortened(url)}"
    given = _SCHEME_ALONE.fullmatch(url)
    if given is None:
        return None
    scheme, rest = given["scheme"].lower(), given["rest"]
    if scheme not in DOCKER_SCHEMES:
        if rest.isascii() and rest.isdigit():  # localhost:2375
            return (f"it has no scheme: write tcp://{shortened(url)} (or unix:///path/to/"
                    "docker.sock for a socket)")
        return None
    if scheme == "ssh":  # ssh://HOST would be refused in turn
        return ("its scheme is followed by ':' alone, and ssh:// is not supported either: "
                "agw-sandbox talks to Docker over a socket or tcp:// only, never over ssh")
    if scheme == "unix" and rest and not rest.startswith("/"):
        return _relative_socket_words(rest)
    address = rest.lstrip("/") or ("path/to/docker.sock" if scheme == "unix" else "HOST:2376")
    return (f"its scheme is followed by ':' alone; Docker reads '{scheme}://' then the address: "
            f"write {scheme}://{'/' if scheme == 'unix' else ''}{shortened(address)}")


def _relative_socket_words(path: str) -> str:
    """``unix:docker.sock``: unix:///docker.sock would be another file (at the root); the path
    must be absolute (``~`` is not expanded either)."""
    if path.startswith("~"):
        return _socket_path_words(path) or ""
    shown = shortened(path)
    return ("its scheme is followed by ':' alone, and its socket path is relative: Docker reads "
            f"'unix://' then an absolute path: write unix://$PWD/{shown} for the {shown} in "
            f"this folder, or unix:///{shown} for /{shown}")


# Where the docker SDK and CLI look when an address names no socket (``unix://``).
DEFAULT_UNIX_SOCKET = "/var/run/docker.sock"

# A socket's path fits in ``sockaddr_un.sun_path`` with the NUL that ends it: 108 bytes on
# Linux, 104 on macOS and the BSDs.
MAX_SOCKET_PATH = 103 if sys.platform == "darwin" else 107


def _socket_path_words(path: str) -> str | None:
    """What makes ``path`` no path a socket can have (too long for ``sun_path``, relative: the
    SDK would put a / before it, the CLI read it from the working folder); None if none. No
    path at all is Docker's default socket (see :func:`socket_problem`)."""
    if path.startswith("~"):
        try:
            full = str(Path(path).expanduser())
        except RuntimeError:  # ~name of no user: the path as written
            full = "/path/to/" + path.rpartition("/")[2]
        return f"~ is not expanded here: write the full path, unix://{shortened(full)}"
    if path and not path.startswith("/"):
        return "a socket path begins with /: unix:///path/to/docker.sock"
    size = len(os.fsencode(path))
    if size <= MAX_SOCKET_PATH:
        return None
    return (f"its socket path is {size} bytes long; a socket path is at most {MAX_SOCKET_PATH} "
            f"bytes ({MAX_SOCKET_PATH + 1} with the NUL that ends it): link the socket from a "
            "shorter path (`ln -s LONG_PATH /tmp/docker.sock`) and use unix:///tmp/docker.sock")


def socket_problem(url: str) -> str | None:
    """What is at a ``unix://`` address's path when it is not a socket (a device, a folder, a
    regular file), in words; None when it is one, is missing (said by the connection: no
    socket found) or the address is no ``unix://`` one. Only stat: it never blocks."""
    scheme, found, path = url.partition("://")
    if not found or scheme.lower() != "unix":
        return None
    if not path:  # the SDK and the CLI read ``unix://`` as the default socket
        default = socket_problem(f"unix://{DEFAULT_UNIX_SOCKET}")
        if default is None and Path(DEFAULT_UNIX_SOCKET).is_socket():
            return None
        return (f"the address has no socket path, so Docker's default {DEFAULT_UNIX_SOCKET} is "
                f"used, and {'no socket is there' if default is None else default}: write the "
                "socket's full path, unix:///path/to/docker.sock")
    try:
        mode = Path(path).stat().st_mode
    except (OSError, ValueError):
        return None
    kind = kind_of(mode)
    return None if kind == "a socket" else f"{shortened(path)} is {kind}, not a socket"
