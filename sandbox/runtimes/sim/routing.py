"""What the simulated gateway serves: routes, the upstream each reaches, and how a backendRef
resolves (or why it does not), as the profile's controller translates an HTTPRoute.

The backendRef rules are agentgateway v1.4.1's ``buildAgwDestination`` and
``DefaultRouteBackend`` (``controller/pkg/agentgateway``): a reference to another namespace
needs a ReferenceGrant there, an AgentgatewayBackend or Service must exist, any other kind is
refused; kgateway v2.1's own differences (its Backend lookup) come from the profile's strategy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import field
from typing import Any

from sandbox.profiles.backend_api import BackendApi, DirectResponse, LlmBackend
from sandbox.records import record

GATEWAY_GROUP = "gateway.networking.k8s.io"
# The proxy's own answers for backends it has no usable reference to (v1.4.1 proxy/mod.rs).
BACKEND_DOES_NOT_EXIST = DirectResponse(500, "backend does not exist", "text/plain")
SERVICE_NOT_FOUND = DirectResponse(500, "service not found", "text/plain")

Lookup = Callable[[str, str, str], Mapping[str, Any] | None]  # kind, namespace, name


@record
class Upstream:
    """Where and how the gateway sends requests for one AI backend."""

    backend: str  # namespace/name
    provider: str
    model: str | None
    host: str | None  # where the gateway connects (tests may point it elsewhere)
    port: int | None
    path: str | None  # the backend's full-path override, if any
    auth: str  # "set" (a key or a resolved Secret), "passthrough" or "none" (no auth policy)
    key: str | None = field(repr=False)  # the key the gateway sets, when auth == "set"
    llm: LlmBackend | None = field(default=None, repr=False)


@record
class Route:
    """One match of an HTTPRoute rule, as the gateway serves it."""

    route: str  # namespace/name
    match_type: str
    value: str
    method: str | None
    rewrite: str | None  # ReplaceFullPath target, if any
    upstream: Upstream | None  # None: the backend could not be resolved
    prefix_rewrite: str | None = None  # ReplacePrefixMatch target, if any
    answer: DirectResponse | None = None  # the gateway's own answer, when upstream is None

    def rewritten(self, path: str) -> str:
        """The request path after the rule's URLRewrite, as the proxy sends it upstream."""
        path, _, query = path.partition("?")
        if self.rewrite is not None:
            path = self.rewrite
        elif self.prefix_rewrite is not None and self.match_type == "PathPrefix":
            rest = path[len(self.value.rstrip("/")):]
            path = self.prefix_rewrite.rstrip("/") + rest if rest else self.prefix_rewrite
        return f"{path}?{query}" if query else path

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method != method:
            return False
        path = path.split("?", 1)[0]
        if self.match_type == "Exact":
            return path == self.value
        prefix = self.value.rstrip("/")
        return path == prefix or path.startswith(prefix + "/") or not prefix


@record
class Resolution:
    """Where one backendRef leads: a stored backend, or the condition and answer it gets."""

    backend: Mapping[str, Any] | None = None
    reason: str = ""
    message: str = ""
    answer: DirectResponse | None = None


def resolve(ref: Mapping[str, Any], namespace: str, api: BackendApi, lookup: Lookup,
            grants: Iterable[Mapping[str, Any]]) -> Resolution:
    """How the controller resolves one backendRef of an HTTPRoute in ``namespace``."""
    group, kind = ref.get("group", ""), ref.get("kind", "Service")
    name = str(ref.get("name", ""))
    target_ns = str(ref.get("namespace") or namespace)
    if target_ns != namespace and not granted(grants, namespace, group, kind, name, target_ns):
        return Resolution(None, "RefNotPermitted",
                          f"backendRef {target_ns}/{name} not accessible to a HTTPRoute in "
                          f'namespace "{namespace}" (missing a ReferenceGrant?)',
                          BACKEND_DOES_NOT_EXIST)
    if (group, kind) == (api.group, api.kind):
        found = lookup(kind, target_ns, name)
        # kgateway: a port makes the lookup key miss even when the Backend exists.
        if found is not None and ("port" not in ref or not api.port_breaks_lookup):
            return Resolution(found)
        return Resolution(None, "BackendNotFound", api.not_found_message(target_ns, name),
                          api.unresolved)
    if (group, kind) == ("", "Service"):  # the simulated cluster holds no Services
        return Resolution(None, "BackendNotFound",
                          f"backend({name}.{target_ns}.svc.cluster.local) not found",
                          SERVICE_NOT_FOUND)
    return Resolution(None, "InvalidKind",
                      f'referencing unsupported backendRef: group "{group}" kind "{kind}"',
                      BACKEND_DOES_NOT_EXIST)


def granted(grants: Iterable[Mapping[str, Any]], namespace: str, group: str, kind: str,
            name: str, target_ns: str) -> bool:
    """A ReferenceGrant in the target namespace lets HTTPRoutes of ``namespace`` refer to it."""
    for grant in grants:
        if grant["metadata"]["namespace"] != target_ns:
            continue
        spec = grant.get("spec") or {}
        sources = any(f.get("group") == GATEWAY_GROUP and f.get("kind") == "HTTPRoute"
                      and f.get("namespace") == namespace for f in spec.get("from") or [])
        targets = any(t.get("group", "") == group and t.get("kind") == kind
                      and t.get("name") in (None, "", name) for t in spec.get("to") or [])
        if sources and targets:
            return True
    return False


def status_parent_ref(parent: Mapping[str, Any], namespace: str) -> dict[str, Any]:
    """The parentRef as the agentgateway syncer writes it: group, kind and namespace filled in,
    no sectionName (one status entry per Gateway)."""
    written = {k: v for k, v in parent.items() if k != "sectionName"}
    written.update(group=GATEWAY_GROUP, kind="Gateway",
                   namespace=parent.get("namespace") or namespace, name=parent.get("name"))
    return written


def matches_of(route: Mapping[str, Any], namespace: str,
               upstream_of: Callable[[list[Mapping[str, Any]]],
                                     tuple[Upstream | None, DirectResponse | None]]
               ) -> list[Route]:
    """Every match of every rule, with the upstream (or answer) of the rule's backendRefs."""
    served: list[Route] = []
    for rule in route["spec"].get("rules", []):
        paths = [f["urlRewrite"]["path"] for f in rule.get("filters", [])
                 if f.get("type") == "URLRewrite" and "path" in f["urlRewrite"]]
        rewrite = next((p.get("replaceFullPath") for p in paths), None)
        prefix_rewrite = next((p.get("replacePrefixMatch") for p in paths
                               if p.get("type") == "ReplacePrefixMatch"), None)
        upstream, answer = upstream_of(rule.get("backendRefs", []))
        for match in rule.get("matches") or [{}]:
            path = match.get("path") or {}
            served.append(Route(
                f"{namespace}/{route['metadata']['name']}", path.get("type", "PathPrefix"),
                path.get("value", "/"), match.get("method"), rewrite, upstream,
                prefix_rewrite, answer))
    return served
