"""The simulated gateway: a loopback HTTP proxy that behaves like agentgateway (each profile's).

It serves what the simulated control plane translated (routes and AI upstreams) and reproduces
the data-plane behaviour the scenarios teach: the gateway setting (and overwriting) the
``Authorization`` header for Inline and SecretRef, passing the client's header through for
Passthrough, dropping the auth policy (v2.1) or the backend (v1.4) when the Secret is missing,
404 for unmatched paths, the profile's 500 for backends it does not have, the route type and
upstream path the profile's proxy picks, the Backend's model forced on a completion, and the
proxy's own words when the upstream cannot be reached. A request it cannot reproduce (another
provider's API, a route type the mock does not speak) gets a labelled "not simulated" answer.
"""

from __future__ import annotations

import http.client
import json
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping

from sandbox.mock.guarded import GuardedHandler, GuardedServer
from sandbox.profiles.backend_api import BackendApi, KgatewayBackends
from sandbox.profiles.llm_requests import (
    COMPLETIONS,
    MODELS,
    MODELS_NOT_IMPLEMENTED,
    PASSTHROUGH,
    DirectResponse,
    UpstreamFailure,
)
from sandbox.runtimes.sim.provider_answer import ProviderResponse, body_length, hyper_error
from sandbox.runtimes.sim.routing import Route, Upstream
from sandbox.untrusted import quoted

OPENAI_HOST = "api.openai.com"
OPENAI_ADDRESS = (OPENAI_HOST, 443)
CONNECT_TIMEOUT = 3.0  # a provider that does not answer a TCP connect by then is unreachable
# agentgateway sets no timeout on the provider's answer unless a route asks for one: it waits as
# long as its client does. The sim too, up to this bound (longer than agw-sandbox itself waits
# for an answer), so that a thread is never held for good.
READ_TIMEOUT = 300.0
RELAY_PIECE = 65536
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
              "trailers", "transfer-encoding", "upgrade", "host", "content-length"}


class SimGateway:
    """The proxy listener on a background thread; ``routes`` is read on every request."""

    def __init__(self, routes: Callable[[], tuple[Route, ...]], host: str, port: int,
                 openai_address: tuple[str, int] | None = None,
                 connect_timeout: float = CONNECT_TIMEOUT,
                 api: BackendApi | None = None) -> None:
        self.routes = routes
        # The profile's proxy: its own answers, the paths and route types it picks.
        self.api: BackendApi = api or KgatewayBackends()
        # Where traffic for api.openai.com really goes; tests point it at a loopback port.
        self.openai_address = openai_address or OPENAI_ADDRESS
        self.connect_timeout = connect_timeout
        handler = type("Handler", (_Handler,), {"gateway": self})
        self._server = GuardedServer((host, port), handler, bind_and_activate=False)
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

    @property
    def failures(self) -> tuple[str, ...]:
        """Exceptions that escaped a handler (by type name); empty when every input was handled."""
        return tuple(self._server.failures)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve, name="sim-gateway",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.stop()
            self._thread.join(timeout=5)
        self._server.server_close()


