"""What ``serve`` accepts from the network: the Host a page was loaded from, the tab's terminal
size, and the messages a page sends over its websocket. Anything else is turned away quietly.

Whoever reaches the port can send anything, so nothing here trusts a type, a size or a name.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import re
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

from sandbox.records import record

MAX_WIDTH, MAX_HEIGHT = 500, 200  # cells: a 4K screen at a small font; more only eats memory
MAX_PING = 64  # characters: the page sends a timestamp
LOOPBACK_NAMES = frozenset({"localhost"})
# One name or IPv4 address, or one IPv6 address in brackets, then at most a port: what a browser
# sends. Anything more (a list after a comma, user info, a path, a zone) is refused whole.
_ONE_HOST = re.compile(r"(?:[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\])(?::(?P<port>[0-9]{1,5}))?")


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine's loopback: its name, or a loopback address (bracketed
    or not, IPv4-mapped IPv6 included)."""
    if host.lower().removesuffix(".") in LOOPBACK_NAMES:
        return True
    try:
        return is_loopback_address(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return False


def is_loopback_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    # Python 3.11's is_loopback says False for ::ffff:127.0.0.1, which is 127.0.0.1
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


def dimension(value: object, limit: int) -> int | None:
    """A width or height from the page: a whole number of cells, at most ``limit``; else None.

    Query strings bring text (``"120"``), messages bring JSON numbers; both are checked the same
    way, and neither a huge nor a non-ASCII digit string (``"²"``) reaches ``int()``.
    """
    if isinstance(value, str):
        if not (value.isascii() and value.isdigit() and len(value) <= 6):
            return None
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        return None
    return min(value, limit)


@record
class Message:
    """One well-formed message of the page: what it is, and its text or size."""

    kind: str  # stdin, resize, ping, blur, focus
    text: str = ""
    width: int = 0
    height: int = 0


def page_message(raw: str) -> Message | None:
    """The message the page's script sent, or None for anything it never sends."""
    try:
        envelope = json.loads(raw)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser goes
        return None
    if not isinstance(envelope, list) or not envelope or not isinstance(envelope[0], str):
        return None
    kind, arguments = envelope[0], envelope[1:]
    if kind in ("blur", "focus") and not arguments:
        return Message(kind)
    if len(arguments) != 1:
        return None
    argument = arguments[0]
    if kind == "stdin" and isinstance(argument, str) and _encodable(argument):
        return Message(kind, text=argument)
    if kind == "ping" and isinstance(argument, str) and len(argument) <= MAX_PING:
        return Message(kind, text=argument)
    if kind == "resize" and isinstance(argument, dict):
        width = dimension(argument.get("width"), MAX_WIDTH)
        height = dimension(argument.get("height"), MAX_HEIGHT)
        if width and height:
            return Message(kind, width=width, height=height)
    return None


def _encodable(text: str) -> bool:
    """JSON can carry lone surrogates (``"\\ud800"``), which no UTF-8 stream can."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class HostCheck:
    """The names and addresses a page may be loaded from, against DNS rebinding.

    A rebinding page reaches us under the attacker's own name, so a name is accepted only when
    it is this machine's (or given with ``--host``/``--allow-host``). An address is a different
    matter: a browser that sends ``Host: 192.0.2.7`` connected to that address itself. Loopback
    is always served; with ``--public``, every address of this machine too.
    """

    def __init__(self, bind_host: str, public: bool, allowed: Iterable[str] = ()) -> None:
        self.public = public
        self.names = set(LOOPBACK_NAMES) | {name.lower().strip("[]") for name in allowed}
        if bind_host and bind_host not in ("0.0.0.0", "::"):
            self.names.add(bind_host.lower().strip("[]"))
        if public:
            self.names |= machine_names()
        self._local: dict[str, bool] = {}

    def allows(self, host_header: str) -> bool:
        shape = _ONE_HOST.fullmatch(host_header)
        if shape is None or int(shape["port"] or 0) > 65535:
            return False
        try:
            host = urlsplit(f"//{host_header}").hostname or ""
        except ValueError:  # an unbalanced [ or the like
            return False
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return host in self.names
        if is_loopback_address(address) or str(address) in self.names:
            return True
        return self.public and self._is_this_machine(address)

    def _is_this_machine(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        if address.is_unspecified or address.is_multicast:
            return False
        key = str(address)
        if key not in self._local:
            if len(self._local) > 1024:  # whoever reaches the port chooses the Host
                self._local.clear()
            self._local[key] = _can_bind(address)
        return self._local[key]


def _can_bind(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Only an address of this machine can be bound: the one portable way to ask."""
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    with contextlib.suppress(OSError), socket.socket(family, socket.SOCK_DGRAM) as probe:
        probe.bind((str(address), 0))
        return True
    return False


def machine_names() -> set[str]:
    """This machine's host name, bare and as mDNS announces it (``name.local``)."""
    name = socket.gethostname().lower()
    short = name.split(".")[0]
    return {n for n in (name, short, f"{short}.local") if n}
