"""A streamed answer is masked over the joined text: a key split across pieces never shows, and
nothing but a possible key's beginning waits for the next piece."""

from __future__ import annotations

import base64

import pytest

from sandbox.walkthrough.masked_stream import MaskedStream
from sandbox.walkthrough.masking import Masker
from tests.conftest import OTHER_TOKEN, TOKEN

ENCODED = base64.b64encode(TOKEN.encode()).decode()
TEXT = f"your key is {TOKEN} bye; as base64 {ENCODED}; {OTHER_TOKEN[:20]}…"


def no_fragment(shown: str, key: str = TOKEN) -> bool:
    """No 8 characters of the key in a row (its mask shows four) beyond the prefix every test
    key shares."""
    return not any(key[i:i + 8] in shown for i in range(1, len(key) - 7))


def test_every_split_in_three_shows_the_masked_joined_text_and_never_the_key() -> None:
    masker = Masker([TOKEN])
    for first in range(0, len(TEXT), 3):
        for second in range(first, len(TEXT), 2):
            stream = MaskedStream(masker)
            shown = ""
            for piece in (TEXT[:first], TEXT[first:second], TEXT[second:]):
                shown += stream.feed(piece)
                assert no_fragment(shown), (first, second, shown)
            shown += stream.end()
            assert shown == masker(TEXT), (first, second)


def test_one_character_per_piece_is_masked_too() -> None:
    masker = Masker([TOKEN])
    stream = MaskedStream(masker)
    shown = "".join(stream.feed(char) for char in TEXT) + stream.end()
    assert shown == masker(TEXT) and "sk-…c5Ge" in shown and "<base64 of sk-…c5Ge>" in shown


def test_only_what_could_still_become_a_key_waits_for_the_next_piece() -> None:
    stream = MaskedStream(Masker([TOKEN]))
    assert stream.feed("hello ") == "hello "
    assert stream.feed("the s") == "the "  # "s" may begin "sk-test-…"
    assert stream.feed("ky is blue") == "sky is blue"
    assert stream.feed(" sk-test-Zq") == " "
    assert stream.feed(TOKEN[10:] + " ok") == "sk-…c5Ge ok"
    assert stream.end() == ""


@pytest.mark.parametrize("left", [4, 12, len(TOKEN) - 1])
def test_a_stream_that_stops_inside_a_key_shows_only_its_mask(left: int) -> None:
    stream = MaskedStream(Masker([TOKEN]))
    shown = stream.feed("key: " + TOKEN[:left]) + stream.end()
    assert shown == "key: sk-…" and no_fragment(shown)


def test_a_short_secret_is_masked_only_as_a_word_of_its_own_across_pieces() -> None:
    masker = Masker(["abc123"])
    stream = MaskedStream(masker)
    shown = "".join(stream.feed(p) for p in ("x abc", "123 y ", "abc", "1234 z ab", "c123")) \
        + stream.end()
    assert shown == masker("x abc123 y abc1234 z abc123") == "x …23 y abc1234 z …23"


def test_without_secrets_everything_goes_out_at_once() -> None:
    stream = MaskedStream(Masker())
    assert stream.feed("sk-test-") == "sk-test-" and stream.end() == ""


def test_cut_masks_the_beginning_of_a_key_left_at_the_end() -> None:
    masker = Masker([TOKEN])
    assert masker.cut(f"a {TOKEN} b {TOKEN[:20]}") == "a sk-…c5Ge b sk-…"
    assert masker.cut("ends with sk-") == "ends with sk-"  # the prefix every key shares
    assert masker.cut(f"x {ENCODED[:10]}") == "x <base64 of sk-…"
