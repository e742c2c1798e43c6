"""A key echoed in another encoding or split in another way is still masked: fullwidth forms,
percent-encoding, upper case, a space, a JSON-escaped line break, SSE comment lines, and a half
of it alone (as a header holds it). Only the key's own span is replaced: the text around it is
left exactly as it came."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import unicodedata
from collections.abc import Callable
from urllib.parse import unquote

import pytest

from sandbox.walkthrough.key_mask import mask_key
from sandbox.walkthrough.masked_stream import MaskedStream
from sandbox.walkthrough.masking import Masker

KEYS = {
    "sk-test": "sk-test-Rv4Mz8Qk2Lw6Xn9Tb3Hc7Jd1Pf5Gs0Ya",
    "sk-ant": "sk-ant-api03-Wq5Ne9Ub2Yk7Lc4Xm8Zr1",
    "metacharacters": "sk-mt+a.b*c?d(e)f[g]h{i}j|k^l$m\\o7Q2w9E4x",
}


def fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def percent(text: str) -> str:
    return "".join(f"%{ord(c):02X}" for c in text)


def half(key: str) -> int:
    return len(key) // 2


DISGUISES: dict[str, Callable[[str], str]] = {
    "fullwidth": fullwidth,
    "percent-encoded": percent,
    "percent-encoded, lower-case hex": lambda key: percent(key).lower(),
    "upper case": str.upper,
    "mixed case": lambda key: "".join(c.upper() if i % 3 else c for i, c in enumerate(key)),
    "a space": lambda key: key[:half(key)] + " " + key[half(key):],
    "a no-break space": lambda key: key[:half(key)] + "\u00a0" + key[half(key):],
    "spaces between all": " ".join,
    "JSON-escaped line break": lambda key: key[:15] + "\\n" + key[15:],
    "JSON-escaped CRLF": lambda key: key[:15] + "\\r\\n" + key[15:],
    "JSON escapes": lambda key: "".join(f"\\u{ord(c):04x}" for c in key),
    "SSE comment lines": lambda key: key[:12] + "\n: " + key[12:],
    "SSE comment lines, no space": lambda key: key[:12] + "\r\n:" + key[12:],
    "fullwidth, upper case, split": lambda key: fullwidth(key.upper()[:9]) + " " + key[9:],
}


def readable(text: str, key: str) -> bool:
    """Whether some 8 characters of the key (after its first three) can be read in ``text``
    once it is decoded the ways the tests disguise it: this test's own reading, not the
    masker's."""
    plain = re.sub(r"\\u([0-9a-f]{4})", lambda m: chr(int(m.group(1), 16)), text)
    plain = unicodedata.normalize("NFKC", unquote(plain)).lower()
    for noise in ("\\r", "\\n", "\r", "\n", ": ", ":", " "):
        plain = plain.replace(noise, "")
    key = key.lower()
    return any(key[i:i + 8] in plain for i in range(3, len(key) - 7))


@pytest.mark.parametrize("disguise", list(DISGUISES))
@pytest.mark.parametrize("shape", list(KEYS))
def test_a_disguised_key_is_masked_and_the_text_around_it_kept(shape: str,
                                                              disguise: str) -> None:
    key = KEYS[shape]
    shown = DISGUISES[disguise](key)
    assert readable(shown, key)  # the disguise does show the key
    text = f"Ｈé said: «{shown}» (100%25 sure)\\n"
    assert Masker([key])(text) == f"Ｈé said: «{mask_key(key)}» (100%25 sure)\\n"


@pytest.mark.parametrize("shape", list(KEYS))
def test_a_half_of_a_key_alone_is_masked(shape: str) -> None:
    """As two headers hold a key, one half each: the beginning shows as ``sk-…``, the end as
    ``…`` and the last four the mask shows anyway."""
    key = KEYS[shape]
    masker = Masker([key])
    beginning, end = key[:half(key)], key[half(key):]
    assert masker(beginning) == "sk-…"
    assert masker(end) == "…" + key[-4:]
    assert masker(f"x-half: {fullwidth(end.upper())};") == f"x-half: …{key[-4:]};"
    short = key[-11:]  # less than 12 characters: not enough of the key to matter
    assert masker(short) == short


ESCAPE_KEY = "sk-pc-Lr6%41Vz3\\nQm8Tb2Kx5%2FWc9"  # holds what folding decodes


@pytest.mark.parametrize("disguise", ["fullwidth", "percent-encoded", "upper case", "a space",
                                      "JSON escapes", "SSE comment lines"])
