"""Text from scenario files, providers and clusters, made safe to show: no character of it acts.

A terminal acts on control characters: ``ESC ] 52`` sets the clipboard, ``ESC ] 0`` the window
title, ``ESC ] 8`` hides a link, ``CSI`` (ESC [ or the single byte U+009B) moves the cursor and
clears the screen. Bidirectional controls make text read differently from what it is. A lone
surrogate (``"\\ud800"`` in YAML or JSON) is text that no UTF-8 file, pipe or browser can carry.
The line and paragraph separators break a line for some programs and not for others. Format
characters have no glyph: zero-width spaces and joiners, the byte-order mark, the soft hyphen,
and the tag characters that spell out whole sentences nobody sees. A run of variation selectors
does the same behind one visible character. Such characters are *hidden*: scenario files may
not hold them (the catalog refuses them on load), and whatever is shown from elsewhere (a
provider's answer, a cluster's condition, a file name) shows each one as an escape,
``\\u001b``, the same way in the terminal, the app, JSON and Markdown.

The rest of Unicode's default-ignorable characters are hidden too (the Hangul fillers behind
"invisible" user names, the grapheme joiner), and so are the braille blank, a look-alike of a
space, the two other characters drawn as nothing that "invisible" names use (the Khitan small
script filler, a zero-width mark, and the musical null notehead) and private-use characters,
which have no agreed glyph.

What shows is kept: a zero-width joiner inside an emoji sequence (👩‍💻) or between letters
that join (Devanagari, Persian, which also use the non-joiner), a variation selector right
after the character it varies (❤️; the emoji ones, VS15 and VS16, only after a character with
an emoji form, as a joiner joins only emoji; the ideographic ones, VS17-VS256, only after a CJK
ideograph; VS1-VS14 only after a symbol, punctuation, a digit, an ideograph or a letter of the
few scripts Unicode gives such variants, never after a Latin letter), and the tag characters of
the three flags;
likewise a Hangul filler inside a syllable of conjoining jamo, a grapheme joiner between two
combining marks, a braille blank between braille letters, the Khitan filler after a Khitan
character, a null notehead beside musical symbols.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator


class _Lazy:
    """A pattern compiled on first use: only ``_HIDDEN`` is needed before the app's first paint,
    and each of these large classes takes a fraction of a millisecond to compile."""

    def __init__(self, pattern: str) -> None:
        self._source = pattern
        self._compiled: re.Pattern[str] | None = None

    def _get(self) -> re.Pattern[str]:
        if self._compiled is None:
            self._compiled = re.compile(self._source)
        return self._compiled

    def fullmatch(self, text: str) -> re.Match[str] | None:
        return self._get().fullmatch(text)

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        return self._get().finditer(text)


_CONTROLS = "\x00-\x08\x0b-\x1f\x7f-\x9f"  # C0 but tab and line feed, DEL, C1
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_SURROGATES = "\ud800-\udfff"
_SEPARATORS = "\u2028\u2029"
# Unicode's format characters (category Cf) other than the bidirectional ones.
_FORMAT = ("\u00ad\u0600-\u0605\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200d\u2060-\u2064"
           "\u206a-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f"
           "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f")
# The rest of Unicode's Default_Ignorable_Code_Point: fillers that show as a blank of their own
# (the "invisible" user names), a grapheme joiner, Khmer's silent vowels, and the code points
# kept unassigned for more of them; with the braille blank, a look-alike of a space.
_IGNORABLE = ("\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180d\u180f\u2065\u2800\u3164\uffa0"
              "\ufff0-\ufff8"
              "\U000e0000\U000e0002-\U000e001f\U000e0080-\U000e00ff\U000e01f0-\U000e0fff")
# Not Default_Ignorable, yet drawn as nothing: the Khitan small script filler (a mark that ends a
# cluster of one character on its first line; zero width) and the musical null notehead (a blank
# placeholder). With the Hangul fillers, the other "FILLER"s of Unicode are gap fillers with ink.
_BLANKS = "\U00016fe4\U0001d159"
# Private use: no agreed meaning or glyph; each font shows something else, or nothing.
_PRIVATE_USE = "\ue000-\uf8ff\U000f0000-\U000ffffd\U00100000-\U0010fffd"
_SELECTORS = "\ufe00-\ufe0f\U000e0100-\U000e01ef"
_MONGOLIAN_SELECTORS = "\u180b\u180c\u180d\u180f"  # vary the Mongolian letter before them
_ZWNJ, _ZWJ, _VS16 = "\u200c", "\u200d", "\ufe0f"
_EMOJI_SELECTORS = "\ufe0e\ufe0f"  # VS15, VS16: text or emoji glyph of what has both
# Emoji that join in sequences (an approximation of Extended_Pictographic), skin tones included.
# Every character with an emoji variation sequence is one of them or a keycap's base (0-9 # *).
_KEYCAP_BASES = "0123456789#*"
_PICTOGRAPHS = _Lazy("[\u00a9\u00ae\u203c\u2049\u2122\u2139\u2194-\u21aa\u231a-\u23ff"
                          "\u24c2\u25aa-\u27bf\u2934\u2935\u2b05-\u2b55\u3030\u303d\u3297"
                          "\u3299\U0001f000-\U0001faff]")
# England, Scotland, Wales: the tag sequences emoji define (a black flag, a region, CANCEL TAG).
_BLACK_FLAG = "\U0001f3f4"
_FLAGS = tuple(_BLACK_FLAG + "".join(chr(0xE0000 + ord(c)) for c in region) + "\U000e007f"
               for region in ("gbeng", "gbsct", "gbwls"))
_CANDIDATES = (f"{_CONTROLS}{_BIDI}{_SURROGATES}{_SEPARATORS}{_FORMAT}{_SELECTORS}{_IGNORABLE}"
               f"{_BLANKS}{_PRIVATE_USE}")
# Every character shown as an escape: the key masker takes each as one that may split a key.
HIDDEN_CHARACTERS = _CANDIDATES
_PRIVATE = _Lazy(f"[{_PRIVATE_USE}]")
_SELECTOR = _Lazy(f"[{_SELECTORS}]")
_TAG = _Lazy("[\U000e0020-\U000e007f]")
_BIDI_CONTROL = _Lazy(f"[{_BIDI}]")
# One character class each, no alternation: the engine skips plain text without backtracking.
_HIDDEN = re.compile(f"[{_CANDIDATES}]")
_HIDDEN_OR_LINE_BREAK = _Lazy(f"[{_CANDIDATES}\t\n]")

# Control characters have no Unicode name: their usual abbreviations.
_C0 = ("NUL", "SOH", "STX", "ETX", "EOT", "ENQ", "ACK", "BEL", "BS", "HT", "LF", "VT", "FF", "CR",
       "SO", "SI", "DLE", "DC1", "DC2", "DC3", "DC4", "NAK", "SYN", "ETB", "CAN", "EM", "SUB",
       "ESC", "FS", "GS", "RS", "US")
_C1 = {0x7f: "DEL", 0x85: "NEL", 0x90: "DCS", 0x9b: "CSI", 0x9c: "ST", 0x9d: "OSC"}


def visible(text: str) -> str:
    """``text`` with each hidden character written as an escape (``\\u001b``).

    Line breaks stay line breaks (a carriage return becomes one) and tabs stay tabs. A
    character beyond U+FFFF is written as JSON writes it, a pair of escapes (``\\udb40\\udc69``
    for U+E0069), so that JSON stays JSON.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _HIDDEN.sub(_shown, text)


