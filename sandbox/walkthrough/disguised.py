"""One key as folded text may hold it: whole, spelled in each way folding may leave it, or a
run of it long enough to give much of it away."""

from __future__ import annotations

import re
from collections.abc import Iterator

from sandbox.mock.key_chains import KEY_MOST, PIECE_LEAST, KeyChains
from sandbox.mock.key_runs import PART_LEAST, KeyRuns, made_of_words, run_least
from sandbox.walkthrough.folded import Core, Folded, core, fold, stripped
from sandbox.walkthrough.spaced import letters_and_digits


class DisguisedKey:
    """One key as folded text may hold it: as written (:attr:`written`: in any case, decoded
    or not), and spelled out (:attr:`spelled_out`: its
    letters and digits alone, searched in text without the separators of characters spelled
    out one at a time, :func:`~sandbox.walkthrough.spaced.respaced`)."""

    def __init__(self, secret: str, masked: str) -> None:
        self.masked = masked
        # What folding decodes inside the key itself (``%41``), or takes as a filler (``\\n``),
        # may stand decoded or not, as the text around it decides: as it is (percent-encoded
        # whole, it folds to that), folded, and each without its fillers.
        raw, folded = secret.lower(), fold(secret).text
        plain = [spelled for spelled in dict.fromkeys(
            (raw, folded, stripped(Folded(raw, 0)).text, core(secret).text)) if spelled]
        # A key made of words (the demo key everyone uses by default: ``agw-sandbox``,
        # ``demo``, ``key``; a workshop's ``sk-test-gateway-secret-key``) is not looked for in
        # pieces, and only in longer runs: prose about the gateway holds its words, in order.
        words = made_of_words(secret)
        self.written = Spellings(tuple(plain), masked, words, chained=not words)
        # Its letters and digits alone: as a key spelled out reads (``s-k---t-e-s-t``,
        # ``s/k/t``), its own dashes dropped or not (a key with fewer is not looked for that
        # way: too short to be told from text).
        bare = dict.fromkeys(letters_and_digits(spelled) for spelled in plain)
        self.spelled_out = Spellings(tuple(spelled for spelled in bare
                                           if len(spelled) >= BARE_LEAST), masked, words)
        # Any three characters of it, as written or spelled out: text with none holds no piece.
        self._threes = (_threes(self.written.spellings), _threes(self.spelled_out.spellings))
        # The fewest characters of folded text it can be found in: whole, or a run of it.
        self.shortest = min(PART_LEAST, *map(len, self.written.spellings),
                            *map(len, self.spelled_out.spellings))

    def holds_piece(self, kept: str, spaced: str) -> bool:
        """Whether folded text (``kept``, and ``spaced``: it respaced) holds three characters
        of the key in a row, the least a piece of it is."""
        return any(pattern is not None and pattern.search(text) is not None
                   for pattern, text in zip(self._threes, (kept, spaced), strict=True))


def _threes(spellings: tuple[str, ...]) -> re.Pattern[str] | None:
    """A pattern matching any three characters in a row of any of ``spellings``."""
    threes = {spelled[at:at + PIECE_LEAST] for spelled in spellings
              for at in range(len(spelled) - PIECE_LEAST + 1)}
    return re.compile("|".join(map(re.escape, sorted(threes)))) if threes else None


# A key whose letters and digits are fewer than this is not looked for spelled out.
BARE_LEAST = 8


class Spellings:
    """Spellings of one key: where it is whole (:meth:`wholes`), or a run of it long enough
    to give much of it away (:meth:`parts`)."""

    def __init__(self, spellings: tuple[str, ...], masked: str, words: bool,
                 chained: bool = False) -> None:
        self.spellings = spellings
        self._beginning = masked.split("…", 1)[0] + "…"
        self._end = "…" + masked.rsplit("…", 1)[-1]
        # What the mask shows (``sk-`` and the last four) gives nothing away.
        shown = len(masked) - 1 if "…" in masked else 0
        least = [run_least(len(spelled) - shown, words) for spelled in spellings]
        # Only a key long enough to have such parts (shorter ones show at most two characters).
        self._parts = [KeyRuns(spelled, count)
                       for spelled, count in zip(spellings, least, strict=True)
                       if count < len(spelled)]
        # ...and with ``chained``, where it is cut into shorter pieces with text between them
        # that hold as many of its characters as the shortest run masked (a long key's too)
        self._chains = [KeyChains(spelled, PART_LEAST, len(self._beginning) - 1)
                        for spelled in spellings
                        if chained and PART_LEAST < len(spelled) <= KEY_MOST]

    def wholes(self, text: Core) -> list[tuple[int, int]]:
        """Where the key is whole in ``text`` (folded text without its fillers), each
        spelling of it, whatever splits it (what folding decodes inside the key itself, or
        takes as a filler, is found decoded or not: both spellings are searched)."""
        return sorted({span for spelled in self.spellings for span in text.find(spelled)})

    def parts(self, text: str) -> Iterator[tuple[int, int, str]]:
        """Where runs of the key are in ``text`` (folded, without its fillers; each as long as
        it goes, short of the whole key), and their masks: ``sk-…`` for a beginning, ``…`` and
        the last four for an end, ``…`` alone for a middle."""
        for runs in self._parts:
            for begin, stop, first, last in runs.find(text):
                if first == 0:
                    yield begin, stop, self._beginning
                elif last == len(runs.spelled):
                    yield begin, stop, self._end
                else:
                    yield begin, stop, "…"

    def chains(self, text: str, view: Core) -> Iterator[tuple[int, int, str]]:
        """Where the key is cut into short pieces with a little other text between them, in
        ``text`` (``view``'s text, whole keys blanked out), and each piece's mask, where it is
        in what ``view`` was made of: the beginning's for the piece that begins the key, the
        end's for the one that ends it, else ``…`` (a mask in each piece's place, so a learner
        sees one, not a word missing)."""
        for chains in self._chains:
            for chain in chains.find(text, view):
                for piece in chain:
                    if piece.key_start == 0:
                        yield *piece.shown, self._beginning
                    elif piece.key_end == len(chains.spelled):
                        yield *piece.shown, self._end
                    else:
                        yield *piece.shown, "…"

    def open_chain(self, text: Core, searched: str) -> int | None:
        """Where in ``text`` (a stream's tail, folded, without its fillers: as it came, by
        :meth:`Core.origin`) a chain of pieces begins that more text may still go on;
        ``searched`` is its text with what is decided already blanked out."""
        return min((text.origin(at) for chains in self._chains
                    if (at := chains.open_from(searched, text, text.end)) is not None),
                   default=None)
