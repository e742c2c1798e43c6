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
import json
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


# -- URLs: library.URLs, which parses with Go's url.ParseRequestURI -----------------------------
def go_url(text: Any) -> dict[str, str]:
    """The parts of a URL as Go parses a request URI, or cel-go's error."""
    if not isinstance(text, str):
        raise CelError("no such overload")
    try:
        return _parse_request_uri(text)
    except ValueError as exc:
        raise CelError("URL parse error during conversion from string: parse "
                       f"{json.dumps(text, ensure_ascii=False)}: {exc}") from None


def _parse_request_uri(raw: str) -> dict[str, str]:
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in raw):
        raise ValueError("net/url: invalid control character in URL")
    if not raw:
        raise ValueError("empty url")
    if raw == "*":
        return {"scheme": "", "host": "", "path": "*"}
    scheme, rest = _go_scheme(raw)
    rest = rest.partition("?")[0]
    if not rest.startswith("/"):
        if scheme:
            return {"scheme": scheme, "host": "", "path": ""}  # opaque
        raise ValueError("invalid URI for request")
    host = ""
    if scheme and rest.startswith("//"):
        authority, slash, path = rest[2:].partition("/")
        rest = slash + path
        host = authority.rpartition("@")[2]
        port = host.rpartition("]")[2].partition(":")[2] if ":" in host.rpartition("]")[2] \
            else ""
        if port and not port.isdigit():
            raise ValueError(f'invalid port ":{port}" after host')
    if re.search(r"%(?![0-9A-Fa-f]{2})", rest):
        bad = re.search(r"%.{0,2}", rest[rest.index("%"):])
        raise ValueError(f'invalid URL escape "{bad.group(0) if bad else "%"}"')
    return {"scheme": scheme, "host": host, "path": rest}


def _go_scheme(raw: str) -> tuple[str, str]:
    """Go's getScheme: letters, then digits, +, - or . after the first; up to a colon."""
    for index, char in enumerate(raw):
        if char.isascii() and char.isalpha():
            continue
        if char.isascii() and (char.isdigit() or char in "+-."):
            if index == 0:
                return "", raw
            continue
        if char == ":":
            if index == 0:
                raise ValueError("missing protocol scheme")
            return raw[:index].lower(), raw[index + 1:]
        return "", raw
    return "", raw


def is_url(text: Any) -> bool:
    try:
        go_url(text)
    except CelError:
        return False
    return True


def url(text: Any) -> str:
    go_url(text)  # refused as cel-go refuses it
    return str(text)


def _hostname(host: str) -> str:
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.partition(":")[0] if host.count(":") == 1 else host


def _port(host: str) -> str:
    tail = host.rpartition("]")[2] if host.startswith("[") else host
    return tail.rpartition(":")[2] if ":" in tail and tail.count(":") == 1 else ""


# -- IPs and CIDRs: library.IP and library.CIDR (netip, no zones, no IPv4-mapped IPv6) ----------
def _ip(text: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """``ip()``: Go's netip.ParseAddr, its words for an address it cannot read (IPv4's in
    full; for IPv6 its first words, the library's parser deciding)."""
    given = str(text)
    problem = _ipv4_problem(given) if "." in given.partition(":")[0] and ":" not in given \
        else None
    if problem is None and ":" not in given and "%" not in given and "." not in given:
        problem = ("unable to parse IP", "")
    if problem is None:
        try:
            address = ipaddress.ip_address(given)
        except ValueError:
            # an IPv6 zone (after %) is split off before the fields are read
            problem = ("unable to parse IP", "") if ":" not in given else (
                "each colon-separated field must have at least one digit",
                given.partition("%")[0])
        else:
            if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
                raise CelError(f"IPv4-mapped IPv6 address {json.dumps(given)} is not allowed")
            return address
    message, at = problem
    where = f" (at {json.dumps(at, ensure_ascii=False)})" if at else ""
    quoted = json.dumps(given, ensure_ascii=False)
    raise CelError(f"IP Address {quoted} parse error during conversion from string: "
                   f"ParseAddr({quoted}): {message}{where}")


def _ipv4_problem(text: str) -> tuple[str, str] | None:
    """netip.parseIPv4Fields: (what is wrong, where), or None."""
    value, fields, digits = 0, 0, 0
    for index, char in enumerate(text):
        if char.isascii() and char.isdigit():
            if digits == 1 and value == 0:
                return "IPv4 field has octet with leading zero", ""
            value, digits = value * 10 + int(char), digits + 1
            if value > 255:
                return "IPv4 field has value >255", ""
        elif char == ".":
            if index in (0, len(text) - 1) or text[index - 1] == ".":
                return "IPv4 field must have at least one digit", text[index:]
            if fields == 3:
                return "IPv4 address too long", ""
            fields, value, digits = fields + 1, 0, 0
        else:
            return "unexpected character", text[index:]
    return ("IPv4 address too short", "") if fields < 3 else None


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


# -- sizes and lists: cel-go's size() counts code points; library.Lists --------------------------
def go_size(value: Any) -> int:
    """``size()``: characters of a string (the library counts its UTF-8 bytes), elements of a
    list or map, bytes of bytes."""
    if isinstance(value, str | bytes | list | dict):
        return len(value)
    raise CelError("no such overload: size")


def _extreme(name: str, pick: Callable[[list[Any]], Any]) -> Callable[[Any], Any]:
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


def _regex_find(text: str, pattern: str) -> str:
    found = re.search(pattern, text)
    return found.group(0) if found else ""


def _regex_find_all(text: str, pattern: str, *limit: int) -> list[str]:
    found = [m.group(0) for m in re.finditer(pattern, text)]
    return found[:limit[0]] if limit and limit[0] >= 0 else found


KUBERNETES_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "goDuration": go_duration,
    "goString": go_string,
    "quantity": quantity,
    "isQuantity": is_quantity,
    "isLessThan": lambda a, b: a < b,
    "isGreaterThan": lambda a, b: a > b,
    "compareTo": lambda a, b: (a > b) - (a < b),
    "asApproximateFloat": float,
    "isInteger": lambda q: float(q).is_integer(),
    "asInteger": lambda q: int(q),
    "isURL": is_url,
    "url": url,
    "getScheme": lambda text: go_url(text)["scheme"],
    "getHost": lambda text: go_url(text)["host"],
    "getHostname": lambda text: _hostname(go_url(text)["host"]),
    "getPort": lambda text: _port(go_url(text)["host"]),
    "getEscapedPath": lambda text: go_url(text)["path"],
    "isIP": is_ip,
    "ip": lambda text: str(_ip(text)),
    "isCIDR": is_cidr,
    "goSize": go_size,
    "isSorted": is_sorted,
    "min": _extreme("min", min),
    "max": _extreme("max", max),
    "indexOf": index_of,
    "charAt": char_at,
    "substring": substring,
    "lastIndexOf": last_index_of,
    "find": _regex_find,
    "findAll": _regex_find_all,
}