class _Handler(GuardedHandler):
    gateway: SimGateway

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
        body = self.read_body()
        if body is None:
            return
        route = next((r for r in self.gateway.routes() if r.matches(self.command, self.path)),
                     None)
        if route is None:
            self._plain(404, "route not found")
            return
        if route.upstream is None:
            # kgateway: a DirectResponse with no Content-Type at all; agentgateway: the proxy's
            # own "service not found" for a backend it was never sent.
            self._answer(route.answer or self.gateway.api.unresolved)
            return
        self._call(route.upstream, route.rewritten(self.path), body)

    def _call(self, upstream: Upstream, path: str, body: bytes) -> None:
        """The LLM part of the proxy: the route type, then the path and body it sends."""
        llm, api = upstream.llm, self.gateway.api
        route_type = COMPLETIONS if llm is None else api.route_type(llm, path)
        if upstream.provider != "openai":
            self._answer(not_simulated(f"a request through the {upstream.provider} provider "
                                       "(the simulated gateway and the mock provider speak "
                                       "only OpenAI's API)"))
        elif route_type == MODELS:
            self._answer(MODELS_NOT_IMPLEMENTED)
        elif route_type not in (COMPLETIONS, PASSTHROUGH):
            self._answer(not_simulated(f"the {route_type} route type of "
                                       "spec.policies.ai.routes"))
        else:
            if llm is not None:
                path = api.upstream_path(llm, path, route_type)
            elif upstream.path is not None:
                path = upstream.path
            if route_type == COMPLETIONS:  # a passthrough body is not parsed, so not rewritten
                body = _force_model(body, upstream.model)
            self._forward(upstream, path, body)

    def _forward(self, upstream: Upstream, path: str, body: bytes) -> None:
        headers: dict[str, str | bytes] = {k: v for k, v in self.headers.items()
                                           if k.lower() not in HOP_BY_HOP}
        # Passthrough, and a dropped policy (missing Secret), leave the client's header as is.
        if upstream.auth == "set":
            value = f"Bearer {upstream.key}"
            if header_value_ok(value):
                headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
                headers["Authorization"] = value.encode()  # as hyper sends it: UTF-8 bytes
            elif self.gateway.api.unsendable_key_fails:
                self._answer(UNSENDABLE_KEY)
                return
            # else: 0.10.3 inserts the header only when it is a valid value
        host = upstream.host or OPENAI_HOST
        port = upstream.port or 443
        headers["Host"] = host if port in (80, 443) else f"{host}:{port}"
        headers["Content-Length"] = str(len(body))
        connection_type = (http.client.HTTPSConnection if upstream.host is None
                           else http.client.HTTPConnection)
        target = (host, port) if upstream.host is not None else self.gateway.openai_address
        connection = connection_type(*target, timeout=self.gateway.connect_timeout)
        try:
            connection.connect()
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            self._answer(self.gateway.api.unreachable(upstream_failure(exc)))
            return
        if connection.sock is not None:
            connection.sock.settimeout(READ_TIMEOUT)
        try:
            connection.request(self.command, path, body=body, headers=headers)
        except (ValueError, UnicodeError):
            # A path or method that HTTP cannot carry: say which part, never a header's value.
            connection.close()
            self._plain(500, "invalid upstream request: "
                             f"{unsendable(self.command, path, headers)}")
            return
        except (OSError, http.client.HTTPException) as exc:
            # connected, then reset or closed while sending: hyper's SendRequest error, not
            # Connect's (a provider that answers early and hangs up on the rest, say)
            connection.close()
            self._answer(self.gateway.api.answer_invalid(hyper_error(exc)))
            return
        try:
            self._answer_from(connection)
        finally:
            connection.close()

    def _answer_from(self, connection: http.client.HTTPConnection) -> None:
        """Relay the provider's answer; one that is not valid HTTP (cut in its head, reset,
        malformed) gets the proxy's own answer instead, as hyper refuses to read it."""
        if not self._answer_comes(connection):
            self.close_connection = True  # the client left, or waited past any bound
            return
        connection.response_class = ProviderResponse
        try:
            response = connection.getresponse()
            length = body_length(response)
        except (OSError, http.client.HTTPException) as exc:
            self._answer(self.gateway.api.answer_invalid(hyper_error(exc)))
            return
        self._relay(response, length)

    def _relay(self, response: http.client.HTTPResponse, length: str | None) -> None:
        self.send_response(response.status, response.reason)
        for key, value in response.getheaders():
            if key.lower() not in HOP_BY_HOP and key.lower() != "date":
                self.send_header(key, value)
        if length is not None:  # relayed piece by piece, as it comes: it may be huge
            self.send_header("Content-Length", length)
            self.end_headers()
            if not self._pieces(response, lambda piece: piece):
                self.close_connection = True  # cut short upstream: the client sees it end
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if self._pieces(response, lambda piece: f"{len(piece):x}\r\n".encode() + piece
                        + b"\r\n"):
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.close_connection = True  # no last chunk: the client sees the answer broke off

    def _pieces(self, response: http.client.HTTPResponse,
                framed: Callable[[bytes], bytes]) -> bool:
        """Relay the body as it comes; False when the provider's answer broke off."""
        try:
            while piece := response.read1(RELAY_PIECE):
                self.wfile.write(framed(piece))
                self.wfile.flush()
        except (OSError, http.client.HTTPException):
            return False
        return not response.length  # the provider's Content-Length left unmet: cut short

    def _answer_comes(self, connection: http.client.HTTPConnection) -> bool:
        """Wait for the provider's first byte while the client is still there (a proxy drops
        the upstream call when its client leaves); False when the client left first."""
        upstream = connection.sock
        if upstream is None or (isinstance(upstream, ssl.SSLSocket) and upstream.pending()):
            return True
        watched = [upstream, self.connection]
        deadline = time.monotonic() + READ_TIMEOUT
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select(watched, [], [], left)
            if upstream in ready:
                return True
            if ready and self._client_left():
                return False
            if ready:  # the client sent more (a next request): only the provider matters now
                watched = [upstream]
        return False

    def _client_left(self) -> bool:
        try:
            return not self.connection.recv(1, socket.MSG_PEEK)
        except OSError:
            return True

    def _plain(self, status: int, text: str, content_type: str | None = "text/plain") -> None:
        data = text.encode()
        self.send_response(status)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _answer(self, answer: DirectResponse) -> None:
        self._plain(answer.status, answer.body, content_type=answer.content_type)


