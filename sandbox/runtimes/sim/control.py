"""The simulated control plane: an in-memory cluster that admits, stores and reconciles.

It plays both the API server (admission with the same schema rules) and the profile's controller
(kgateway v2.1 or agentgateway v1.4: the status conditions it writes, and the translated
configuration the gateway serves), through the profile's ``backend_api`` strategy. It is a
little over 300 lines because each kind it reconciles (GatewayClass, Gateway, backend, route,
Secret) has its own reconcile step, and they share the one store.
"""

from __future__ import annotations

import base64
import copy
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sandbox.errors import ManifestRejected
from sandbox.profiles import PROFILES, Profile
from sandbox.profiles.backend_api import Verdict
from sandbox.runtimes.sim.admission import admit

Key = tuple[str, str, str]  # kind, namespace, name
GATEWAY_GROUP = "gateway.networking.k8s.io"


@dataclass(frozen=True)
class Upstream:
    """Where and how the gateway sends requests for one AI Backend."""

    backend: str  # namespace/name
    provider: str
    model: str | None
    host: str | None
    port: int | None
    path: str | None  # None: the path as the route leaves it (a host override without `path`)
    auth: str  # "set" (a key or a resolved Secret), "passthrough" or "none" (no auth policy)
    key: str | None  # the key the gateway sets, when auth == "set"


@dataclass(frozen=True)
class Route:
    """One match of an HTTPRoute rule, as the gateway serves it."""

    route: str  # namespace/name
    match_type: str
    value: str
    method: str | None
    rewrite: str | None  # ReplaceFullPath target, if any
    upstream: Upstream | None  # None: the backend could not be resolved
    prefix_rewrite: str | None = None  # ReplacePrefixMatch target, if any

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


def _condition(ctype: str, ok: bool, reason: str, message: str, generation: int | None
               ) -> dict[str, Any]:
    """A metav1.Condition; ``generation`` None where upstream writes no observedGeneration."""
    condition: dict[str, Any] = {"type": ctype, "status": "True" if ok else "False",
                                 "reason": reason, "message": message}
    if generation is not None:
        condition["observedGeneration"] = generation
    condition["lastTransitionTime"] = "1970-01-01T00:00:00Z"
    return condition


