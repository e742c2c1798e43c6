"""A streamed answer masked as it arrives: a secret split across pieces is masked as well as one
inside a piece, and only a tail that could still become one is held back."""

from __future__ import annotations

from sandbox.walkthrough.masking import Masker

# Once a long tail is held back (a run or a chain of a key's pieces may be going on), it is
# looked at again only when this many more characters have come (or at the end): a stream of
# pieces that each may begin a key (`sk-tes ` 10 000 times) would otherwise have its held tail
# searched again for every piece, keeping the app busy throughout. A short one (`s`, which may
# begin `sk-`) is looked at again with the next piece: the text after it shows at once.
LONG_HELD = 16
LOOK_AGAIN_AFTER = 64


class MaskedStream:
    """Text that arrives in pieces (a streamed answer), masked over the joined text: a secret
    split across pieces is masked as well as one inside a piece.

    Only a tail that could still become a secret is held back, until the next piece shows it
    does not (a long one: until ``LOOK_AGAIN_AFTER`` more characters have come), or
    :meth:`end`: everything else goes out at once.
    """

    def __init__(self, masker: Masker) -> None:
        self._masker = masker
        self._before = ""  # the last character let through: a whole-word match looks at it
        self._pending = ""
        self._unseen = 0  # characters come since the held tail was last looked at

    def feed(self, piece: str) -> str:
        """What can be shown now that ``piece`` has arrived."""
        self._pending += piece
        self._unseen += len(piece)
        if len(self._pending) - self._unseen >= LONG_HELD and self._unseen < LOOK_AGAIN_AFTER:
            return ""
        self._unseen = 0
        text, start = self._before + self._pending, len(self._before)
        shown, end = self._masker.masked_until(text, start,
                                               self._masker.undecided_from(text, start))
        if end > start:
            self._before = text[end - 1]
        self._pending = text[end:]
        return shown

    def end(self) -> str:
        """The rest, at the end of the stream (the beginning of a secret left there is masked)."""
        text, start = self._before + self._pending, len(self._before)
        self._before = self._pending = ""
        shown, end = self._masker.masked_until(text, start,
                                               self._masker.undecided_from(text, start))
        return shown + self._masker.cut(text[end:])
