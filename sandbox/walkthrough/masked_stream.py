"""A streamed answer masked as it arrives: a secret split across pieces is masked as well as one
inside a piece, and only a tail that could still become one is held back."""

from __future__ import annotations

from sandbox.walkthrough.masking import Masker


class MaskedStream:
    """Text that arrives in pieces (a streamed answer), masked over the joined text: a secret
    split across pieces is masked as well as one inside a piece.

    Only a tail that could still become a secret is held back, until the next piece shows it
    does not (or :meth:`end`): everything else goes out at once.
    """

    def __init__(self, masker: Masker) -> None:
        self._masker = masker
        self._before = ""  # the last character let through: a whole-word match looks at it
        self._pending = ""

    def feed(self, piece: str) -> str:
        """What can be shown now that ``piece`` has arrived."""
        self._pending += piece
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
