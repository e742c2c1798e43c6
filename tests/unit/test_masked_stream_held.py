"""A stream of pieces that each may begin a key (`sk-tes ` ten thousand times) costs the masker
about what plain text does: a held tail is not searched again for every piece that comes."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.walkthrough.masked_stream import MaskedStream
from sandbox.walkthrough.masking import Masker
from tests.conftest import TOKEN

CANARY = "sk-test-canaryQ7z9X4m2W8p5R1v6"


def searched(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The length of every text the masker looks at to decide what a stream holds back."""
    seen: list[int] = []
    undecided_from = Masker.undecided_from

    def counting(masker: Masker, text: str, *args: Any, **kwargs: Any) -> int:
        seen.append(len(text))
        return undecided_from(masker, text, *args, **kwargs)

    monkeypatch.setattr(Masker, "undecided_from", counting)
    return seen


@pytest.mark.parametrize("piece", ["sk-tes ", "sk-", "sk-test-ca ", CANARY[:6] + " z "])
def test_held_beginnings_cost_about_what_their_characters_do(
        monkeypatch: pytest.MonkeyPatch, piece: str) -> None:
    stream = MaskedStream(Masker([CANARY]))
    seen = searched(monkeypatch)
    pieces = 5000
    shown = "".join(stream.feed(piece) for _ in range(pieces)) + stream.end()
    looked_at = sum(seen)
    # Each character looked at a couple of times at most, not the held tail for every piece.
    assert looked_at <= 2 * pieces * len(piece), (looked_at, pieces * len(piece))
    assert len(seen) <= pieces // 4, len(seen)
    assert shown.startswith(piece) and shown.count(piece.strip()) >= pieces - 1


@pytest.mark.parametrize("key", [CANARY, TOKEN])
@pytest.mark.parametrize("split", [3, 5, 7])
def test_a_key_after_many_held_beginnings_is_masked(key: str, split: int) -> None:
    """The key comes in pieces after a long run of held beginnings, and once more whole:
    masked both times, the text around it shown."""
    stream = MaskedStream(Masker([key]))
    pieces = ["sk-tes "] * 300 + [key[i:i + split] for i in range(0, len(key), split)]
    pieces += [" then ", key, " end"]
    shown = "".join(stream.feed(piece) for piece in pieces) + stream.end()
    assert not any(key[i:i + 8] in shown for i in range(3, len(key) - 7))
    assert shown.startswith("sk-tes " * 300) and shown.endswith(" end")
    assert shown.count(" then ") == 1
