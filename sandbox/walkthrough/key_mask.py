"""How a key is shown: its prefix and last four, on its own so the app's first screen can show
one without loading the masker (its patterns take milliseconds to build)."""

from __future__ import annotations


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
