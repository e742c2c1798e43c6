"""Text folded for finding a disguised key: escapes decoded, look-alike forms made plain, what
may split a key named, and every folded position mapped back to the text it came from."""

from __future__ import annotations

import bisect
import functools
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field

from sandbox.records import record
from sandbox.untrusted import HIDDEN_CHARACTERS

# What folding decodes: JSON escapes of what may be part of a key or split it (``\u0073``,
# ``\u200b``, ``\\``), percent-encoded printable ASCII (``%73``), and runs of non-ASCII text, of
# which only the compatibility forms of ASCII change (fullwidth ``ｓ``, a no-break space). A
# JSON line break (``\n``) and a percent-encoded blank (``%20``) are fillers as they are: most
# bodies hold many, and decoding them would cost the time it takes to map them back.
ENCODED = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}"  # a pair
                     r"|\\u[0-9a-fA-F]{4}|\\\\|%(?:2[1-9a-fA-F]|[3-6][0-9a-fA-F]|7[0-9a-eA-E])"
                     r"|[^\x00-\x7f]+")
# The beginning of an escape that the next piece of a stream may finish (``%7``, ``\u00``,
# ``ESC [3``): a tail that may still be part of a key.
_UNFINISHED = re.compile(r"(?:%[0-7]?|\\(?:u[0-9a-fA-F]{0,3})?|\x1b(?:\[[0-?]*[ -/]*)?|\r)\Z")

_ESC = r"(?:\x1b|\\x1[bB]|\\033|\\e)"
# Marks drawn on the character before them (accents, rings, enclosing circles): a key with one
# after each character is still read at a glance.
_COMBINING = "\u0300-\u036f\u0483-\u0489\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
# Tag characters spell ASCII invisibly, one code point each (U+E0073 is a tagged "s").
_TAGS = range(0xE0020, 0xE007F)
_HIDDEN = re.compile(f"[{HIDDEN_CHARACTERS}]")
# What may split a key and still leave it readable, in folded text: terminal escape sequences
# (raw or as a shell writes them), a line break (raw, JSON-escaped or percent-encoded) with the
# prefix of the next SSE line ("data:", or ":" that opens a comment), a space or a tab, and
# every character that shows as nothing or as an escape (untrusted.HIDDEN_CHARACTERS: format
# characters, joiners, bidi marks, variation selectors, fillers, controls).
FILLER = re.compile(
    rf"{_ESC}\[[0-?]*[ -/]*[@-~]|{_ESC}\][^\x07\x1b]{{0,200}}?(?:\x07|{_ESC}\\\\?)"
    rf"|(?:\r\n?|\n|\\r\\n|\\[nr]|%0d%0a|%0[ad])(?:data:|:)? ?|\\t|%09|%20"
    rf"|[ \t{HIDDEN_CHARACTERS}{_COMBINING}]", re.IGNORECASE)


@functools.cache
def _look_alikes() -> tuple[dict[int, str], re.Pattern[str]]:
    """Characters of any script drawn as an ASCII letter, digit, dash or underscore, and what
    they read as (Cherokee ``Ꮪ``, Cyrillic ``с``, small capital ``ᴛ``: UTS #39's confusables,
    lookalikes.py), and a pattern finding them. Loaded only for text outside ASCII."""
    # Imported here: ASCII text, most of what is masked, never needs the table.
    from sandbox.walkthrough.lookalikes import READ_AS

    table = {ord(char): reading for reading, chars in READ_AS.items() for char in chars}
    return table, re.compile(f"[{''.join(map(chr, table))}]")


@functools.lru_cache(maxsize=4096)
def _plain(char: str) -> str:
    """The ASCII a character stands for, else the character: the letter a compatibility form
    or an accented letter is made of (``ｓ``, ``é`` → ``s``, ``e``), that a tag spells, or that
    a look-alike of any script is drawn as (``с``, ``Ꮯ``, ``ᴄ`` → ``c``)."""
    if ord(char) in _TAGS:
        return chr(ord(char) - 0xE0000)
    folded = unicodedata.normalize("NFKC", char)
    if not folded.isascii():  # an accented letter: its letter, without what is drawn on it
        folded = "".join(part for part in unicodedata.normalize("NFKD", char)
                         if not unicodedata.combining(part)).translate(_look_alikes()[0])
    return folded if folded.isascii() and folded else char


def _decoded(encoded: str) -> str | None:
    """What an escape stands for, or None when it cannot be part of a key nor split one."""
    if encoded[0] == "%":
        return chr(int(encoded[1:], 16))
    if encoded == "\\\\":
        return "\\"
    if len(encoded) == 12:  # a surrogate pair: one character beyond U+FFFF
        high, low = int(encoded[2:6], 16), int(encoded[8:], 16)
        char = chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
        plain = _plain(char)
        return plain if plain.isascii() or _splits(char) else None
    char = chr(int(encoded[2:], 16))
    plain = _plain(char)
    return plain if plain.isascii() or _splits(char) else None


@dataclass
class Folded:
    """``text`` folded, from ``offset`` on; where it differs from the original, in pieces."""

    text: str
    offset: int
    # Each folded piece: where it starts and ends in the folded text, and in the original.
    _starts: list[int] = field(default_factory=list)
    _ends: list[int] = field(default_factory=list)
    _from: list[int] = field(default_factory=list)
    _to: list[int] = field(default_factory=list)

    def original(self, start: int, end: int) -> tuple[int, int]:
        """Where ``text[start:end]`` came from: a piece cut into is taken whole."""
        return self._origin(start, bisect.bisect_right(self._starts, start) - 1, False), \
            self._origin(end, bisect.bisect_left(self._starts, end) - 1, True)

    def _origin(self, position: int, piece: int, end: bool) -> int:
        if piece < 0:
            return self.offset + position
        if position < self._ends[piece]:  # inside the piece
            return self._to[piece] if end else self._from[piece]
        return self._to[piece] + position - self._ends[piece]


