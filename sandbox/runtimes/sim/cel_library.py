"""Kubernetes' CEL functions, as kube-apiserver v1.34 evaluates them, for the sim's evaluator
(those on URLs and IPs are in ``cel_addresses.py``; ``cel_rules.py`` registers them all).

The CEL library the sim uses implements the CEL core; Kubernetes adds its own libraries
(k8s.io/apiserver/pkg/cel/library: quantity, URLs, IPs and CIDRs, lists, regex, format) and
parses with Go's rules (a duration is ``time.ParseDuration``'s). Each function here follows the
Go source it names, with the error text cel-go reports, so an evaluation error reads as the
API server's. No CEL library is imported here (``cel_rules.py`` registers these functions).
"""

from __future__ import annotations

import datetime
import itertools
import re
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from typing import Any

# Marks the text of an error raised here, so the evaluator can report cel-go's words.
MARK = "cel-go:"


class CelError(ValueError):
    """An evaluation error worded as cel-go (or Kubernetes' library) words it."""

    def __init__(self, text: str) -> None:
        super().__init__(f"{MARK}{text}{MARK}")


def cel_text(message: str) -> str | None:
    """The cel-go words inside an error message that passed through the CEL library."""
    found = re.search(f"{MARK}(.*?){MARK}", message, re.S)
    return found.group(1) if found else None


# -- durations: Go's time.ParseDuration ---------------------------------------------------------
_UNITS = {"ns": 1, "us": 10**3, "µs": 10**3, "μs": 10**3, "ms": 10**6, "s": 10**9,
          "m": 60 * 10**9, "h": 3600 * 10**9}
_MAX = 2**63
DURATION_ERROR = "type conversion error from 'string' to 'google.protobuf.Duration'"


