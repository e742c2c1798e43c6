"""Where ``serve`` listens: its options, the checks of --host, the lookup of a name, and why it
cannot listen where it was told."""

from __future__ import annotations

import dataclasses
import errno
import ipaddress
import re
import socket
import threading
from collections.abc import Sequence
from urllib.parse import urlsplit

from sandbox.errors import PortInUse, SandboxError
from sandbox.records import record
from sandbox.untrusted import quoted, shortened
from sandbox.web.guard import is_loopback

# seconds --host's name may take to resolve: /etc/hosts and a working resolver answer in far
# less; a resolver that drops packets holds glibc 5 s per try and server, with no end we set
HOST_LOOKUP_SECONDS = 5.0
MAX_TABS = 40  # apps at once, unless --max-tabs says otherwise: each holds some 40 MB


@record
class ServeOptions:
    host: str
    port: int
    public: bool = False
    gateway_port: int = 0  # each tab's app gets a gateway port of its own
    allow_hosts: tuple[str, ...] = ()  # names the page may be loaded from, besides this machine's
    max_tabs: int = MAX_TABS


# A name, an IPv4 address or a bracketed IPv6 one, then a colon and what would be a port.
_WITH_PORT = re.compile(r"(?P<bare>\[[^\]]*\]|[^:\[\]]+):(?P<port>[0-9]*)")


def bind_host(host: str) -> str:
    """--host as serve binds it: a URL or a host with a port refused (the hint writing what to
    give instead), an IPv6 address's brackets and a name's final dot (``localhost.``) dropped."""
    if not host:
        raise SandboxError("--host is empty: it names no address to listen on",
                           "give an address (::1, 0.0.0.0 with --public), or leave --host out "
                           "to serve this machine only (127.0.0.1)")
    if "://" in host:
        raise SandboxError(f"--host takes a host, not a URL: {shortened(host)}", _written(host))
    if _WITH_PORT.fullmatch(host) is not None:
        raise SandboxError(f"--host {shortened(host)} holds a port: --host takes no port; the "
                           "port is --port", _written(f"//{host}"))
    if host.count("[") != host.count("]") or host.startswith("[") != host.endswith("]"):
        raise SandboxError(f"--host {quoted(host)} has an unbalanced bracket: brackets go "
                           "around a whole IPv6 address, and --host needs none",
                           "write the address without brackets, such as --host ::1")
    if host.startswith("[") and host.endswith("]"):
        return host[1:-1]
    return host[:-1] if len(host) > 1 and host.endswith(".") else host


def _written(url: str) -> str:
    """The hint for a URL or ``host:port``: its host (without brackets, as --host takes it) and
    its port, as the two options."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port
    except ValueError:  # a port that is no number, or over 65535
        host, port = "", None
    if not host:
        return "write the host alone as --host, and the port as --port"
    return f"write --host {shortened(host)}" + (f" --port {port}" if port is not None else "")


def check_host(options: ServeOptions, addresses: Sequence[str] | None = None) -> str | None:
    """Refuse a host that is a URL or holds a port, and one that is not loopback without
    ``--public``; with ``--public``, the warning to print. Loopback is what the host resolves to
    (``addresses``, looked up here when not given): ``127.1`` and ``2130706433`` are 127.0.0.1."""
    host = bind_host(options.host)
    if is_loopback(host):
        return None
    if addresses is None:
        addresses = addresses_of(dataclasses.replace(options, host=host))
    if addresses and all(is_loopback(address) for address in addresses):
        return None
    if not options.public:
        resolved = "" if list(addresses) == [host] else f" (it resolves to {', '.join(addresses)})"
        raise SandboxError(
            f"--host {shortened(host)} is not a loopback address{resolved}",
            "add --public to serve other machines (anyone who can reach the port drives the "
            "sandbox and its key), or leave --host out to serve this machine only")
    return (f"warning: serving on {shortened(host)}:{options.port}: anyone who can reach this "
            "port drives the sandbox and uses its key (they never see it, but can spend it)")


def addresses_of(options: ServeOptions) -> list[str]:
    """The addresses --host names, looked up within :data:`HOST_LOOKUP_SECONDS` (getaddrinfo has
    no deadline of its own: it runs in a thread that is left to end by itself when late)."""
    host = options.host
    try:
        return [_bindable(ipaddress.ip_address(host))]  # an address: nothing to look up
    except ValueError:
        pass
    found: list[list[str] | OSError | UnicodeError] = []

    def look_up() -> None:
        try:
            answers = socket.getaddrinfo(host, options.port, type=socket.SOCK_STREAM,
                                         flags=socket.AI_PASSIVE)
            found.append(list(dict.fromkeys(
                _bindable(ipaddress.ip_address(answer[4][0])) for answer in answers)))
        except (OSError, UnicodeError) as exc:  # UnicodeError: a name idna cannot encode
            found.append(exc)

    lookup = threading.Thread(target=look_up, name="serve-host-lookup", daemon=True)
    lookup.start()
    lookup.join(HOST_LOOKUP_SECONDS)
    if not found:
        raise SandboxError(
            f"cannot listen on {shortened(host)}:{options.port}: the host {quoted(host)} could "
            f"not be resolved in {HOST_LOOKUP_SECONDS:g} s",
            "give --host as an address (an address of this machine, or 0.0.0.0 for all of "
            "them), or check the resolver (`getent hosts NAME`, /etc/resolv.conf)")
    if isinstance(found[0], OSError | UnicodeError):
        raise cannot_listen(found[0], options) from found[0]
    return found[0]


def _bindable(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """An IPv4-mapped IPv6 address as the IPv4 address it is: asyncio binds IPv6 sockets
    IPv6-only, where ``::ffff:127.0.0.1`` cannot be bound (EINVAL)."""
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    return str(mapped or address)


def cannot_listen(exc: OSError | UnicodeError, options: ServeOptions) -> SandboxError:
    """Why serve cannot listen where it was told, with the option to change: the port only when
    the port is the problem."""
    where = f"cannot listen on {shortened(options.host)}:{options.port}"
    if isinstance(exc, socket.gaierror | UnicodeError):
        return SandboxError(f"{where}: the host {quoted(options.host)} does not resolve to an "
                            f"address ({exc.strerror if isinstance(exc, OSError) else exc})",
                            "check --host: an address of this machine, a name that resolves to "
                            "one, or 0.0.0.0 for all of them")
    if exc.errno == errno.EADDRNOTAVAIL:
        return SandboxError(f"{where}: {shortened(options.host)} is not an address of this "
                            "machine",
                            "check --host: an address of this machine, or 0.0.0.0 for all of them")
    if exc.errno in (errno.EADDRINUSE, errno.EACCES):
        return PortInUse(f"{where}: {exc.strerror or exc}",
                         "pick another port with --port, or stop what holds this one")
    return SandboxError(f"{where}: {exc.strerror or exc}", "check --host and --port")