def test_a_key_holding_escapes_is_masked_decoded_or_not(disguise: str) -> None:
    masker = Masker([ESCAPE_KEY])
    for key in (ESCAPE_KEY, ESCAPE_KEY.replace("%41", "A").replace("%2F", "/")):
        text = f"[{DISGUISES[disguise](key)}]"
        assert masker(text) == f"[{mask_key(ESCAPE_KEY)}]", key
    assert masker(json.dumps(ESCAPE_KEY)) == f'"{mask_key(ESCAPE_KEY)}"'


def test_the_json_escaped_line_break_in_a_reindented_body_is_masked() -> None:
    """A22: the content holds the key split by a line break; the body shown is the JSON."""
    key = KEYS["sk-test"]
    content = "x " + key[:15] + "\n" + key[15:]
    body = json.dumps({"choices": [{"message": {"content": content}}]}, indent=2)
    masker = Masker([key])
    assert masker(content) == "x " + mask_key(key)
    assert masker(body) == body.replace(json.dumps(content)[1:-1], "x " + mask_key(key))


def test_a_key_in_two_sse_comment_lines_is_masked_in_the_body() -> None:
    """A16: ``: `` + the first 12 characters, then ``: `` + the rest, each on its own line."""
    key = KEYS["sk-ant"]
    body = f": {key[:12]}\n: {key[12:]}\ndata: {{}}\n\n"
    assert Masker([key]).cut(body) == f": {mask_key(key)}\ndata: {{}}\n\n"


def test_encoded_text_that_is_not_the_key_is_left_alone() -> None:
    key = KEYS["sk-test"]
    text = ("%73%6B%2D%74%65%73%74 is sk-test, ＳＫ－ＴＥＳＴ too, SK TEST, "
            f"{key[:6]} {key[6:11]} and \\u0073k-rv4 and {key[:8].upper()}\\n")
    assert Masker([key])(text) == text


@pytest.mark.parametrize("disguise", ["fullwidth", "percent-encoded", "upper case", "a space"])
def test_a_disguised_key_split_across_stream_pieces_is_masked(disguise: str) -> None:
    key = KEYS["metacharacters"]
    shown = DISGUISES[disguise](key)
    stream = MaskedStream(Masker([key]))
    pieces = ["key: ", *(shown[i:i + 5] for i in range(0, len(shown), 5)), " !"]
    assert "".join(stream.feed(piece) for piece in pieces) + stream.end() == \
        f"key: {mask_key(key)} !"


@pytest.mark.parametrize("disguise", ["fullwidth", "percent-encoded", "upper case"])
def test_a_disguised_key_a_stream_breaks_off_in_is_masked_as_cut(disguise: str) -> None:
    key = KEYS["sk-test"]
    shown = DISGUISES[disguise](key[:-3])
    assert Masker([key]).cut("a " + shown) == "a sk-…"


