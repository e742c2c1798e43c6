"""A server-sent event stream read as it arrives: lines ended by CR, LF or CRLF, one leading
byte order mark, an event's data lines joined, each event's text delta masked as it comes.

What carries no text (blank lines, comments, events without a delta) is kept as one text, not
line by line: a provider may send a mebibyte of empty lines, which must cost about a mebibyte.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from sandbox.documents import load_json
from sandbox.records import record
from sandbox.walkthrough.masked_stream import MaskedStream
from sandbox.walkthrough.masking import Masker

_LINE_END = re.compile(r"\r\n|\r|\n")
_JSON_STARTS = tuple('{["-0123456789tfn')  # what a JSON text can begin with
_BLANK_LINES = re.compile(r"[\r\n]+")  # CR, LF and CRLF alike: each a line that ends an event


def parse_json(text: str, strict: bool = True) -> Any:
    """``json.loads``; :class:`ValueError` for text that is not JSON, :class:`TooDeep` (also a
    ValueError) for JSON nested too deeply to read (json raises RecursionError for it).
    ``strict=False`` lets a string hold a line break, as an event's joined data lines may."""
    return load_json(text, strict=strict)


def first_choice(chunk: Any) -> Any:
    """The first choice's part of a chunk: the one whose ``index`` is 0 (or says none). With
    several choices streamed, events take turns: the answer shown is the first's alone, not
    the turns of all of them run together. KeyError when the chunk has none of it."""
    for choice in chunk["choices"]:
        if not isinstance(choice, dict) or choice.get("index", 0) in (0, None):
            return choice
    raise KeyError("index")


def _error_text(error: Any) -> str:
    """An error object's message (OpenAI's ``{"error": {"message": …}}``), else it as JSON."""
    if isinstance(error, dict) and isinstance(error.get("message"), str) and error["message"]:
        return str(error["message"])
    return error if isinstance(error, str) else json.dumps(error, ensure_ascii=False)


class _Text:
    """Text kept as it arrives, joined every so often: a million one-character lines cost
    about a mebibyte, not a million strings."""

    _JOIN_EVERY = 512

    def __init__(self) -> None:
        self._joined: list[str] = []
        self._recent: list[str] = []

    def add(self, text: str) -> None:
        self._recent.append(text)
        if len(self._recent) >= self._JOIN_EVERY:
            self._joined.append("".join(self._recent))
            self._recent = []
            if len(self._joined) >= self._JOIN_EVERY:
                self._joined = ["".join(self._joined)]

    def __str__(self) -> str:
        return "".join(self._joined) + "".join(self._recent)

    def __bool__(self) -> bool:
        return bool(self._joined or self._recent)


class _Pending:
    """The event being read: its lines as they came and, from its first data line on, its data
    and the lines after it that are not data (rewriting it puts its data in one line there)."""

    def __init__(self) -> None:
        self.raw = _Text()
        self.before: str | None = None  # what came before the first data line, once it came
        self.data = _Text()
        self.after = _Text()
        self.name = ""  # its "event:" field: "error" for a provider's error mid-stream

    def line(self, line: str, ending: str) -> None:
        name, colon, value = line.partition(":")
        if name == "event":
            self.name = value.removeprefix(" ")[:64]
        if name != "data":
            if self.before is not None:
                self.after.add(line + ending)
        else:  # "data" alone is empty data; a space after the colon is not part of it
            if self.before is None:
                self.before = str(self.raw)
            else:
                self.data.add("\n")
            self.data.add(value.removeprefix(" ") if colon else "")
        self.raw.add(line + ending)


@record
class _Event:
    """An event that carried text: as it came, and what rewriting it needs. ``lead`` is what
    came since the event before (blank lines, comments, events with no text)."""

    lead: str
    raw: str
    before: str
    data: str
    after: str
    delta: str

    def rewritten(self, content: str) -> str:
        """The event with its delta's text replaced by ``content``, in one data line."""
        chunk = parse_json(self.data, strict=False)
        first_choice(chunk)["delta"]["content"] = content
        line = "data: " + json.dumps(chunk, ensure_ascii=False) + "\n"
        return self.before + line + self.after


