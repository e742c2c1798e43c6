"""Text spelled out a character at a time (``s/k/-/t``, ``'s' 'k'``, ``s.k--.t-e``): folded
text without the separators between such characters, so that a key spelled out that way, its
own dashes dropped or not, reads as its letters and digits alone."""

from __future__ import annotations

import bisect
import re

from sandbox.walkthrough.folded import Core

# Letters and digits standing one at a time, each after a separator of a few characters that
# are neither (one repeated, or any pattern of them: quotes around each character, an
# alternation of dots and dashes). The first and the last may touch a word: what separated it
# (a blank) is already gone from folded text without fillers. Three characters at least (fewer
# spell nothing that could give a key away), or two at the end of the text (a stream's next
# piece may spell more).
_SEPARATOR = r"[\W_]{1,16}"
SPELLED_OUT = re.compile(rf"[^\W_](?:{_SEPARATOR}[^\W_](?=[\W_]|\Z))+{_SEPARATOR}[^\W_]"
                         rf"|[^\W_]{_SEPARATOR}[^\W_](?=[\W_]{{0,16}}\Z)")
_SEPARATORS = re.compile(_SEPARATOR)


def open_end(text: str) -> int:
    """Where ``text`` ends but for the separator it may end in (more may be spelled after it)."""
    separator = _OPEN_END.search(text)
    return separator.start() if separator else len(text)


_OPEN_END = re.compile(rf"{_SEPARATOR}\Z")


def letters_and_digits(text: str) -> str:
    """``text`` without what is neither a letter nor a digit: how a key reads spelled out."""
    return "".join(char for char in text if char.isalnum())


def respaced(kept: Core) -> Core:
    """``kept`` (folded text without fillers) without the separators between characters
    spelled out one at a time; every character still maps back to where it came from. In time
    linear in the text: each separator and each run of ``kept`` is looked at once."""
    pieces: list[tuple[int, int]] = []  # what stays, as spans of ``kept.text``
    position = 0
    for spelled in SPELLED_OUT.finditer(kept.text):
        for separator in _SEPARATORS.finditer(kept.text, spelled.start(), spelled.end()):
            pieces.append((position, separator.start()))
            position = separator.end()
    if not pieces:
        return kept
    pieces.append((position, len(kept.text)))
    runs: list[int] = []
    run_starts: list[int] = []
    length = 0
    for start, end in pieces:
        # A piece may span several runs of ``kept``: each part of it maps back on its own.
        run = bisect.bisect_right(kept.runs, start) - 1
        at = start
        while at < end:
            stop = kept.runs[run + 1] if run + 1 < len(kept.runs) else end
            stop = min(stop, end)
            runs.append(length)
            run_starts.append(kept.run_starts[run] + at - kept.runs[run])
            length += stop - at
            at, run = stop, run + 1
    text = "".join(kept.text[start:end] for start, end in pieces)
    return Core(text, kept.end, kept.view, runs or [0], run_starts or [0])
