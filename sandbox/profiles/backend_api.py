"""How each API profile's LLM backend reads and how its controller translates it.

Two strategies, one per controller family, named on the profile (``Profile.backend_api``). They
hold the only behaviour that differs between the profiles (DESIGN §4): where the model, the
upstream and the key sit in the manifest, what a missing or unusable Secret does, the words of
each status message, and what the gateway answers for a backend it cannot serve.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

OPENAI_PATH = "/v1/chat/completions"
DEFAULT_SECRET_KEY = "Authorization"

# The decoded data of a Secret in the backend's namespace, or None when it does not exist.
SecretReader = Callable[[str], Mapping[str, str] | None]


@dataclass(frozen=True)
class Auth:
    """What a backend asks the gateway to do about the upstream ``Authorization`` header."""

    mode: str  # "key" (inline), "secret" (from a Secret), "passthrough" or "none"
    key: str | None = field(default=None, repr=False)
    secret: str | None = None
    secret_key: str = DEFAULT_SECRET_KEY


@dataclass(frozen=True)
class LlmBackend:
    """The parts of an LLM backend manifest the gateway acts on."""

    provider: str
    model: str | None
    host: str | None
    port: int | None
    path: str | None  # None: the path as the route leaves it
    auth: Auth


@dataclass(frozen=True)
class Verdict:
    """The controller's status for one backend and what (if anything) the proxy receives."""

    accepted: bool
    reason: str
    message: str
    observed_generation: bool  # whether the condition carries observedGeneration
    served: bool  # False: the backend never reaches the proxy
    auth: str = "none"  # "set", "passthrough" or "none"
    key: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class DirectResponse:
    """What the gateway answers by itself, for a route whose backend it does not have."""

    status: int
    body: str
    content_type: str | None


class BackendApi(Protocol):
    group: str
    kind: str
    unresolved: DirectResponse
    # A Secret created empty after being missing leaves the old Accepted=False in place.
    stale_on_empty_secret: bool
    # A backendRef port makes the lookup miss (BackendNotFound) rather than being ignored.
    port_breaks_lookup: bool

    def read(self, doc: Mapping[str, Any]) -> LlmBackend | None: ...
    def translate(self, llm: LlmBackend, namespace: str, secrets: SecretReader) -> Verdict: ...
    def not_found_message(self, namespace: str, name: str) -> str: ...
    def missing_secret_message(self, namespace: str, name: str) -> str: ...


def _dig(value: Any, *keys: str) -> Mapping[str, Any]:
    for key in keys:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value if isinstance(value, Mapping) else {}


def _strip_bearer(value: str) -> str:
    return value[7:].strip() if value.lower().startswith("bearer ") else value


class KgatewayBackends:
    """kgateway v2.1 ``Backend.gateway.kgateway.dev``: ``spec.ai.llm.openai.authToken``.

    Only the Secret's existence is checked: one without a usable ``Authorization`` leaves the
    Backend accepted and the auth policy is silently dropped; a missing one marks it Invalid
    (no observedGeneration) but the Backend is still served, without auth.
    """

    group = "gateway.kgateway.dev"
    kind = "Backend"
    unresolved = DirectResponse(500, "Backend service unavailable", None)
    stale_on_empty_secret = True
    port_breaks_lookup = True

    def read(self, doc: Mapping[str, Any]) -> LlmBackend | None:
        llm = _dig(doc, "spec", "ai", "llm")
        openai = _dig(llm, "openai")
        if not openai:
            return None
        token = _dig(openai, "authToken")
        kind = token.get("kind")
        auth = Auth("passthrough")
        if kind == "Inline":
            auth = Auth("key", key=str(token.get("inline") or ""))
        elif kind == "SecretRef":
            auth = Auth("secret", secret=str(_dig(token, "secretRef").get("name", "")))
        return LlmBackend("openai", openai.get("model"), llm.get("host"), llm.get("port"),
                          str(_dig(llm, "path").get("full") or OPENAI_PATH), auth)

    def translate(self, llm: LlmBackend, namespace: str, secrets: SecretReader) -> Verdict:
        accepted = Verdict(True, "Accepted", "Backend accepted", True, True)
        if llm.auth.mode == "key":
            return _with_key(accepted, _strip_bearer(llm.auth.key or ""), drop_empty=False)
        if llm.auth.mode == "passthrough":
            return Verdict(**{**vars(accepted), "auth": "passthrough"})
        if llm.auth.mode != "secret":
            return accepted
        data = secrets(llm.auth.secret or "")
        if data is None:
            return Verdict(False, "Invalid", self.missing_secret_message(namespace,
                                                                         llm.auth.secret or ""),
                           False, True)
        return _with_key(accepted, _strip_bearer(data.get(DEFAULT_SECRET_KEY) or ""),
                         drop_empty=True)

    def not_found_message(self, namespace: str, name: str) -> str:
        return f"kgateway Backend not found: {namespace}/{name}"

    def missing_secret_message(self, namespace: str, name: str) -> str:
        """kgateway's words (inner quotes as they are) for a SecretRef to a missing Secret."""
        return f'Backend error: "failed to find secret {name}: Secret "{name}" not found"'


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

    def read(self, doc: Mapping[str, Any]) -> LlmBackend | None:
        provider = _dig(doc, "spec", "ai", "provider")
        if "openai" not in provider:
            return None
        openai = _dig(provider, "openai")
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
        host = provider.get("host")
        # Without a host override the OpenAI path is forced; with one, only `path` changes it.
        path = provider.get("path") or (None if host else OPENAI_PATH)
        return LlmBackend("openai", openai.get("model"), host, provider.get("port"),
                          None if path is None else str(path), auth)

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
        value = None if data is None else (data.get(key_name) or "").strip()
        if value is not None and key_name == DEFAULT_SECRET_KEY:
            # Only the default key loses a "Bearer " prefix, case-sensitively and after the
            # trim (GetSecretDataAuth): "Bearer " alone is left as the key "Bearer".
            value = value.removeprefix("Bearer ").strip()
        if value:
            return _with_key(accepted, value, drop_empty=True)
        message = (self.missing_secret_message(namespace, name) if data is None else
                   f"failed to translate backend: secret {namespace}/{name} missing "
                   f"{key_name} value")
        return Verdict(False, "TranslationError", message, True, False)

    def not_found_message(self, namespace: str, name: str) -> str:
        return f"Backend not found: {namespace}/{name}"

    def missing_secret_message(self, namespace: str, name: str) -> str:
        return f"failed to translate backend: secret {namespace}/{name} not found"


def _with_key(accepted: Verdict, key: str, drop_empty: bool) -> Verdict:
    if drop_empty and not key:
        return accepted
    return Verdict(**{**vars(accepted), "auth": "set", "key": key})
