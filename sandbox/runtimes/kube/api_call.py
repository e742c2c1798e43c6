"""One call to the Kubernetes API: a deadline for the whole exchange, a bounded answer, and JSON
the sandbox can read, or an error that names the server.

urllib3's timeouts hold per read: a server that trickles its answer a byte at a time never trips
them, and retries multiply them. The exchange runs in a daemon thread that the caller stops
waiting for at the deadline (the thread stops reading at its next piece, or when the server lets
go); an answer that is cut short, empty, not JSON, nested too deeply, larger than any real one or
compressed unasked is refused as unreadable, never taken for the cluster's state.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sandbox.errors import ManifestRejected, RuntimeUnavailable
from sandbox.runtimes.kube.docker_words import (
    answer_words,
    causes,
    failure_words,
    long_number,
    text_words,
)
from sandbox.runtimes.kube.secrets import shown_url

# A CRD with its whole schema is about 1 MiB of JSON; the sandbox's lists are filtered by label.
MAX_ANSWER_BYTES = 16 * 1024 * 1024
PIECE = 64 * 1024
# Server-side apply answers 500 when the manifest itself cannot be made into its type.
MANIFEST_FAULTS = ("failed to create typed patch object", "failed to convert new object")
# How much of an answer a message quotes: the beginning of one that is not JSON, the text of a
# refusal (a proxy's page).
QUOTED_NOT_JSON = 40
QUOTED_REFUSAL = 300
# ...and of a refusal's own message (a Status): the API server's, listing every field it
# refuses, runs to a few thousand characters; what is longer is no server's message.
QUOTED_STATUS = 4096
QUOTED_LINES = 64
PROXY_HINT = ("is the proxy running and reachable from here? Check the proxy-url of this "
              "context's cluster in the kubeconfig (or remove it to reach the server directly); "
              "`kubectl cluster-info` with the same context goes through the same proxy")
CHECK_HINT = ("is the cluster running and reachable from here (a VPN, a proxy)? `kubectl "
              "cluster-info` asks the same server")


class NoAnswer(RuntimeUnavailable):
    """The API server did not answer within the deadline, or its answer cannot be read: the
    next call to it is not worth waiting for."""


@dataclass
class Exchange:
    """What the thread doing the call got so far; the caller reads it once the thread is done."""

    status: int = 0  # 0 until the status line and headers have arrived
    encoding: str = ""
    location: str = ""  # where a redirect leads
    body: bytearray = field(default_factory=bytearray)
    too_large: bool = False
    failure: BaseException | None = None
    abandoned: threading.Event = field(default_factory=threading.Event)


Quote = Callable[[str, int], str]  # the beginning of a text as a message may show it, masked


def call(pool: Any, host: str, method: str, url: str, headers: Mapping[str, str],
         body: bytes | None, timeout: float, quote: Quote, trust: str = ""
         ) -> tuple[int, dict[str, Any]]:
    """Send one request through ``pool`` (a urllib3 pool manager); the status and the JSON
    object answered, once the whole answer is in, within ``timeout`` seconds. What a message
    quotes of an answer is ``quote``'s (secrets.py: masked whole, then cut); ``trust`` says
    what the server's certificate is checked against."""
    exchange = Exchange()
    worker = threading.Thread(target=_exchange, name="agw-sandbox-kube-call", daemon=True,
                              args=(pool, method, url, dict(headers), body, timeout, exchange))
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        exchange.abandoned.set()
        raise NoAnswer(f"the Kubernetes API at {host} did not answer within {timeout:g}s "
                       "(timed out)", CHECK_HINT)
    proxy = getattr(pool, "proxy", None)  # a ProxyManager's (the cluster's proxy-url)
    return exchange.status, _answer(host, method, urlsplit(url).path, exchange, timeout, quote,
                                    trust, "" if proxy is None else str(proxy))