def fold(text: str, offset: int = 0) -> Folded:
    """``text[offset:]`` folded: each escape decoded once, each compatibility form of ASCII
    made ASCII, and lower-cased (for patterns that need not ignore case, so run faster)."""
    view = Folded("", offset)
    out: list[str] = []
    position, length = offset, 0

    def replace(start: int, end: int, plain: str) -> None:
        nonlocal position, length
        out.append(text[position:start])
        length += start - position
        if len(plain) != end - start:  # a piece the same length maps back as it is
            view._starts.append(length)
            view._from.append(start)
            view._ends.append(length + len(plain))
            view._to.append(end)
        out.append(plain)
        length += len(plain)
        position = end

    for found in ENCODED.finditer(text, offset):
        encoded = found.group()
        if encoded.isascii():
            if (decoded := _decoded(encoded)) is not None:
                replace(found.start(), found.end(), decoded)
        elif _may_fold(encoded):
            plain = list(map(_plain, encoded))
            if sum(map(len, plain)) == len(encoded):
                replace(found.start(), found.end(), "".join(plain))
                continue
            for index, (char, folded) in enumerate(zip(encoded, plain, strict=True),
                                                   found.start()):
                if folded != char:
                    replace(index, index + 1, folded)
    out.append(text[position:])
    view.text = _lower("".join(out))
    return view


def _splits(char: str) -> bool:
    """Whether a decoded character may split a key: hidden, or a mark drawn on the one before."""
    return _HIDDEN.match(char) is not None or unicodedata.combining(char) != 0


def _may_fold(run: str) -> bool:
    """Whether a run of non-ASCII text may hold a character :func:`_plain` changes: a
    compatibility form, an accented letter, a tag, a look-alike of an ASCII letter (plain
    text of most scripts holds none)."""
    return not unicodedata.is_normalized("NFKC", run) or \
        not unicodedata.is_normalized("NFD", run) or \
        (max(run) >= "\U000e0020" and any(ord(char) in _TAGS for char in run)) or \
        _look_alikes()[1].search(run) is not None


def _lower(text: str) -> str:
    """``text`` lower-cased, each character to one (U+0130, the one exception, to "i")."""
    return text.lower() if text.isascii() else text.replace("\u0130", "i").lower()


@record
class Core:
    """Folded text without what may split a key: ``text``, and where each of its characters
    came from (:meth:`origin`). ``end`` is where the text it was made of stops being decided:
    its length, or the start of an escape that the next piece of a stream may still finish."""

    text: str
    end: int
    view: Folded
    runs: list[int]  # where each run of kept folded text starts, in ``text``
    run_starts: list[int]  # and in the folded text

    def origin(self, index: int) -> int:
        folded = self._folded(index)
        return self.view.original(folded, folded + 1)[0]

    def folded(self, index: int) -> int:
        """Where ``text[index]`` is in the folded text."""
        return self._folded(index)

    def find(self, spelled: str) -> Iterator[tuple[int, int]]:
        """Where ``spelled`` (not empty) is in ``text``: in the folded text, split by fillers
        or not (:meth:`folded_span` says where); a plain search, in time linear in its length
        whatever the length of ``spelled``."""
        at = self.text.find(spelled)
        while at >= 0:
            yield at, at + len(spelled)
            at = self.text.find(spelled, at + len(spelled))

    def shown(self, start: int, end: int) -> tuple[int, int]:
        """Where ``text[start:end]`` (not empty) is in the text folded (a key's pieces)."""
        return self.view.original(*self.folded_span(start, end))

    def apart(self, at: int) -> bool:
        """Whether other text (a blank, an escape) stood before ``text[at]``: a run of it
        begins there."""
        run = bisect.bisect_left(self.runs, at)
        return run < len(self.runs) and self.runs[run] == at

    def folded_span(self, start: int, end: int) -> tuple[int, int]:
        """Where ``text[start:end]`` (not empty) is in the folded text, fillers and all."""
        return self._folded(start), self._folded(end - 1) + 1

    def _folded(self, index: int) -> int:
        run = bisect.bisect_right(self.runs, index) - 1
        return self.run_starts[run] + index - self.runs[run]


def core(text: str) -> Core:
    """``text`` folded, without what may split a key (and without an escape it ends in)."""
    unfinished = _UNFINISHED.search(text)
    end = unfinished.start() if unfinished else len(text)
    return stripped(fold(text[:end]), end)


def stripped(view: Folded, end: int | None = None) -> Core:
    """Folded text without what may split a key (``end``: see :class:`Core`)."""
    kept: list[str] = []
    runs: list[int] = [0]
    run_starts: list[int] = [0]
    position = length = 0
    # Only runs of kept text count: a mebibyte of blank lines is one run, not a million.
    for filler in _and_end(view.text):
        stop = filler.start() if filler else len(view.text)
        if stop > position:
            if position != run_starts[-1] + length - runs[-1]:  # after a filler: a new run
                runs.append(length)
                run_starts.append(position)
            kept.append(view.text[position:stop])
            length += stop - position
        position = filler.end() if filler else stop
    return Core("".join(kept), len(view.text) if end is None else end, view, runs, run_starts)


def _and_end(text: str) -> Iterator[re.Match[str] | None]:
    yield from FILLER.finditer(text)
    yield None
