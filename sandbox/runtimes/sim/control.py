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
from typing import Any

from sandbox.errors import ManifestRejected
from sandbox.profiles import PROFILES, Profile
from sandbox.profiles.backend_api import DirectResponse, Verdict
from sandbox.runtimes.sim import scope
from sandbox.runtimes.sim.admission import admit
from sandbox.runtimes.sim.routing import (
    Resolution,
    Route,
    Upstream,
    matches_of,
    resolve,
    status_parent_ref,
)

Key = tuple[str, str, str]  # kind, namespace, name
__all__ = ["Route", "SimCluster", "Upstream"]


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
        # The objects of the kinds each reconcile goes over, in the same order: a List of
        # thousands of ConfigMaps must not make each apply go over all of them.
        self._reconciled_kinds = {"Gateway", "HTTPRoute", "ReferenceGrant", profile.backend_kind}
        self._reconciled: dict[Key, dict[str, Any]] = {}
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
        refusal = scope.refusal(doc, self.profile)
        if refusal is not None:
            raise ManifestRejected(refusal, scope.HINT)
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
            self._reconciled.pop((kind, namespace, name), None)
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
        key = (obj["kind"], namespace, obj["metadata"]["name"])
        self._objects[key] = obj
        if obj["kind"] in self._reconciled_kinds:
            self._reconciled[key] = obj

    # -- controller ---------------------------------------------------------------------------
    def _reconcile(self) -> None:
        gateway_class = self._objects[("GatewayClass", "", self.profile.gateway_class)]
        gateway_class["status"] = {"conditions": [_condition(
            "Accepted", True, "Accepted", self.profile.gateway_class_accepted,
            gateway_class["metadata"]["generation"])]}
        for (kind, _, _), obj in self._reconciled.items():
            if kind == "Gateway":
                self._reconcile_gateway(obj)
            elif kind == self.profile.backend_kind:
                self._reconcile_backend(obj)
        routes: list[Route] = []
        for (kind, _, _), obj in self._reconciled.items():
            if kind == "HTTPRoute":
                routes += self._reconcile_route(obj)
        # Gateway API precedence: exact matches first, then the longest prefix.
        self._routes = tuple(sorted(routes, key=lambda r: (r.match_type != "Exact",
                                                           -len(r.value))))

    def _ours(self, gateway: Mapping[str, Any]) -> bool:
        return bool(gateway.get("spec", {}).get("gatewayClassName") == self.profile.gateway_class)

    def _reconcile_gateway(self, gateway: dict[str, Any]) -> None:
        """Accepted with no message and Programmed with the reports constant, as both
        controllers write them; each listener with the translator's "No errors found"."""
        if not self._ours(gateway):
            return  # another controller's Gateway: kgateway leaves its status alone
        generation = gateway["metadata"]["generation"]
        fine = "No errors found"
        gateway["status"] = {
            "conditions": [
                _condition("Accepted", True, "Accepted", "", generation),
                _condition("Programmed", True, "Programmed", "Successfully programmed Gateway",
                           generation)],
            "listeners": [{"name": listener.get("name"), "attachedRoutes": 0, "conditions": [
                _condition("Accepted", True, "Accepted", fine, generation),
                _condition("Conflicted", False, "NoConflicts", fine, generation),
                _condition("Programmed", True, "Programmed", fine, generation),
                _condition("ResolvedRefs", True, "ResolvedRefs", fine, generation)]}
                for listener in gateway["spec"].get("listeners", [])],
        }

    def _reconcile_backend(self, backend: dict[str, Any]) -> None:
        """The profile's controller verdict, written as its Accepted condition.

        kgateway's writes replace the whole list and carry no observedGeneration, as
        upstream's do; agentgateway's carry it.
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

    def _secret_data(self, namespace: str, name: str) -> dict[str, bytes] | None:
        """The Secret's data as the controller reads it (bytes: a value may not be text)."""
        secret = self._objects.get(("Secret", namespace, name))
        if secret is None:
            return None
        return {key: base64.b64decode(value) for key, value in (secret.get("data") or {}).items()}

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
            # As upstream, the condition names the last backendRef that did not resolve.
            problems = [r for rule in route["spec"].get("rules", [])
                        for r in self._resolutions(rule.get("backendRefs", []), namespace)
                        if r.backend is None]
            problem = problems[-1] if problems else None
            parents.append({
                "parentRef": status_parent_ref(parent, namespace),
                "controllerName": self.profile.controller_name,
                "conditions": [
                    _condition("Accepted", True, "Accepted", "", generation),
                    _condition("ResolvedRefs", problem is None,
                               "ResolvedRefs" if problem is None else problem.reason,
                               "" if problem is None else problem.message, generation),
                ]})
            for listener in gateway.get("status", {}).get("listeners", []):
                listener["attachedRoutes"] += 1
            served = matches_of(route, namespace, lambda refs: self._target(refs, namespace))
        route["status"] = {"parents": parents}
        return served

    def _resolutions(self, refs: list[Mapping[str, Any]], namespace: str) -> list[Resolution]:
        grants = [o for (kind, _, _), o in self._reconciled.items() if kind == "ReferenceGrant"]
        return [resolve(ref, namespace, self.profile.backend_api,
                        lambda k, ns, n: self._objects.get((k, ns, n)), grants)
                for ref in refs]

    def _target(self, refs: list[Mapping[str, Any]], namespace: str
                ) -> tuple[Upstream | None, DirectResponse | None]:
        """What the proxy does for a rule: the first backendRef's upstream, or its answer."""
        resolutions = self._resolutions(refs[:1], namespace)
        if not resolutions:
            return None, None
        first = resolutions[0]
        if first.backend is None:
            return None, first.answer
        upstream = self._upstream(first.backend)
        return upstream, None if upstream is not None else self.profile.backend_api.unresolved

    def _upstream(self, backend: Mapping[str, Any]) -> Upstream | None:
        """What the proxy gets for a backend; None when it gets nothing (not served)."""
        llm = self.profile.backend_api.read(backend)
        verdict = self._verdict(backend)
        if llm is None or verdict is None or not verdict.served:
            return None
        return Upstream(
            f"{backend['metadata']['namespace']}/{backend['metadata']['name']}", llm.provider,
            llm.model, llm.host, llm.port, llm.path, verdict.auth, verdict.key, llm)

    def config_dump(self) -> dict[str, Any]:
        """The gateway's translated configuration, secrets shown as ``<redacted>``."""
        with self._lock:
            routes = []
            for route in self._routes:
                entry: dict[str, Any] = {"route": route.route, "match": {
                    "type": route.match_type, "value": route.value}, "rewrite": route.rewrite}
                if route.upstream is not None:
                    upstream = {k: v for k, v in vars(route.upstream).items() if k != "llm"}
                    if upstream["key"] is not None:
                        upstream["key"] = "<redacted>"
                    entry["backend"] = upstream
                routes.append(entry)
            return {"routes": routes}


def _fold_string_data(secret: dict[str, Any]) -> None:
    """As the API server does: stringData is merged into data (base64) and not stored."""
    plain = secret.pop("stringData", None) or {}
    encoded = {k: base64.b64encode(str(v).encode()).decode() for k, v in plain.items()}
    secret["data"] = {**(secret.get("data") or {}), **encoded}


def _content(obj: Mapping[str, Any]) -> Any:
    metadata = {k: v for k, v in obj["metadata"].items()
                if k not in ("resourceVersion", "generation")}
    return {**{k: v for k, v in obj.items() if k != "status"}, "metadata": metadata}