# A line break or a tab in a name, a path or an address from outside would continue the line it
# is shown on as a line of its own (a forged "✓ docker"): written as JSON writes them.
_LINE_ESCAPES = str.maketrans({"\n": "\\n", "\r": "\\r", "\t": "\\t"})


def one_line(text: str) -> str:
    """``text`` as :func:`visible` shows it, but on one line: line breaks and tabs written as
    escapes too (``\\n``, ``\\r``, ``\\t``), for a name, a path or an address from outside,
    an error message, a check's detail: whatever is meant as one line of output. Combining
    marks past the eighth in a row are escapes too: piled up, they would cover the lines
    around it."""
    return _marks_capped(_HIDDEN.sub(_shown, text.translate(_LINE_ESCAPES)))


# Written text stacks a few marks on a letter (Vietnamese two, Hebrew with its points and
# cantillation four or five); "Zalgo" text stacks hundreds, drawn over the lines around it.
MAX_MARKS_IN_A_ROW = 8


def _marks_capped(text: str) -> str:
    """``text`` with each combining mark past ``MAX_MARKS_IN_A_ROW`` in a row an escape."""
    if text.isascii():  # most names: no mark at all
        return text
    out: list[str] = []
    in_a_row = 0
    for char in text:
        in_a_row = in_a_row + 1 if unicodedata.category(char).startswith("M") else 0
        out.append(_escape(ord(char)) if in_a_row > MAX_MARKS_IN_A_ROW else char)
    return "".join(out)


