"""Masking of API keys: the one place that decides how a secret looks on screen."""

from __future__ import annotations

import base64
import bisect
import json
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from sandbox.walkthrough.disguised import DisguisedKey
from sandbox.walkthrough.folded import FILLER, core, fold, stripped
from sandbox.walkthrough.json_runs import runs
from sandbox.walkthrough.key_mask import mask_key
from sandbox.walkthrough.spaced import open_end, respaced, spelled_out_only

# Below this length a key is matched only as a whole word, so masking "abc" leaves "cabin" be.
_SHORT = 8
# Short texts are masked once each: a walkthrough's events say the same names, states and
# commands again and again (a run's thousand texts are some two hundred different ones).
_REMEMBERED_LENGTH = 512
_REMEMBERED_TEXTS = 4096


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

    def __init__(self, secrets: Iterable[str] = (), short: bool = True) -> None:
        """``short``: whether a secret shorter than any API key (under eight characters: a
        placeholder such as ``test`` or ``none``) is masked too, as a whole word. Not in text
        people wrote (a scenario's prose, what a walkthrough says of it), where it would hide
        their words; where a key stands (headers, manifests, answers) it is."""
        self._short = short
        self._replacements: dict[str, str] = {}
        self._pattern: re.Pattern[str] | None = None
        self._disguised: list[DisguisedKey] = []  # each key, as folded text may hold it
        self._shown: dict[str, str] = {}  # short texts masked already, and how they are shown
        self._shortest = sys.maxsize  # the fewest folded characters a disguised key is found in
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str) -> None:
        secret = secret.strip()
        if not secret or secret in self._replacements or (len(secret) < _SHORT
                                                          and not self._short):
            return
        for form, masked in written_forms(secret).items():
            self._replacements.setdefault(form, masked)
        self._pattern = secret_pattern(self._replacements)
        self._shown.clear()  # masked without this secret
        if len(secret) < _SHORT:
            return
        key = DisguisedKey(secret, mask_key(secret))
        self._disguised.append(key)
        self._shortest = min(self._shortest, key.shortest)

    def __call__(self, text: str) -> str:
        """``text`` with every secret, and every encoded form of it, replaced by its mask.

        For text the sandbox did not write itself (responses, error messages); what it writes
        itself is masked with :meth:`values` before it is serialised.
        """
        if self._pattern is None or not text:
            return text
        shown = self._shown.get(text)
        if shown is not None:
            return shown
        out, position = [], 0
        for start, end, masked in self._spans(text):
            out += [text[position:start], masked]
            position = end
        out.append(text[position:])
        shown = "".join(out)
        if len(text) <= _REMEMBERED_LENGTH:
            if len(self._shown) >= _REMEMBERED_TEXTS:
                self._shown.clear()
            self._shown[text] = shown
        return shown

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        """Where :meth:`__call__` masks ``text``: each place, in order and apart, and its mask."""
        return self._spans(text) if self._pattern is not None and text else []

    def each(self, texts: Sequence[str]) -> list[str]:
        """Texts read one after another (a scenario's path, title, summary, steps...), masked
        in one pass over them read as one text: a key cut between two of them is masked too,
        its mask standing in the first, the others losing their part of it."""
        joined = "\n".join(texts)
        spans = self._spans(joined) if self._pattern is not None and joined else []
        return _in_place(joined, spans, map(len, texts), 1) if spans else list(texts)

    def may_hold_part(self, text: str) -> bool:
        """Whether ``text`` may hold a part of a key: three of its characters in a row (folded,
        or spelled out), or under three characters (one or two of a key spelled out)."""
        if not self._disguised:
            return True
        kept = stripped(fold(text))
        spaced = respaced(kept).text
        return len(kept.text) < 3 or any(key.holds_piece(kept.text, spaced)
                                         for key in self._disguised)

    def _spans(self, text: str, start: int = 0) -> list[tuple[int, int, str]]:
        """Where secrets are in ``text`` (from ``start``), in order, and their masks: every
        written form, then each key in the folded text (in any case, in compatibility forms,
        escaped, split by what may split it), then the beginnings and ends of keys; last, a
        key cut into JSON values under one name (tokens, deltas, the byte values of tokens):
        the mask stands in the first value it is in, and the others lose their part of it."""
        chained: list[tuple[int, int, str]] = []  # a key cut into pieces with text between
        spans = self._found(text, start, chained)
        if not self._disguised:
            return spans
        values = runs(text, start)
        taken = _Apart(spans)
        cut_into: set[str] = set()  # the pieces of a key found cut into values
        for run in values:
            for begin, end, masked in self._found(run.text, 0, []):  # chains: below
                where = run.masked(begin, end, masked)
                taken.add(sorted(where))  # read in turns, not in order
                cut_into.update(text[low:high] for low, high, _ in where)
        # The same pieces elsewhere (each token again in its ``top_logprobs``) go too.
        taken.add(sorted((low, high, run.emptied(number)) for run in values
                         for number, (low, high) in enumerate(run.pieces)
                         if high - low >= 3 and text[low:high] in cut_into))
        taken.add(chained)  # where JSON values under one name hold none of those
        return taken.spans

    def _found(self, text: str, start: int = 0,
               chained: list[tuple[int, int, str]] | None = None) -> list[tuple[int, int, str]]:
        """What :meth:`_spans` says, short of what JSON values hold; a key cut into pieces
        goes to ``chained`` when it is given (its pieces may be a key cut into values)."""
        if self._pattern is None:
            return []
        spans = [(m.start(), m.end(), self._replacements[m.group(0)])
                 for m in self._pattern.finditer(text, start)]
        if not self._disguised:
            return spans
        view = fold(text, start)
        if len(view.text) < self._shortest:  # what follows only shortens it: nothing to find
            return spans
        kept = stripped(view)  # found in it, a key split by what may split it is found too
        # and in this, a key spelled out a character at a time, whatever separates them
        spaced = respaced(kept)
        taken = _Apart(spans)
        views = ((kept, [key.written for key in self._disguised]),
                 (spaced, [key.spelled_out for key in self._disguised]))
        wholes: list[list[tuple[int, int]]] = []  # in each view's text
        for core_text, spellings in views:
            wholes.append([])
            for key, spelled in zip(self._disguised, spellings, strict=True):
                found = spelled.wholes(core_text)
                wholes[-1] += found
                taken.add((*view.original(*core_text.folded_span(*where)), key.masked)
                          for where in found)
        # Last, and only where no whole key is: a whole key, disguised or not, comes first.
        # Runs of a key spelled out are looked for only where it is: elsewhere, the runs the
        # key as written has are found already (and that look takes as long again).
        parts: list[tuple[int, int, str]] = []
        for (core_text, spellings), found, searched in zip(
                views, wholes, (kept.text, spelled_out_only(spaced)), strict=True):
            rest = _blanked(searched, found)
            parts += [(*view.original(*core_text.folded_span(begin, end)), masked)
                      for spelled in spellings for begin, end, masked in spelled.parts(rest)]
        taken.add(sorted(parts, key=lambda part: (part[0], part[0] - part[1])))  # longest first
        # Last, a key cut into short pieces with a little text between them (a run is a piece)
        unwhole = _blanked(kept.text, wholes[0])
        pieces = sorted(piece for key in self._disguised
                        for piece in key.written.chains(unwhole, kept))
        if chained is None:
            taken.add(pieces)
        else:
            chained += pieces
        return taken.spans

    def values(self, value: Any) -> Any:
        """A copy of a nested value (a manifest, a payload) with every secret masked in place."""
        return map_strings(value, self)

    def undecided_from(self, text: str, start: int = 0, runs: bool = True) -> int:
        """Where the end of ``text`` could still turn into a secret once more text follows:
        the start of the longest such tail at or after ``start``, else ``len(text)``.

        A tail is undecided when it is the beginning of a secret, or a short secret whole (the
        next character says whether it is a word of its own), or, folded, the beginning of a
        key (or an escape not yet finished), or with ``runs``, a run of a key's characters
        that more may make long enough to be masked (its middle, as much as its beginning)."""
        forms = self._replacements
        longest = max((len(form) for form in forms), default=0)
        firsts = {form[0] for form in forms}
        undecided = len(text)
        for position in range(max(start, len(text) - longest), len(text)):
            if text[position] not in firsts:  # cheap: most characters begin no form
                continue
            tail = text[position:]
            if any(form.startswith(tail) and (len(form) > len(tail) or len(form) < _SHORT)
                   for form in forms):
                undecided = position
                break
        if self._disguised:
            window = max(start, len(text) - 4 * longest)
            undecided = min(undecided, window + self._undecided_folded(text[window:], runs))
        if self._disguised and runs:  # and a chain of short pieces that may go on
            window = max(start, len(text) - _CHAIN_HELD)
            ending = core(text[window:])  # a whole key is decided: no piece of a chain
            unwhole = _blanked(ending.text, [span for key in self._disguised
                                             for span in key.written.wholes(ending)])
            undecided = min([undecided, *(window + at for key in self._disguised if (
                at := key.written.open_chain(ending, unwhole)) is not None)])
        return undecided

    def _undecided_folded(self, text: str, runs: bool) -> int:
        """Where a tail of ``text`` begins that, folded and without fillers, begins a key (a
        filler at its end may be followed by more), or with ``runs`` is a run of a key's
        characters (four or more: fewer give nothing away), as written or spelled out (a
        separator at its end may be followed by more), else where an unfinished escape does."""
        tail = core(text)
        spaced = respaced(tail)
        undecided = [view.origin(at) for view, spellings, end in (
            (tail, [spelled for key in self._disguised for spelled in key.written.spellings],
             len(tail.text)),
            (spaced, [spelled for key in self._disguised
                      for spelled in key.spelled_out.spellings], open_end(spaced.text)))
            if spellings and (at := _undecided_at(view.text[:end], spellings, runs)) is not None]
        return min(undecided, default=tail.end)

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
        return _in_place(joined, spans, map(len, pieces), 0)

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
        position = self.undecided_from(text, start, runs=False)
        tail = FILLER.sub("", text[position:])
        form = next((f for f in self._replacements if f.startswith(tail)), None)
        if form is not None and len(tail) >= 4:
            return position, len(text), self._replacements[form].split("…", 1)[0] + "…"
        kept = core(text[position:])
        spaced = respaced(kept).text
        spaced = spaced[:open_end(spaced)]
        masked = next((key.masked for key in self._disguised for folded, spellings in (
            (kept.text, key.written.spellings), (spaced, key.spelled_out.spellings))
            for spelled in spellings if len(folded) >= 4 and spelled.startswith(folded)), None)
        if masked is None:
            return None
        return position, len(text), masked.split("…", 1)[0] + "…"


