"""A key cut into tokens: the string values at one place in JSON text (a model's ``logprobs``
tokens, the deltas of a stream's events), joined, where a key cut into pieces too short for the
masker to look for is whole again; and where each piece of the joined text came from."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

# A choice's ``index`` (which of several answers an event's delta is part of); a JSON string on
# one line (of a bounded length, so a broken body costs no backtracking), and the colon that
# makes it a name; a bracket that opens or closes an object or an array; a comma between values.
_TOKEN = re.compile(r'"index"\s*:\s*(\d{1,9})(?![\d.eE])|"((?:[^"\\\n]|\\.){0,4096})"(\s*:)?'
                    r'|([{\[])|([}\]])|(,)')
_DEEPEST = 64  # a path no deeper: what nests further is filed with its ancestor at this depth


@dataclass(frozen=True)
class Run:
    """The contents of the string values at one path, joined, and where each came from."""

    text: str
    pieces: tuple[tuple[int, int], ...]  # each value's contents, in the original text
    starts: tuple[int, ...]  # where each begins in ``text``

    def original(self, start: int, end: int) -> list[tuple[int, int]]:
        """The parts of the original text that ``text[start:end]`` was joined from."""
        return list(self._parts(start, end))

    def _parts(self, start: int, end: int) -> Iterator[tuple[int, int]]:
        for (begin, stop), at in zip(self.pieces, self.starts, strict=True):
            low, high = max(start, at), min(end, at + stop - begin)
            if low < high:
                yield begin + low - at, begin + high - at


@dataclass
class _Open:
    """An object or array the tokens are in: the name it is the value of, and for an array
    the position of the value being read, for an object the ``index`` it says it is."""

    name: str | None
    array: bool
    position: int = 0
    index: int | None = None


def _places(opened: list[_Open], name: str | None) -> tuple[tuple[object, ...], ...]:
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
    return (names, (*places, name)) if within else (names,)


def runs(text: str, start: int = 0) -> list[Run]:
    """The runs of ``text[start:]`` of two values or more (a value alone is masked where it
    stands). A value is filed under its path twice: by the names of the objects and arrays it
    is in and its own name (the tokens of ``logprobs`` apart from their ``top_logprobs``, each
    event's deltas with the other events' at the same place), and with each array's place
    too (the first alternatives of every event's ``top_logprobs`` apart from the second ones,
    each choice's deltas apart from another's). Text that is not JSON files its strings
    somewhere; nothing is masked unless a key is found in what they make."""
    groups: dict[tuple[object, ...], list[tuple[int, int]]] = {}
    opened: list[_Open] = []
    name: str | None = None
    for found in _TOKEN.finditer(text, start):
        index, string, colon, opens, closes = found.group(1, 2, 3, 4, 5)
        if index is not None:
            if opened and not opened[-1].array:
                opened[-1].index = int(index)
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
            for place in _places(opened, name):
                groups.setdefault(place, []).append(found.span(2))
    joined: list[Run] = []
    seen: set[tuple[tuple[int, int], ...]] = set()  # a group filed the same both ways
    for pieces in groups.values():
        if len(pieces) < 2 or tuple(pieces) in seen:
            continue
        seen.add(tuple(pieces))
        starts, at = [], 0
        for begin, end in pieces:
            starts.append(at)
            at += end - begin
        joined.append(Run("".join(text[begin:end] for begin, end in pieces), tuple(pieces),
                          tuple(starts)))
    return joined