def parse_go_duration(text: str) -> int:
    """Nanoseconds, or CelError as ``duration()`` fails in cel-go."""
    rest, negative = text, False
    if rest[:1] in ("-", "+"):
        negative, rest = rest[0] == "-", rest[1:]
    if rest == "0":
        return 0
    if not rest:
        raise CelError(DURATION_ERROR)
    total = 0
    while rest:
        found = re.match(r"(\d*)(?:\.(\d*))?", rest)
        whole, fraction = (found.group(1), found.group(2)) if found else ("", None)
        if not whole and not fraction:
            raise CelError(DURATION_ERROR)
        rest = rest[found.end() if found else 0:]
        unit = re.match(r"[^.\d]*", rest)
        name = unit.group(0) if unit else ""
        rest = rest[len(name):]
        if name not in _UNITS or (whole and int(whole) > _MAX // _UNITS[name]):
            raise CelError(DURATION_ERROR)
        value = int(whole or 0) * _UNITS[name]
        if fraction:  # Go keeps at most 19 digits of a fraction, and truncates
            digits = fraction[:18]
            value += int(int(digits) * (_UNITS[name] / 10 ** len(digits)))
        total += value
        if value > _MAX or total > _MAX:
            raise CelError(DURATION_ERROR)
    if not negative and total > _MAX - 1:
        raise CelError(DURATION_ERROR)
    return -total if negative else total


def go_duration(text: Any) -> datetime.timedelta:
    """``duration(string)`` with Go's parser. The result is carried scaled, one nanosecond as
    one microsecond (the library's durations stop at microseconds): durations compare and add
    exactly among themselves, which is all the CRDs' rules do with them."""
    if isinstance(text, datetime.timedelta):
        return text
    if not isinstance(text, str):
        raise CelError("no such overload")
    return datetime.timedelta(microseconds=parse_go_duration(text))


# -- string(): cel-go's conversions (the library has no string(bool), and formats otherwise) ---
def go_string(value: Any) -> str:
    """``string(x)`` as cel-go converts: Go's %g for a double, true/false for a bool."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise CelError("invalid UTF-8 in bytes, cannot convert to string") from None
    if isinstance(value, datetime.timedelta):  # go_duration's scale: 1 µs stands for 1 ns
        nanos = value // datetime.timedelta(microseconds=1)
        return go_float(nanos / 10**9, "f") + "s"
    if isinstance(value, datetime.datetime):
        return value.isoformat().replace("+00:00", "Z")
    raise CelError("no such overload: string")


def go_float(value: float, verb: str = "g") -> str:
    """Go's %g (or strconv.FormatFloat(value, 'f', -1, 64)): the shortest digits; %g writes an
    exponent below 1e-4 and from 1e6 on (Go's threshold for the shortest form)."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    digits = Decimal(repr(value)).normalize()
    sign, numbers, exponent = digits.as_tuple()
    assert isinstance(exponent, int)
    point = len(numbers) + exponent  # where the decimal point goes after the digits
    text = "".join(map(str, numbers))
    if verb == "g" and (point - 1 < -4 or point - 1 >= 6):
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        shown = f"{mantissa}e{'-' if point - 1 < 0 else '+'}{abs(point - 1):02d}"
    elif point <= 0:
        shown = "0." + "0" * -point + text
    elif point >= len(text):
        shown = text + "0" * (point - len(text))
    else:
        shown = text[:point] + "." + text[point:]
    return ("-" if sign and value != 0 else "") + shown


# -- quantities: k8s.io/apimachinery resource.ParseQuantity -------------------------------------
QUANTITY_FORMAT = ("quantities must match the regular expression "
                   "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
_DECIMAL = {"": 0, "n": -9, "u": -6, "m": -3, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15,
            "E": 18}
_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}


def parse_quantity(text: str) -> Fraction:
    """The exact value of a Kubernetes quantity ("100m", "1Gi", "2e3"), rounded up to 1n."""
    if not text:
        raise CelError(QUANTITY_FORMAT)
    if text == "0":
        return Fraction(0)
    found = re.match(r"([+-]?)(\d*)(?:\.(\d*))?", text)
    assert found is not None
    number, suffix = found.group(0), text[found.end():]
    letters = re.match(r"[eEinumkKMGTP]*", suffix)
    tail = suffix[letters.end() if letters else 0:]
    if not re.fullmatch(r"[-+]?\d*", tail):
        raise CelError(QUANTITY_FORMAT)
    if suffix in _DECIMAL:
        scale = Fraction(10) ** _DECIMAL[suffix]
    elif suffix in _BINARY:
        scale = Fraction(2) ** _BINARY[suffix]
    elif len(suffix) > 1 and suffix[0] in "eE" and re.fullmatch(r"[-+]?\d+", suffix[1:]):
        scale = Fraction(10) ** int(suffix[1:])
    else:
        raise CelError("unable to parse quantity's suffix")
    digits = number.lstrip("+-").strip(".") and number.lstrip("+-")  # "." and "" read as 0
    value = Fraction(digits or "0") * scale * (-1 if number.startswith("-") else 1)
    nano = value * 10**9
    rounded = Fraction(-((-nano.numerator) // nano.denominator) if value > 0 else
                       nano.numerator // nano.denominator)
    return rounded / 10**9


def quantity(text: Any) -> float:
    if not isinstance(text, str):
        raise CelError("no such overload")
    return float(parse_quantity(text))


def is_quantity(text: Any) -> bool:
    try:
        parse_quantity(str(text))
    except CelError:
        return False
    return True


# -- sizes and lists: cel-go's size() counts code points; library.Lists --------------------------
def go_size(value: Any) -> int:
    """``size()``: characters of a string (the library counts its UTF-8 bytes), elements of a
    list or map, bytes of bytes."""
    if isinstance(value, str | bytes | list | dict):
        return len(value)
    raise CelError("no such overload: size")


def extreme(name: str, pick: Callable[[list[Any]], Any]) -> Callable[[Any], Any]:
    def extreme(items: Any) -> Any:
        if not isinstance(items, list):
            raise CelError(f"no such overload: {name}")
        if not items:
            raise CelError(f"{name} called on empty list")
        return pick(items)
    return extreme


# -- lists: library.Lists ---------------------------------------------------------------------
def is_sorted(items: list[Any]) -> bool:
    return all(a <= b for a, b in itertools.pairwise(items))


def index_of(container: Any, item: Any, *offset: int) -> int:
    """strings' ``indexOf`` and lists' (Kubernetes' lists library), by the receiver's type."""
    if isinstance(container, list):
        return next((i for i, v in enumerate(container) if v == item), -1)
    _in_range(str(container), *offset)
    return int(str(container).find(str(item), *offset))


def last_index_of(container: Any, item: Any, *offset: int) -> int:
    if isinstance(container, list):
        return max((i for i, v in enumerate(container) if v == item), default=-1)
    if offset:
        _in_range(str(container), *offset)
        return int(str(container).rfind(str(item), 0, offset[0] + len(str(item))))
    return int(str(container).rfind(str(item)))


def _in_range(text: str, *indexes: int) -> None:
    """cel-go's strings extension: an index outside 0..len is an error that names it."""
    for index in indexes:
        if not 0 <= index <= len(text):
            raise CelError(f"index out of range: {index}")


def char_at(text: str, index: int) -> str:
    _in_range(text, index)
    return text[index:index + 1]


def substring(text: str, start: int, *end: int) -> str:
    stop = end[0] if end else len(text)
    _in_range(text, start, stop)
    if start > stop:
        raise CelError(f"invalid substring range. start: {start}, end: {stop}")
    return text[start:stop]


def regex_find(text: str, pattern: str) -> str:
    found = re.search(pattern, text)
    return found.group(0) if found else ""


def regex_find_all(text: str, pattern: str, *limit: int) -> list[str]:
    found = [m.group(0) for m in re.finditer(pattern, text)]
    return found[:limit[0]] if limit and limit[0] >= 0 else found
