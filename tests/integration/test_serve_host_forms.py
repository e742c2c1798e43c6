"""`serve --host` in the forms people write: a bracketed IPv6 address, loopback written as
the resolver reads it (``127.1``, ``2130706433``, ``localhost.``, ``::ffff:127.0.0.1``), a URL;
and every hint serve gives about --host leads to a --host it accepts."""

from __future__ import annotations

import re
import socket
from typing import Any

import pytest

from sandbox.errors import SandboxError
from sandbox.web import listen
from sandbox.web.guard import HostCheck, is_loopback
from sandbox.web.listen import ServeOptions, check_host
from tests.helpers import run_cli


@pytest.mark.parametrize("host", [
    "[::1]", "127.1", "0x7f.1", "2130706433", "0177.0.0.1", "localhost.", "LOCALHOST.",
    "::ffff:127.0.0.1", "[::ffff:127.0.0.1]", "::ffff:127.3.4.5", "127.0.0.1"])
def test_loopback_in_any_form_needs_no_public(host: str) -> None:
    """Before: 127.1, 0x7f.1, 2130706433, localhost. and ::ffff:127.0.0.1 were "not a loopback
    address", and [::1] did "not resolve to an address"."""
    assert check_host(ServeOptions(host, 0)) is None


def test_ipv4_mapped_loopback_counts_as_loopback() -> None:
    assert is_loopback("::ffff:127.0.0.1") and is_loopback("[::ffff:127.9.9.9]")
    assert not is_loopback("::ffff:10.0.0.1")
    assert HostCheck("127.0.0.1", public=False).allows("[::ffff:127.0.0.1]:8000")


def test_a_name_is_judged_by_what_it_resolves_to(monkeypatch: pytest.MonkeyPatch) -> None:
    def resolver(host: Any, *args: Any, **kwargs: Any) -> Any:
        address = {"workshop-box": "127.0.1.1", "room-box": "192.0.2.10"}[str(host)]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, 0))]

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    assert check_host(ServeOptions("workshop-box", 0)) is None
    with pytest.raises(SandboxError) as caught:
        check_host(ServeOptions("room-box", 0))
    assert caught.value.message == ("--host room-box is not a loopback address (it resolves to "
                                    "192.0.2.10)")
    assert "--public" in caught.value.hint


@pytest.mark.parametrize(("host", "written"), [
    ("http://127.0.0.1", "--host 127.0.0.1"), ("https://localhost:8443/", "--host localhost "
                                                "--port 8443"),
    ("http://[::1]:9000/x", "--host ::1 --port 9000"), ("ws://box.example", "--host box.example")])
def test_a_url_is_refused_as_a_url(host: str, written: str) -> None:
    with pytest.raises(SandboxError) as caught:
        check_host(ServeOptions(host, 0, public=True))
    assert caught.value.message == f"--host takes a host, not a URL: {host}"
    assert caught.value.hint == f"write {written}"


HOSTS_WITH_HINTS = ["[::1]:9000", "127.0.0.1:80", "localhost:", "[::1]:", "0.0.0.0:8080",
                    "http://127.0.0.1", "http://[::1]:9000/", "https://localhost:8443/app",
                    "127.1:80", "[::ffff:127.0.0.1]:81"]


@pytest.mark.parametrize("host", HOSTS_WITH_HINTS)
def test_every_hint_leads_to_a_host_serve_accepts(host: str) -> None:
    """Before: `--host [::1]:9000` said "write --host [::1] --port 9000", and --host [::1] was
    then refused as a host that "does not resolve to an address"."""
    with pytest.raises(SandboxError) as caught:
        check_host(ServeOptions(host, 0, public=True))
    advice = re.fullmatch(r"write --host (?P<host>\S+)(?: --port (?P<port>[0-9]+))?",
                          caught.value.hint)
    assert advice is not None, caught.value.hint
    options = ServeOptions(advice["host"], int(advice["port"] or 0), public=True)
    check_host(options)  # accepted: a warning at most, no refusal
    assert listen.bind_host(options.host)  # and bindable as written


@pytest.mark.parametrize("host", ["[::1]", "127.1", "::ffff:127.0.0.1"])
def test_serve_listens_on_loopback_forms(cli_env: dict[str, str], host: str) -> None:
    """The whole command: serve starts (it is stopped by a bad --gateway-port equal to its port
    only after the host is accepted, so nothing is left listening)."""
    done = run_cli("serve", "--host", host, "--port", "1", "--gateway-port", "1", env=cli_env,
                   timeout=30)
    assert "--gateway-port 1 is the port serve's page listens on" in done.stderr, done.stderr
    assert "does not resolve" not in done.stderr and "not a loopback" not in done.stderr
