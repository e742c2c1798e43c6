"""Sending the test request to the gateway over HTTP, and reading the answer as it arrives:
streamed pieces shown at once, the whole answer within a deadline (answer.py reads it)."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable

from sandbox.catalog import checks
from sandbox.errors import RequestFailed
from sandbox.http_client import (
    AsyncBaseTransport,
    AsyncClient,
    ConnectError,
    ConnectTimeout,
    HTTPError,
    InvalidURL,
    LocalProtocolError,
    Timeout,
)
from sandbox.records import record
from sandbox.untrusted import quoted
from sandbox.walkthrough import shell_equivalents
from sandbox.walkthrough.answer import ACCEPT_ENCODING, Answer, Reading, size
from sandbox.walkthrough.events import RequestView
from sandbox.walkthrough.render import Context, RenderedRequest, masked_request


class GatewayUnreachable(RequestFailed):
    """No answer came back: the connection failed or broke (a port-forward reconnecting)."""


@record
class Patience:
    """How long a request step waits for its whole answer, and when it says it still waits."""

    deadline: float = 180.0  # seconds for the whole answer, streamed or not
    first_note: float = 10.0  # no answer by then is worth a word
    note_every: float = 60.0


PATIENCE = Patience()
CUT_SHORT_HINT = ("the gateway answered, but the answer did not end as it should: the provider "
                  "(or the connection to it) broke off, stalled, kept it open, or sent a body "
                  "that is not valid HTTP. Send the request "
                  "again; if it keeps happening, what answers at the Backend's address is "
                  "misbehaving")


def new_client(transport: AsyncBaseTransport | None = None) -> AsyncClient:
    """One client per run; tests inject a transport, everyone else gets real loopback HTTP.

    The gateway is plain HTTP on 127.0.0.1 (the sim, or a port-forward), so this client never
    speaks TLS: it trusts no certificate authority at all rather than reading the CA bundle
    (about 30 ms at every start) for nothing. An https URL would fail, never pass unverified.
    No read timeout: :func:`send` gives the whole answer a deadline instead (a stream that
    never ends sends a piece before any read timeout). It asks only for the encodings that
    :class:`~sandbox.walkthrough.answer.Body` inflates within its bound.
    """
    return AsyncClient(transport=transport, timeout=Timeout(None, connect=5.0, write=30.0,
                                                            pool=5.0),
                       headers={"Accept-Encoding": ACCEPT_ENCODING}, trust_env=False,
                       verify=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT))


def view_request(request: RenderedRequest, base_url: str, ctx: Context) -> RequestView:
    """The request as the panes show it (secrets masked in the values) and as a keyless curl."""
    shown = masked_request(request, ctx)
    body = shown.body.decode("utf-8", "replace") if shown.body else ""
    return RequestView(shown.method, base_url.rstrip("/") + shown.path, shown.headers, body,
                       shell_equivalents.curl(request, base_url, ctx))


async def send(client: AsyncClient, request: RenderedRequest, base_url: str, ctx: Context,
               on_chunk: Callable[[str], None], on_note: Callable[[str], None] | None = None,
               patience: Patience | None = None) -> Answer:
    """Send ``request`` and read the answer: stream pieces go to ``on_chunk`` (masked), words
    on a long wait to ``on_note``. An answer that breaks off or outlasts the deadline comes
    back with ``cut_short`` saying so; no answer at all raises :class:`RequestFailed`."""
    patience = patience or PATIENCE
    url = base_url.rstrip("/") + request.path
    problem = unsendable(request)
    if problem is not None:
        raise RequestFailed(f"the request cannot be sent: {problem}", UNSENDABLE_HINT)
    reading = Reading(ctx.masker, request.stream, on_chunk)
    started = time.perf_counter()
    reminder = asyncio.create_task(_remind(reading, patience, on_note, started)) \
        if on_note is not None else None
    try:
        async with asyncio.timeout(patience.deadline):
            await _exchange(client, request, url, reading, started)
    except TimeoutError:
        if not reading.begun:
            raise RequestFailed(
                f"no answer within {patience.deadline:g} s: the gateway took the request and "
                "has sent nothing back; the provider behind it has not answered",
                _stalled_hint(ctx.provider)) from None
        reading.stop(f"stopped waiting after {patience.deadline:g} s: the answer "
                     f"({reading.status} {reading.reason}) had not ended "
                     f"({size(reading.body.received)} so far); the provider kept it open")
    except (InvalidURL, LocalProtocolError, UnicodeError) as exc:
        # Their text may quote a header value, which may be the key: say it in our words.
        raise RequestFailed("the request cannot be sent: its method, path or a header holds "
                            "a character HTTP cannot carry", UNSENDABLE_HINT) from exc
    except HTTPError as exc:
        said = ctx.masker(str(exc)) or type(exc).__name__
        if not reading.begun:
            raise _unreachable(exc, url, said) from exc
        # The gateway ends an answer it cannot read the rest of (a 200 KB chunk extension, a
        # chunk size that is no number) as it ends one the provider broke off: either may be.
        reading.stop(f"the answer ({reading.status} {reading.reason}) broke off after "
                     f"{size(reading.body.received)}: the gateway ended it before its end, as "
                     "it does when the provider closes the connection early or sent a body it "
                     "could not read (such as malformed chunks: a chunk line too long, a size "
                     f"that is no number) ({said})")
    finally:
        if reminder is not None:
            reminder.cancel()
    return reading.answer()


async def _exchange(client: AsyncClient, request: RenderedRequest, url: str, reading: Reading,
                    started: float) -> None:
    async with client.stream(request.method, url, headers=list(request.headers),
                             content=request.body) as response:
        reading.begin(response.status_code, response.reason_phrase, response.headers,
                      response.charset_encoding, (time.perf_counter() - started) * 1000)
        async for raw in response.aiter_raw():
            if not reading.feed(raw):
                break  # kept all it will keep: leaving closes the connection, unread


def _unreachable(exc: HTTPError, url: str, said: str) -> GatewayUnreachable:
    hint = "check that the runtime is up (`agw-sandbox status`) and the port is right"
    if isinstance(exc, ConnectError | ConnectTimeout):
        return GatewayUnreachable(f"could not reach the gateway at {url}: {said}", hint)
    return GatewayUnreachable(f"the gateway at {url} closed the connection without answering: "
                              f"{said}", hint)


def _stalled_hint(provider: str) -> str:
    if provider == "openai":
        return ("api.openai.com is slow or stalled: try again in a while (status.openai.com "
                "says whether it has trouble), or use --provider mock to carry on offline")
    return ("the mock provider answers at once, so the runtime is stuck: `agw-sandbox status` "
            "says what runs; starting the sandbox again brings it back")


async def _remind(reading: Reading, patience: Patience, on_note: Callable[[str], None],
                  started: float) -> None:
    """Say, now and then, that the answer is still awaited, and what has come so far."""
    wait = patience.first_note
    while True:
        await asyncio.sleep(wait)
        waited = f"{time.perf_counter() - started:.0f} s"
        limit = f"agw-sandbox waits {patience.deadline:g} s in all"
        if not reading.begun:
            on_note(f"no answer yet after {waited}: the gateway has the request and waits for "
                    f"the provider to answer ({limit})")
        else:
            doing = "streaming" if reading.events is not None else "arriving"
            on_note(f"the answer ({reading.status} {reading.masker(reading.reason)}) is still "
                    f"{doing} after {waited} ({size(reading.body.received)} so far; {limit})")
        wait = patience.note_every


UNSENDABLE_HINT = ("HTTP takes only printable ASCII in a method, path or header: remove the "
                   "character (often an invisible one pasted along) from the scenario, the "
                   "custom request, or the key given with --token or AGW_SANDBOX_TOKEN")
_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789"
                   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def unsendable(request: RenderedRequest) -> str | None:
    """What HTTP cannot carry in this request, named by place and position, never by value."""
    if not request.method or not set(request.method) <= _TOKEN:
        return f"the method {quoted(request.method)} is not a valid HTTP method name"
    for index, char in enumerate(request.path, 1):
        if char <= " " or char == "\x7f":
            return f"the path holds {_describe(char)} at position {index}"
    for name, value in request.headers:
        if not name or not set(name) <= _TOKEN:
            return f"the header name {quoted(name)} is not a valid HTTP header name"
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
