"""Kubernetes' CEL functions on addresses (library.URLs, library.IP, library.CIDR), as
kube-apiserver v1.34 evaluates them: Go's url.ParseRequestURI and netip.ParseAddr, their words
for what they cannot read."""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable
from typing import Any

from sandbox.runtimes.sim.cel_library import CelError


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


def url_hostname(host: str) -> str:
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.partition(":")[0] if host.count(":") == 1 else host


def url_port(host: str) -> str:
    tail = host.rpartition("]")[2] if host.startswith("[") else host
    return tail.rpartition(":")[2] if ":" in tail and tail.count(":") == 1 else ""


# -- IPs and CIDRs: library.IP and library.CIDR (netip, no zones, no IPv4-mapped IPv6) ----------
def parse_ip(text: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
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
        parse_ip(text)
    except CelError:
        return False
    return True


def is_cidr(text: Any) -> bool:
    try:
        ipaddress.ip_network(str(text), strict=False)
    except ValueError:
        return False
    return "/" in str(text)


def url_part(part: str) -> Callable[[Any], str]:
    """A URL getter (getScheme, getHost, ...) for the registry."""
    def get(text: Any) -> str:
        found = go_url(text)
        if part == "hostname":
            return url_hostname(found["host"])
        if part == "port":
            return url_port(found["host"])
        return found[part]
    return get
