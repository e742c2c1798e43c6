"""Text spelled out a character at a time (``s/k/-/t``, ``'s' 'k'``, ``s.k--.t-e``): folded
text without the separators between such characters, so that a key spelled out that way, its
own dashes dropped or not, reads as its letters and digits alone."""

from __future__ import annotations

import bisect
import re

from sandbox.records import record
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
    linear in the text: a few searches made in C, a step in Python for each stretch spelled
    out, and where its characters stand is worked out only for a stretch a key is found in."""
    pieces: list[str] = []
    blanked: list[str] = []  # the same, what is not spelled out blanked
    starts: list[int] = []  # where each stretch, spelled out or not, starts in the text
    kept_spans: list[tuple[int, int]] = []  # where it is in ``kept.text``
    position = length = 0
    for spelled in SPELLED_OUT.finditer(kept.text):
        for start, end, piece in ((position, spelled.start(), None),
                                  (spelled.start(), spelled.end(),
                                   _SEPARATORS.sub("", spelled.group()))):
            if end > start:
                pieces.append(kept.text[start:end] if piece is None else piece)
                blanked.append("\0" * (end - start) if piece is None else piece)
                starts.append(length)
                kept_spans.append((start, end))
                length += len(pieces[-1])
        position = spelled.end()
    if not pieces:
        return kept
    pieces.append(kept.text[position:])
    blanked.append("\0" * (len(kept.text) - position))
    starts.append(length)
    kept_spans.append((position, len(kept.text)))
    return Respaced("".join(pieces), kept.end, kept.view, kept.runs, kept.run_starts,
                    kept, starts, kept_spans, "".join(blanked), {})


def spelled_out_only(view: Core) -> str:
    """The text of ``view`` where it is spelled out (:func:`respaced`), the rest blanked out
    (the same length: positions stay as they were); empty when nothing is."""
    return view.spelled_out if isinstance(view, Respaced) else ""


@record
class Respaced(Core):
    """Folded text without fillers (``kept``), and without the separators between characters
    spelled out one at a time: in stretches, each spelled out (shorter in ``text`` than in
    ``kept.text``) or left as it is."""

    kept: Core
    starts: list[int]  # where each stretch starts in ``text``
    kept_spans: list[tuple[int, int]]  # where it is in ``kept.text``
    spelled_out: str  # ``text`` where it is spelled out, the rest blanked out
    _characters: dict[int, list[int]]  # where the characters of a stretch spelled out stand

    def _folded(self, index: int) -> int:
        stretch = bisect.bisect_right(self.starts, index) - 1
        offset = index - self.starts[stretch]
        start, end = self.kept_spans[stretch]
        following = self.starts[stretch + 1] if stretch + 1 < len(self.starts) else len(self.text)
        if following - self.starts[stretch] < end - start:  # spelled out
            if stretch not in self._characters:  # once a stretch, however many keys are in it
                self._characters[stretch] = [found.start() for found in
                                             _CHARACTER.finditer(self.kept.text, start, end)]
            return self.kept.folded(self._characters[stretch][offset])
        return self.kept.folded(start + offset)


_CHARACTER = re.compile(r"[^\W_]")