# Characters of a value a message quotes, as shown (escaped): a path or a name is shorter; what
# is longer (a 20 000-character argument) is cut, and its length said, not echoed whole.
MAX_QUOTED = 200


def quoted(text: str, longest: int = MAX_QUOTED) -> str:
    """``text`` in single quotes, on one line, each hidden character an escape: what ``repr``
    does for a name in a message, in the one escape style of :func:`visible` (``\\u001b``,
    never ``\\x1b``). Past ``longest`` characters as shown, it is cut (ending in an ellipsis)
    and followed by its length."""
    shown = one_line(text)
    if len(shown) <= longest:
        return f"'{shown}'"
    return f"'{cut(shown, longest)}' ({format(len(text), ',').replace(',', ' ')} characters)"


def shortened(text: str, longest: int = MAX_QUOTED) -> str:
    """``text`` as :func:`quoted` shows it, without the quotes and the length: for a value a
    message names bare (a host in ``host:port``, a path)."""
    return cut(one_line(text), longest)


def cut(shown: str, longest: int) -> str:
    """``shown`` (escaped text) in at most ``longest`` characters, the last an ellipsis; never
    half an escape (``\\u00``)."""
    if len(shown) <= longest:
        return shown
    return re.sub(r"\\(?:u[0-9a-fA-F]{0,3})?$|\\[nrt]?$", "", shown[:longest - 1]) + "…"


def first_hidden(text: str, one_line: bool = False) -> tuple[int, str] | None:
    """The 1-based position and the first hidden character of ``text``, or None.

    With ``one_line``, a tab or a line break counts as hidden too.
    """
    for found in (_HIDDEN_OR_LINE_BREAK if one_line else _HIDDEN).finditer(text):
        if not _kept(found):
            return found.start() + 1, found.group(0)
    return None


def kind(char: str) -> str:
    """What sort of hidden character ``char`` is: ``line break`` (a tab too), ``control``,
    ``bidi``, ``surrogate``, ``private use``, ``separator`` or ``invisible``."""
    code = ord(char)
    if char in "\t\n":
        return "line break"
    if code < 0x20 or 0x7f <= code <= 0x9f:
        return "control"
    if _BIDI_CONTROL.fullmatch(char):
        return "bidi"
    if 0xD800 <= code <= 0xDFFF:
        return "surrogate"
    if _PRIVATE.fullmatch(char):
        return "private use"
    return "separator" if char in _SEPARATORS else "invisible"


def describe(char: str) -> str:
    """A hidden character in words: "the control character U+001B (ESC)"."""
    code = ord(char)
    sort = kind(char)
    if char == "\t":
        return "a tab (U+0009)"
    if char == "\n":
        return "a line break (U+000A)"
    if sort == "control":
        name = _C0[code] if code < 0x20 else _C1.get(code)
        return f"the control character U+{code:04X}" + (f" ({name})" if name else "")
    if sort == "surrogate":
        return f"a lone surrogate U+{code:04X} (half of a UTF-16 pair)"
    if sort == "private use":
        return f"the private-use character U+{code:04X}"
    if sort == "separator":
        return f"the {'line' if char == chr(0x2028) else 'paragraph'} separator U+{code:04X}"
    name = unicodedata.name(char, "unnamed")
    return f"the {'bidirectional control' if sort == 'bidi' else 'invisible character'} " \
           f"U+{code:04X} ({name})"


def _shown(found: re.Match[str]) -> str:
    char = found.group(0)
    if _kept(found):
        return char
    return _escape(ord(char))


def _escape(code: int) -> str:
    """A character as JSON writes it escaped: ``\\u001b``, or the UTF-16 pair past U+FFFF."""
    if code > 0xFFFF:  # as JSON and JavaScript write it
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def _kept(found: re.Match[str]) -> bool:
    """Whether a candidate is part of what shows: a joiner, a variation selector or a tag
    character in its place."""
    char, text, at = found.group(0), found.string, found.start()
    if _TAG.fullmatch(char):
        return _in_flag(text, at)
    before = text[at - 1] if at > 0 else ""
    after = text[at + 1] if at + 1 < len(text) else ""
    if char in _IN_PLACE:
        return _IN_PLACE[char](before, after)
    if char not in (_ZWJ, _ZWNJ) and not _SELECTOR.fullmatch(char):
        return False
    if char == _ZWNJ:
        return _joins(before, marks=True) and _joins(after, marks=False)
    if char == _ZWJ:
        in_emoji = bool(_PICTOGRAPHS.fullmatch(after or " ")) and (
            before == _VS16 or bool(_PICTOGRAPHS.fullmatch(before or " ")))
        return in_emoji or (_joins(before, marks=True) and _joins(after, marks=False))
    # A selector varies the character before it; a second one, or one after a blank, hides.
    # VS15 and VS16 vary only what has an emoji form: in a word they join nothing and hide.
    if char in _EMOJI_SELECTORS:
        return bool(before) and (before in _KEYCAP_BASES or bool(_PICTOGRAPHS.fullmatch(before)))
    if char >= _IDEOGRAPHIC_SELECTORS:  # VS17-VS256: the Ideographic Variation Database's
        return _ideograph(before)
    return _has_standardized_variants(before)


