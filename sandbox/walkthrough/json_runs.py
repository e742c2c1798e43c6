"""A key cut into tokens: the string values at one place in JSON text (a model's ``logprobs``
tokens, the deltas of a stream's events), joined, where a key cut into pieces too short for the
masker to look for is whole again; and where each piece of the joined text came from. The
``bytes`` arrays of ``logprobs`` (each token's UTF-8 byte values) are such values too, decoded."""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass

from sandbox.records import record

# A choice's ``index`` (which of several answers an event's delta is part of); a JSON string on
# one line (of a bounded length, so a broken body costs no backtracking), and the colon that
# makes it a name; an array of small integers (byte values); a bracket that opens or closes an
# object or an array; a comma between values.
_TOKEN = re.compile(r'"index"\s*:\s*(\d{1,9})(?![\d.eE])|"((?:[^"\\\n]|\\.){0,4096})"(\s*:)?'
                    r'|(\[\s*\d{1,3}(?:\s*,\s*\d{1,3}){0,4095}\s*\])|([{\[])|([}\]])|(,)')
_DEEPEST = 64  # a path no deeper: what nests further is filed with its ancestor at this depth


@record
class Run:
    """The contents of the values at one path, joined, and where each came from: a string's
    contents as they are, an array of byte values decoded (one character a byte: Latin-1, so
    that a key's ASCII reads as itself and every byte stays one character)."""

    text: str
    pieces: tuple[tuple[int, int], ...]  # each value's contents, in the original text
    starts: tuple[int, ...]  # where each begins in ``text``
    decoded: tuple[str | None, ...]  # each array's bytes decoded (None for a string)

    def masked(self, start: int, end: int, mask: str) -> list[tuple[int, int, str]]:
        """How to mask ``text[start:end]`` in the original text: the mask stands in the first
        value it was joined from, the others lose their part of it. Empty when it is all in one
        string, where the masker found it already.

        An array of bytes is rewritten whole, as an array (JSON stays JSON): in the first, the
        part's bytes are replaced by the mask's UTF-8 bytes; in the others they are dropped."""
        spans: list[tuple[int, int, str]] = []
        strings = 0  # how many of them are strings
        first = max(0, bisect.bisect_right(self.starts, start) - 1)  # the first it may be in
        for number in range(first, len(self.pieces)):
            at, decoded = self.starts[number], self.decoded[number]
            if at >= end:
                break
            begin, stop = self.pieces[number]
            length = stop - begin if decoded is None else len(decoded)
            low, high = max(start, at) - at, min(end, at + length) - at
            if low >= high:
                continue
            shown = "" if spans else mask
            if decoded is None:
                strings += 1
                spans.append((begin + low, begin + high, shown))
            else:
                spans.append((begin, stop, _array(decoded[:low].encode("latin-1")
                                                  + shown.encode()
                                                  + decoded[high:].encode("latin-1"))))
        return [] if len(spans) == strings == 1 else spans

    def emptied(self, number: int) -> str:
        """What the value ``number`` becomes when all of it goes: nothing, or an empty array."""
        return "" if self.decoded[number] is None else "[]"


def _array(data: bytes) -> str:
    return "[" + ", ".join(map(str, data)) + "]"


def _bytes_of(array: str) -> str | None:
    """An array of byte values decoded one character a byte, or None when one is over 255."""
    try:
        return bytes(map(int, array[1:-1].split(","))).decode("latin-1")
    except ValueError:
        return None


@dataclass
class _Open:
    """An object or array the tokens are in: the name it is the value of and, for an array,
    the position of the value being read."""

    name: str | None
    array: bool
    position: int = 0


class _Path:
    """Where the tokens are, as the two keys values are filed under (see :func:`runs`): kept up
    to date as objects and arrays open, close and move on, not rebuilt for every value."""

    def __init__(self) -> None:
        self.opened: list[_Open] = []
        self.names: list[tuple[object, ...]] = [()]  # the keys of each depth, the outermost first
        self.places: list[tuple[object, ...]] = [()]

    def open(self, name: str | None, array: bool) -> None:
        self.opened.append(_Open(name, array))
        if len(self.opened) > _DEEPEST:  # filed with its ancestor at that depth
            self.names.append(self.names[-1])
            self.places.append(self.places[-1])
            return
        self.names.append((*self.names[-1], name))
        self.places.append((*self.places[-1], (name, 0 if array else None)))

    def close(self) -> None:
        if self.opened:
            self.opened.pop()
            self.names.pop()
            self.places.pop()

    def next_value(self) -> None:
        """A comma: in an array, the next value's place."""
        if self.opened and self.opened[-1].array:
            self.opened[-1].position += 1
            self._place(len(self.opened) - 1, self.opened[-1].position)

    def label(self, index: int) -> None:
        """An object's ``index`` names its place in the array it is in (a streamed choice says
        which it is, wherever it stands in its event's array)."""
        depth = len(self.opened) - 1
        if depth >= 1 and not self.opened[depth].array and self.opened[depth - 1].array:
            self._place(depth - 1, index)
            if depth < _DEEPEST:
                self.places[depth + 1] = (*self.places[depth], (self.opened[depth].name, None))

    def _place(self, depth: int, place: int) -> None:
        if depth < _DEEPEST:
            self.places[depth + 1] = (*self.places[depth], (self.opened[depth].name, place))