class SimCluster:
    """Thread-safe store of resources plus the controller's reconcile loop, run on each change."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.namespaces = {"default", "kube-system", profile.namespace}
        self._objects: dict[Key, dict[str, Any]] = {}
        self._lock = threading.RLock()
        self._routes: tuple[Route, ...] = ()
        self._version = 0
        self._put({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass",
                   "metadata": {"name": profile.gateway_class},
                   "spec": {"controllerName": profile.controller_name}}, "")

    # -- API server --------------------------------------------------------------------------
    def apply(self, doc: Mapping[str, Any]) -> tuple[Key, str]:
        self._refuse_other_profiles_kinds(doc)
        doc = admit(doc, self._previous(doc), self.profile.name).object
        metadata = doc["metadata"]
        namespace = str(metadata.get("namespace") or "default")
        if namespace not in self.namespaces:
            raise ManifestRejected(f'namespaces "{namespace}" not found',
                                   "use an existing namespace: "
                                   + ", ".join(sorted(self.namespaces)))
        with self._lock:
            key = (str(doc["kind"]), namespace, str(metadata["name"]))
            existing = self._objects.get(key)
            desired = copy.deepcopy(dict(doc))
            desired.pop("status", None)
            desired["metadata"] = {**copy.deepcopy(dict(metadata)), "namespace": namespace}
            if desired["kind"] == "Secret":
                _fold_string_data(desired)
            if existing is not None and _content(existing) == _content(desired):
                return key, "unchanged"
            self._put(desired, namespace, previous=existing)
            self._reconcile()
            return key, "configured" if existing is not None else "created"

    def _refuse_other_profiles_kinds(self, doc: Mapping[str, Any]) -> None:
        """Each profile installs only its own backend CRD: another's is unknown to this cluster
        (admission says so too; this says which profile the kind belongs to)."""
        api_version, kind = doc.get("apiVersion"), doc.get("kind")
        if (api_version, kind) == (self.profile.backend_api_version, self.profile.backend_kind):
            return
        other = next((p for p in PROFILES.values()
                      if (p.backend_api_version, p.backend_kind) == (api_version, kind)), None)
        if other is not None:
            raise ManifestRejected(
                f'no matches for kind "{kind}" in version "{api_version}"',
                f"{kind} belongs to the {other.name} profile; this cluster runs "
                f"{self.profile.name}, whose backend is {self.profile.backend_kind} "
                f"({self.profile.backend_api_version}): rerun with --profile {other.name}, "
                "or use that profile's manifests")

    def _previous(self, doc: Mapping[str, Any]) -> dict[str, Any] | None:
        """The stored object an apply would update, for admission's transition rules."""
        metadata = doc.get("metadata")
        if not isinstance(metadata, Mapping):
            return None
        return self.get(str(doc.get("kind")), str(metadata.get("namespace") or "default"),
                        str(metadata.get("name")))

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._objects.get((kind, namespace, name))
            return copy.deepcopy(found) if found is not None else None

    def delete(self, kind: str, namespace: str, name: str) -> bool:
        with self._lock:
            removed = self._objects.pop((kind, namespace, name), None)
            if removed is not None:
                self._reconcile()
            return removed is not None

    @property
    def routes(self) -> tuple[Route, ...]:
        with self._lock:
            return self._routes

    def _put(self, obj: dict[str, Any], namespace: str, previous: dict[str, Any] | None = None
             ) -> None:
        self._version += 1
        generation = 1
        if previous is not None:
            generation = previous["metadata"]["generation"]
            if previous.get("spec") != obj.get("spec"):
                generation += 1
        obj["metadata"].update(resourceVersion=str(self._version), generation=generation)
        if namespace:
            obj["metadata"]["namespace"] = namespace
        self._objects[(obj["kind"], namespace, obj["metadata"]["name"])] = obj

    # -- controller ---------------------------------------------------------------------------
    def _reconcile(self) -> None:
        gateway_class = self._objects[("GatewayClass", "", self.profile.gateway_class)]
        gateway_class["status"] = {"conditions": [_condition(
            "Accepted", True, "Accepted", self.profile.gateway_class_accepted,
            gateway_class["metadata"]["generation"])]}
        for (kind, _, _), obj in self._objects.items():
            if kind == "Gateway":
                self._reconcile_gateway(obj)
            elif kind == self.profile.backend_kind:
                self._reconcile_backend(obj)
        routes: list[Route] = []
        for (kind, _, _), obj in self._objects.items():
            if kind == "HTTPRoute":
                routes += self._reconcile_route(obj)
        # Gateway API precedence: exact matches first, then the longest prefix.
        self._routes = tuple(sorted(routes, key=lambda r: (r.match_type != "Exact",
                                                           -len(r.value))))

    def _ours(self, gateway: Mapping[str, Any]) -> bool:
        return bool(gateway.get("spec", {}).get("gatewayClassName") == self.profile.gateway_class)

    def _reconcile_gateway(self, gateway: dict[str, Any]) -> None:
        if not self._ours(gateway):
            return  # another controller's Gateway: kgateway leaves its status alone
        generation = gateway["metadata"]["generation"]
        gateway["status"] = {
            "conditions": [_condition("Accepted", True, "Accepted", "", generation),
                           _condition("Programmed", True, "Programmed", "", generation)],
            "listeners": [{"name": listener.get("name"), "attachedRoutes": 0, "conditions": [
                _condition("Programmed", True, "Programmed", "", generation)]}
                for listener in gateway["spec"].get("listeners", [])],
        }

    def _reconcile_backend(self, backend: dict[str, Any]) -> None:
        """The profile's controller verdict, written as its Accepted condition.

        kgateway's Invalid write replaces the whole list and carries no observedGeneration, as
        upstream's does; agentgateway's TranslationError carries it.
        """
        verdict = self._verdict(backend)
        if verdict is None:
            return
        if verdict.accepted and self._stays_stale(backend):
            return
        generation = backend["metadata"]["generation"]
        backend["status"] = {"conditions": [_condition(
            "Accepted", verdict.accepted, verdict.reason, verdict.message,
            generation if verdict.observed_generation else None)]}

    def _verdict(self, backend: Mapping[str, Any]) -> Verdict | None:
        api = self.profile.backend_api
        llm = api.read(backend)
        if llm is None:
            return None
        namespace = backend["metadata"]["namespace"]
        return api.translate(llm, namespace, lambda name: self._secret_data(namespace, name))

    def _secret_data(self, namespace: str, name: str) -> dict[str, str] | None:
        secret = self._objects.get(("Secret", namespace, name))
        if secret is None:
            return None
        return {key: base64.b64decode(value).decode("utf-8", "replace")
                for key, value in (secret.get("data") or {}).items()}

    def _stays_stale(self, backend: Mapping[str, Any]) -> bool:
        """A Secret created with no data after being missing changes nothing kgateway compares
        (an empty map equals a missing one), so the Backend keeps its old Accepted=False."""
        api = self.profile.backend_api
        llm = api.read(backend)
        if not api.stale_on_empty_secret or llm is None or llm.auth.mode != "secret":
            return False
        namespace = backend["metadata"]["namespace"]
        if self._secret_data(namespace, llm.auth.secret or "") != {}:
            return False
        current = (backend.get("status") or {}).get("conditions") or []
        missing = api.missing_secret_message(namespace, llm.auth.secret or "")
        return any(c.get("message") == missing for c in current)

    def _reconcile_route(self, route: dict[str, Any]) -> list[Route]:
        namespace = route["metadata"]["namespace"]
        generation = route["metadata"]["generation"]
        parents: list[dict[str, Any]] = []
        served: list[Route] = []
        for parent in route["spec"].get("parentRefs", []):
            gateway = self._objects.get(("Gateway", parent.get("namespace") or namespace,
                                         parent.get("name")))
            if gateway is None or not self._ours(gateway):
                continue
            problem = next(filter(None, (self._ref_problem(ref, namespace)
                                         for rule in route["spec"].get("rules", [])
                                         for ref in rule.get("backendRefs", []))), None)
            parents.append({
                "parentRef": _status_parent_ref(parent, namespace),
                "controllerName": self.profile.controller_name,
                "conditions": [
                    _condition("Accepted", True, "Accepted", "", generation),
                    _condition("ResolvedRefs", problem is None,
                               "ResolvedRefs" if problem is None else problem[0],
                               "" if problem is None else problem[1], generation),
                ]})
            for listener in gateway.get("status", {}).get("listeners", []):
                listener["attachedRoutes"] += 1
            served = self._serve(route, namespace)
        route["status"] = {"parents": parents}
        return served

    def _ref_problem(self, ref: Mapping[str, Any], namespace: str) -> tuple[str, str] | None:
        group, kind = ref.get("group", ""), ref.get("kind", "Service")
        target_ns = ref.get("namespace") or namespace
        qualified = f"{kind}.{group}" if group else kind
        if target_ns != namespace:
            return "RefNotPermitted", (f"{qualified} {target_ns}/{ref.get('name')} is in another "
                                       "namespace and no ReferenceGrant allows it")
        api = self.profile.backend_api
        if (group, kind) == (api.group, api.kind):
            # kgateway: a port makes the lookup key miss even when the Backend exists.
            if self._objects.get((kind, target_ns, ref.get("name", ""))) is not None and (
                    "port" not in ref or not api.port_breaks_lookup):
                return None
            return "BackendNotFound", api.not_found_message(namespace, ref.get("name", ""))
        return "BackendNotFound", f'{qualified} "{ref.get("name")}" not found'

    def _serve(self, route: Mapping[str, Any], namespace: str) -> list[Route]:
        served: list[Route] = []
        for rule in route["spec"].get("rules", []):
            paths = [f["urlRewrite"]["path"] for f in rule.get("filters", [])
                     if f.get("type") == "URLRewrite" and "path" in f["urlRewrite"]]
            rewrite = next((p.get("replaceFullPath") for p in paths), None)
            prefix_rewrite = next((p.get("replacePrefixMatch") for p in paths
                                   if p.get("type") == "ReplacePrefixMatch"), None)
            refs = rule.get("backendRefs", [])
            upstream = None
            if refs and self._ref_problem(refs[0], namespace) is None:
                upstream = self._upstream(self._objects[(self.profile.backend_kind, namespace,
                                                         refs[0]["name"])])
            for match in rule.get("matches") or [{}]:
                path = match.get("path") or {}
                served.append(Route(
                    f"{namespace}/{route['metadata']['name']}", path.get("type", "PathPrefix"),
                    path.get("value", "/"), match.get("method"), rewrite, upstream,
                    prefix_rewrite))
        return served

    def _upstream(self, backend: Mapping[str, Any]) -> Upstream | None:
        """What the proxy gets for a backend; None when it gets nothing (not served)."""
        llm = self.profile.backend_api.read(backend)
        verdict = self._verdict(backend)
        if llm is None or verdict is None or not verdict.served:
            return None
        return Upstream(
            f"{backend['metadata']['namespace']}/{backend['metadata']['name']}", llm.provider,
            llm.model, llm.host, llm.port, llm.path, verdict.auth, verdict.key)

    def config_dump(self) -> dict[str, Any]:
        """The gateway's translated configuration, secrets shown as ``<redacted>``."""
        with self._lock:
            routes = []
            for route in self._routes:
                entry: dict[str, Any] = {"route": route.route, "match": {
                    "type": route.match_type, "value": route.value}, "rewrite": route.rewrite}
                if route.upstream is not None:
                    upstream = dict(vars(route.upstream))
                    if upstream["key"] is not None:
                        upstream["key"] = "<redacted>"
                    entry["backend"] = upstream
                routes.append(entry)
            return {"routes": routes}


def _status_parent_ref(parent: Mapping[str, Any], namespace: str) -> dict[str, Any]:
    """The parentRef as the agentgateway syncer writes it: group, kind and namespace filled in,
    no sectionName (one status entry per Gateway)."""
    written = {k: v for k, v in parent.items() if k != "sectionName"}
    written.update(group=GATEWAY_GROUP, kind="Gateway",
                   namespace=parent.get("namespace") or namespace, name=parent.get("name"))
    return written


def _fold_string_data(secret: dict[str, Any]) -> None:
    """As the API server does: stringData is merged into data (base64) and not stored."""
    plain = secret.pop("stringData", None) or {}
    encoded = {k: base64.b64encode(str(v).encode()).decode() for k, v in plain.items()}
    secret["data"] = {**(secret.get("data") or {}), **encoded}


def _content(obj: Mapping[str, Any]) -> Any:
    metadata = {k: v for k, v in obj["metadata"].items()
                if k not in ("resourceVersion", "generation")}
    return {**{k: v for k, v in obj.items() if k != "status"}, "metadata": metadata}