def _exchange(pool: Any, method: str, url: str, headers: dict[str, str], body: bytes | None,
              timeout: float, into: Exchange) -> None:
    """Runs in the call's thread: send, then read pieces until the end, the size limit, or the
    caller's leaving."""
    from urllib3 import Timeout

    try:
        response = pool.request(method, url, headers=headers, body=body, retries=False,
                                timeout=Timeout(connect=timeout, read=timeout),
                                preload_content=False, decode_content=False)
    except BaseException as exc:  # handed to the caller
        into.failure = exc
        return
    finished = False
    try:
        into.status = int(response.status)
        into.encoding = str(response.headers.get("Content-Encoding") or "").lower()
        into.location = str(response.headers.get("Location") or "")
        while not into.abandoned.is_set():
            piece = response.read1(PIECE)
            if not piece:
                finished = True
                break
            into.body += piece
            if len(into.body) > MAX_ANSWER_BYTES:
                into.too_large = True
                break
    except BaseException as exc:  # a connection cut mid-answer: reported with what came
        into.failure = exc
    finally:
        if finished:
            response.release_conn()
        else:  # never hand a half-read connection back to the pool
            response.close()


def _answer(host: str, method: str, path: str, exchange: Exchange,
            timeout: float, quote: Quote, trust: str, proxy: str = "") -> dict[str, Any]:
    from urllib3.exceptions import HTTPError, NewConnectionError
    from urllib3.exceptions import TimeoutError as TimedOut

    failure = exchange.failure
    # One read waited as long as the whole call may. (A refused connection is a TimeoutError
    # too, in urllib3's tree.)
    if isinstance(failure, TimedOut) and not isinstance(failure, NewConnectionError):
        raise NoAnswer(f"the Kubernetes API at {host} did not answer within {timeout:g}s "
                       "(timed out)", CHECK_HINT) from failure
    if isinstance(failure, HTTPError) and exchange.status:  # the connection broke mid-answer
        raise _unreadable(host, method, path, f"cut short after {len(exchange.body)} bytes")
    if isinstance(failure, HTTPError) and proxy and _through_proxy(failure):
        raise NoAnswer(f"cannot reach the proxy {shown_url(proxy)} (the proxy-url of this "
                       f"context's cluster) in front of the Kubernetes API at {host} "
                       f"({failure_words(failure) or text_words(failure)})", PROXY_HINT
                       ) from failure
    if isinstance(failure, HTTPError):
        raise _unreachable(failure, host, trust, f"{method} {path}") from failure
    if failure is not None:
        raise failure
    if 300 <= exchange.status < 400:
        raise _redirected(host, method, path, exchange, quote)
    if exchange.encoding not in ("", "identity"):
        raise _unreadable(host, method, path, f"compressed ({exchange.encoding}) although "
                          "the sandbox did not ask for it")
    if exchange.too_large:
        raise _unreadable(host, method, path, f"more than {MAX_ANSWER_BYTES // 1024**2} MiB")
    return _decoded(host, method, path, exchange.status, bytes(exchange.body), quote)


def _through_proxy(failure: BaseException) -> bool:
    """Whether the connection to the proxy in front of the server is what failed."""
    from urllib3.exceptions import ProxyError

    return any(isinstance(cause, ProxyError) for cause in causes(failure))


def _redirected(host: str, method: str, path: str, exchange: Exchange,
                quote: Quote) -> RuntimeUnavailable:
    """A redirect, named with where it leads: following it would send the credentials of the
    context to an address the kubeconfig does not name."""
    if not exchange.location:  # nowhere to go: only something that is not an API server
        return _not_an_api_server(
            f"the Kubernetes API at {host} answered {method} {path.split('?', 1)[0]} with HTTP "
            f"{exchange.status}, a redirect without a Location (an address to go to), which an "
            "API server does not answer", host)
    to = _one_line(quote(exchange.location, QUOTED_REFUSAL))
    return RuntimeUnavailable(
        f"the Kubernetes API at {host} answered {method} {path.split('?', 1)[0]} with a "
        f"redirect to {to} (HTTP {exchange.status}), which the sandbox does not follow: it "
        "would send this context's credentials to another address",
        "if that is the API server, set the server of this context's cluster in the "
        "kubeconfig to its address (`kubectl cluster-info` shows the address kubectl uses)")


