"""Masking of API keys: the one place that decides how a secret looks on screen."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable

_MIN_SECRET = 4


def mask_key(key: str) -> str:
    """Show a key the way the guide's provider does: its prefix and last four (``sk-…abcd``)."""
    key = key.strip()
    if key.lower().startswith("bearer "):
        return "Bearer " + mask_key(key[7:])
    if len(key) <= 8:
        return f"…{key[-2:]}" if key else ""
    prefix = key.split("-", 1)[0] + "-" if "-" in key[:6] else ""
    return f"{prefix}…{key[-4:]}"


class Masker:
    """Replaces every known secret (and its base64 form) in text with its masked form."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._replacements: dict[str, str] = {}
        self._pattern: re.Pattern[str] | None = None
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str) -> None:
        secret = secret.strip()
        if len(secret) < _MIN_SECRET or secret in self._replacements:
            return
        masked = mask_key(secret)
        self._replacements[secret] = masked
        encoded = base64.b64encode(secret.encode()).decode()
        self._replacements[encoded] = f"<base64 of {masked}>"
        longest_first = sorted(self._replacements, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(s) for s in longest_first))

    def __call__(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(lambda m: self._replacements[m.group(0)], text)
