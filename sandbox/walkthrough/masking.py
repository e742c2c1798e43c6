"""Masking of API keys: the one place that decides how a secret looks on screen."""

from __future__ import annotations

import base64
import bisect
import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import quote

# Below this length a key is matched only as a whole word, so masking "abc" leaves "cabin" be.
_SHORT = 8
# What may split a key and still leave it readable: characters that show as nothing (format
# characters, joiners, bidi marks, variation selectors, fillers), raw or as a JSON escape;
# terminal escape sequences, raw or escaped; an SSE line break with its next "data:" field.
_INVISIBLE = ("\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f"
              "\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0")
_ESC = r"(?:\x1b|\\u001[bB]|\\x1[bB]|\\033|\\e)"
_FILLER = re.compile(
    rf"[{_INVISIBLE}]|\\u(?:00[aA][dD]|034[fF]|061[cC]|200[b-fB-F]|202[a-eA-E]|206[0-9a-fA-F]"
    rf"|[fF][eE]0[0-9a-fA-F]|[fF][eE][fF][fF])|{_ESC}\[[0-?]*[ -/]*[@-~]"
    rf"|{_ESC}\][^\x07\x1b]{{0,200}}?(?:\x07|\\u0007|{_ESC}\\\\?)|(?:\r\n?|\n)(?:data: ?)?")


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


# A key cut short still gives most of it away: its beginnings down to half its length (and at
# least this many characters) are masked wherever they stand, not only at the end of a text.
_CUT_LEAST = 12