def test_a_mebibyte_of_text_full_of_disguises_is_masked_in_linear_time() -> None:
    key = KEYS["sk-test"]
    unit = (f"ｆｕｌｌ {fullwidth(key)} %41%42 {percent(key)} {key.upper()} \\n "
            f"{key[:20]} {key[20:]} é ü 中文 ")
    masked = mask_key(key)
    masked_unit = f"ｆｕｌｌ {masked} %41%42 {masked} {masked} \\n {masked} é ü 中文 "
    small, large = unit * 2000, unit * 8000
    masker = Masker([key])
    took = []
    for text in (small, large):
        started = time.process_time()
        shown = masker(text)
        took.append(time.process_time() - started)
        assert shown == masked_unit * (len(text) // len(unit))
    assert len(large) > 1 << 20
    assert took[1] < 3 and took[1] < 8 * took[0] + 0.2, took


def test_a_key_too_short_to_have_parts_of_twelve_is_masked_only_whole() -> None:
    masker = Masker(["kq7vz2wx9m"])  # ten characters: its parts show too little to matter
    assert masker("kq7vz2wx9 and q7vz2wx9m") == "kq7vz2wx9 and q7vz2wx9m"
    assert masker("KQ7VZ2 WX9M") == "…wx9m"


def test_a_long_key_is_found_and_masked_in_time_linear_in_its_length() -> None:
    """V3: a pasted token of tens of kilobytes (a JWT, a whole file) must not make masking
    build a pattern the size of the key squared: run in a child, bounded, so a regression
    fails here instead of hanging the suite."""
    code = (
        "import random, string, time\n"
        "from sandbox.walkthrough.masking import Masker\n"
        "random.seed(7)\n"
        "took = []\n"
        "for size in (2_000, 40_000):\n"
        "    key = 'sk-test-' + ''.join(random.choices(string.ascii_letters, k=size))\n"
        "    text = 'a ' + key[:size // 2] + ' ' + key[size // 2:] + ' b ' + key.upper()\n"
        "    started = time.process_time()\n"
        "    shown = Masker([key])(text)\n"
        "    took.append(time.process_time() - started)\n"
        "    assert shown == 'a sk-…' + key[-4:] + ' b sk-…' + key[-4:], shown[:80]\n"
        "print(took[1] < 2 and took[1] < 40 * took[0] + 0.5, took)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("True"), result.stdout


def test_a_key_cut_into_json_tokens_shorter_than_its_parts_is_masked() -> None:
    """V4: ``logprobs`` tokens, a tool call's arguments over three events, content deltas of
    three characters: pieces too short to be a part of the key, whole once joined."""
    key = KEYS["sk-test"]
    masker = Masker([key])
    tokens = json.dumps({"choices": [{"logprobs": {"content": [
        {"token": key[at:at + 9], "logprob": -0.1} for at in range(0, len(key), 9)]}}]})
    events = "".join(
        "data: " + json.dumps({"choices": [{"delta": {"tool_calls": [{"function": {
            "arguments": piece}}]}}]}) + "\n\n"
        for piece in ('{"k": "' + key[:10], *(key[at:at + 9] for at in range(10, len(key), 9)),
                      '"}'))
    deltas = "".join("data: " + json.dumps({"choices": [{"delta": {"content": key[i:i + 3]}}],
                                            "model": "gpt-4o"}) + "\n\n"
                     for i in range(0, len(key), 3))
    for body in (tokens, events, deltas):
        shown = masker(body)
        assert mask_key(key) in shown, shown
        assert key[:9] not in shown and key[9:18] not in shown and key[-9:] not in shown
        assert not readable(shown, key)
        for line in filter(str.strip, shown.splitlines()):  # still JSON, other values kept
            json.loads(line.removeprefix("data: "))
    assert masker(deltas).count('"model": "gpt-4o"') == deltas.count('"model": "gpt-4o"')


def test_values_under_other_names_are_left_as_they_are_unless_they_spell_a_key() -> None:
    """Joining is per name, and text that holds no key keeps every value; a key's pieces
    under different names, one after another as the key has them, are a key cut into pieces
    all the same (AD4): each shows a mask."""
    key = KEYS["sk-test"]
    masker = Masker([key])
    plain = json.dumps({"a": "sk-", "b": "test", "c": ["-x", key[8:13], key[20:24]]})
    assert masker(plain) == plain
    pieces = {f"n{at}": key[at:at + 8] for at in range(0, len(key), 8)}
    shown = json.loads(masker(json.dumps({**pieces, "z": ["sk-", "test", "-x"]})))
    assert shown["z"] == ["sk-", "test", "-x"]
    assert not [piece for piece in pieces.values() if len(piece) >= 3 and piece in
                shown.values()], shown
    assert all(shown[name] for name in pieces if len(pieces[name]) >= 3), shown


def test_a_key_echoed_as_a_lower_cased_header_name_is_masked() -> None:
    """V5: the gateway gives header names in lower case."""
    key = KEYS["sk-test"]
    assert Masker([key])(f"x-{key.lower()}: v") == f"x-{mask_key(key)}: v"


def test_a_key_in_logprobs_tokens_beside_their_top_logprobs_is_masked() -> None:
    """W1: OpenAI's layout, each token again in its ``top_logprobs``: joined by name alone the
    tokens interleave (``sk-tsk-test-est-``); joined by place, each list reads the key."""
    key = KEYS["sk-test"]
    pieces = [key[at:at + 4] for at in range(0, len(key), 4)]
    body = json.dumps({"choices": [{"index": 0, "logprobs": {"content": [
        {"token": piece, "logprob": -0.1, "bytes": list(piece.encode()),
         "top_logprobs": [{"token": piece, "logprob": -0.1}, {"token": "x", "logprob": -9}]}
        for piece in pieces]}}]})
    shown = Masker([key])(body)
    assert not readable(shown, key), shown
    left = [piece for piece in pieces[1:-1] if f'"token": "{piece}"' in shown]
    assert left == [], shown  # read in order, the tokens would spell the key
    assert mask_key(key) in shown and '"token": "x"' in shown
    json.loads(shown)
