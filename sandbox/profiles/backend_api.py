"""How each API profile's LLM backend reads and how its controller and proxy treat it.

Two strategies, one per controller family, named on the profile (``Profile.backend_api``). They
hold the only behaviour that differs between the profiles (DESIGN §4): where the model, the
upstream and the key sit in the manifest, how a Secret's value becomes a key, what a missing or
unusable Secret does, the words of each status message, the path the proxy sends upstream, and
what the gateway answers by itself. What a strategy leaves out of the simulation it names in
``unsimulated``, so the sim can refuse it in its own words instead of staying silent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import field
from typing import Any, Protocol

from sandbox.profiles.llm_requests import (
    COMPLETIONS,
    OPENAI_BASE_PATH,
    OPENAI_PATH,
    BrokenAnswer,
    DirectResponse,
    UpstreamFailure,
    agentgateway_answer_invalid,
    agentgateway_path,
    agentgateway_unreachable,
    kgateway_answer_invalid,
    kgateway_path,
    kgateway_unreachable,
    resolve_route,
)
from sandbox.records import record

__all__ = ["COMPLETIONS", "OPENAI_PATH", "AgentgatewayBackends", "Auth", "BackendApi",
           "BrokenAnswer", "DirectResponse", "KgatewayBackends", "LlmBackend", "UpstreamFailure",
           "Verdict"]

DEFAULT_SECRET_KEY = "Authorization"

# The raw data of a Secret in the backend's namespace, or None when it does not exist.
SecretReader = Callable[[str], Mapping[str, bytes] | None]


@record
class Auth:
    """What a backend asks the gateway to do about the upstream ``Authorization`` header."""

    mode: str  # "key" (inline), "secret" (from a Secret), "passthrough" or "none"
    key: str | None = field(default=None, repr=False)
    secret: str | None = None
    secret_key: str = DEFAULT_SECRET_KEY


@record
class LlmBackend:
    """The parts of an LLM backend manifest the gateway acts on."""

    provider: str  # the provider's field name: "openai", "anthropic", ...
    model: str | None
    host: str | None
    port: int | None
    path: str | None  # the full-path override as written, if any
    auth: Auth
    path_prefix: str | None = None
    # policies.ai.routes: (path suffix, route type), longest first, "*" last
    routes: tuple[tuple[str, str], ...] = ()


@record
class Verdict:
    """The controller's status for one backend and what (if anything) the proxy receives."""

    accepted: bool
    reason: str
    message: str
    observed_generation: bool  # whether the condition carries observedGeneration
    served: bool  # False: the backend never reaches the proxy
    auth: str = "none"  # "set", "passthrough" or "none"
    key: str | None = field(default=None, repr=False)


class BackendApi(Protocol):
    group: str
    kind: str
    unresolved: DirectResponse
    # A Secret created empty after being missing leaves the old Accepted=False in place.
    stale_on_empty_secret: bool
    # A backendRef port makes the lookup miss (BackendNotFound) rather than being ignored.
    port_breaks_lookup: bool
    # A key HTTP cannot carry fails the request (True) or is silently not sent (False).
    unsendable_key_fails: bool

    def read(self, doc: Mapping[str, Any]) -> LlmBackend | None: ...
    def unsimulated(self, doc: Mapping[str, Any]) -> str | None: ...
    def unsimulated_ref(self, ref: Mapping[str, Any], namespace: str) -> str | None: ...
    def translate(self, llm: LlmBackend, namespace: str, secrets: SecretReader) -> Verdict: ...
    def not_found_message(self, namespace: str, name: str) -> str: ...
    def missing_secret_message(self, namespace: str, name: str) -> str: ...
    def route_type(self, llm: LlmBackend, path: str) -> str: ...
    def upstream_path(self, llm: LlmBackend, path: str, route_type: str) -> str: ...
    def unreachable(self, failure: UpstreamFailure) -> DirectResponse: ...
    def answer_invalid(self, answer: BrokenAnswer) -> DirectResponse: ...
    def redirect(self, provider: dict[str, Any], address: tuple[str, int]) -> tuple[str, ...]: ...


