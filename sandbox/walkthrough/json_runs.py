"""A key cut into tokens: the string values under one name in JSON text (a model's ``logprobs``
tokens, the deltas of a stream's events), joined, where a key cut into pieces too short for the
masker to look for is whole again; and where each piece of the joined text came from."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

# A JSON string on one line (of a bounded length, so a broken body costs no backtracking), and
# the colon that makes it a name.
_STRING = re.compile(r'"((?:[^"\\\n]|\\.){0,4096})"(\s*:)?')


@dataclass(frozen=True)
class Run:
    """The contents of the string values under one name, joined, and where each came from."""

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
    stands). A value is filed under the last name before it, whatever the nesting: the tokens
    of ``logprobs`` under "token", the events' deltas under "content" or "arguments"."""
    groups: dict[str, list[tuple[int, int]]] = {}
    name: str | None = None
    for found in _STRING.finditer(text, start):
        if found.group(2):
            name = found.group(1)
        elif name is not None and found.end(1) > found.start(1):
            groups.setdefault(name, []).append(found.span(1))
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
