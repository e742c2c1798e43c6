"""Where text holds a key cut into pieces shorter than a masked run, with a little other text
between them (``sk-te w st-ca w naryQ``): a chain of pieces, each going on in the key about
where the one before it stopped, found with a search made in C and a step for each piece.

Standard library only: the mock provider masks the pieces it quotes by this rule, and the
sandbox's masker (``sandbox.walkthrough``) finds them in folded text by it too."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple, Protocol

# A piece is at least this many characters of the key: shorter ones are in every word.
PIECE_LEAST = 3
# A chain is at least this many pieces: two (``disk-test-`` ... ``canary``) are what prose
# about test keys says, a key's beginning and a word it is made of.
CHAIN_LEAST = 3
# A piece goes on in the key where the one before it stopped, give or take this many
# characters (pieces overlapping by one, or each skipping one)...
SLACK = 1
# ...and stands at most this many characters of other text after it (a separator, a JSON
# field's name, a table's border): pieces further apart are words of prose.
GAP_MOST = 32
# A chain holds at least this many of the key's characters past what its mask shows (as many
# as the shortest run of a key that is masked).
CHAIN_HIDES_LEAST = 12
# A key longer than this (no API key is: OpenAI's project keys are 164 characters) is not
# looked for in pieces: its three-character stretches would be found all over any text.
KEY_MOST = 256


class Piece(NamedTuple):
    """A piece of a key in the searched text: where it is, and which characters of the key
    (a tuple: a text full of pieces makes one for each)."""

    start: int
    end: int
    key_start: int
    key_end: int
    shown: tuple[int, int]  # where it is in the original text (gaps are measured there)


class Where(Protocol):
    """Where the searched text stands in the text it was made from."""

    def shown(self, start: int, end: int) -> tuple[int, int]:
        """Where ``searched[start:end]`` (not empty) is in the text it was made from."""
        ...

    def apart(self, at: int) -> bool:
        """Whether other text (a blank, an escape) stood before ``searched[at]``."""
        ...


class AsWritten:
    """Text searched as it was written (its case folded, one character for one)."""

    def shown(self, start: int, end: int) -> tuple[int, int]:
        return start, end

    def apart(self, at: int) -> bool:
        return False


def chain_spans(key: str, text: str, masked: str) -> list[tuple[int, int, str]]:
    """Where ``text`` holds ``key`` cut into a chain of pieces (by the rule the sandbox masks
    by, its case aside), and each piece's mask: ``masked``'s beginning for the piece that
    begins the key, its end for the one that ends it, else ``…``."""
    spelled = key.lower()
    if not PIECE_LEAST * CHAIN_LEAST <= len(spelled) <= KEY_MOST:
        return []
    beginning = masked.split("…", 1)[0] + "…"
    chains = KeyChains(spelled, CHAIN_HIDES_LEAST, len(beginning) - 1)
    return [(piece.start, piece.end, beginning if piece.key_start == 0 else
             "…" + masked.rsplit("…", 1)[-1] if piece.key_end == len(spelled) else "…")
            for chain in chains.find(lowered(text), AsWritten()) for piece in chain]


def lowered(text: str) -> str:
    """``text`` in small letters, each character still where it was (one whose small form is
    more than one character stays as it is)."""
    return "".join(char if len(char.lower()) != 1 else char.lower() for char in text)


class KeyChains:
    """Chains in text of pieces of ``spelled`` (one spelling of a key), together holding at
    least ``least`` of its characters past what its mask shows."""

    def __init__(self, spelled: str, least: int, shown: int = 0) -> None:
        """``shown``: how many of the key's first characters its mask shows (``sk-``): they
        give nothing away, and are not counted."""
        self.spelled = spelled
        self.least = least
        self._shown = shown
        self._where: dict[str, list[int]] = {}  # each three characters of the key, and where
        for at in range(len(spelled) - PIECE_LEAST + 1):
            self._where.setdefault(spelled[at:at + PIECE_LEAST], []).append(at)
        self._pattern = re.compile("|".join(map(re.escape, self._where)))

    def find(self, text: str, view: Where) -> Iterator[list[Piece]]:
        """Each chain in ``text`` (``view``'s text, what is decided already blanked out): its
        pieces, in order. ``view`` says where they stand in the text it was made from."""
        for chain in self._linked(text, view):
            if len(chain) >= CHAIN_LEAST and sum(
                    piece.key_end - max(piece.key_start, self._shown)
                    for piece in chain if piece.key_end > self._shown) >= self.least:
                yield chain

    def open_from(self, text: str, view: Where, end: int) -> int | None:
        """Where in ``text`` the first piece is of the first chain that a piece more may
        still go on (its last piece ends at most :data:`GAP_MOST` characters before ``end``
        in the original text): a stream holds it back until it knows. None when none is."""
        return min((chain[0].start for chain in self._linked(text, view)
                    if chain[-1].shown[1] >= end - GAP_MOST), default=None)

    def _linked(self, text: str, view: Where) -> list[list[Piece]]:
        """The pieces of the key in ``text``, linked into chains (of one piece or more)."""
        chains: list[list[Piece]] = []
        going_on: dict[int, list[Piece]] = {}  # by where in the key the last piece ended
        found = self._pattern.search(text)
        while found is not None:
            piece = self._piece(text, found.start(), going_on, view)
            chain = _continued(piece, going_on)
            if chain is None:
                chain = []
                chains.append(chain)
            else:
                del going_on[chain[-1].key_end]
            chain.append(piece)
            going_on[piece.key_end] = chain
            found = self._pattern.search(text, piece.end)
        return chains

    def _piece(self, text: str, at: int, going_on: dict[int, list[Piece]], view: Where
               ) -> Piece:
        """The piece that begins at ``at`` (three characters of the key), grown as far as it
        goes on in the key: where the key has those three characters in more than one place,
        the place that goes on from a chain, else the longest."""
        best: tuple[bool, int, int] | None = None
        for where in self._where[text[at:at + PIECE_LEAST]]:
            grown = PIECE_LEAST + common_length(
                text[at + PIECE_LEAST:at + len(self.spelled) - where],
                self.spelled[where + PIECE_LEAST:])
            continues = any(where + shift in going_on for shift in range(-SLACK, SLACK + 1))
            if best is None or (continues, grown) > best[:2]:
                best = (continues, grown, where)
        assert best is not None  # the pattern is made of these three characters
        _, grown, where = best
        end = at + grown
        # A character alone at either end, apart from the rest (a blank between), is the
        # last or first letter of a word beside the piece: it stays (``words t-cana``).
        if grown > PIECE_LEAST and view.apart(at + 1):
            at, where, grown = at + 1, where + 1, grown - 1
        if grown > PIECE_LEAST and view.apart(end - 1):
            end, grown = end - 1, grown - 1
        return Piece(at, end, where, where + grown, view.shown(at, end))


def _continued(piece: Piece, going_on: dict[int, list[Piece]]) -> list[Piece] | None:
    """The chain ``piece`` goes on from, if any: one whose last piece ended in the key where
    this one begins (give or take :data:`SLACK`), a little before it in the text."""
    for shift in (0, *range(-SLACK, 0), *range(1, SLACK + 1)):
        chain = going_on.get(piece.key_start + shift)
        if chain is not None and 0 <= piece.shown[0] - chain[-1].shown[1] <= GAP_MOST:
            return chain
    return None



def common_length(first: str, second: str) -> int:
    """How long the common beginning of two strings is: a binary search of slices compared in
    C, not a character at a time."""
    low, high = 0, min(len(first), len(second))
    while low < high:
        middle = (low + high + 1) // 2
        if first[:middle] == second[:middle]:
            low = middle
        else:
            high = middle - 1
    return low