# Where each provider's requests go when nothing overrides the host (agentgateway's
# DEFAULT_HOSTs and get_host), for the note beside a manifest the mock provider redirects.
PROVIDER_ENDPOINTS = {"openai": "api.openai.com", "anthropic": "api.anthropic.com",
                      "gemini": "generativelanguage.googleapis.com",
                      "vertexai": "Vertex AI (aiplatform.googleapis.com)",
                      "bedrock": "Amazon Bedrock (bedrock-runtime.<region>.amazonaws.com)",
                      "azureopenai": "the Azure OpenAI endpoint",
                      "azure": "the Azure endpoint"}


def provider_endpoint(provider: str) -> str:
    return PROVIDER_ENDPOINTS.get(provider, f"the {provider} provider's own endpoint")


def _dig(value: Any, *keys: str) -> Mapping[str, Any]:
    for key in keys:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value if isinstance(value, Mapping) else {}


def secret_value(data: Mapping[str, bytes], key: str) -> str | None:
    """``GetSecretDataValue``: the value trimmed, or None when absent or not valid UTF-8."""
    raw = data.get(key)
    if raw is None:
        return None
    try:
        return raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        return None


def secret_auth(data: Mapping[str, bytes]) -> str:
    """``GetSecretDataAuth``: trimmed, a case-sensitive leading "Bearer " removed, trimmed
    again; "" means no key (so "Bearer " alone is the key "Bearer")."""
    value = secret_value(data, DEFAULT_SECRET_KEY)
    return "" if value is None else value.removeprefix("Bearer ").strip()


def _with_key(accepted: Verdict, key: str, drop_empty: bool) -> Verdict:
    if drop_empty and not key:
        return accepted
    return Verdict(**{**vars(accepted), "auth": "set", "key": key})


def _other_kind(ref: Mapping[str, Any], group: str, kind: str) -> bool:
    return (ref.get("group", ""), ref.get("kind", "Service")) != (group, kind)


KGATEWAY_PROVIDERS = ("openai", "azureopenai", "anthropic", "gemini", "vertexai")


class KgatewayBackends:
    """kgateway v2.1 ``Backend.gateway.kgateway.dev``: ``spec.ai.llm.<provider>.authToken``.

    Only the Secret's existence is checked: one without a usable ``Authorization`` leaves the
    Backend accepted and the auth policy is silently dropped; a missing one marks it Invalid
    but the Backend is still served, without auth. Neither write carries observedGeneration
    (``pluginutils.BuildCondition``).
    """

    group = "gateway.kgateway.dev"
    kind = "Backend"
    unresolved = DirectResponse(500, "Backend service unavailable", None)
    stale_on_empty_secret = True
    port_breaks_lookup = True
    unsendable_key_fails = False  # 0.10.3 inserts the header only if it is a valid value

    def read(self, doc: Mapping[str, Any]) -> LlmBackend | None:
        llm = _dig(doc, "spec", "ai", "llm")
        provider = next((name for name in KGATEWAY_PROVIDERS if name in llm), None)
        if provider is None:
            return None
        settings = _dig(llm, provider)
        token = _dig(settings, "authToken")
        auth = Auth("none")
        if token.get("kind") == "Inline" and "inline" in token:
            auth = Auth("key", key=str(token.get("inline") or ""))
        elif token.get("kind") == "SecretRef" and "secretRef" in token:
            auth = Auth("secret", secret=str(_dig(token, "secretRef").get("name", "")))
        elif token.get("kind") == "Passthrough":
            auth = Auth("passthrough")
        full = _dig(llm, "path").get("full")
        model = settings.get("model") or settings.get("deploymentName")
        return LlmBackend(provider, None if model is None else str(model), llm.get("host"),
                          llm.get("port"), None if full is None else str(full), auth)

    def unsimulated(self, doc: Mapping[str, Any]) -> str | None:
        spec = _dig(doc, "spec")
        if spec.get("type") != "AI":
            return f"a Backend of type {spec.get('type')}"
        if "priorityGroups" in _dig(spec, "ai"):
            return "priority groups (spec.ai.priorityGroups)"
        if "bedrock" in _dig(spec, "ai", "llm"):
            return "the bedrock provider (spec.ai.llm.bedrock)"
        return None

    def unsimulated_ref(self, ref: Mapping[str, Any], namespace: str) -> str | None:
        if _other_kind(ref, self.group, self.kind):
            group, kind = ref.get("group", ""), ref.get("kind", "Service")
            return f"a backendRef to a {kind}{'.' + group if group else ''}"
        if ref.get("namespace", namespace) != namespace:
            return "a backendRef to another namespace (and its ReferenceGrant)"
        return None

    def translate(self, llm: LlmBackend, namespace: str, secrets: SecretReader) -> Verdict:
        accepted = Verdict(True, "Accepted", "Backend accepted", False, True)
        if llm.auth.mode == "key":  # an inline key is used verbatim
            return _with_key(accepted, llm.auth.key or "", drop_empty=False)
        if llm.auth.mode == "passthrough":
            return Verdict(**{**vars(accepted), "auth": "passthrough"})
        if llm.auth.mode != "secret":
            return accepted
        data = secrets(llm.auth.secret or "")
        if data is None:
            return Verdict(False, "Invalid", self.missing_secret_message(namespace,
                                                                         llm.auth.secret or ""),
                           False, True)
        return _with_key(accepted, secret_auth(data), drop_empty=True)

    def not_found_message(self, namespace: str, name: str) -> str:
        return f"kgateway Backend not found: {namespace}/{name}"

    def missing_secret_message(self, namespace: str, name: str) -> str:
        """kgateway's words (inner quotes as they are) for a SecretRef to a missing Secret."""
        return f'Backend error: "failed to find secret {name}: Secret "{name}" not found"'

    def route_type(self, llm: LlmBackend, path: str) -> str:
        return COMPLETIONS  # v2.1's Backend has no routes: every request is a completion

    def upstream_path(self, llm: LlmBackend, path: str, route_type: str) -> str:
        return kgateway_path(llm.host is not None, llm.path, path)

    def unreachable(self, failure: UpstreamFailure) -> DirectResponse:
        return kgateway_unreachable(failure)

    def answer_invalid(self, answer: BrokenAnswer) -> DirectResponse:
        return kgateway_answer_invalid(answer)

    def redirect(self, provider: dict[str, Any], address: tuple[str, int]) -> tuple[str, ...]:
        """Point ``spec.ai.llm`` at the mock: plain HTTP, the route's path (the scenarios'
        URLRewrite makes it the OpenAI path)."""
        provider["host"], provider["port"] = address
        return "host", "port"


