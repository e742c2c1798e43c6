"""Manifest and request checks run before anything is applied or sent (and when a scenario
folder loads).

Two sorts, and each message says which it is. A few of the CRDs' own rules are checked here so a
scenario folder is refused when it loads, not when it runs: those read exactly as the API server
words its refusal. The rest are the sandbox's own: the API server accepts some manifests that
cannot work (it does not check that an authToken's ``kind`` matches the field given, for
instance), and these say so under ``LABEL``, with what to change. Requests are checked the same
way: a header that HTTP cannot carry is a problem in the scenario, found when it loads, not a
crash when it is sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from sandbox.untrusted import quoted

# How the sandbox's own problems are introduced, so no one takes them for the API server's.
LABEL = "agw-sandbox's own check (a real cluster would accept this manifest)"
# kubectl refuses these itself, before any request: its words.
KUBECTL = "kubectl refuses it: error validating data: "
# RFC 9110 token characters: what a method or a header name may hold.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_PATH_CHAR = re.compile(r"[\x21-\x7e]")
_HEADER_VALUE_CHAR = re.compile(r"[\x20-\x7e\t]")
# The client (httpx) sends no URL longer than this; the gateway's address comes before the path.
MAX_URL_CHARACTERS = 65_536
GATEWAY_ADDRESS = "http://127.0.0.1:PORT"  # as the runtimes serve it, PORT up to 5 digits
MAX_PATH_CHARACTERS = MAX_URL_CHARACTERS - len(GATEWAY_ADDRESS.replace("PORT", "65535"))


def structural(doc: Mapping[str, Any]) -> list[str]:
    """The minimum every Kubernetes manifest needs."""
    problems = [f"{KUBECTL}{key} not set" for key in ("apiVersion", "kind")
                if not isinstance(doc.get(key), str) or not doc.get(key)]
    metadata = doc.get("metadata")
    if not isinstance(metadata, Mapping) or not isinstance(metadata.get("name"), str):
        problems.append("the API server refuses it: resource name may not be empty "
                        "(metadata.name)")
    return problems


def own(problem: str) -> str:
    return f"{LABEL}: {problem}"


def invalid(doc: Mapping[str, Any], group: str, where: str, body: str) -> str:
    """The API server's refusal of one field, as ``kubectl apply`` prints it."""
    name = (doc.get("metadata") or {}).get("name", "")
    return f'{doc.get("kind")}.{group} "{name}" is invalid: {where}: {body}'


def _auth_token_problems(doc: Mapping[str, Any], token: Mapping[str, Any],
                         where: str) -> list[str]:
    if "inline" in token and "secretRef" in token:  # the CRD's own rule
        return [invalid(doc, "gateway.kgateway.dev", where, 'Invalid value: "object": at most '
                        "one of the fields in [inline secretRef] may be set")]
    return [own(problem) for problem in _auth_token_kind_problems(token, where)]


def _auth_token_kind_problems(token: Mapping[str, Any], where: str) -> list[str]:
    kind = token.get("kind")
    has_inline = bool(token.get("inline"))
    secret_ref = token.get("secretRef")
    has_ref = isinstance(secret_ref, Mapping) and bool(secret_ref.get("name"))
    if kind == "Inline" and not has_inline:
        return [f"{where}.kind is Inline but {where}.inline is empty: put the key in "
                f"{where}.inline, or change kind to SecretRef or Passthrough"]
    if kind == "SecretRef" and not has_ref:
        return [f"{where}.kind is SecretRef but {where}.secretRef.name is not set: name the "
                "Secret that holds the key"]
    if kind == "Inline" and "secretRef" in token:
        return [f"{where}.kind is Inline but secretRef is also set: remove secretRef"]
    if kind == "SecretRef" and "inline" in token:
        return [f"{where}.kind is SecretRef but inline is also set: remove inline"]
    if kind == "Passthrough" and (has_inline or "secretRef" in token):
        return [f"{where}.kind is Passthrough, so the client's own token is sent upstream: "
                "remove inline/secretRef"]
    return []


def lint(doc: Mapping[str, Any]) -> list[str]:
    """Problems the API server would let through but that break the scenario."""
    problems = structural(doc)
    kind = doc.get("kind")
    spec = doc.get("spec") if isinstance(doc.get("spec"), Mapping) else {}
    assert isinstance(spec, Mapping)
    if kind == "Backend":
        llm = _dig(spec, "ai", "llm")
        for provider, settings in (llm or {}).items():
            if isinstance(settings, Mapping) and isinstance(settings.get("authToken"), Mapping):
                where = f"spec.ai.llm.{provider}.authToken"
                problems += _auth_token_problems(doc, settings["authToken"], where)
    elif kind == "AgentgatewayBackend":
        problems += _agentgateway_backend_problems(doc, spec)
    elif kind == "HTTPRoute":
        for r, rule in enumerate(spec.get("rules") or []):
            for b, ref in enumerate((rule or {}).get("backendRefs") or []):
                if isinstance(ref, Mapping) and ref.get("kind") == "Backend" and "port" in ref:
                    problems.append(own(f"spec.rules[{r}].backendRefs[{b}] points at a Backend "
                                        "and sets a port: remove the port (it makes the route "
                                        "fail with BackendNotFound)"))
    elif kind == "Secret":
        data = {**(doc.get("data") or {}), **(doc.get("stringData") or {})}
        lowered = {k.lower(): k for k in data}
        if "authorization" in lowered and "Authorization" not in data:
            problems.append(own(f"the Secret's key is {quoted(lowered['authorization'])} but the "
                                "gateway reads exactly 'Authorization' (case-sensitive): "
                                "rename the key"))
    return problems


