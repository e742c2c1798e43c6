"""Fields that draw a key typed or pasted into them as dots, from the first frame: the value is
kept as typed (it is what is sent or searched), only what is drawn is hidden."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.widgets import Input, TextArea

from sandbox.walkthrough.masking import Masker

# What a provider's key looks like: a key pasted by mistake, one the app does not hold, is
# hidden too (a presenter's screen is projected).
KEY_SHAPED = re.compile(r"sk-[A-Za-z0-9_-]{12,}")
DOT = "•"


def key_pattern(keys: Sequence[str]) -> re.Pattern[str]:
    """Any of ``keys`` (those the app holds), or any text shaped like a provider's key."""
    known = sorted({key for key in keys if key}, key=len, reverse=True)
    return re.compile("|".join([*map(re.escape, known), KEY_SHAPED.pattern]))


class KeyDots:
    """Where a field's text is drawn as dots: wherever the request pane's masker masks it (a
    key whole, a run of half of it, a chain of its pieces, over several lines as much as in
    one), and any text shaped like a provider's key."""

    def __init__(self, keys: Sequence[str], masker: Masker | None = None) -> None:
        self._pattern = key_pattern(keys)
        self._masker = masker if masker is not None else Masker(keys)

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Where ``text`` (a field's whole text) is drawn as dots."""
        return [*((found.start(), found.end()) for found in self._pattern.finditer(text)),
                *((start, end) for start, end, _ in self._masker.spans(text))]

    def dotted(self, text: str) -> str:
        """``text`` with each character where it is drawn as dots drawn as one, line breaks
        aside (the text keeps its length and its lines: the cursor and the selection stay
        where they are)."""
        spans = self.spans(text)
        if not spans:
            return text
        hidden = [False] * len(text)
        for start, end in spans:
            hidden[start:end] = [True] * (end - start)
        return "".join(DOT if dot and char not in "\r\n" else char
                       for char, dot in zip(text, hidden, strict=True))


class KeyHidingInput(Input):
    """An input drawn as dots while it holds a key (as the command palette's search)."""

    def __init__(self, value: str, keys: Sequence[str], masker: Masker | None = None,
                 **kwargs: Any) -> None:
        super().__init__(value, **kwargs)
        self._dots = KeyDots(keys, masker)
        self.password = bool(self._dots.spans(value))

    def on_mount(self) -> None:
        # Watched as the value changes, before the next frame (Input.Changed comes after one)
        self.watch(self, "value", self._hide_a_key, init=False)

    def _hide_a_key(self, value: str) -> None:
        self.password = bool(self._dots.spans(value))


class KeyHidingTextArea(TextArea):
    """A text area that draws as dots each part of its text the masker would mask, its whole
    text read at once (a key written over three header lines is dots on each): a line is drawn
    from its text as it is rendered, so a key pasted in one piece is never drawn."""

    def __init__(self, text: str, keys: Sequence[str], masker: Masker | None = None,
                 **kwargs: Any) -> None:
        super().__init__(text, **kwargs)
        self._dots = KeyDots(keys, masker)
        self._read: tuple[str, list[str]] = ("", [""])  # the last text read, and its lines drawn

    def get_line(self, line_index: int) -> Text:
        text = "\n".join(self.document.lines)
        if text != self._read[0]:  # read again only once it changed, not for each line
            self._read = (text, self._dots.dotted(text).split("\n"))
        lines = self._read[1]
        line = lines[line_index] if line_index < len(lines) else ""
        return Text(line, end="", no_wrap=True)
