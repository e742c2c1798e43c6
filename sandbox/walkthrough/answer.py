"""Reading a gateway's answer as it arrives: bounded, decoded, parsed and masked.

The answer is the provider's, relayed by the gateway: text from outside that may be hostile.
At most :data:`MAX_BODY` bytes of it are decoded and kept (a gzip bomb is inflated no further),
JSON nested too deeply to parse is shown as text, a key echoed anywhere in it (reason phrase,
model, header, body, a stream's pieces) is masked, and what was cut or left out is said in a
note beside it.
"""

from __future__ import annotations

import codecs
import json
import zlib
from collections.abc import Callable, Mapping
from dataclasses import field
from typing import Any

from sandbox.documents import TooDeep
from sandbox.records import record
from sandbox.walkthrough.events import ResponseView
from sandbox.walkthrough.masking import Masker
from sandbox.walkthrough.sse import Events, parse_json

MAX_BODY = 1 << 20  # bytes of an answer kept once decoded: far above any chat completion
# Pieces of an answer read from the wire: a long streamed completion comes in a few thousand;
# each costs the HTTP client (and the gateway relaying it) far more than its bytes, so an answer
# sent a byte at a time would take most of a minute to reach MAX_BODY.
MAX_PIECES = 1 << 16
SHOWN_ERROR = 300  # characters of a provider's error shown from a stream: a sentence or two
INFLATABLE = ("gzip", "x-gzip", "deflate")
GZIP_MAGIC = b"\x1f\x8b"  # how every gzip member begins (RFC 1952)
ACCEPT_ENCODING = "gzip, deflate"  # what the client asks for: what Body can inflate


@record
class Answer:
    """What came back: ``view`` for everyone (masked, with notes), and the answer's own text and
    model, unmasked, for the expectations alone (never shown, never in an event)."""

    view: ResponseView
    text: str = field(repr=False)
    model: str | None = field(repr=False)
    cut_short: str = ""  # why the answer is incomplete; "" when it ended as it should
    not_json: str = ""  # what the answer is when it is not JSON (so names no model), in words
    unread: str = ""  # what a JSON answer read as an event stream (so holding none) is, in words
    stream_error: str = ""  # the provider's error its stream carried, masked, on one line


def size(count: int) -> str:
    """A byte count as a person reads it: 9 bytes, 12.5 KiB, 1 MiB."""
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= scale:
            return f"{count / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{count} byte" + ("" if count == 1 else "s")


class _Inflate:
    """One gzip or deflate layer, never inflating more than it is asked for at once."""

    def __init__(self, coding: str) -> None:
        self.coding = coding
        wbits = zlib.MAX_WBITS | 16 if coding != "deflate" else zlib.MAX_WBITS
        self._zlib = zlib.decompressobj(wbits)
        self._started = False

    def inflate(self, data: bytes, limit: int) -> tuple[bytes, bool]:
        """At most ``limit`` bytes of output, and whether more was left in ``data``. A gzip body
        may hold several members one after the other (RFC 1952): each is read in turn."""
        out = self._inflate(data, limit)
        while self._next_member() and len(out) < limit:
            out += self._inflate(b"", limit - len(out))
        return out, bool(self._zlib.unconsumed_tail) or self._next_member()

    def _next_member(self) -> bool:
        """Whether a gzip member ended with more data after it (another member, or damage)."""
        return self.coding != "deflate" and self._zlib.eof and bool(self._zlib.unused_data)

    def _inflate(self, data: bytes, limit: int) -> bytes:
        if self._next_member():  # the next member begins: a decompressor of its own
            data = self._zlib.unused_data + data
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS | 16)
        try:
            out = self._zlib.decompress(data, limit)
        except zlib.error:
            if self.coding != "deflate" or self._started:
                raise
            # "deflate" without its zlib wrapper, as some servers send it (httpx reads it too)
            self._zlib, self._started = zlib.decompressobj(-zlib.MAX_WBITS), True
            return self._inflate(data, limit)
        self._started = True
        return out

    @property
    def ended(self) -> bool:
        """Whether the encoded stream's own end has come (a body cut short never gets there)."""
        return self._zlib.eof


def _text_encoding(charset: str | None) -> str:
    """The charset the answer names, if Python knows it as a text encoding; else UTF-8 (a
    "charset=zlib" would otherwise inflate, and "hex" decode to bytes)."""
    try:
        if charset and codecs.lookup(charset)._is_text_encoding:
            return charset
    except LookupError:
        pass
    return "utf-8"


