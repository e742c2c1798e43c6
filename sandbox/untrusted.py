"""Text from scenario files, providers and clusters, made safe to show: no character of it acts.

A terminal acts on control characters: ``ESC ] 52`` sets the clipboard, ``ESC ] 0`` the window
title, ``ESC ] 8`` hides a link, ``CSI`` (ESC [ or the single byte U+009B) moves the cursor and
clears the screen. Bidirectional controls make text read differently from what it is. Such
characters are *hidden*: scenario files may not hold them (the catalog refuses them on load),
and whatever is shown from elsewhere (a provider's answer, a cluster's condition, a file name)
shows each one as an escape, ``\\u001b``, the same way in the terminal, the app, JSON and
Markdown.
"""

from __future__ import annotations

import re
import unicodedata

# C0 controls except tab and line feed, DEL, C1 controls, and the bidirectional marks,
# embeddings, overrides and isolates (U+061C, U+200E-U+200F, U+202A-U+202E, U+2066-U+2069).
HIDDEN = "\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_HIDDEN = re.compile(f"[{HIDDEN}]")
_HIDDEN_OR_LINE_BREAK = re.compile(f"[{HIDDEN}\t\n]")

# Control characters have no Unicode name: their usual abbreviations.
_C0 = ("NUL", "SOH", "STX", "ETX", "EOT", "ENQ", "ACK", "BEL", "BS", "HT", "LF", "VT", "FF", "CR",
       "SO", "SI", "DLE", "DC1", "DC2", "DC3", "DC4", "NAK", "SYN", "ETB", "CAN", "EM", "SUB",
       "ESC", "FS", "GS", "RS", "US")
_C1 = {0x7f: "DEL", 0x85: "NEL", 0x90: "DCS", 0x9b: "CSI", 0x9c: "ST", 0x9d: "OSC"}


def visible(text: str) -> str:
    """``text`` with each hidden character written as an escape (``\\u001b``).

    Line breaks stay line breaks (a carriage return becomes one) and tabs stay tabs.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _HIDDEN.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


def first_hidden(text: str, one_line: bool = False) -> tuple[int, str] | None:
    """The 1-based position and the first hidden character of ``text``, or None.

    With ``one_line``, a tab or a line break counts as hidden too.
    """
    found = (_HIDDEN_OR_LINE_BREAK if one_line else _HIDDEN).search(text)
    return None if found is None else (found.start() + 1, found.group(0))


def describe(char: str) -> str:
    """A hidden character in words: "the control character U+001B (ESC)"."""
    code = ord(char)
    if char == "\t":
        return "a tab (U+0009)"
    if char == "\n":
        return "a line break (U+000A)"
    if code < 0x20 or 0x7f <= code <= 0x9f:
        name = _C0[code] if code < 0x20 else _C1.get(code)
        return f"the control character U+{code:04X}" + (f" ({name})" if name else "")
    return f"the bidirectional control U+{code:04X} ({unicodedata.name(char, 'unnamed')})"
