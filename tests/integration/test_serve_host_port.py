"""`serve --host` given with a port (``127.0.0.1:80``) is refused as such, with or without
--public, naming --port; an IPv6 address, whose colons are no port, is taken as it is."""

from __future__ import annotations

import pytest

from sandbox.web.listen import ServeOptions, check_host
from tests.helpers import run_cli


@pytest.mark.parametrize(("host", "bare", "port"), [
    ("127.0.0.1:80", "127.0.0.1", "80"), ("localhost:8080", "localhost", "8080"),
    ("[::1]:9000", "::1", "9000"), ("0.0.0.0:", "0.0.0.0", ""),
    ("box.example:8443", "box.example", "8443"),
])
@pytest.mark.parametrize("public", [True, False])
def test_a_host_with_a_port_is_refused_naming_port(cli_env: dict[str, str], host: str,
                                                   bare: str, port: str, public: bool) -> None:
    done = run_cli("serve", *(["--public"] if public else []), "--host", host, env=cli_env,
                   timeout=30)
    assert done.returncode == 2, done.stdout + done.stderr
    said = f"--host {host} holds a port: --host takes no port; the port is --port"
    assert said in done.stderr, done.stderr
    hint = f"--host {bare} --port {port}" if port else f"--host {bare}"
    assert hint in done.stderr, done.stderr
    assert "does not resolve" not in done.stderr and "not a loopback" not in done.stderr


@pytest.mark.parametrize("host", ["::1", "[::1]", "127.0.0.1", "localhost"])
def test_a_loopback_address_is_no_port(host: str) -> None:
    assert check_host(ServeOptions(host, 0)) is None


def test_an_ipv6_address_with_public_is_only_warned_of() -> None:
    warning = check_host(ServeOptions("fe80::1", 8000, public=True))
    assert warning is not None and warning.startswith("warning: serving on fe80::1:8000")
