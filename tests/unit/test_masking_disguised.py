"""A key split by characters that show as nothing (zero-width, soft hyphen, joiners, bidi
marks), by terminal escape sequences, or by an SSE line break, is still masked: raw, and as the
JSON escapes a body re-indented shows them."""

from __future__ import annotations

import json

import pytest

from sandbox.walkthrough.masked_stream import MaskedStream
from sandbox.walkthrough.masking import Masker
from tests.conftest import TOKEN

MASKED = "sk-…c5Ge"
HALF = len(TOKEN) // 2
SPLITS = {
    "zero-width space": "\u200b", "soft hyphen": "\u00ad", "word joiner": "\u2060",
    "byte order mark": "\ufeff", "right-to-left mark": "\u200f", "variation selector": "\ufe0f",
    "SGR reset": "\x1b[0m", "SGR colour": "\x1b[38;5;196m", "OSC title": "\x1b]0;x\x07",
    "two at once": "\u200b\x1b[1m\u200d", "SSE data line": "\ndata: ",
    "CRLF data line": "\r\ndata:",
}


def _leaks(text: str) -> bool:
    return any(TOKEN[i:i + 8] in text.replace("\\u", "") for i in range(3, len(TOKEN) - 7))


@pytest.mark.parametrize("split", list(SPLITS))
def test_a_key_split_by_what_shows_as_nothing_is_masked(split: str) -> None:
    masker = Masker([TOKEN])
    text = f"your key {TOKEN[:HALF]}{SPLITS[split]}{TOKEN[HALF:]} ok"
    assert masker(text) == f"your key {MASKED} ok"
    several = masker(f"{TOKEN[:5]}{SPLITS[split]}{TOKEN[5:HALF]}{SPLITS[split]}{TOKEN[HALF:]}")
    assert several == MASKED


@pytest.mark.parametrize("split", ["\u200b", "\u00ad", "\x1b[0m", "\u202e"])
def test_the_json_escaped_split_is_masked_in_a_reindented_body(split: str) -> None:
    body = json.dumps({"content": TOKEN[:HALF] + split + TOKEN[HALF:]}, indent=2)
    assert "\\u" in body
    shown = Masker([TOKEN])(body)
    assert MASKED in shown and not _leaks(shown), shown


@pytest.mark.parametrize("split", ["\u200b", "\x1b[0m"])
def test_a_disguised_key_split_across_stream_pieces_is_masked(split: str) -> None:
    stream = MaskedStream(Masker([TOKEN]))
    pieces = ["key ", TOKEN[:HALF], split, TOKEN[HALF:HALF + 3], split, TOKEN[HALF + 3:], "!"]
    shown = "".join(stream.feed(piece) for piece in pieces) + stream.end()
    assert shown == f"key {MASKED}!"


def test_plain_text_with_hidden_characters_is_left_alone() -> None:
    masker = Masker([TOKEN])
    text = "sk-test\u200b is a prefix, \x1b[1mbold\x1b[0m and a\u00adword"
    assert masker(text) == text


def test_a_disguised_beginning_of_a_key_at_the_end_is_masked_as_cut() -> None:
    assert Masker([TOKEN]).cut(f"a {TOKEN[:6]}\u200b{TOKEN[6:-1]}") == "a sk-…"


@pytest.mark.parametrize("run", ["\r\n", "\u200b", "\x1b[0m", "\r\ndata:\r"])
def test_long_runs_of_what_may_split_a_key_cost_no_time(run: str) -> None:
    import time

    text = ("s" + run * 200 + "k-x ") * 200
    started = time.process_time()
    assert Masker([TOKEN])(text) == text
    assert time.process_time() - started < 1


def test_an_answer_full_of_echoed_keys_is_masked_in_no_time() -> None:
    import time

    text = f"{TOKEN} {TOKEN[:9]}\u200b{TOKEN[9:]} " * 20000
    started = time.process_time()
    shown = Masker([TOKEN])(text)
    assert shown == f"{MASKED} {MASKED} " * 20000
    assert time.process_time() - started < 2


def _marked(text: str, mark: str) -> str:
    return "".join(char + mark for char in text)


def _tags(text: str) -> str:
    return "".join(chr(0xE0000 + ord(char)) for char in text)


# A key still readable to a person, or decodable in two steps, however each character is dressed.
DRESSED = {
    "an acute accent after each character": _marked(TOKEN, "\u0301"),
    "a ring and a dot below after each": _marked(TOKEN, "\u030a\u0323"),
    "an enclosing circle after each": _marked(TOKEN, "\u20dd"),
    "accented letters written whole": TOKEN.replace("e", "\u00e9").replace("a", "\u00e0"),
    "tag characters (invisible, one per letter)": _tags(TOKEN),
}


@pytest.mark.parametrize("dressed", list(DRESSED))
def test_a_key_dressed_in_marks_or_spelled_in_tags_is_masked(dressed: str) -> None:
    text = f"your key: {DRESSED[dressed]} (ok)"
    shown = Masker([TOKEN])(text)
    bare = "".join(char for char in shown if char.isascii())  # what a reader sees through
    masked, kept = "sk-…" in shown, shown.endswith(" (ok)")
    leaked = _leaks(bare) or _leaks(shown)
    assert masked and kept and not leaked  # booleans: the key never reaches the test's output


@pytest.mark.parametrize("dressed", ["an acute accent after each character",
                                     "tag characters (invisible, one per letter)"])
def test_the_dressed_key_is_masked_in_json_as_escapes_too(dressed: str) -> None:
    body = json.dumps({"content": f"key {DRESSED[dressed]}"})  # \\u0301, \\udb40\\udc73
    shown = Masker([TOKEN])(body)
    masked, leaked = "sk-…" in shown, "\\udb40\\udc" in shown or _leaks(shown)
    assert masked and not leaked


def test_accented_words_and_flag_tags_are_left_alone() -> None:
    text = "caf\u00e9 na\u00efve r\u00e9sum\u00e9 \U0001f3f4" + _tags("gbsct") + "\U000e007f"
    assert Masker([TOKEN])(text) == text
