"""What a failed request step suggests: a hint for a wrong status or a missing text, read from
what the answer shows."""

from __future__ import annotations

from sandbox.walkthrough.answer import Answer
from sandbox.walkthrough.events import ResponseView
from sandbox.walkthrough.render import Context, swap_secrets


def model_hint(answer: Answer, ctx: Context) -> str:
    """Why the answer names another model, or none."""
    if answer.unread:
        return (f"{answer.unread}, so no model was read from it: its body shows the answer as "
                "it came")
    if answer.not_json:
        return (f"the answer is not JSON ({answer.not_json}), so it names no model: its body "
                "shows what came instead")
    profile = ctx.profile
    return (f"the {profile.backend_kind}'s model replaces the request's: check "
            f"{'.'.join(profile.upstream_path)}")


def contains_hint(wanted: str, ctx: Context) -> str:
    if swap_secrets(wanted, ctx, lambda name: "") != wanted:
        return ("a provider reports the key it received masked, if at all (the mock does): "
                "to check which key it got, expect ${token_masked}")
    return "compare the key the provider reports with the one you expected"


STREAM_ERROR_HINT = ("the provider began its answer, then reported this error in the stream "
                     "instead of the rest: its words say why (a rate limit or an overloaded "
                     "provider passes); send the request again")

# What agentgateway answers itself when it has nowhere to send a request: a text/plain 404 whose
# body is the error's text (proxy/mod.rs: ProxyError::RouteNotFound, ListenerNotFound,
# BindNotFound). Any other 404 came from the provider, through a route that matched.
GATEWAY_NOT_FOUND = ("route not found", "listener not found", "bind not found")


def gateway_not_found(response: ResponseView) -> bool:
    """Whether the gateway answered this 404 itself (no route, no listener), not the provider."""
    return response.status == 404 and response.body.strip() in GATEWAY_NOT_FOUND


def _not_found_hint(body: str) -> str:
    said = body.strip()
    if said == "route not found":
        return ("no route matched the path (the gateway answered \"route not found\" itself): "
                "check the HTTPRoute's matches and that it is Accepted")
    if said in GATEWAY_NOT_FOUND:
        return (f"nothing listens for this address on the gateway (it answered \"{said}\" "
                "itself): check the Gateway's listeners and the port")
    passed_on = "the route matched and the gateway passed the request on: the 404 is the provider's"
    if "Invalid URL" in body:
        return (f"{passed_on}, which does not serve the URL it was sent: check the request's "
                "path and query string, and the route's URLRewrite")
    if "model_not_found" in body or ("model" in body and "does not exist" in body):
        return (f"{passed_on}, which has no such model: check the model the Backend sets (or "
                "the request asks for)")
    return f"{passed_on}: its own explanation is in the response body"


def status_hint(response: ResponseView, provider: str) -> str:
    body = response.body
    if response.status == 401 and "didn't provide an API key" in body:
        return ("the provider got no key: check the Backend's authToken and, for SecretRef, "
                "that the Secret exists with the key 'Authorization'")
    if response.status == 401:
        return "the provider rejected the key: check --token (or the key in the Secret)"
    if response.status == 404:
        return _not_found_hint(body)
    if response.status == 500 and "invalid upstream request" in body:
        return ("a key, path or header holds a character HTTP cannot carry: retype it without "
                "control, non-ASCII or invisible characters")
    if response.status == 500:
        return "the route's backend did not resolve: check the HTTPRoute's ResolvedRefs condition"
    if response.status == 501 and body.startswith("not simulated: "):
        return "the simulated runtime does not reproduce this request: run it with --runtime kind"
    if response.status == 503 and "failed to parse header value" in body:
        return ("the Backend's key holds a character HTTP cannot carry (a line break or another "
                "control character): fix the key in the Backend or its Secret")
    if response.status == 503 and "upstream call failed: SendRequest: connection error" in body:
        return ("the provider reset the connection before its answer was whole (while the "
                "gateway was still sending the request, or during the answer), so the gateway "
                "answered for it: what answers at the Backend's address hung up on the request "
                "(one too large for it? check the key's length) or is misbehaving; send the "
                "request again"
                + (", or use --provider mock to work offline" if provider == "openai" else ""))
    if response.status == 503 and "upstream call failed: SendRequest: " in body:
        return ("the provider's answer was not valid HTTP (it broke off or was reset before its "
                "headers ended, or they were malformed), so the gateway answered for it: what "
                "answers at the Backend's address is misbehaving; send the request again"
                + (", or use --provider mock to work offline" if provider == "openai" else ""))
    if response.status == 503:
        if provider == "openai" or "api.openai.com" in body:
            return ("the gateway could not reach api.openai.com: check this machine's internet "
                    "connection (and proxy), or use --provider mock to work offline")
        return ("the gateway could not reach the mock provider: is the runtime up? "
                "(`agw-sandbox status`)")
    if response.status == 431:
        return ("the request's headers are larger than the server takes: a key (or header) this "
                "long is not a real one; check --token and the request's headers")
    return "the provider's own explanation is in the body of its answer"  # a pane, or printed