def _decoded(host: str, method: str, path: str, status: int, raw: bytes,
             quote: Quote) -> dict[str, Any]:
    """A success must be one JSON object. A refusal may come from something in front of the
    server (a proxy's HTML page): its text becomes the message."""
    success = 200 <= status < 300
    if not raw:
        if success:
            raise _unreadable(host, method, path, "an empty answer")
        return {}
    try:
        data = json.loads(raw, parse_constant=_not_a_number)
    except RecursionError:
        why = "JSON nested too deeply"
    except NotANumber as exc:
        why = f"not JSON ({exc} where a number belongs)"
    except ValueError as exc:
        began = _one_line(quote(_text(raw), QUOTED_NOT_JSON))
        why = long_number(raw, exc) or f"not JSON (it begins “{began}”)"
    else:
        if isinstance(data, dict):
            return data if success else _refusal(data, quote)
        why = f"a JSON {_json_type(data)} where an object belongs"
    if success:
        raise _unreadable(host, method, path, why)
    return {"message": refusal_words(_text(raw), quote)}


def _refusal(data: dict[str, Any], quote: Quote) -> dict[str, Any]:
    """A refusal's object with the words a message quotes of it (its message and reason, the
    server's own text, of any length) made short."""
    return {**data, **{key: refusal_words(str(data[key]), quote, QUOTED_STATUS, lines=True)
                       for key in ("message", "reason") if data.get(key)}}


def refusal_words(text: str, quote: Quote, longest: int = QUOTED_REFUSAL,
                  lines: bool = False) -> str:
    """The server's words for a refusal as a message quotes them: masked, at most ``longest``
    characters, and how long the whole was when it is cut (a 900 000-character message is no
    stderr line); on one line (its blanks run together), but for ``lines``: an API server's
    Status puts each refused field on a line of its own, as kubectl shows it (a few dozen at
    most: thousands are put on one line too)."""
    flat = text if lines and text.count("\n") < QUOTED_LINES else " ".join(text.split())
    shown = quote(flat, longest)
    if len(flat) <= longest or not shown.endswith("…"):
        return shown
    return f"{shown} ({format(len(flat), ',').replace(',', ' ')} characters in all)"


def _text(raw: bytes) -> str:
    """An answer as text, to quote: decoded whole, so that a secret in it is found whole."""
    return raw.decode(errors="replace")


def _one_line(text: str) -> str:
    """A quoted piece on one line: its line breaks and tabs as escapes."""
    return text.replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")


# OpenSSL's verify codes for a certificate of another host name or IP address.
MISMATCH = (62, 64)  # X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH
ADDRESS_HINT = ("the server address in the kubeconfig must be a host name or IP address the "
                "certificate holds: use the address the cluster's tools wrote (`kind export "
                "kubeconfig --name NAME`, or your provider's get-credentials command)")
CA_HINT = ("give the cluster entry the CA that signed the server's certificate "
           "(certificate-authority-data, or certificate-authority naming its file): a cluster "
           "created again has a new one, so write its kubeconfig entry again (`kind export "
           "kubeconfig --name NAME`, or your provider's get-credentials command)")


def _unreachable(failure: BaseException, host: str, trust: str, request: str) -> NoAnswer:
    """How a connection to the API server (asked ``request``, "GET /version") failed, in
    words, and what to do about it."""
    chain = causes(failure)
    untrusted = next((cause for cause in chain
                      if isinstance(cause, ssl.SSLCertVerificationError)), None)
    if untrusted is not None:
        why = (untrusted.verify_message or "verification failed").rstrip(".")
        return NoAnswer(
            f"the API server at {host} presented a TLS certificate that is not trusted "
            f"({why}); it was checked against "
            f"{trust or 'the certificate authorities this machine trusts'}",
            ADDRESS_HINT if untrusted.verify_code in MISMATCH else CA_HINT)
    if any(isinstance(cause, ssl.SSLError) for cause in chain):
        return NoAnswer(f"cannot reach the Kubernetes API at {host} "
                        f"({failure_words(failure) or 'TLS failed'})",
                        "a server that speaks plain HTTP has an http:// address; otherwise "
                        "check the certificate-authority, client-certificate and client-key "
                        "of this context's entries (PEM files, or their base64 in the -data "
                        "fields); `kubectl cluster-info` with the same context tries the same")
    words = failure_words(failure)
    answered = answer_words(failure, request) if words is None else None
    if answered is not None:  # it answered, but not in HTTP a client reads (a huge header)
        return NoAnswer(f"the Kubernetes API at {host} answered {answered}", _what_answers(host))
    words = words or _lower(type(failure).__doc__ or "no reason given")
    return NoAnswer(f"cannot reach the Kubernetes API at {host} ({words})",
                    "is the cluster running? `kubectl cluster-info` should answer")