def _between(first: str, last: str) -> Callable[[str], bool]:
    return lambda char: bool(char) and first <= char <= last


_LEADING_JAMO, _VOWEL_JAMO = _between("\u1100", "\u115e"), _between("\u1161", "\u11a7")
_BRAILLE = _between("\u2801", "\u28ff")
_MONGOLIAN_LETTER = _between("\u1820", "\u18aa")
_KHITAN = _between("\U00018b00", "\U00018cff")
_MUSICAL = _between("\U0001d100", "\U0001d1ff")


# CJK unified ideographs (extension A, the main block, planes 2 and 3, which hold nothing else)
# and the compatibility ideographs: what an ideographic variation selector varies.
_IDEOGRAPH_RANGES = (("\u3400", "\u4dbf"), ("\u4e00", "\u9fff"), ("\uf900", "\ufaff"),
                     ("\U00020000", "\U0003ffff"))
_IDEOGRAPHIC_SELECTORS = "\U000e0100"  # VS17, the first; VS1-VS14 come before it
# Scripts with standardized variation sequences (StandardizedVariants.txt): Myanmar and its
# extensions, Phags-pa, Manichaean, Egyptian hieroglyphs.
_VARIED_SCRIPTS = (("\u1000", "\u109f"), ("\ua840", "\ua877"), ("\ua9e0", "\uaa7f"),
                   ("\U00010ac0", "\U00010aff"), ("\U00013000", "\U0001345f"))


def _ideograph(char: str) -> bool:
    return any(first <= char <= last for first, last in _IDEOGRAPH_RANGES)


def _has_standardized_variants(char: str) -> bool:
    """Whether VS1-VS14 may vary ``char``: Unicode defines such sequences only for symbols
    (mathematical above all), punctuation, digits, ideographs and a few scripts, never for a
    Latin, Greek or Cyrillic letter, where the selector changes nothing and only hides."""
    if not char:
        return False
    return (unicodedata.category(char)[0] in "NPS" or _ideograph(char)
            or any(first <= char <= last for first, last in _VARIED_SCRIPTS))


def _mark(char: str) -> bool:
    return bool(char) and unicodedata.category(char).startswith("M")


# Ignorable characters that are part of what shows where they stand, by (before, after): the
# Hangul fillers inside a syllable of conjoining jamo, the grapheme joiner keeping two combining
# marks in their order (Hebrew), the braille blank between braille letters, a Mongolian variation
# selector after the letter it varies, the Khitan filler after the character whose cluster it
# shapes, a null notehead among musical symbols.
_IN_PLACE: dict[str, Callable[[str, str], bool]] = {
    "\u115f": lambda before, after: _VOWEL_JAMO(after),
    "\u1160": lambda before, after: _LEADING_JAMO(before) or before == "\u115f",
    "\u034f": lambda before, after: _mark(after) and (_mark(before) or before.isalpha()),
    "\u2800": lambda before, after: _BRAILLE(before) or _BRAILLE(after),
    "\U00016fe4": lambda before, after: _KHITAN(before),
    "\U0001d159": lambda before, after: _MUSICAL(before) or _MUSICAL(after),
    **dict.fromkeys(_MONGOLIAN_SELECTORS, lambda before, after: _MONGOLIAN_LETTER(before)),
}


def _in_flag(text: str, at: int) -> bool:
    """Whether the tag character at ``at`` belongs to one of the three flags."""
    start = text.rfind(_BLACK_FLAG, max(0, at - len(_FLAGS[0]) + 1), at)
    return start >= 0 and any(text.startswith(flag, start) for flag in _FLAGS)


def _joins(char: str, marks: bool) -> bool:
    """A letter of a script whose letters a joiner can hold together (not Latin, Greek or
    Cyrillic, where a joiner changes nothing); with ``marks``, a combining mark too."""
    if not char or ord(char) < 0x0590:
        return False
    category = unicodedata.category(char)
    return category.startswith("L") or (marks and category.startswith("M"))
