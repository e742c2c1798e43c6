"""Fields that draw a key typed or pasted into them as dots, from the first frame: the value is
kept as typed (it is what is sent or searched), only what is drawn is hidden."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.widgets import Input, TextArea

# What a provider's key looks like: a key pasted by mistake, one the app does not hold, is
# hidden too (a presenter's screen is projected).
KEY_SHAPED = re.compile(r"sk-[A-Za-z0-9_-]{12,}")
DOT = "•"


def key_pattern(keys: Sequence[str]) -> re.Pattern[str]:
    """Any of ``keys`` (those the app holds), or any text shaped like a provider's key."""
    known = sorted({key for key in keys if key}, key=len, reverse=True)
    return re.compile("|".join([*map(re.escape, known), KEY_SHAPED.pattern]))


def dotted(text: str, pattern: re.Pattern[str]) -> str:
    """``text`` with each key in it drawn as dots, one for each of its characters (the text
    keeps its length: the cursor and the selection stay where they are)."""
    return pattern.sub(lambda found: DOT * len(found.group()), text)


class KeyHidingInput(Input):
    """An input drawn as dots while it holds a key (as the command palette's search)."""

    def __init__(self, value: str, keys: Sequence[str], **kwargs: Any) -> None:
        super().__init__(value, **kwargs)
        self._pattern = key_pattern(keys)
        self.password = self._pattern.search(value) is not None

    def on_mount(self) -> None:
        # Watched as the value changes, before the next frame (Input.Changed comes after one)
        self.watch(self, "value", self._hide_a_key, init=False)

    def _hide_a_key(self, value: str) -> None:
        self.password = self._pattern.search(value) is not None


class KeyHidingTextArea(TextArea):
    """A text area that draws each key in it as dots: a line is drawn from its text as it is
    rendered, so a key pasted in one piece is never drawn."""

    def __init__(self, text: str, keys: Sequence[str], **kwargs: Any) -> None:
        super().__init__(text, **kwargs)
        self._pattern = key_pattern(keys)

    def get_line(self, line_index: int) -> Text:
        return Text(dotted(self.document.get_line(line_index), self._pattern), end="",
                    no_wrap=True)