AUTH_MODES = ("key", "secretRef", "passthrough", "aws", "azure", "gcp", "oauthTokenExchange",
              "crossAppAccess")
AGW_GROUP = "agentgateway.dev"
CEL_NOT_RUN = ("<nil>: Invalid value: null: some validation rules were not checked because "
               "the object was invalid; correct the existing errors to complete validation")


def _agentgateway_backend_problems(doc: Mapping[str, Any], spec: Mapping[str, Any]
                                   ) -> list[str]:
    """Three of AgentgatewayBackend's CRD rules, in the API server's words: a scenario folder
    that breaks them is refused when it loads."""
    problems = []
    auth = _dig(spec, "policies", "auth") or {}
    if sum(mode in auth for mode in AUTH_MODES) > 1:
        problems.append(invalid(doc, AGW_GROUP, "spec.policies.auth",
                                'Invalid value: "object": at most one of the fields in '
                                f"[{' '.join(AUTH_MODES)}] may be set"))
    secret_ref = auth.get("secretRef")
    if isinstance(secret_ref, Mapping) and "name" not in secret_ref:
        # A missing required field stops the API server before the CEL rules, and it says so.
        problems.append(invalid(doc, AGW_GROUP, "[spec.policies.auth.secretRef.name",
                                f"Required value, {CEL_NOT_RUN}]"))
        return problems
    provider = _dig(spec, "ai", "provider") or {}
    if ("host" in provider) != ("port" in provider):
        problems.append(invalid(doc, AGW_GROUP, "spec.ai.provider", 'Invalid value: "object": '
                                "both host and port must be set together"))
    return problems


def _dig(value: Any, *keys: str) -> Mapping[str, Any] | None:
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value if isinstance(value, Mapping) else None


# The client frames the body itself: a scenario's own value could only contradict it.
FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding"})


def framing_problem(name: str) -> str | None:
    if name.lower() not in FRAMING_HEADERS:
        return None
    return (f"header {quoted(name)} is set by the client from the body: leave it out (a value of "
            "your own could only contradict it)")


def request_problems(method: str, path: str, headers: Iterable[tuple[str, str]]
                     ) -> list[tuple[str, str]]:
    """``(where, message)`` for each part HTTP cannot carry; ``where`` is method, path or a header.

    Messages show the offending character and its position, never a header's value (it may be a
    key).
    """
    problems: list[tuple[str, str]] = []
    if not _TOKEN.fullmatch(method):
        problems.append(("method", f"request method {quoted(method)} is not an HTTP method: use a "
                                   "word such as GET or POST"))
    if path and not path.startswith("/"):
        problems.append(("path", f"request path {quoted(path)} must start with /"))
    elif bad := _first_bad(path, _PATH_CHAR):
        problems.append(("path", f"request path holds {bad}: a path is printable ASCII without "
                                 "spaces (percent-encode anything else, a space as %20)"))
    elif len(path) > MAX_PATH_CHARACTERS:
        problems.append(("path", f"the request path is {len(path)} characters long; a URL the "
                                 f"client sends holds at most {MAX_URL_CHARACTERS} characters, "
                                 f"of which the gateway's address ({GATEWAY_ADDRESS}) takes up "
                                 f"to {MAX_URL_CHARACTERS - MAX_PATH_CHARACTERS}, so a path "
                                 f"holds at most {MAX_PATH_CHARACTERS}: shorten it"))
    for name, value in headers:
        if not _TOKEN.fullmatch(name):
            problems.append((name, f"header name {quoted(name)} is not valid: use letters, digits "
                                   "and dashes"))
        if bad := _first_bad(value, _HEADER_VALUE_CHAR):
            problems.append((name, f"header {quoted(name)} holds {bad}: header values are "
                                   "printable ASCII on one line"))
        if framing := framing_problem(name):
            problems.append((name, framing))
    return problems


def _first_bad(text: str, allowed: re.Pattern[str]) -> str:
    for position, char in enumerate(text, start=1):
        if not allowed.fullmatch(char):
            return f"{quoted(char)} at position {position}"
    return ""
