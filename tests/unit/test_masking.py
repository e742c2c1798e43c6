from __future__ import annotations

import base64
import json
from urllib.parse import quote

import pytest
import yaml

from sandbox.documents import dump
from sandbox.walkthrough.key_mask import mask_key
from sandbox.walkthrough.masking import Masker
from tests.conftest import TOKEN

CORE = "canary-7f3a9c1e55d24b"  # in every odd key below; the masked form never holds it
ODD_KEYS = {
    "zero-width space": f"sk-{CORE}\u200b",
    "tab": f"sk-{CORE}\tX",
    "CR/LF": f"sk-{CORE}\r\nX-Evil: 1",
    "non-ASCII": f"sk-{CORE}-é€",
    "long with spaces": f"sk-{CORE} with some spaces in the middle of it so that yaml folds "
                        "the line at width one hundred chars",
    "quotes and backslash": f"sk-{CORE}'\"\\$(id)`id`",
    "YAML indicator first": f"*sk-{CORE}",
}


def test_mask_key_keeps_prefix_and_last_four() -> None:
    assert mask_key(TOKEN) == "sk-…c5Ge"
    assert mask_key("Bearer " + TOKEN) == "Bearer sk-…c5Ge"
    assert mask_key("abcdefghijklmnop") == "…mnop"
    assert mask_key("") == ""


@pytest.mark.parametrize("key", ["a", "ab", "abc", "abcd", "abcde", "abcdef", "abcdefgh",
                                 "abcdefghi"])
def test_a_short_key_is_never_shown_whole(key: str) -> None:
    masked = mask_key(key)
    assert masked.startswith("…") and key not in masked
    assert len(masked) - 1 <= len(key) // 2


def test_masker_replaces_the_key_and_its_base64_everywhere() -> None:
    masker = Masker([TOKEN])
    encoded = base64.b64encode(TOKEN.encode()).decode()
    text = f"inline: {TOKEN}\ndata: {encoded}\nheader: Bearer {TOKEN}"
    masked = masker(text)
    assert TOKEN not in masked
    assert encoded not in masked
    assert masked.count("sk-…c5Ge") == 3


def test_masker_ignores_tiny_values_that_would_mangle_text() -> None:
    masker = Masker(["", "ab"])
    assert masker("a cab") == "a cab"


def test_a_short_key_is_masked_as_a_whole_word_only() -> None:
    masker = Masker(["abc"])
    assert masker("inline: abc, cabin abcd") == "inline: …, cabin abcd"
    assert masker.values({"inline": "abc", "apiVersion": "abc/v1"}) == {
        "inline": "…", "apiVersion": "…/v1"}


@pytest.mark.parametrize("key", ODD_KEYS.values(), ids=ODD_KEYS.keys())
def test_values_are_masked_before_any_serialisation(key: str) -> None:
    """YAML escapes and folds, JSON and repr escape: masking the values first beats them all."""
    doc = {"spec": {"inline": key, "header": f"Bearer {key}",
                    "data": base64.b64encode(key.encode()).decode()}, key: "as a mapping key"}
    masked = Masker([key]).values(doc)
    for text in (dump(masked), yaml.safe_dump(masked, width=20), json.dumps(masked),
                 json.dumps(masked, ensure_ascii=False), repr(masked), str(masked)):
        assert CORE not in text, text


@pytest.mark.parametrize("key", ODD_KEYS.values(), ids=ODD_KEYS.keys())
def test_text_from_elsewhere_is_masked_in_its_encoded_forms_too(key: str) -> None:
    """Exception text and responses arrive already serialised: each written form is masked."""
    forms = [key, repr(key), repr(key.encode()), json.dumps(key),
             json.dumps(key, ensure_ascii=False), quote(key, safe=""),
             base64.b64encode(key.encode()).decode(),
             base64.b64encode(f"Bearer {key}".encode()).decode()]
    masker = Masker([key])
    for form in forms:
        assert CORE not in masker(f"Illegal header value {form}!"), form


def test_texts_read_one_after_another_are_masked_each_in_its_place() -> None:
    """A scenario's texts, masked in one pass: a key whole in one of them, and a key cut
    between two (its mask in the first, the rest of it gone from the second)."""
    key = "sk-test-Mq4Vx8Nm2Tb6Wc9Lz3Hr7Pk"
    texts = ["path", f"title {key} end", f"ends with {key[:14]}", f"{key[14:]} begins", "",
             "last"]
    shown = Masker([key]).each(texts)
    assert shown == ["path", f"title {mask_key(key)} end", f"ends with {mask_key(key)}",
                     " begins", "", "last"]
    nothing = ["a", "", "b"]
    assert Masker([key]).each(nothing) == nothing and Masker([key]).each([]) == []


def test_a_key_that_begins_at_the_line_between_two_texts_is_shown_masked_in_the_second() -> None:
    key = "sk-test-Mq4Vx8Nm2Tb6Wc9Lz3Hr7Pk"
    shown = Masker([key]).each(["first", f"{key} second"])
    assert shown == ["first", f"{mask_key(key)} second"]
