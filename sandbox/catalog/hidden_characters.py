"""Finding hidden characters (see :mod:`sandbox.untrusted`) in a loaded YAML file.

Every string of a scenario file and of its manifest templates reaches a terminal: titles and
explanations, request bodies, manifests shown as applied. YAML escapes (``"\\e"``, ``"\\x9b"``,
``"\\u202e"``) write characters a terminal acts on, so a scenario folder from someone else could
set the clipboard a learner pastes from; others (``"\\ud800"``, ``"\\u200b"``) write text that
no transcript can hold, or that nobody sees. Loading refuses them, naming the line and the
position.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator
from typing import Any

from sandbox.documents import LineDict
from sandbox.untrusted import MAX_MARKS_IN_A_ROW, describe, first_hidden, kind, quoted

CONTROL = ("a terminal acts on it (it could set the clipboard or the window title): remove it "
           "(YAML escapes such as \"\\e\" or \"\\x9b\" write one)")
BIDI = "it makes the text read in another order than it is written: remove it"
ONE_LINE = "it is shown on one line: write it without tabs and line breaks"
SURROGATE = ("no UTF-8 text can hold it, so no transcript or browser could show it: remove it "
             "(a YAML escape such as \"\\ud800\" writes one)")
SEPARATOR = ("some programs start a new line there and others show nothing: write a line break "
             "instead, or a space")
INVISIBLE = ("it cannot be seen, so the text would hold more than it shows: remove it (a joiner "
             "inside an emoji or between letters that join is fine, and so is a variation "
             "selector right after an emoji or a CJK ideograph)")
PRIVATE_USE = ("it has no agreed meaning or glyph: each font shows something else there, or "
               "nothing: remove it")
WHY = {"line break": ONE_LINE, "control": CONTROL, "bidi": BIDI, "surrogate": SURROGATE,
       "separator": SEPARATOR, "invisible": INVISIBLE, "private use": PRIVATE_USE}


def hidden_characters(value: Any, line: int, one_line: Callable[[str], bool] = lambda _: False,
                      skip: Callable[[str], bool] = lambda _: False, where: str = ""
                      ) -> Iterator[tuple[int, str]]:
    """``(line, reason)`` for each string of ``value`` (keys too) holding a hidden character.

    ``where`` is the dotted path of ``value`` (``steps[2].title``); ``one_line(where)`` says
    whether that string must also be free of tabs and line breaks, and ``skip(where)`` leaves
    out what other checks already look at more strictly.
    """
    if skip(where):
        return
    if isinstance(value, str):
        yield from _check(value, line, quoted(where) if where else "the text", one_line(where))
    elif isinstance(value, LineDict):
        for key, item in value.items():
            inner = f"{where}.{key}" if where else key
            yield from _check(key, value.line_of(key), f"the key {quoted(key)}", False)
            yield from hidden_characters(item, value.line_of(key), one_line, skip, inner)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            at = item.line if isinstance(item, LineDict) else line
            yield from hidden_characters(item, at, one_line, skip, f"{where}[{index}]")


def _check(text: str, line: int, label: str, one_line: bool) -> Iterator[tuple[int, str]]:
    shown = text.strip() if one_line else text  # the blanks around a title are dropped anyway
    found = first_hidden(shown, one_line)
    if found is not None:
        position, char = found
        yield line, f"{label} holds {describe(char)} at position {position}: {WHY[kind(char)]}"
    if pile := _marks_piled_up(shown):
        position, count = pile
        yield line, (f"{label} holds {count} combining marks in a row from position {position}: "
                     f"at most {MAX_MARKS_IN_A_ROW} may follow one another (more pile up over "
                     "the lines around it): remove them")



def _marks_piled_up(text: str) -> tuple[int, int] | None:
    """The 1-based position and length of the first run of more than ``MAX_MARKS_IN_A_ROW``
    combining marks, or None."""
    if text.isascii():  # most of a manifest: no mark at all
        return None
    start = count = 0
    for position, char in enumerate(text, start=1):
        if unicodedata.category(char).startswith("M"):
            start, count = (start, count + 1) if count else (position, 1)
        elif count > MAX_MARKS_IN_A_ROW:
            break
        else:
            count = 0
    return (start, count) if count > MAX_MARKS_IN_A_ROW else None
