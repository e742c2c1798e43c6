"""Masking of API keys: the one place that decides how a secret looks on screen."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import quote

# Below this length a key is matched only as a whole word, so masking "abc" leaves "cabin" be.
_SHORT = 8


def mask_key(key: str) -> str:
    """Show a key the way the guide's provider does: its prefix and last four (``sk-…abcd``).

    Short keys show at most two characters and the shortest none, so no key is ever shown whole.
    """
    key = key.strip()
    if key.lower().startswith("bearer "):
        return "Bearer " + mask_key(key[7:])
    if len(key) <= 8:
        return f"…{key[-2:]}" if len(key) >= 6 else ("…" if key else "")
    prefix = key.split("-", 1)[0] + "-" if "-" in key[:6] else ""
    return f"{prefix}…{key[-4:]}"


def secret_pattern(secrets: Iterable[str]) -> re.Pattern[str] | None:
    """One pattern matching any of ``secrets``, longest first; short ones only as whole words."""
    unique = sorted({s for s in secrets if s}, key=len, reverse=True)
    if not unique:
        return None
    parts = [re.escape(s) if len(s) >= _SHORT else rf"(?<![\w-]){re.escape(s)}(?![\w-])"
             for s in unique]
    return re.compile("|".join(parts))


def map_strings(value: Any, change: Callable[[str], str]) -> Any:
    """A copy of a nested value with ``change`` applied to every string, mapping keys included."""
    if isinstance(value, str):
        return change(value)
    if isinstance(value, Mapping):
        return {map_strings(k, change): map_strings(v, change) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [map_strings(v, change) for v in value]
    return value


def written_forms(secret: str) -> dict[str, str]:
    """How a secret looks once something has encoded it: base64, JSON, repr, URL escapes."""
    masked = mask_key(secret)
    forms = {secret: masked}
    for encoded in (base64.b64encode(secret.encode()).decode(),
                    base64.b64encode(f"Bearer {secret}".encode()).decode()):
        forms.setdefault(encoded, f"<base64 of {masked}>")
    for escaped in (json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1],
                    repr(secret)[1:-1], repr(secret.encode())[2:-1], quote(secret, safe="")):
        forms.setdefault(escaped, masked)
    return forms


class Masker:
    """Masks known secrets: in values before they are serialised, and in text from elsewhere."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._replacements: dict[str, str] = {}
        self._pattern: re.Pattern[str] | None = None
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str) -> None:
        secret = secret.strip()
        if not secret or secret in self._replacements:
            return
        for form, masked in written_forms(secret).items():
            self._replacements.setdefault(form, masked)
        self._pattern = secret_pattern(self._replacements)

    def __call__(self, text: str) -> str:
        """``text`` with every secret, and every encoded form of it, replaced by its mask.

        For text the sandbox did not write itself (responses, error messages); what it writes
        itself is masked with :meth:`values` before it is serialised.
        """
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(lambda m: self._replacements[m.group(0)], text)

    def values(self, value: Any) -> Any:
        """A copy of a nested value (a manifest, a payload) with every secret masked in place."""
        return map_strings(value, self)
