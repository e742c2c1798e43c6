"""AB7: a key spelled out a character at a time, whatever stands between its characters (one
separator again and again, an alternating pattern, quotes around each character, its own dashes
dropped), reads as the key and is masked; ordinary text with the same punctuation is not."""

from __future__ import annotations

import pytest

from sandbox.walkthrough.masked_stream import MaskedStream
from sandbox.walkthrough.masking import Masker
from tests.conftest import TOKEN

MASKED = "sk-…c5Ge"
BARE = TOKEN.replace("-", "")


def _alternating(text: str, separators: tuple[str, ...]) -> str:
    return "".join(char + separators[at % len(separators)] for at, char in enumerate(text))[
        :-len(separators[(len(text) - 1) % len(separators)])]


def _leaks(text: str) -> bool:
    squeezed = "".join(char for char in text if char.isalnum()).lower()
    return any(BARE[at:at + 8].lower() in squeezed for at in range(2, len(BARE) - 7))


SPELLED = {
    "slashes": "/".join(TOKEN),
    "middle dots": "\u00b7".join(TOKEN),
    "stars": "*".join(TOKEN),
    "quoted, one by one": " ".join(f"'{char}'" for char in TOKEN),
    "a JSON list of its characters": "[" + ", ".join(f'"{char}"' for char in TOKEN) + "]",
    "alternating dots and dashes": _alternating(TOKEN, (".", "--.", "-")),
    "colons and tildes": _alternating(TOKEN, (":", "~", "::")),
    "its dashes dropped, dashed": "-".join(BARE.upper()),
    "its dashes dropped, spaced": " ".join(BARE),
    "its dashes dropped, plus signs": "+".join(BARE),
}


@pytest.mark.parametrize("spelled", list(SPELLED))
def test_a_key_spelled_out_with_any_separator_is_masked(spelled: str) -> None:
    shown = Masker([TOKEN])(f"your key: {SPELLED[spelled]} (ok)")
    masked, kept = "sk-…" in shown, shown.startswith("your key: ") and shown.endswith(" (ok)")
    assert masked and kept and not _leaks(shown)  # booleans: the key never reaches the output


@pytest.mark.parametrize("spelled", ["slashes", "alternating dots and dashes",
                                     "its dashes dropped, dashed"])
def test_fourteen_characters_of_a_spelled_out_key_are_masked(spelled: str) -> None:
    piece = SPELLED[spelled][:len(SPELLED[spelled]) * 2 // 3]
    shown = Masker([TOKEN])(f"half: {piece} end")
    masked = not _leaks(shown) and shown.endswith(" end") and "…" in shown
    assert masked


def test_a_spelled_out_key_is_masked_with_the_text_after_it_kept() -> None:
    shown = Masker([TOKEN])("token " + "/".join(TOKEN) + "/ is wrong; ask for another")
    masked = shown.startswith("token sk-…") and not _leaks(shown)
    assert masked and shown.endswith(" is wrong; ask for another")


def test_a_slashed_key_in_a_stream_is_masked_as_it_arrives() -> None:
    stream = MaskedStream(Masker([TOKEN]))
    slashed = "key " + "/".join(TOKEN) + " end"
    shown = "".join(stream.feed(slashed[at:at + 5]) for at in range(0, len(slashed), 5))
    shown += stream.end()
    masked = "sk-…" in shown and not _leaks(shown) and shown.endswith(" end")
    assert masked


ORDINARY = [
    "a-b-c d.e.f g_h_i 1/2/3 x|y|z",
    "/usr/local/lib/python3.11/site-packages/a/b/c/d/e/f/g/h",
    "| a | b | c | d |\n|---|---|---|---|\n| 1 | 2 | 3 | 4 |\n| k | s | t | e |",
    "* * *\n- a: 1\n- b: 2\n- c: [x, y, z]\n  d: 'e'\n  f: \"g\"",
    "s-k-i-p t.e.s.t c/a/n/a/r/y 2026-12-05 10.0.0.1 v1.4.0 a/b/c/d/e/f/g/h/i/j/k/l/m",
    "Z q 8 r T f W 3",  # eight characters of the key, spaced: too few to give it away
]


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_text_with_the_same_punctuation_is_left_alone(text: str) -> None:
    assert Masker([TOKEN])(text) == text
