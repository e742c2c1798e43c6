from __future__ import annotations

import base64

from sandbox.masking import Masker, mask_key
from tests.conftest import TOKEN


def test_mask_key_keeps_prefix_and_last_four() -> None:
    assert mask_key(TOKEN) == "sk-…c5Ge"
    assert mask_key("Bearer " + TOKEN) == "Bearer sk-…c5Ge"
    assert mask_key("abcdefghijklmnop") == "…mnop"
    assert mask_key("short") == "…rt"
    assert mask_key("") == ""


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