# A stream holds back a tail of this many of a key's characters or more, until it is known
# whether what follows makes it a run long enough to be masked.
_RUN_HELD = 4
# ...and at most this much of a chain of a key's short pieces (the rest is masked as it goes).
_CHAIN_HELD = 1024


def _undecided_at(folded: str, spellings: list[str], runs: bool) -> int | None:
    """Where the tail of ``folded`` begins that begins a spelling of a key, or with ``runs``
    is a run of one, held back: None when there is none."""
    if runs and (length := _longest_run_at_end(folded, spellings)) >= _RUN_HELD:
        return len(folded) - length
    longest = max(len(spelled) for spelled in spellings)
    firsts = {spelled[0] for spelled in spellings}
    for index in range(max(0, len(folded) - longest + 1), len(folded)):
        if folded[index] in firsts and any(
                spelled.startswith(folded[index:]) and len(spelled) > len(folded) - index
                for spelled in spellings):
            return index
    return None


def _longest_run_at_end(text: str, spellings: list[str]) -> int:
    """How long the longest end of ``text`` is that stands in a spelling of a key, short of a
    whole one (a whole key is decided); a binary search, as every end of such an end stands in
    it too."""
    low, high = 0, min(len(text), max(map(len, spellings)) - 1)
    while low < high:
        middle = (low + high + 1) // 2
        if any(text[-middle:] in spelled for spelled in spellings):
            low = middle
        else:
            high = middle - 1
    return low