class Body:
    """An answer's bytes, inflated and decoded to text: at most ``limit`` bytes are kept, and
    once they are, ``full`` says to read no further."""

    def __init__(self, content_encoding: str, charset: str | None,
                 limit: int = MAX_BODY) -> None:
        codings = [c.strip().lower() for c in content_encoding.split(",")]
        codings = [c for c in codings if c and c != "identity"]
        self.unreadable = next((c for c in codings if c not in INFLATABLE), None)
        self._layers = [] if self.unreadable else [_Inflate(c) for c in reversed(codings)]
        self._decoder = codecs.getincrementaldecoder(_text_encoding(charset))(errors="replace")
        self.limit = limit
        self.received = 0  # bytes on the wire
        self.pieces = 0  # pieces from the wire
        self.kept = 0  # bytes once inflated
        self.full = False
        self.notes: list[str] = []
        self._start = b""  # the first bytes on the wire, to tell an unannounced gzip body

    def feed(self, raw: bytes) -> str:
        """The text ``raw`` adds (nothing once full)."""
        if len(self._start) < 2:
            self._start = (self._start + raw)[:2]
        self.received += len(raw)
        self.pieces += 1
        if self.full:
            return ""
        if self.pieces >= MAX_PIECES:
            self.full = True
            self.notes.append(f"the answer came in more than {MAX_PIECES} pieces "
                              f"({size(self.received // self.pieces)} each on average): only "
                              f"the first {size(self.received)} of it is shown and checked")
        if self.unreadable:
            self.full = self.received > self.limit
            return ""
        data, room = raw, self.limit - self.kept
        try:
            for layer in self._layers:
                data, more = layer.inflate(data, room + 1)
                self.full = self.full or more
        except zlib.error as exc:
            self.notes.append(f"the {layer.coding}-encoded body is damaged ({exc}): shown as "
                              "far as it could be read")
            self.full = True
            return ""
        if len(data) > room:
            data, self.full = data[:room], True
        self.kept += len(data)
        return self._decoder.decode(data)

    def end(self, announced: str | None) -> str:
        """The last of the text, and the notes on what was left out."""
        if self.unreadable:
            self.notes.append(f"the body is {self.unreadable}-encoded, which agw-sandbox does "
                              f"not decode: not shown ({size(self.received)} received)")
            return ""
        if not self._layers and self._start == GZIP_MAGIC:
            self.notes.append("the body looks gzip-compressed (it begins as gzip data does) but "
                              "no Content-Encoding says so: shown undecoded. A provider that "
                              "compresses with Transfer-Encoding: gzip sends this: the gateway "
                              "undoes the chunks, drops that header and passes the rest on")
        unended = next((layer for layer in self._layers if not layer.ended), None)
        if unended is not None and not self.full and not self.notes:
            self.notes.append(f"the {unended.coding}-encoded body ends before its end: shown "
                              "as far as it could be read")
        if self.full and not self.notes:
            how = (f"it inflates to more than that from {size(self.received)} on the wire"
                   if self._layers else f"{size(int(announced))} announced"
                   if announced and announced.isdigit() else "the rest was not read")
            self.notes.append(f"only the first {size(self.limit)} of the body is shown and "
                              f"checked: the answer was longer ({how})")
        return "" if self.full else self._decoder.decode(b"", final=True)