def _lower(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else text
    return line[:1].lower() + line[1:].rstrip(".")


class NotANumber(ValueError):
    """NaN or ±Infinity: Python's json reads them, but they are not JSON, and no count."""


def _not_a_number(constant: str) -> Any:
    raise NotANumber(constant)


def expect(host: str, method: str, path: str, data: dict[str, Any], kind: str) -> dict[str, Any]:
    """``data`` if it is an object of ``kind`` whose sections are objects, as every object the
    sandbox asks for is; anything else (a Status answered with 200, a status that is a string,
    a proxy's ``{}`` without any kind: the API server always names the kind it answers) is
    refused as unreadable, never read as the cluster's state."""
    got = data.get("kind")
    if got is None or got == "":
        raise _unreadable(host, method, path, f"an object without kind where a {kind} belongs")
    if got != kind:
        raise _unreadable(host, method, path, f"an object of kind {got!r} where a {kind} belongs")
    if not data.get("apiVersion"):  # client-go's decoder refuses it
        raise _unreadable(host, method, path, f"an object of kind {got!r} without apiVersion "
                          "(client-go: Object 'apiVersion' is missing)")
    for section, shape in (("metadata", dict), ("spec", dict), ("status", dict),
                           ("items", list)):
        value = data.get(section)
        if value is not None and not isinstance(value, shape):
            raise _unreadable(host, method, path, f"its {section} is a JSON "
                              f"{_json_type(value)} where an {_json_type(shape())} belongs")
    return data


def _json_type(value: Any) -> str:
    return {list: "array", dict: "object", str: "string", bool: "boolean",
            type(None): "null"}.get(type(value), "number")


def _unreadable(host: str, method: str, path: str, why: str) -> NoAnswer:
    return NoAnswer(
        f"the Kubernetes API at {host} answered {method} {path.split('?', 1)[0]} with something "
        f"the sandbox cannot read: {why}", _what_answers(host))


def _not_an_api_server(message: str, host: str) -> NoAnswer:
    return NoAnswer(message, _what_answers(host))


def _what_answers(host: str) -> str:
    return (f"is {host} a Kubernetes API server (a proxy, or another service on that address, "
            "answers differently)? `kubectl get --raw /version` with the same context asks it")


def check(status: int, data: Mapping[str, Any], action: str, applies: bool = False) -> None:
    """Refuse an answer that is not a success, with the server's own words and what to do
    (``applies``: the call sent a manifest, which is what a 4xx then blames)."""
    if 200 <= status < 300:
        return
    message = str(data.get("message") or data.get("reason") or f"HTTP {status}")
    if applies and status == 500 and message.startswith(MANIFEST_FAULTS):  # server-side apply
        raise ManifestRejected(message, "a field name is misspelled or in the wrong place "
                                        "(names are case-sensitive), or a value has the "
                                        "wrong type")
    if applies and status in (400, 409, 422):
        raise ManifestRejected(message, "fix the manifest and apply again")
    if status in (400, 409, 422):  # no manifest was sent: the refusal is the server's own
        raise RuntimeUnavailable(
            f"the API server refused to {action}: {message} (HTTP {status})",
            "the sandbox sent no manifest here; retry, and if it persists, `kubectl` with the "
            "same context shows whether the API server (or a proxy or webhook in front of it) "
            "refuses the same")
    if status in (401, 403):
        raise RuntimeUnavailable(f"the cluster refused to {action}: {message}",
                                 "check your kubeconfig credentials and RBAC")
    if status == 404:
        raise ManifestRejected(f"cannot {action}: {message}",
                               "are the CRDs installed? `agw-sandbox up` installs them")
    raise RuntimeUnavailable(f"the cluster failed to {action}: {message}",
                             "retry; if it persists, check the API server")
