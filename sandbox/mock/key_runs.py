"""Where text holds a run of a key's characters long enough to give much of it away: its
beginning, its end or any stretch of its middle, found in time linear in the text (a few
searches made in C), whatever the length of the key.

Standard library only: the mock provider masks the runs it quotes by this rule, and the
sandbox's masker (``sandbox.walkthrough``) finds them in folded text by it too."""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator

from .key_chains import CHAIN_HIDES_LEAST, chain_spans, common_length, lowered

# A key cut short still gives most of it away: any run of its characters as long as half of
# what its mask hides (and at least this many) is masked wherever it stands: its beginning, its
# end (a key split in two, as two headers may hold it, shows neither half), or its middle alone
# (an error's ``code`` that echoes the key but its known prefix and its last four).
PART_LEAST = CHAIN_HIDES_LEAST  # as many as a chain of its pieces must hide
# ...and a run longer than this is masked whatever the key's length (a long key's half would
# let runs of seventy characters through).
PART_MOST = 24


def made_of_words(secret: str) -> bool:
    """Whether each part of ``secret`` between its dashes (or other separators) is a word or a
    number: letters of one case (or a capital, then small ones), or digits. A generated key
    mixes them within its parts."""
    return all(part.isdigit() or (part.isalpha() and (part.islower() or part.isupper()
                                                      or part.istitle()))
               for part in re.split(r"[^0-9A-Za-z]+", secret) if part)


def run_least(hidden: int, words: bool) -> int:
    """How long a run of a key must be to be masked, of the ``hidden`` characters its mask
    hides: half of them (within :data:`PART_LEAST` and :data:`PART_MOST`); two thirds for a
    key made of words, whose words of a dozen letters (``agentgateway -n``) prose holds."""
    least = max(PART_LEAST, min(PART_MOST, hidden // 2))
    return max(least, 2 * hidden // 3) if words else least


def run_spans(key: str, text: str, masked: str) -> list[tuple[int, int, str]]:
    """Where ``text`` holds runs of ``key`` (its case aside) as long as the sandbox masks,
    and each run's mask: ``masked``'s beginning for one that begins the key, its end for one
    that ends it, else ``…``."""
    spelled = key.lower()
    shown = len(masked) - 1 if "…" in masked else 0  # what the mask shows gives nothing away
    least = run_least(len(spelled) - shown, made_of_words(key))
    if least >= len(spelled):
        return []
    beginning, end = masked.split("…", 1)[0] + "…", "…" + masked.rsplit("…", 1)[-1]
    return [(begin, stop, beginning if first == 0 else end if last == len(spelled) else "…")
            for begin, stop, first, last in KeyRuns(spelled, least).find(lowered(text))]


def key_spans(key: str, text: str, masked: str) -> list[tuple[int, int, str]]:
    """Where ``text`` holds ``key`` (its case aside) by the rule the sandbox masks by, each
    place apart from the others and in order, with its mask: the key whole, then runs of it
    as long as half of what its mask hides, then a chain of its shorter pieces."""
    whole = re.compile(re.escape(key.lower()))
    taken: list[tuple[int, int, str]] = []
    for found in ([(m.start(), m.end(), masked) for m in whole.finditer(lowered(text))],
                  run_spans(key, text, masked), chain_spans(key, text, masked)):
        taken = add_apart(taken, found)
    return taken


def add_apart(taken: list[tuple[int, int, str]], found: list[tuple[int, int, str]]
              ) -> list[tuple[int, int, str]]:
    """``taken`` (in order, apart) with each span of ``found`` that overlaps none of them."""
    spans = list(taken)
    for begin, end, masked in found:
        at = bisect.bisect_left(spans, (end,))  # the spans that begin before its end
        if at == 0 or spans[at - 1][1] <= begin:
            spans.insert(at, (begin, end, masked))
    return spans


class KeyRuns:
    """The runs of at least ``least`` consecutive characters of ``spelled`` (one spelling of a
    key), short of the whole key.

    The key is cut into blocks of ``(least + 1) // 2`` characters: any ``least`` consecutive
    characters of it hold one block whole, so a search for the blocks (a few at most: a block
    is at least a quarter of the key) finds every run, and each block found is grown to the
    run it is in by comparing the text with the key on both sides of it."""

    def __init__(self, spelled: str, least: int) -> None:
        self.spelled = spelled
        self.least = least
        self._size = size = max(1, (least + 1) // 2)
        self._blocks: dict[str, list[int]] = {}  # each block, and where it is in the key
        for at in range(0, len(spelled) - size + 1, size):
            self._blocks.setdefault(spelled[at:at + size], []).append(at)

    def find(self, text: str) -> Iterator[tuple[int, int, int, int]]:
        """Each run in ``text``, in order, apart from each other: where it is in the text, and
        which characters of the key it is (``start, end, key_start, key_end``)."""
        upcoming = {block: text.find(block) for block in self._blocks}
        while True:
            found = [(at, block) for block, at in upcoming.items() if at >= 0]
            if not found:
                return
            at, block = min(found)
            run = max((self._grown(text, at, where) for where in self._blocks[block]),
                      key=lambda run: run[1] - run[0])
            if run[1] - run[0] >= self.least:
                yield run
                # What overlaps a run is masked with it: look again after it (a block that
                # is nowhere after ``at`` is not looked for again, which keeps this linear).
                upcoming = {each: text.find(each, run[1]) if 0 <= next_at < run[1] else next_at
                            for each, next_at in upcoming.items()}
            else:
                upcoming[block] = text.find(block, at + 1)

    def _grown(self, text: str, at: int, where: int) -> tuple[int, int, int, int]:
        """The run that the block found at ``at`` in the text (``where`` in the key) is in."""
        end = at + self._size
        before = common_length(text[max(0, at - where):at][::-1], self.spelled[:where][::-1])
        after = common_length(text[end:end + len(self.spelled) - where - self._size],
                               self.spelled[where + self._size:])
        return at - before, end + after, where - before, where + self._size + after