def one_line(text: str, limit: int) -> str:
    """``text`` (masked already: a cut never shows part of a key) on one line, at most
    ``limit`` characters long."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[:limit - 1] + "…"


def read_json(body: str, notes: list[str]) -> tuple[str, Any]:
    """The body with JSON indented, and the JSON (None when it is not JSON). Text that is not
    JSON is shown as it came; JSON nested too deeply to read is too, with a note saying so."""
    try:
        data = parse_json(body)
    except TooDeep:
        notes.append("the body is JSON nested too deeply to read: shown as text, as it came")
        return body, None
    except ValueError:
        return body, None
    try:
        return json.dumps(data, indent=2, ensure_ascii=False), data
    except RecursionError:  # deep enough to parse, not to print again
        return body, data


def summary(data: Any) -> tuple[str | None, str | None]:
    """The model a JSON answer names, and its message (the completion, or the error's)."""
    if not isinstance(data, dict):
        return None, None
    model = data.get("model")
    try:
        message = data["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        error = data.get("error")
        message = error.get("message") if isinstance(error, dict) else None
    return (str(model) if model else None), (str(message) if message else None)


def masked_headers(headers: Mapping[str, str] | Any, masker: Masker) -> tuple[tuple[str, str],
                                                                              ...]:
    """Every header, its name as well as its value masked (a provider may echo the key in
    either)."""
    return tuple((masker(name), masker(value)) for name, value in headers.items())


class Reading:
    """One answer as it is read: :meth:`begin` with the status line and headers, :meth:`feed`
    with each piece from the wire until it says stop, then :meth:`answer`."""

    def __init__(self, masker: Masker, stream: bool, on_chunk: Callable[[str], None]) -> None:
        self.masker = masker
        self.stream = stream  # a stream step: its pieces are shown as they arrive
        self.on_chunk = on_chunk
        self.begun = False
        self.status, self.reason, self.latency_ms = 0, "", 0.0
        self.headers: Mapping[str, str] = {}
        self.body = Body("", None)
        self.events: Events | None = None
        self._text: list[str] = []
        self.cut_short = ""

    def begin(self, status: int, reason: str, headers: Mapping[str, str], charset: str | None,
              latency_ms: float) -> None:
        self.begun = True
        self.status, self.reason, self.headers, self.latency_ms = (status, reason, headers,
                                                                   latency_ms)
        self.body = Body(headers.get("content-encoding", ""), charset)
        if self.stream or headers.get("content-type", "").lower().startswith(
                "text/event-stream"):
            self.events = Events(self.masker, self.on_chunk if self.stream else _ignore)

    def feed(self, raw: bytes) -> bool:
        """Take a piece of the body; False once no more of it will be kept."""
        text = self.body.feed(raw)
        if text and self.events is not None:
            self.events.feed(text)
        elif text:
            self._text.append(text)
        return not self.body.full

    def stop(self, why: str) -> None:
        """The answer ended early: ``why``, in words (shown as a note, and the step fails)."""
        self.cut_short = self.masker(why)

    def answer(self) -> Answer:
        tail = self.body.end(self.headers.get("content-length"))
        notes = self.body.notes
        not_json = unread = stream_error = ""
        if self.events is not None:
            self.events.feed(tail)
            self.events.end()
            raw_body, shown_body = self.events.body, self.events.shown_body()
            content, model, message = self.events.content, self.events.model, None
            if not content and model is None and (unread := self._json_not_events(raw_body)):
                notes.append(self.masker(unread))
            if self.events.error:
                stream_error = one_line(self.masker(self.events.error), SHOWN_ERROR)
                notes.append(f"the stream carried an error from the provider: {stream_error}")
        else:
            raw_body, data = read_json("".join(self._text) + tail, notes)
            shown_body = self.masker.cut(raw_body)
            model, message = summary(data)
            content = ""
            if data is None:
                not_json = ("the body is empty" if not raw_body.strip() else
                            self.headers.get("content-type", "").partition(";")[0].strip()
                            or "no Content-Type")
        if self.cut_short:
            notes.append(self.cut_short)
        mask = self.masker
        view = ResponseView(
            status=self.status, reason=mask(self.reason), latency_ms=self.latency_ms,
            headers=masked_headers(self.headers, mask), body=shown_body,
            content=mask.cut(content) if content else _shown_message(message, shown_body, mask),
            model=mask(model) if model is not None else None, notes=tuple(notes))
        return Answer(view, raw_body + "\n" + (content or message or ""), model,
                      self.cut_short, self.masker(not_json), self.masker(unread), stream_error)

    def _json_not_events(self, body: str) -> str:
        """What a body read as an event stream really is when it held no event but is one JSON
        document, in words ("" when it is not): the provider labelled it as a stream (a second
        Content-Type header may say so), or did not stream an answer it was asked to."""
        try:
            parse_json(body.strip())
        except ValueError:
            return ""
        types = [t.partition(";")[0].strip() for t in
                 self.headers.get("content-type", "").split(",")]
        types = [t for t in types if t]
        if not types or not types[0].lower().startswith("text/event-stream"):
            return (f"the body is JSON ({types[0] if types else 'no Content-Type'}), not a "
                    "stream of server-sent events: the provider did not stream its answer")
        count = {2: "two", 3: "three"}.get(len(types), str(len(types)))
        said = (f"its Content-Type says {types[0]}" if len(types) == 1 else
                f"the answer has {count} Content-Type headers ({' and '.join(types)}) and the "
                f"first says {types[0]}")
        return (f"the body is JSON, but {said}: read as a stream of server-sent events, it "
                "holds none")


def _shown_message(message: str | None, shown_body: str, mask: Masker) -> str:
    """The message as the masked body shows it: masked with the values around it (a key dealt
    out between two choices is masked in both), or on its own when the body is not JSON."""
    if not message:
        return ""
    try:
        data = json.loads(shown_body)
    except (ValueError, RecursionError):
        return mask(message)
    try:
        return str(data["choices"][0]["message"]["content"] or "")
    except (KeyError, IndexError, TypeError):
        return str(summary(data)[1] or "")


def _ignore(text: str) -> None:
    """A non-stream step shows no pieces, even when the answer comes as a stream."""
