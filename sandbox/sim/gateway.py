"""The simulated gateway: a loopback HTTP proxy that behaves like agentgateway 0.10.x.

It serves what the simulated control plane translated (routes and AI upstreams) and reproduces
the data-plane behaviour the scenarios teach: the gateway setting (and overwriting) the
``Authorization`` header for Inline and SecretRef, passing the client's header through for
Passthrough, dropping the auth policy when the Secret is missing, 404 for unmatched paths, 500
for unresolved backends, the OpenAI path and the Backend's model forced on the request.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sandbox.sim.control import Route, Upstream

OPENAI_HOST = "api.openai.com"
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
              "trailers", "transfer-encoding", "upgrade", "host", "content-length"}


class SimGateway:
    """The proxy listener on a background thread; ``routes`` is read on every request."""

    def __init__(self, routes: Callable[[], tuple[Route, ...]], host: str, port: int) -> None:
        self.routes = routes
        handler = type("Handler", (_Handler,), {"gateway": self})
        self._server = ThreadingHTTPServer((host, port), handler, bind_and_activate=False)
        self._server.daemon_threads = True
        self._server.allow_reuse_address = True
        self._thread: threading.Thread | None = None

    def bind(self) -> None:
        """Bind and listen; raises OSError (EADDRINUSE) when the port is taken."""
        try:
            self._server.server_bind()
            self._server.server_activate()
        except OSError:
            self._server.server_close()
            raise

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        name="sim-gateway", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()


class _Handler(BaseHTTPRequestHandler):
    gateway: SimGateway
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this, Nagle's algorithm and
        # delayed ACKs add ~40 ms to every keep-alive response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the access log is kept in memory instead."""

    def send_response(self, code: int, message: str | None = None) -> None:
        """Status line and Date only: the proxy adds no Server header of its own."""
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())

    def do_GET(self) -> None:
        self._proxy()

    def do_POST(self) -> None:
        self._proxy()

    def do_PUT(self) -> None:
        self._proxy()

    def do_DELETE(self) -> None:
        self._proxy()

    def _proxy(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        route = next((r for r in self.gateway.routes() if r.matches(self.command, self.path)),
                     None)
        if route is None:
            self._plain(404, "route not found")
            return
        if route.upstream is None:
            # The controller's DirectResponse for an unresolved backend: no Content-Type at all.
            self._plain(500, "Backend service unavailable", content_type=None)
            return
        self._forward(route.upstream, body)

    def _forward(self, upstream: Upstream, body: bytes) -> None:
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        # Passthrough, and a dropped policy (missing Secret), leave the client's header as is.
        if upstream.auth == "set":
            headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
            headers["Authorization"] = f"Bearer {upstream.key}"
        body = _force_model(body, upstream.model)
        host = upstream.host or OPENAI_HOST
        port = upstream.port or 443
        headers["Host"] = host if port in (80, 443) else f"{host}:{port}"
        headers["Content-Length"] = str(len(body))
        connection_type = (http.client.HTTPSConnection if upstream.host is None
                           else http.client.HTTPConnection)
        connection = connection_type(host, port, timeout=60)
        try:
            connection.request(self.command, upstream.path, body=body, headers=headers)
            response = connection.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc)
            self._plain(503, f"upstream connect error: {reason}")
            connection.close()
            return
        try:
            self._relay(response)
        finally:
            connection.close()

    def _relay(self, response: http.client.HTTPResponse) -> None:
        self.send_response(response.status, response.reason)
        for key, value in response.getheaders():
            if key.lower() not in HOP_BY_HOP and key.lower() != "date":
                self.send_header(key, value)
        length = response.getheader("Content-Length")
        if length is not None:
            self.send_header("Content-Length", length)
            self.end_headers()
            self.wfile.write(response.read())
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        while chunk := response.read1(65536):
            self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    def _plain(self, status: int, text: str, content_type: str | None = "text/plain") -> None:
        data = text.encode()
        self.send_response(status)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _force_model(body: bytes, model: str | None) -> bytes:
    """The Backend's model replaces the request's, as agentgateway does for OpenAI."""
    if not model:
        return body
    try:
        request = json.loads(body or b"{}")
    except ValueError:
        return body
    if not isinstance(request, dict):
        return body
    request["model"] = model
    return json.dumps(request).encode()


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # Only a listener makes the port unusable; connections in TIME_WAIT do not.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True