class Events:
    """A server-sent event stream, line by line as it arrives: each event's delta goes to
    ``on_chunk`` masked over the joined text, so a key split across events is masked.

    Each piece is looked at once (a line that comes a character at a time costs no more than
    one that comes whole), and a run of blank lines between events at once."""

    def __init__(self, masker: Masker, on_chunk: Callable[[str], None]) -> None:
        self._masker = masker
        self._on_chunk = on_chunk
        self._stream = MaskedStream(masker)
        self._events: list[_Event] = []  # those with a delta
        self._plain = _Text()  # what came after the last of them, carrying no text
        self._event = _Pending()  # the event being read
        self._partial: list[str] = []  # the line being read, in the pieces it came in
        self._held_cr = False  # the last piece ended with CR: a LF may follow in the next
        self._begun = False
        self.model: str | None = None
        self._model_read = False
        self.error = ""  # the provider's error the stream carried (its last), unmasked

    def feed(self, text: str) -> None:
        if not text:
            return
        if not self._begun:  # one byte order mark may open the stream
            self._begun, text = True, text.removeprefix("\ufeff")
        if self._held_cr:
            self._held_cr, text = False, "\r" + text
        if text.endswith("\r"):
            self._held_cr, text = True, text[:-1]
        position = 0
        while position < len(text):
            if not self._partial and not self._event.raw:
                blank = _BLANK_LINES.match(text, position)
                if blank:  # empty events: nothing to read in them
                    self._plain.add(blank.group())
                    position = blank.end()
                    continue
            end = _LINE_END.search(text, position)
            if end is None:
                self._partial.append(text[position:])
                return
            self._partial.append(text[position:end.start()])
            self._line("".join(self._partial), end.group())
            self._partial, position = [], end.end()

    def end(self) -> None:
        """The stream ended: a line or an event it left unfinished is read as it is."""
        if self._held_cr:
            self._held_cr = False
            self._line("".join(self._partial), "\r")
            self._partial = []
        if self._partial:
            self._line("".join(self._partial), "")
            self._partial = []
        if self._event.raw:
            self._dispatch()
        self._show(self._stream.end())

    def _line(self, line: str, ending: str) -> None:
        self._event.line(line, ending)
        if not line:
            self._dispatch()

    def _dispatch(self) -> None:
        event, self._event = self._event, _Pending()
        delta = self._read(str(event.data), event.name) if event.before is not None else ""
        if not delta:
            self._plain.add(str(event.raw))
            return
        self._events.append(_Event(str(self._plain), str(event.raw), event.before or "",
                                   str(event.data), str(event.after), delta))
        self._plain = _Text()
        self._show(self._stream.feed(delta))

    def _show(self, text: str) -> None:
        if text:
            self._on_chunk(text)

    def _read(self, data: str, name: str) -> str:
        data = data.strip(" \t\n\r")  # the whitespace JSON allows around a text
        if data == "[DONE]" or not data.startswith(_JSON_STARTS):  # no JSON: nothing to parse
            if name == "error" and data:
                self.error = data
            return ""
        try:
            chunk = parse_json(data, strict=False)
        except ValueError:  # not JSON, or nested too deeply: a chunk with no text for us
            if name == "error":
                self.error = data
            return ""
        error = chunk.get("error") if isinstance(chunk, dict) else None
        if name == "error" or (error and not name):  # as OpenAI's client reads a stream
            self.error = _error_text(error or chunk)
            return ""
        if not self._model_read:  # the first chunk names the model
            self._model_read = True
            model = chunk.get("model") if isinstance(chunk, dict) else None
            self.model = str(model) if model is not None else None
        try:
            return str(first_choice(chunk)["delta"].get("content") or "")
        except (KeyError, IndexError, TypeError, AttributeError):
            return ""

    @property
    def content(self) -> str:
        """The deltas joined: the assistant's answer, unmasked."""
        return "".join(event.delta for event in self._events)

    def _unread(self) -> str:
        return str(self._plain) + str(self._event.raw) + "".join(self._partial) + \
            ("\r" if self._held_cr else "")

    @property
    def body(self) -> str:
        """The stream as it came (but a leading byte order mark), unmasked."""
        return "".join(event.lead + event.raw for event in self._events) + self._unread()

    def shown_body(self) -> str:
        """The stream as it came, masked as the streamed text is shown: an event holding part of
        a split key, or the beginning of a key the stream broke off in, is rewritten with the
        part masked, so that no line shows a piece of the key."""
        masked = self._masker.pieces([event.delta for event in self._events])
        parts = [event.lead + (event.rewritten(shown) if shown != event.delta else event.raw)
                 for event, shown in zip(self._events, masked, strict=True)]
        return self._masker.cut("".join(parts) + self._unread())
