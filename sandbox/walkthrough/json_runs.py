"""A key cut into tokens: the string values at one place in JSON text (a model's ``logprobs``
tokens, the deltas of a stream's events), joined, where a key cut into pieces too short for the
masker to look for is whole again; and where each piece of the joined text came from."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

# A JSON string on one line (of a bounded length, so a broken body costs no backtracking), and
# the colon that makes it a name; or a bracket that opens or closes an object or an array.
_TOKEN = re.compile(r'"((?:[^"\\\n]|\\.){0,4096})"(\s*:)?|([{\[])|[}\]]')
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


def runs(text: str, start: int = 0) -> list[Run]:
    """The runs of ``text[start:]`` of two values or more (a value alone is masked where it
    stands). A value is filed under its path: the names of the objects and arrays it is in, and
    its own name; the tokens of ``logprobs`` apart from their ``top_logprobs``, each event's
    deltas with the other events' at the same place. Text that is not JSON files its strings
    somewhere; nothing is masked unless a key is found in what they make."""
    groups: dict[tuple[str | None, ...], list[tuple[int, int]]] = {}
    path: list[str | None] = []  # the name each open object or array is the value of
    name: str | None = None
    for found in _TOKEN.finditer(text, start):
        if found.group(3):  # opens: what follows is inside the value of ``name``
            path.append(name)
            name = None
        elif found.group(1) is None:  # closes
            if path:
                path.pop()
            name = None
        elif found.group(2):
            name = found.group(1)
        elif found.end(1) > found.start(1):
            groups.setdefault((*path[:_DEEPEST], name), []).append(found.span(1))
    joined: list[Run] = []
    for pieces in groups.values():
        if len(pieces) < 2:
            continue
        starts, at = [], 0
        for begin, end in pieces:
            starts.append(at)
            at += end - begin
        joined.append(Run("".join(text[begin:end] for begin, end in pieces), tuple(pieces),
                          tuple(starts)))
    return joined