# AuthorizationLocation::insert (v1.4.1): ProxyError::Processing of http's InvalidHeaderValue.
UNSENDABLE_KEY = DirectResponse(503, "processing failed: failed to parse header value",
                                "text/plain")


def not_simulated(what: str) -> DirectResponse:
    """The sim's own answer for a request it does not reproduce, labelled as such."""
    return DirectResponse(501, f"not simulated: {what} (works on kind)", "text/plain")


def header_value_ok(value: str) -> bool:
    """``HeaderValue::from_str``: any byte but the controls (tab allowed), non-ASCII too."""
    return all(char == "\t" or (char >= " " and char != "\x7f") for char in value)


def upstream_failure(exc: BaseException) -> UpstreamFailure:
    """A failed connection as the operating system described it."""
    if isinstance(exc, socket.gaierror):
        return UpstreamFailure(failure_reason(exc), name_lookup=True)
    if isinstance(exc, TimeoutError):
        return UpstreamFailure("timed out", timed_out=True)
    errno = exc.errno if isinstance(exc, OSError) else None
    return UpstreamFailure(failure_reason(exc), errno)


def _force_model(body: bytes, model: str | None) -> bytes:
    """The Backend's model replaces the request's, as agentgateway does for OpenAI."""
    if not model:
        return body
    try:
        request = json.loads(body or b"{}")
    except (ValueError, RecursionError):  # not JSON, or absurdly deep: the provider says so
        return body
    if not isinstance(request, dict):
        return body
    request["model"] = model
    return json.dumps(request).encode()


def unsendable(method: str, path: str, headers: Mapping[str, str | bytes]) -> str:
    """Which part of a request HTTP cannot carry, by name only (a header may hold a key)."""
    for name, value in headers.items():
        if isinstance(value, str) and not _printable(value):
            return (f"the {name} header holds a control or non-ASCII character (check the "
                    "request's headers)")
    if not _printable(path) or " " in path:
        return "the path holds a space, a control or a non-ASCII character"
    return f"the method {quoted(method)} is not a valid HTTP method"


def _printable(text: str) -> bool:
    return all(" " <= char <= "~" or char == "\t" for char in text)


def failure_reason(exc: BaseException) -> str:
    """A short reason for a failed connection, as a person would say it."""
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, socket.gaierror):
        return f"the name does not resolve ({exc.strerror})"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return type(exc).__name__


def unreachable(address: tuple[str, int], timeout: float = CONNECT_TIMEOUT) -> str | None:
    """Why a TCP connection to ``address`` cannot be opened within ``timeout`` s, or None.

    The name lookup counts against the timeout too: it runs on a daemon thread, because
    ``getaddrinfo`` takes no timeout and a dead DNS server holds it for ten seconds or more.
    """
    outcome: list[str | None] = []

    def attempt() -> None:
        try:
            socket.create_connection(address, timeout=timeout).close()
        except OSError as exc:
            outcome.append(failure_reason(exc))
        else:
            outcome.append(None)

    thread = threading.Thread(target=attempt, name="reachability", daemon=True)
    thread.start()
    thread.join(timeout)
    return outcome[0] if outcome else f"no answer within {timeout:g} s"

