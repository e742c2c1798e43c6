"""What each profile's proxy does to an LLM request on its way upstream, and what it answers.

From agentgateway's own code: 0.10.3 (under kgateway v2.1) and v1.4.1. The route type a request
gets (``policies.ai.routes``, ``LLMPolicy::resolve_route``), the path it is sent with
(``AIProvider::setup_request``, ``set_default_path``), and the gateway's own answers when the
upstream cannot be reached (``ProxyError`` in ``proxy/mod.rs``).
"""

from __future__ import annotations

from sandbox.records import record

OPENAI_PATH = "/v1/chat/completions"
OPENAI_BASE_PATH = "/v1"
COMPLETIONS = "Completions"
PASSTHROUGH = "Passthrough"
MODELS = "Models"
# openai::path_suffix: every other route type is translated down to completions.
OPENAI_SUFFIXES = {"Responses": "/responses", "Embeddings": "/embeddings", "Rerank": "/rerank",
                   "Realtime": "/realtime"}


@record
class DirectResponse:
    """What the gateway answers by itself, without asking the provider."""

    status: int
    body: str
    content_type: str | None


@record
class UpstreamFailure:
    """Why a connection to the upstream failed, as the operating system said it."""

    reason: str  # strerror, e.g. "Connection refused"
    errno: int | None = None
    timed_out: bool = False
    name_lookup: bool = False


# Both versions answer a Models route with the same JSON (httpproxy.rs).
MODELS_NOT_IMPLEMENTED = DirectResponse(501, "{\"error\":\"Route 'Models' not implemented\"}",
                                        "application/json")
DNS_FAILED = DirectResponse(503, "backends required DNS resolution which failed", "text/plain")


def resolve_route(routes: tuple[tuple[str, str], ...], path: str) -> str:
    """The route type of a request path: the longest suffix it ends with, else "*", else
    Completions."""
    path = path.partition("?")[0]
    wildcard = None
    for suffix, route_type in routes:
        if suffix == "*":
            wildcard = route_type
        elif path.endswith(suffix):
            return route_type
    return wildcard or COMPLETIONS


def kgateway_path(host_override: bool, full_path: str | None, path: str) -> str:
    """agentgateway 0.10.3: ``path.full`` replaces path and query; without a host override
    ``setup_request`` then forces the OpenAI path; with one the path is the route's."""
    if not host_override:
        return OPENAI_PATH
    return full_path if full_path is not None else path


def agentgateway_path(host_override: bool, full_path: str | None, prefix: str | None,
                      path: str, route_type: str) -> str:
    """agentgateway v1.4.1 ``setup_request`` for the OpenAI provider.

    ``path`` replaces path and query; a Passthrough route keeps the path, with ``pathPrefix``
    standing in for a leading ``/v1``; otherwise a host override without ``pathPrefix`` keeps
    the route's path, and everything else gets ``{pathPrefix or /v1}/chat/completions`` with
    the query kept.
    """
    if full_path is not None:
        return full_path
    current, mark, query = path.partition("?")
    tail = mark + query
    if route_type == PASSTHROUGH:
        if prefix is None:
            return path
        rest = current
        if current == OPENAI_BASE_PATH or current.startswith(OPENAI_BASE_PATH + "/"):
            rest = current[len(OPENAI_BASE_PATH):]
        return prefix.rstrip("/") + rest + tail
    if host_override and prefix is None:
        return path
    base = OPENAI_BASE_PATH if prefix is None else prefix.rstrip("/")
    return base + OPENAI_SUFFIXES.get(route_type, "/chat/completions") + tail


@record
class BrokenAnswer:
    """A provider's answer hyper refuses to read: its error's description (``Kind::Io``'s
    ``connection error``, ``Kind::IncompleteMessage``'s ``connection closed before message
    completed``, a ``Parse`` kind's …) and, for ``Io``, the io::Error under it."""

    description: str
    cause: str | None = None


def kgateway_unreachable(failure: UpstreamFailure) -> DirectResponse:
    """0.10.3: ``upstream call failed: {0}``, the Display of its hyper-util fork's client error
    (``crates/hyper-util-fork/src/client/legacy/client.rs``): ``{kind:?}: {cause}``, so
    ``Connect: <the dial's io::Error>`` as in v1.4.1."""
    return agentgateway_unreachable(failure)


def kgateway_answer_invalid(answer: BrokenAnswer) -> DirectResponse:
    """0.10.3: the fork's Display, ``SendRequest: <hyper::Error's description>``."""
    return DirectResponse(503, f"upstream call failed: SendRequest: {answer.description}",
                          "text/plain")


def agentgateway_answer_invalid(answer: BrokenAnswer) -> DirectResponse:
    """v1.4.1: the pool's Debug (``crates/pool/src/client.rs``), which adds the source of a
    hyper error that has one: ``SendRequest: connection error: <io::Error>``."""
    cause = f": {answer.cause}" if answer.cause else ""
    return DirectResponse(503, f"upstream call failed: SendRequest: {answer.description}{cause}",
                          "text/plain")


def agentgateway_unreachable(failure: UpstreamFailure) -> DirectResponse:
    """v1.4.1: ``upstream call failed: {0:?}``, the pool's ``Connect: <cause>``; the cause is
    the dial's io::Error, which Rust prints as ``<strerror> (os error N)``."""
    if failure.name_lookup:
        return DNS_FAILED
    if failure.timed_out:
        cause = "deadline has elapsed"  # tokio's timeout around TcpStream::connect
    elif failure.errno is not None:
        cause = f"{failure.reason} (os error {failure.errno})"
    else:
        cause = failure.reason
    return DirectResponse(503, f"upstream call failed: Connect: {cause}", "text/plain")
