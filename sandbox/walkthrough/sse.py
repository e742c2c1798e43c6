"""A server-sent event stream read as it arrives: lines ended by CR, LF or CRLF, one leading
byte order mark, an event's data lines joined, each event's text delta masked as it comes."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.documents import load_json
from sandbox.walkthrough.masking import MaskedStream, Masker

_LINE_END = re.compile(r"\r\n|\r|\n")


def parse_json(text: str, strict: bool = True) -> Any:
    """``json.loads``; :class:`ValueError` for text that is not JSON, :class:`TooDeep` (also a
    ValueError) for JSON nested too deeply to read (json raises RecursionError for it).
    ``strict=False`` lets a string hold a line break, as an event's joined data lines may."""
    return load_json(text, strict=strict)


@dataclass
class _Event:
    """One event as it came: its lines with their ends, its data lines joined, and its delta."""

    lines: list[str] = field(default_factory=list)
    data: list[str] = field(default_factory=list)
    delta: str = ""

    def rewritten(self, content: str) -> str:
        """The event with its delta's text replaced by ``content``, in one data line."""
        chunk = parse_json("\n".join(self.data), strict=False)
        chunk["choices"][0]["delta"]["content"] = content
        line = "data: " + json.dumps(chunk, ensure_ascii=False) + "\n"
        out: list[str] = []
        for raw in self.lines:
            if not _is_data(raw):
                out.append(raw)
            elif line:
                out.append(line)
                line = ""
        return "".join(out)


def _is_data(line: str) -> bool:
    return line.partition(":")[0].rstrip("\r\n") == "data"


class Events:
    """A server-sent event stream, line by line as it arrives: each event's delta goes to
    ``on_chunk`` masked over the joined text, so a key split across events is masked.

    Each piece is looked at once (a line that comes a character at a time costs no more than
    one that comes whole)."""

    def __init__(self, masker: Masker, on_chunk: Callable[[str], None]) -> None:
        self._masker = masker
        self._on_chunk = on_chunk
        self._stream = MaskedStream(masker)
        self._events: list[_Event] = []
        self._event = _Event()  # the event being read
        self._partial: list[str] = []  # the line being read, in the pieces it came in
        self._held_cr = False  # the last piece ended with CR: a LF may follow in the next
        self._begun = False
        self.model: str | None = None
        self._model_read = False

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
        for end in _LINE_END.finditer(text):
            self._partial.append(text[position:end.start()])
            self._line("".join(self._partial), end.group())
            self._partial, position = [], end.end()
        if position < len(text):
            self._partial.append(text[position:])

    def end(self) -> None:
        """The stream ended: a line or an event it left unfinished is read as it is."""
        if self._held_cr:
            self._held_cr = False
            self._line("".join(self._partial), "\r")
            self._partial = []
        if self._partial:
            self._line("".join(self._partial), "")
            self._partial = []
        if self._event.lines:
            self._dispatch()
        self._show(self._stream.end())

    def _line(self, line: str, ending: str) -> None:
        self._event.lines.append(line + ending)
        if not line:
            self._dispatch()
            return
        name, colon, value = line.partition(":")
        if name == "data":  # "data" alone is empty data; a space after the colon is not part of it
            self._event.data.append(value.removeprefix(" ") if colon else "")

    def _dispatch(self) -> None:
        event, self._event = self._event, _Event()
        if event.data:
            event.delta = self._read("\n".join(event.data))
        self._events.append(event)
        if event.delta:
            self._show(self._stream.feed(event.delta))

    def _show(self, text: str) -> None:
        if text:
            self._on_chunk(text)

    def _read(self, data: str) -> str:
        if data.strip() == "[DONE]":
            return ""
        try:
            chunk = parse_json(data, strict=False)
        except ValueError:  # not JSON, or nested too deeply: a chunk with no text for us
            return ""
        if not self._model_read:  # the first chunk names the model
            self._model_read = True
            model = chunk.get("model") if isinstance(chunk, dict) else None
            self.model = str(model) if model is not None else None
        try:
            return str(chunk["choices"][0]["delta"].get("content") or "")
        except (KeyError, IndexError, TypeError, AttributeError):
            return ""

    @property
    def content(self) -> str:
        """The deltas joined: the assistant's answer, unmasked."""
        return "".join(event.delta for event in self._events)

    def _unread(self) -> str:
        return "".join(self._event.lines) + "".join(self._partial) + \
            ("\r" if self._held_cr else "")

    @property
    def body(self) -> str:
        """The stream as it came (but a leading byte order mark), unmasked."""
        return "".join("".join(event.lines) for event in self._events) + self._unread()

    def shown_body(self) -> str:
        """The stream as it came, masked as the streamed text is shown: an event holding part of
        a split key, or the beginning of a key the stream broke off in, is rewritten with the
        part masked, so that no line shows a piece of the key."""
        deltas = [event.delta for event in self._events if event.delta]
        masked = iter(self._masker.pieces(deltas))
        parts = []
        for event in self._events:
            shown = next(masked) if event.delta else event.delta
            parts.append(event.rewritten(shown) if shown != event.delta
                         else "".join(event.lines))
        return self._masker.cut("".join(parts) + self._unread())