def runs(text: str, start: int = 0) -> list[Run]:
    """The runs of ``text[start:]`` of two values or more, or of an array of bytes (a string
    alone is masked where it stands). A value is filed under its path twice: by the names of
    the objects and arrays it is in and its own name (the tokens of ``logprobs`` apart from
    their ``top_logprobs``, each event's deltas with the other events' at the same place), and
    with each array's place too (the first alternatives of every event's ``top_logprobs``
    apart from the second ones, each choice's deltas apart from another's). Text that is not
    JSON files its strings somewhere; nothing is masked unless a key is found in what they
    make."""
    by_name: dict[tuple[object, ...], list[tuple[int, int]]] = {}
    by_place: dict[tuple[object, ...], list[tuple[int, int]]] = {}
    path = _Path()
    name: str | None = None
    decoded: dict[int, str] = {}  # each array of bytes, by where it begins

    def file(span: tuple[int, int]) -> None:
        by_name.setdefault((*path.names[-1], name), []).append(span)
        if path.opened:  # outside JSON, a value has no place but its name
            by_place.setdefault((*path.places[-1], name), []).append(span)

    for found in _TOKEN.finditer(text, start):
        index, string, colon, array, opens, closes = found.group(1, 2, 3, 4, 5, 6)
        if index is not None:
            path.label(int(index))
        elif array is not None:  # a value of its own, in its parent's place
            if (spelled := _bytes_of(array)) is not None:
                decoded[found.start(4)] = spelled
                file(found.span(4))
        elif opens:  # what follows is inside the value of ``name``
            path.open(name, opens == "[")
            name = None
        elif closes:
            path.close()
            name = None
        elif string is None:  # a comma
            path.next_value()
        elif colon:
            name = string
        elif found.end(2) > found.start(2):
            file(found.span(2))
    # A string alone is masked where it stands; an array of bytes is read only here. What is
    # alone in its place is in a group by name too.
    groups = [pieces for pieces in by_name.values()
              if len(pieces) > 1 or pieces[0][0] in decoded]
    seen = {tuple(pieces) for pieces in groups}  # a group filed the same both ways
    groups += [pieces for pieces in by_place.values()
               if len(pieces) > 1 and tuple(pieces) not in seen]
    groups += _in_turns(text, by_name.values(), decoded)
    return [_joined(text, pieces, decoded) for pieces in groups]


# A key dealt out between a few values under one name (the choices of one answer), a few
# characters each in turn: read in turns again, up to this many characters a turn, for the few
# groups of at most this many values with enough text between them to hold a run of a key.
_WIDEST_TURN, _MOST_DEALT, _LEAST_DEALT, _MOST_GROUPS = 8, 4, 12, 64


def _in_turns(text: str, groups: Iterable[list[tuple[int, int]]],
              decoded: dict[int, str]) -> list[list[tuple[int, int]]]:
    """The values of each such group read in turns, ``width`` characters a turn: each turn a
    piece of its own (a run found there is masked in the first and taken from the others)."""
    dealt = [pieces for pieces in groups if 1 < len(pieces) <= _MOST_DEALT
             and not any(begin in decoded for begin, _ in pieces)
             and sum(end - begin for begin, end in pieces) >= _LEAST_DEALT]
    turned: list[list[tuple[int, int]]] = []
    for pieces in dealt[:_MOST_GROUPS]:
        longest = max(end - begin for begin, end in pieces)
        for width in range(1, _WIDEST_TURN + 1):
            turned.append([(begin + at, min(begin + at + width, end))
                           for at in range(0, longest, width)
                           for begin, end in pieces if begin + at < end])
    return turned


def _joined(text: str, pieces: list[tuple[int, int]], decoded: dict[int, str]) -> Run:
    arrays = tuple(decoded.get(begin) for begin, _ in pieces)
    contents = [text[begin:end] if spelled is None else spelled
                for (begin, end), spelled in zip(pieces, arrays, strict=True)]
    starts, at = [], 0
    for content in contents:
        starts.append(at)
        at += len(content)
    return Run("".join(contents), tuple(pieces), tuple(starts), arrays)
