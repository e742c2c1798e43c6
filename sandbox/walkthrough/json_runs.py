"""A key cut into tokens: the string values at one place in JSON text (a model's ``logprobs``
tokens, the deltas of a stream's events), joined, where a key cut into pieces too short for the
masker to look for is whole again; and where each piece of the joined text came from. The
``bytes`` arrays of ``logprobs`` (each token's UTF-8 byte values) are such values too, decoded."""

from __future__ import annotations

import re
from dataclasses import dataclass

# A choice's ``index`` (which of several answers an event's delta is part of); a JSON string on
# one line (of a bounded length, so a broken body costs no backtracking), and the colon that
# makes it a name; an array of small integers (byte values); a bracket that opens or closes an
# object or an array; a comma between values.
_TOKEN = re.compile(r'"index"\s*:\s*(\d{1,9})(?![\d.eE])|"((?:[^"\\\n]|\\.){0,4096})"(\s*:)?'
                    r'|(\[\s*\d{1,3}(?:\s*,\s*\d{1,3}){0,4095}\s*\])|([{\[])|([}\]])|(,)')
_DEEPEST = 64  # a path no deeper: what nests further is filed with its ancestor at this depth


@dataclass(frozen=True)
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
        for number, (begin, stop) in enumerate(self.pieces):
            at, decoded = self.starts[number], self.decoded[number]
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
    values = [int(value) for value in re.findall(r"\d+", array)]
    return bytes(values).decode("latin-1") if max(values) < 256 else None


@dataclass
class _Open:
    """An object or array the tokens are in: the name it is the value of, and for an array
    the position of the value being read, for an object the ``index`` it says it is."""

    name: str | None
    array: bool
    position: int = 0
    index: int | None = None


def _places(opened: list[_Open], name: str | None) -> tuple[tuple[object, ...],
                                                           tuple[object, ...]]:
    """Where a value is: by names alone (a model's tokens, the same place in every event), and
    with the place in each array too (each alternative of ``top_logprobs``, each choice,
    apart; an object's ``index`` names its place in its array, as a streamed choice says
    which it is)."""
    within = opened[:_DEEPEST]
    names = (*(each.name for each in within), name)
    places: list[object] = []
    for depth, each in enumerate(within):
        inner = within[depth + 1] if depth + 1 < len(within) else None
        if each.array:
            labelled = inner is not None and not inner.array and inner.index is not None
            places.append((each.name, inner.index if labelled and inner else each.position))
        else:
            places.append((each.name, each.index))
    return names, (*places, name)


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
    opened: list[_Open] = []
    name: str | None = None
    decoded: dict[int, str] = {}  # each array of bytes, by where it begins

    def file(span: tuple[int, int]) -> None:
        names, places = _places(opened, name)
        by_name.setdefault(names, []).append(span)
        by_place.setdefault(places, []).append(span)

    for found in _TOKEN.finditer(text, start):
        index, string, colon, array, opens, closes = found.group(1, 2, 3, 4, 5, 6)
        if index is not None:
            if opened and not opened[-1].array:
                opened[-1].index = int(index)
        elif array is not None:  # a value of its own, in its parent's place
            if (spelled := _bytes_of(array)) is not None:
                decoded[found.start(4)] = spelled
                file(found.span(4))
        elif opens:  # what follows is inside the value of ``name``
            opened.append(_Open(name, opens == "["))
            name = None
        elif closes:
            if opened:
                opened.pop()
            name = None
        elif string is None:  # a comma: the next value of an array
            if opened and opened[-1].array:
                opened[-1].position += 1
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
    return [_joined(text, pieces, decoded) for pieces in groups]


def _joined(text: str, pieces: list[tuple[int, int]], decoded: dict[int, str]) -> Run:
    arrays = tuple(decoded.get(begin) for begin, _ in pieces)
    contents = [text[begin:end] if spelled is None else spelled
                for (begin, end), spelled in zip(pieces, arrays, strict=True)]
    starts, at = [], 0
    for content in contents:
        starts.append(at)
        at += len(content)
    return Run("".join(contents), tuple(pieces), tuple(starts), arrays)
