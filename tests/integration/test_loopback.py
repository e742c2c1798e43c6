"""Requests, and the key in them, go to 127.0.0.1, never to whatever answers on [::1].

On Debian, Ubuntu and macOS /etc/hosts lists ``::1 localhost`` first, so a URL with
``localhost`` reaches a dev server bound to [::1] on the same port instead of the gateway.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from sandbox.catalog.loader import load_catalog
from sandbox.profiles import DEFAULT_PROFILE
from sandbox.runtimes.sim.runtime import SimRuntime
from sandbox.walkthrough.events import Event, RequestSent
from sandbox.walkthrough.exchange import new_client
from sandbox.walkthrough.runner import Walkthrough
from tests.conftest import TOKEN


class _V6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


class _Squatter(BaseHTTPRequestHandler):
    seen: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self._answer()

    def do_GET(self) -> None:
        self._answer()

    def _answer(self) -> None:
        _Squatter.seen.append(self.headers.get("Authorization") or "(no key)")
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def squatter() -> Iterator[int]:
    """A stranger listening on [::1] at a port that is free on 127.0.0.1 too."""
    try:
        server = _V6Server(("::1", 0), _Squatter)
    except OSError:
        pytest.skip("no IPv6 loopback here: the [::1] squatter cannot listen")
    _Squatter.seen = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def localhost_is_ipv6_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """Resolve ``localhost`` as Debian, Ubuntu and macOS do: ::1 first, then 127.0.0.1."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in ("localhost", b"localhost"):  # anyio passes the name IDNA-encoded
            return (real("::1", port, *args, **kwargs) + real("127.0.0.1", port, *args,
                                                                   **kwargs))
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


async def test_the_key_never_reaches_a_listener_on_ipv6_loopback(
        squatter: int, localhost_is_ipv6_first: None) -> None:
    runtime = SimRuntime(DEFAULT_PROFILE, squatter, "mock", [TOKEN], token_delay=0.0)
    try:
        await runtime.up(lambda message: None)
    except OSError:
        pytest.skip(f"port {squatter} is taken on 127.0.0.1 as well")
    catalog = load_catalog()
    events: list[Event] = []
    try:
        async with new_client() as client:
            walkthrough = Walkthrough(runtime, client, events.append, TOKEN, "mock")
            results = [await walkthrough.run(catalog.get(i)) for i in ("setup", "passthrough")]
    finally:
        await runtime.down()
    assert _Squatter.seen == [], "a request went to the stranger on [::1]"
    assert all(r.passed for r in results)
    urls = [e.request.url for e in events if isinstance(e, RequestSent)]
    assert urls and all(u.startswith(f"http://127.0.0.1:{squatter}/") for u in urls)
    assert all(f" http://127.0.0.1:{squatter}/" in e.request.curl for e in events
               if isinstance(e, RequestSent))


async def test_the_gateway_client_reads_no_ca_bundle_and_never_sends_https_unverified(
        sim: SimRuntime, monkeypatch: pytest.MonkeyPatch) -> None:
    """The gateway is plain HTTP on loopback: the client never reads a certificate store (that
    cost every run 30 ms), and an https URL fails its certificate check instead of passing."""
    import ssl

    def no_store(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the gateway client read a certificate store")

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", no_store)
    monkeypatch.setattr(ssl.SSLContext, "set_default_verify_paths", no_store)
    monkeypatch.setattr(ssl.SSLContext, "load_default_certs", no_store)
    async with new_client() as client:
        answer = await client.get(f"{sim.gateway_url}/no-route-here")
        assert answer.status_code == 404
        server = _tls_server()
        try:
            with pytest.raises(Exception, match="CERTIFICATE_VERIFY_FAILED"):
                await client.get(f"https://127.0.0.1:{server.server_address[1]}/")
        finally:
            server.shutdown()
            server.server_close()


def _tls_server() -> ThreadingHTTPServer:
    """A loopback HTTPS server with a certificate nobody vouches for (made by openssl)."""
    import ssl
    import subprocess
    import tempfile

    folder = tempfile.mkdtemp()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-keyout", f"{folder}/k.pem", "-out",
                    f"{folder}/c.pem"], check=True, capture_output=True)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Squatter)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(f"{folder}/c.pem", f"{folder}/k.pem")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