def _blanked(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` with each span blanked out (the same length: positions stay as they were)."""
    out, position = [], 0
    for start, end in sorted(spans):
        start = max(start, position)
        out += [text[position:start], "\0" * max(0, end - start)]
        position = max(position, end)
    out.append(text[position:])
    return "".join(out)


def _in_place(joined: str, spans: list[tuple[int, int, str]], lengths: Iterable[int],
              gap: int) -> list[str]:
    """``joined`` (texts of ``lengths`` one after another, ``gap`` characters between them)
    masked where ``spans`` say (in order, apart), cut back into its texts: a mask stands in
    the text its span begins in (or the next, when it begins in a gap), and the texts the span
    runs into lose the rest of it. Each span is looked at by the texts it is in only."""
    shown: list[str] = []
    at, first = 0, 0  # where the text begins in ``joined``; the first span that may be in it
    for length in lengths:
        end = at + length
        while first < len(spans) and spans[first][1] <= at:
            first += 1
        out, position, index = [], at, first
        while index < len(spans) and spans[index][0] < end:
            begin, stop, masked = spans[index]
            out += [joined[position:max(begin, at)], masked if begin >= at - gap else ""]
            position, index = min(stop, end), index + 1
        out.append(joined[position:end])
        shown.append("".join(out))
        at = end + gap
    return shown


class _Apart:
    """Spans of a text apart from each other, in order, that more are added to: each only
    where it overlaps none taken before (one look, whatever their number)."""

    def __init__(self, spans: Iterable[tuple[int, int, str]]) -> None:
        self.spans = sorted(spans)
        self._starts = [begin for begin, _, _ in self.spans]

    def add(self, found: Iterable[tuple[int, int, str]]) -> None:
        """Each span of ``found`` (in order) that overlaps none taken."""
        for begin, end, masked in found:
            at = bisect.bisect_left(self._starts, end)  # the spans that begin before its end
            if at == 0 or self.spans[at - 1][1] <= begin:
                self.spans.insert(at, (begin, end, masked))
                self._starts.insert(at, begin)