AGW_PROVIDERS = ("openai", "azureopenai", "azure", "anthropic", "gemini", "vertexai",
                 "bedrock")
# What the sim serves of an AgentgatewayBackend; anything else is refused as not simulated.
AGW_KINDS = ("static", "mcp", "a2a", "dynamicForwardProxy", "aws")
AGW_POLICIES = ("auth", "ai")
AGW_AUTH = ("key", "secretRef", "passthrough")


class AgentgatewayBackends:
    """agentgateway v1.4 ``AgentgatewayBackend.agentgateway.dev``: ``spec.policies.auth``.

    A Secret that is missing or has no usable value fails the translation: the backend is
    ``Accepted=False`` (TranslationError) and never reaches the proxy, so requests get the
    gateway's own 500 ``service not found``. ``key: ""`` translates to no auth at all.
    """

    group = "agentgateway.dev"
    kind = "AgentgatewayBackend"
    unresolved = DirectResponse(500, "service not found", "text/plain")
    stale_on_empty_secret = False
    port_breaks_lookup = False
    unsendable_key_fails = True  # AuthorizationLocation::insert: "processing failed: ..."

    def read(self, doc: Mapping[str, Any]) -> LlmBackend | None:
        provider_spec = _dig(doc, "spec", "ai", "provider")
        provider = next((name for name in AGW_PROVIDERS if name in provider_spec), None)
        if provider is None:
            return None
        settings = _dig(provider_spec, provider)
        auth_spec = _dig(doc, "spec", "policies", "auth")
        auth = Auth("none")
        if "key" in auth_spec:
            key = str(auth_spec.get("key") or "")
            auth = Auth("key", key=key) if key else Auth("none")
        elif "secretRef" in auth_spec:
            ref = _dig(auth_spec, "secretRef")
            auth = Auth("secret", secret=str(ref.get("name", "")),
                        secret_key=str(ref.get("key") or DEFAULT_SECRET_KEY))
        elif "passthrough" in auth_spec:
            auth = Auth("passthrough")
        routes = _dig(doc, "spec", "policies", "ai", "routes")
        # Longest suffix first and "*" last, as agentgateway stores them.
        ordered = sorted(((str(k), str(v)) for k, v in routes.items()),
                         key=lambda item: (item[0] == "*", -len(item[0])))
        path, prefix, model = (provider_spec.get("path"), provider_spec.get("pathPrefix"),
                               settings.get("model"))
        return LlmBackend(provider, None if model is None else str(model),
                          provider_spec.get("host"), provider_spec.get("port"),
                          None if path is None else str(path), auth,
                          None if prefix is None else str(prefix), tuple(ordered))

    def unsimulated(self, doc: Mapping[str, Any]) -> str | None:
        spec = _dig(doc, "spec")
        found = next((kind for kind in AGW_KINDS if kind in spec), None)
        if found is not None:
            return f"an AgentgatewayBackend with spec.{found}"
        if "groups" in _dig(spec, "ai"):
            return "priority groups (spec.ai.groups)"
        if "custom" in _dig(spec, "ai", "provider"):
            return "a custom provider (spec.ai.provider.custom)"
        policies = _dig(spec, "policies")
        other = [f"spec.policies.{name}" for name in policies if name not in AGW_POLICIES]
        other += [f"spec.policies.ai.{name}" for name in _dig(policies, "ai") if name != "routes"]
        other += [f"spec.policies.auth.{name}" for name in _dig(policies, "auth")
                  if name not in AGW_AUTH]
        ref = _dig(policies, "auth", "secretRef")
        if ref.get("group") or ref.get("kind", "Secret") not in ("", "Secret"):
            other.append("a secretRef to another kind than Secret")
        return ", ".join(other) or None

    def unsimulated_ref(self, ref: Mapping[str, Any], namespace: str) -> str | None:
        return None  # every kind of backendRef gets the status the controller writes

    def translate(self, llm: LlmBackend, namespace: str, secrets: SecretReader) -> Verdict:
        accepted = Verdict(True, "Accepted", "Backend successfully accepted", True, True)
        if llm.auth.mode == "key":
            return _with_key(accepted, llm.auth.key or "", drop_empty=True)
        if llm.auth.mode == "passthrough":
            return Verdict(**{**vars(accepted), "auth": "passthrough"})
        if llm.auth.mode != "secret":
            return accepted
        name, key_name = llm.auth.secret or "", llm.auth.secret_key
        data = secrets(name)
        if data is None:
            return Verdict(False, "TranslationError",
                           self.missing_secret_message(namespace, name), True, False)
        # Only the default key loses a "Bearer " prefix (GetSecretDataAuth); another key is
        # only trimmed (GetSecretDataValue).
        value = (secret_auth(data) if key_name == DEFAULT_SECRET_KEY
                 else secret_value(data, key_name) or "")
        if value:
            return _with_key(accepted, value, drop_empty=True)
        return Verdict(False, "TranslationError",
                       f"failed to translate backend: secret {namespace}/{name} missing "
                       f"{key_name} value", True, False)

    def not_found_message(self, namespace: str, name: str) -> str:
        return f"Backend not found: {namespace}/{name}"

    def missing_secret_message(self, namespace: str, name: str) -> str:
        return f"failed to translate backend: secret {namespace}/{name} not found"

    def route_type(self, llm: LlmBackend, path: str) -> str:
        return resolve_route(llm.routes, path)

    def upstream_path(self, llm: LlmBackend, path: str, route_type: str) -> str:
        return agentgateway_path(llm.host is not None, llm.path, llm.path_prefix, path,
                                 route_type)

    def unreachable(self, failure: UpstreamFailure) -> DirectResponse:
        return agentgateway_unreachable(failure)

    def answer_invalid(self, answer: BrokenAnswer) -> DirectResponse:
        return agentgateway_answer_invalid(answer)

    def redirect(self, provider: dict[str, Any], address: tuple[str, int]) -> tuple[str, ...]:
        """Point ``spec.ai.provider`` at the mock. A host override leaves the path alone, so
        the OpenAI path is set too: as ``path``, or, where the author wrote ``pathPrefix``
        (the CRD refuses both), as the prefix that stands for ``/v1``."""
        provider["host"], provider["port"] = address
        if "pathPrefix" in provider:
            provider["pathPrefix"] = OPENAI_BASE_PATH
            return "host", "port", "pathPrefix"
        provider["path"] = OPENAI_PATH
        return "host", "port", "path"