def cut_forms(secret: str) -> dict[str, str]:
    """The beginnings of a key that a cut answer (a model name, an error event) may hold, each
    masked without the last four it lacks."""
    masked = mask_key(secret).split("…", 1)[0] + "…"
    shortest = max(_CUT_LEAST, len(secret) // 2)
    return {secret[:length]: masked for length in range(shortest, len(secret))}


class Masker:
    """Masks known secrets: in values before they are serialised, and in text from elsewhere."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._replacements: dict[str, str] = {}
        self._pattern: re.Pattern[str] | None = None
        self._disguised: list[tuple[str, re.Pattern[str], str]] = []  # keys, fillers inside
        self._cut: dict[str, str] = {}  # beginnings of keys, found where nothing longer is
        self._cut_pattern: re.Pattern[str] | None = None
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str) -> None:
        secret = secret.strip()
        if not secret or secret in self._replacements:
            return
        for form, masked in written_forms(secret).items():
            self._replacements.setdefault(form, masked)
        self._pattern = secret_pattern(self._replacements)
        for form, masked in cut_forms(secret).items():
            self._cut.setdefault(form, masked)
        self._cut_pattern = secret_pattern(self._cut)
        if len(secret) >= _SHORT:
            filler = f"(?:{_FILLER.pattern})*+"  # possessive: no backtracking into it
            self._disguised.append((secret, re.compile(filler.join(re.escape(c)
                                                                   for c in secret)),
                                    mask_key(secret)))

    def __call__(self, text: str) -> str:
        """``text`` with every secret, and every encoded form of it, replaced by its mask.

        For text the sandbox did not write itself (responses, error messages); what it writes
        itself is masked with :meth:`values` before it is serialised.
        """
        if self._pattern is None or not text:
            return text
        out, position = [], 0
        for start, end, masked in self._spans(text):
            out += [text[position:start], masked]
            position = end
        out.append(text[position:])
        return "".join(out)

    def _spans(self, text: str, start: int = 0) -> list[tuple[int, int, str]]:
        """Where secrets are in ``text`` (from ``start``), in order, and their masks: every
        written form, and each key split by characters that show as nothing."""
        if self._pattern is None:
            return []
        spans = [(m.start(), m.end(), self._replacements[m.group(0)])
                 for m in self._pattern.finditer(text, start)]
        found: list[tuple[re.Pattern[str], str | None]] = [
            (pattern, masked) for _, pattern, masked in self._disguised]
        if self._cut_pattern is not None:  # last: a whole key, disguised or not, comes first
            found.append((self._cut_pattern, None))  # None: each beginning's own mask
        for pattern, masked in found:
            taken = sorted(spans)  # apart from each other: one look finds an overlap
            starts = [begin for begin, _, _ in taken]
            for m in pattern.finditer(text, start):
                at = bisect.bisect_left(starts, m.end())  # the spans that begin before its end
                if at == 0 or taken[at - 1][1] <= m.start():
                    spans.append((m.start(), m.end(), masked or self._cut[m.group(0)]))
        return sorted(spans)

    def values(self, value: Any) -> Any:
        """A copy of a nested value (a manifest, a payload) with every secret masked in place."""
        return map_strings(value, self)

    def undecided_from(self, text: str, start: int = 0) -> int:
        """Where the end of ``text`` could still turn into a secret once more text follows:
        the start of the longest such tail at or after ``start``, else ``len(text)``.

        A tail is undecided when it is the beginning of a secret, or a short secret whole (the
        next character says whether it is a word of its own)."""
        forms = self._replacements
        longest = max((len(form) for form in forms), default=0)
        window = max(start, len(text) - 4 * longest)
        if self._disguised and _FILLER.search(text, window):
            return self._undecided_disguised(text, window)
        for position in range(max(start, len(text) - longest), len(text)):
            tail = text[position:]
            if any(form.startswith(tail) and (len(form) > len(tail) or len(form) < _SHORT)
                   for form in forms):
                return position
        return len(text)

    def _undecided_disguised(self, text: str, window: int) -> int:
        """:meth:`undecided_from` where fillers may split the beginning of a key: a tail that
        begins a key once they are taken out (a filler at its end may be followed by more)."""
        firsts = {secret[0] for secret, _, _ in self._disguised}
        for position in range(window, len(text)):
            if text[position] not in firsts:
                continue
            tail = _FILLER.sub("", text[position:])
            if any(secret.startswith(tail) and len(secret) > len(tail)
                   for secret, _, _ in self._disguised):
                return position
        return len(text)

    def pieces(self, pieces: list[str]) -> list[str]:
        """Each piece masked so that, joined, they read as the joined text masked with
        :meth:`cut` (the pieces are all there is): a secret split across pieces is masked in
        the piece where it begins, the pieces it runs into lose the rest of it, and so does the
        beginning of a secret the last pieces end with."""
        joined = "".join(pieces)
        spans = self._spans(joined)
        tail = self._cut_tail(joined, spans[-1][1] if spans else 0)
        if tail is not None:
            spans.append(tail)
        out, offset = [], 0
        for piece in pieces:
            first, last = offset, offset + len(piece)
            parts, position = [], first
            for start, end, masked in spans:
                if end <= first or start >= last:
                    continue
                if start >= first:
                    parts += [joined[position:start], masked]
                position = min(end, last)
            parts.append(joined[position:last])
            out.append("".join(parts))
            offset = last
        return out

    def masked_until(self, text: str, start: int, cut: int) -> tuple[str, int]:
        """``text[start:cut]`` masked (what precedes ``start`` is context only), and where it
        ended: beyond ``cut`` when a secret that begins before it runs past it."""
        if self._pattern is None:
            return text[start:cut], cut
        out, position = [], start
        for begin, finish, masked in self._spans(text, start):
            if begin >= cut:
                break
            out += [text[position:begin], masked]
            position = finish
        end = max(cut, position)
        out.append(text[position:end])
        return "".join(out), end

    def cut(self, text: str) -> str:
        """``text`` that stopped early, masked: a tail that begins a secret (four characters of
        it or more) is masked too, as far as its mask shows it (``sk-…``)."""
        text = self(text)
        tail = self._cut_tail(text)
        return text if tail is None else text[:tail[0]] + tail[2]

    def _cut_tail(self, text: str, start: int = 0) -> tuple[int, int, str] | None:
        """Where the end of ``text`` (at or after ``start``) begins a secret, four characters
        of it or more, and how that beginning is masked: None when it does not."""
        position = self.undecided_from(text, start)
        tail = _FILLER.sub("", text[position:])
        form = next((f for f in self._replacements if f.startswith(tail)), None)
        if form is None or len(tail) < 4:
            return None
        return position, len(text), self._replacements[form].split("…", 1)[0] + "…"


class MaskedStream:
    """Text that arrives in pieces (a streamed answer), masked over the joined text: a secret
    split across pieces is masked as well as one inside a piece.

    Only a tail that could still become a secret is held back, until the next piece shows it
    does not (or :meth:`end`): everything else goes out at once.
    """

    def __init__(self, masker: Masker) -> None:
        self._masker = masker
        self._before = ""  # the last character let through: a whole-word match looks at it
        self._pending = ""

    def feed(self, piece: str) -> str:
        """What can be shown now that ``piece`` has arrived."""
        self._pending += piece
        text, start = self._before + self._pending, len(self._before)
        shown, end = self._masker.masked_until(text, start,
                                               self._masker.undecided_from(text, start))
        if end > start:
            self._before = text[end - 1]
        self._pending = text[end:]
        return shown

    def end(self) -> str:
        """The rest, at the end of the stream (the beginning of a secret left there is masked)."""
        text, start = self._before + self._pending, len(self._before)
        self._before = self._pending = ""
        shown, end = self._masker.masked_until(text, start,
                                               self._masker.undecided_from(text, start))
        return shown + self._masker.cut(text[end:])
