"""Where text holds a run of a key's characters long enough to give much of it away: its
beginning, its end or any stretch of its middle, found in time linear in the text (a few
searches made in C), whatever the length of the key."""

from __future__ import annotations

from collections.abc import Iterator

from sandbox.mock.key_chains import common_length


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
