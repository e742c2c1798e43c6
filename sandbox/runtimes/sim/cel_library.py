"""Kubernetes' CEL functions, as kube-apiserver v1.34 evaluates them, for the sim's evaluator.

The CEL library the sim uses implements the CEL core; Kubernetes adds its own libraries
(k8s.io/apiserver/pkg/cel/library: quantity, URLs, IPs and CIDRs, lists, regex, format) and
parses with Go's rules (a duration is ``time.ParseDuration``'s). Each function here follows the
Go source it names, with the error text cel-go reports, so an evaluation error reads as the
API server's. No CEL library is imported here (``cel_rules.py`` registers these functions).
"""

from __future__ import annotations

import datetime
import ipaddress
import itertools
import re
from collections.abc import Callable
from fractions import Fraction
from typing import Any
from urllib.parse import urlsplit

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


# -- URLs: library.URLs (Go's url.Parse, then a scheme and a host required) ---------------------
def is_url(text: Any) -> bool:
    """``isURL``: Go's ``url.ParseRequestURI`` succeeds."""
    if not isinstance(text, str) or not text or any(ord(c) < 0x20 or c == " " for c in text):
        return False
    if text.startswith("/"):
        return True
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*$", parts.scheme or ""))


def url(text: Any) -> str:
    if not is_url(text):
        raise CelError(f"URL parse error during conversion from string: parse \"{text}\": "
                       "invalid URI for request")
    return str(text)


def _url_part(getter: Callable[[Any], Any]) -> Callable[[str], Any]:
    def get(text: str) -> Any:
        return getter(urlsplit(text))
    return get


# -- IPs and CIDRs: library.IP and library.CIDR (netip, no zones, no IPv4-mapped IPv6) ----------
def _ip(text: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        address = ipaddress.ip_address(str(text))
    except ValueError:
        raise CelError(f"IP Address {text!r} parse error during conversion from string: "
                       f"ParseAddr({str(text)!r}): unable to parse IP") from None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        raise CelError(f"IPv4-mapped IPv6 address {text!r} is not allowed")
    return address


def is_ip(text: Any) -> bool:
    try:
        _ip(text)
    except CelError:
        return False
    return True


def is_cidr(text: Any) -> bool:
    try:
        ipaddress.ip_network(str(text), strict=False)
    except ValueError:
        return False
    return "/" in str(text)


# -- lists: library.Lists ---------------------------------------------------------------------
def is_sorted(items: list[Any]) -> bool:
    return all(a <= b for a, b in itertools.pairwise(items))


def index_of(container: Any, item: Any, *offset: int) -> int:
    """strings' ``indexOf`` and lists' (Kubernetes' lists library), by the receiver's type."""
    if isinstance(container, list):
        return next((i for i, v in enumerate(container) if v == item), -1)
    if offset and not 0 <= offset[0] <= len(container):
        raise CelError("index out of range")
    return int(str(container).find(str(item), *offset))


def last_index_of(container: Any, item: Any, *offset: int) -> int:
    if isinstance(container, list):
        return max((i for i, v in enumerate(container) if v == item), default=-1)
    if offset:
        if not 0 <= offset[0] <= len(container):
            raise CelError("index out of range")
        return int(str(container).rfind(str(item), 0, offset[0] + len(str(item))))
    return int(str(container).rfind(str(item)))


def _regex_find(text: str, pattern: str) -> str:
    found = re.search(pattern, text)
    return found.group(0) if found else ""


def _regex_find_all(text: str, pattern: str, *limit: int) -> list[str]:
    found = [m.group(0) for m in re.finditer(pattern, text)]
    return found[:limit[0]] if limit and limit[0] >= 0 else found


KUBERNETES_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "goDuration": go_duration,
    "quantity": quantity,
    "isQuantity": is_quantity,
    "isLessThan": lambda a, b: a < b,
    "isGreaterThan": lambda a, b: a > b,
    "compareTo": lambda a, b: (a > b) - (a < b),
    "asApproximateFloat": float,
    "sign": lambda q: (q > 0) - (q < 0),
    "isInteger": lambda q: float(q).is_integer(),
    "asInteger": lambda q: int(q),
    "isURL": is_url,
    "url": url,
    "getScheme": _url_part(lambda p: p.scheme),
    "getHost": _url_part(lambda p: p.netloc.rpartition("@")[2]),
    "getHostname": _url_part(lambda p: p.hostname or ""),
    "getPort": _url_part(lambda p: str(p.port or "") if p.port is not None else ""),
    "getEscapedPath": _url_part(lambda p: p.path),
    "isIP": is_ip,
    "ip": lambda text: str(_ip(text)),
    "isCIDR": is_cidr,
    "isSorted": is_sorted,
    "indexOf": index_of,
    "lastIndexOf": last_index_of,
    "find": _regex_find,
    "findAll": _regex_find_all,
}
