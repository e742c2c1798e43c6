"""The API server's words, up to Go's random map order: whether the sim said what it says."""

from __future__ import annotations

import re

# Go ranges over a map in random order, so where kube-openapi, ObjectMeta's checks or
# structured-merge-diff walk a map, the same request may list its errors in another order.
_ITEM = re.compile(r", (?=(?:<nil>|[A-Za-z][\w-]*(?:[.\[][^\s:,]*)?): )")
_INVALID = re.compile(r'^(?P<head>.*? is invalid: )\[(?P<items>.*)\]$', re.S)
_TYPED = "failed to create typed patch object"


def same_words(real: str | None, sim: str | None) -> bool:
    """Whether ``sim`` is one of the texts the API server gives when it said ``real``."""
    if real is None or sim is None:
        return real == sim
    if real == sim:
        return True
    return _normal(real) == _normal(sim)


def _normal(text: str) -> tuple[str, tuple[str, ...]]:
    found = _INVALID.match(text)
    if found:
        return found["head"], tuple(sorted(_ITEM.split(found["items"])))
    head, sep, listed = text.partition(": errors:\n  ")
    if text.startswith(_TYPED) and sep:
        return head, tuple(sorted(listed.split("\n  ")))
    return text, ()
