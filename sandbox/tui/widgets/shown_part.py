"""The beginning of a long text that a pane lays out, and a note on what it left out.

An answer under the 1 MiB cap may still hold 300 000 short lines; laying them all out holds the
app's event loop for most of a minute (and hundreds of MB). A pane keeps the first
:data:`SHOWN_LINES` lines or :data:`SHOWN_CHARS` characters, whichever comes first, and says so.
"""

from __future__ import annotations

from sandbox.reports.transcript import BODY_LIMIT

# Measured in the app at 120 columns, a 200 000-line answer: with these bounds it is on screen
# 0.6 s after it is asked for and F1 is answered a second later; laying out every line, F1 waited
# 35 s (10 s for 50 000 lines). 64 KiB on one line wraps to about 1 200 lines in a pane.
SHOWN_CHARS, SHOWN_LINES = 65536, 2000


class ShownPart:
    """The beginning of a text given whole or piece by piece (a stream), at most
    ``SHOWN_LINES`` lines and ``SHOWN_CHARS`` characters, and how long the whole is."""

    def __init__(self, what: str, text: str = "", where: str = "") -> None:
        self.what = what  # "the answer", "the request body": for the note
        self.where = where or (f"`agw-sandbox run --json` has all of it, a transcript (w) "
                               f"its first {BODY_LIMIT} characters")
        self.kept = ""
        self.chars = self.breaks = 0  # in the whole text so far
        self._kept_breaks = 0
        self._ends_with_break = False
        self.cut = False
        self.add(text)

    def add(self, text: str) -> None:
        """Take the next piece: kept as far as there is room, counted in any case."""
        if not text:
            return
        self.chars += len(text)
        self.breaks += text.count("\n")
        self._ends_with_break = text.endswith("\n")
        if self.cut:
            return
        piece = text[:SHOWN_CHARS - len(self.kept)]
        end = _nth_break(piece, SHOWN_LINES - self._kept_breaks)
        if end >= 0:
            piece = piece[:end]
        self.cut = len(piece) < len(text)
        self.kept += piece
        self._kept_breaks += piece.count("\n")

    @property
    def lines(self) -> int:
        """Lines in the whole text (a last line break ends a line, it begins none)."""
        return self.breaks + (0 if self._ends_with_break or not self.chars else 1)

    def note(self, complete: bool = True) -> str:
        """What was left out and where the whole is, in words ("" when nothing was)."""
        if not self.cut:
            return ""
        by_lines = self._kept_breaks >= SHOWN_LINES - 1 and len(self.kept) < SHOWN_CHARS
        shown, total = ((f"{SHOWN_LINES} lines", self.lines) if by_lines else
                        (f"{SHOWN_CHARS} characters", self.chars))
        how_many = f"{total} in all" if complete else f"{total} so far"
        return f"only the first {shown} of {self.what} are shown here ({how_many}); {self.where}"


def shown_text(what: str, text: str) -> str:
    """Scenario text (an explain, a summary, a manifest) as a pane lays it out: its beginning,
    then a line that says what was left out (`run` prints scenario text whole)."""
    part = ShownPart(what, text, where="`agw-sandbox run -v` shows all of it")
    return part.kept + (f"\n… {part.note()}" if part.cut else "")


def _nth_break(text: str, count: int) -> int:
    """Where the ``count``-th line break of ``text`` is (-1 when it has fewer)."""
    end = -1
    for _ in range(max(count, 0)):
        end = text.find("\n", end + 1)
        if end < 0:
            return -1
    return end if count > 0 else 0
