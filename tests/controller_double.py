"""A test double of kgateway v2.1.x (agentgateway enabled) that writes status into the API emulator.

Every document it writes is shaped from upstream's source as recorded in the upstream fact sheet
``kgateway-v2.1.md`` (its last section, "Re-verified from source", wins), never from what the
sandbox's own code expects. It is written independently of ``sandbox.runtimes.sim`` on
purpose: ``tests/integration/test_controller_equivalence.py`` holds the two against each other.

What it plays, and where each fact comes from:
- GatewayClass ``agentgateway``, created by the controller with controllerName
  ``kgateway.dev/agentgateway`` and set Accepted (``controller/start.go:433-441``,
  ``controller.go:640-647``).
- Gateways of that class: Accepted (message "") and Programmed ("Successfully programmed
  Gateway") even while the LoadBalancer Service is pending (no ``addresses``); each listener's
  conditions say "No errors found" (the translator's ``BuildListener``); the proxy Deployment
  is named after the Gateway, in its namespace (``status_syncer.go:446-470``,
  ``deployer/gateway_parameters.go:95-96``).
- Backends: Accepted unless a SecretRef (of any provider with an ``authToken``) names a Secret
  that does not exist; the write replaces the whole list and, Accepted or Invalid, carries no
  observedGeneration (``pluginutils.BuildCondition``, ``plugins/backend/status.go``).
  The status is recomputed only when the translation's inputs change, and an empty Secret
  compares equal to a missing one (``ai/ai_backend.go:33-65``), so a Secret created empty after
  being missing leaves the stale Accepted=False.
- HTTPRoutes: one parent per Gateway with controllerName ``kgateway.dev/agentgateway``, the
  parentRef written with group, kind and namespace, no sectionName; ``Accepted`` and
  ``ResolvedRefs`` with empty messages, or ``BackendNotFound`` with
  ``kgateway Backend not found: <ns>/<name>`` (``route_collections.go:203-247``,
  ``conversion.go:678-688``).
- Deployments (the kubelet's part): rolled out once they exist.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime
import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

import kmock

CONTROLLER_NAME = "kgateway.dev/agentgateway"
GATEWAY_CLASS = "agentgateway"
NAMESPACE = "kgateway-system"
GATEWAY_API = "gateway.networking.k8s.io"
KGATEWAY_API = "gateway.kgateway.dev"
LISTENER_KINDS = ("HTTPRoute", "GRPCRoute", "TCPRoute", "TLSRoute")


def now() -> str:
    return datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def condition(ctype: str, status: bool, reason: str, message: str,
              generation: int | None) -> dict[str, Any]:
    """A metav1.Condition as controller-runtime serialises it."""
    written: dict[str, Any] = {"type": ctype, "status": "True" if status else "False",
                               "reason": reason, "message": message,
                               "lastTransitionTime": now()}
    if generation is not None:
        written["observedGeneration"] = generation
    return written


def secret_data(secret: Mapping[str, Any] | None) -> dict[str, bytes]:
    """The Secret's data as the API server stores it (stringData folded in): bytes."""
    if secret is None:
        return {}
    decoded = {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}
    return {**decoded, **{k: str(v).encode() for k, v in
                          (secret.get("stringData") or {}).items()}}


def data_value(data: Mapping[str, bytes], key: str) -> str | None:
    """``kubeutils.GetSecretDataValue``: trimmed, or None when absent or not valid UTF-8."""
    if key not in data:
        return None
    try:
        return data[key].decode("utf-8").strip()
    except UnicodeDecodeError:
        return None


# The providers whose authToken the Envoy-side backend plugin resolves (getAISecretRef).
AUTH_TOKEN_PROVIDERS = ("openai", "anthropic", "azureopenai", "gemini", "vertexai")


class ControllerDouble:
    """kgateway v2.1.x's status writes (and the kubelet's rollouts), one pass per ``reconcile``.

    Subclasses may override one method to write something else on purpose (the compare tests do).
    """

    controller_name = CONTROLLER_NAME
    namespace = NAMESPACE
    controller_deployment = "kgateway"
    backend_plural = "backends"
    gateway_class_message = "GatewayClass accepted by kgateway controller"

    def __init__(self, emulator: Any, ready: bool = True, programmed: bool = True) -> None:
        self.emulator = emulator
        self.ready = ready
        self.programmed = programmed
        self._backend_inputs: dict[tuple[str, str], str] = {}

    # -- the emulator's store -------------------------------------------------------------------
    def _key(self, group: str, version: str, plural: str, namespace: str | None,
             name: str) -> Any:
        return (kmock.resource(group, version, plural), namespace, name)

    def _live(self, plural: str) -> list[dict[str, Any]]:
        """Plain copies of the stored objects; ``_write`` finds the stored one again."""
        return [obj.raw for (resource, _, _), obj in list(self.emulator.objects.items())
                if resource.plural == plural and not obj.deleted]

    def _find(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        return next((obj for obj in self._live(plural)
                     if obj["metadata"].get("namespace") == namespace
                     and obj["metadata"].get("name") == name), None)

    def _write(self, doc: Mapping[str, Any], status: dict[str, Any]) -> None:
        """Write only a real change: like upstream, compare without lastTransitionTime."""
        if _without_times(doc.get("status") or {}) == _without_times(status):
            return
        meta = doc["metadata"]
        for (_, namespace, name), obj in list(self.emulator.objects.items()):
            if (not obj.deleted and obj.raw is not None and obj.raw.get("kind") == doc["kind"]
                    and (namespace, name) == (meta.get("namespace"), meta["name"])):
                obj.patch({"status": status})

    # -- installation ---------------------------------------------------------------------------
    def install(self) -> None:
        """What the Helm chart and the starting controller create."""
        key = self._key(GATEWAY_API, "v1", "gatewayclasses", None, GATEWAY_CLASS)
        if key not in self.emulator.objects or self.emulator.objects[key].deleted:
            self.emulator.objects[key] = {
                "apiVersion": f"{GATEWAY_API}/v1", "kind": "GatewayClass",
                "metadata": {"name": GATEWAY_CLASS, "generation": 1},
                "spec": {"controllerName": self.controller_name}}
        self._deployment(self.namespace, self.controller_deployment)

    def _deployment(self, namespace: str, name: str) -> None:
        key = self._key("apps", "v1", "deployments", namespace, name)
        if key not in self.emulator.objects or self.emulator.objects[key].deleted:
            self.emulator.objects[key] = {
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": name, "namespace": namespace, "generation": 1},
                "spec": {"replicas": 1}}

    def _load_balancer(self, gateway: dict[str, Any]) -> None:
        """The proxy's Service: type LoadBalancer, which stays pending on kind (no ingress)."""
        meta = gateway["metadata"]
        key = self._key("", "v1", "services", meta["namespace"], meta["name"])
        if key not in self.emulator.objects or self.emulator.objects[key].deleted:
            ports = [{"name": str(listener.get("name")), "port": listener.get("port"),
                      "targetPort": listener.get("port"), "protocol": "TCP"}
                     for listener in gateway["spec"].get("listeners", [])]
            self.emulator.objects[key] = {
                "apiVersion": "v1", "kind": "Service",
                "metadata": {"name": meta["name"], "namespace": meta["namespace"]},
                "spec": {"type": "LoadBalancer", "ports": ports},
                "status": {"loadBalancer": {}}}

    # -- one pass -------------------------------------------------------------------------------
    def reconcile(self) -> None:
        self.install()
        for gateway_class in self._live("gatewayclasses"):
            if gateway_class["spec"].get("controllerName") == self.controller_name:
                self._write(gateway_class, {"conditions": [condition(
                    "Accepted", True, "Accepted", self.gateway_class_message,
                    _generation(gateway_class))]})
        gateways = [g for g in self._live("gateways")
                    if g["spec"].get("gatewayClassName") == GATEWAY_CLASS]
        for backend in self._live(self.backend_plural):
            self._reconcile_backend(backend)
        attached: dict[tuple[str, str], int] = {}
        for route in self._live("httproutes"):
            for parent in self._reconcile_route(route, gateways):
                attached[parent] = attached.get(parent, 0) + 1
        for gateway in gateways:
            meta = gateway["metadata"]
            self._deployment(meta["namespace"], meta["name"])
            self._load_balancer(gateway)
            if self.programmed:
                self._write(gateway, self.gateway_status(
                    gateway, attached.get((meta["namespace"], meta["name"]), 0)))
        if self.ready:
            for deployment in self._live("deployments"):
                self._roll_out(deployment)

    # -- Gateway --------------------------------------------------------------------------------
    def gateway_status(self, gateway: dict[str, Any], attached_routes: int) -> dict[str, Any]:
        """Accepted and Programmed although the LoadBalancer is pending: no addresses."""
        generation = _generation(gateway)
        listeners = [{
            "name": listener.get("name"),
            "attachedRoutes": attached_routes,
            "supportedKinds": [{"group": GATEWAY_API, "kind": kind} for kind in LISTENER_KINDS],
            "conditions": [
                condition("Accepted", True, "Accepted", "No errors found", generation),
                condition("Conflicted", False, "NoConflicts", "No errors found", generation),
                condition("Programmed", True, "Programmed", "No errors found", generation),
                condition("ResolvedRefs", True, "ResolvedRefs", "No errors found", generation)],
        } for listener in gateway["spec"].get("listeners", [])]
        return {"conditions": [
            condition("Accepted", True, "Accepted", "", generation),
            condition("Programmed", True, "Programmed", "Successfully programmed Gateway",
                      generation)], "listeners": listeners}

    # -- Backend --------------------------------------------------------------------------------
    def _reconcile_backend(self, backend: dict[str, Any]) -> None:
        meta = backend["metadata"]
        llm = ((backend.get("spec") or {}).get("ai") or {}).get("llm") or {}
        provider = next((llm[name] for name in AUTH_TOKEN_PROVIDERS if name in llm), {})
        token = provider.get("authToken") or {}
        secret: dict[str, Any] | None = None
        secret_name = ""
        if token.get("kind") == "SecretRef" and token.get("secretRef") is not None:
            secret_name = str((token.get("secretRef") or {}).get("name", ""))
            secret = self._find("secrets", meta["namespace"], secret_name)
        # krt recomputes only when an input changes; an empty data map equals a missing Secret.
        inputs = json.dumps([backend.get("spec"), {k: v.hex() for k, v in
                                                   secret_data(secret).items()}], sort_keys=True)
        key = (meta["namespace"], meta["name"])
        if self._backend_inputs.get(key) == inputs and backend.get("status"):
            return
        self._backend_inputs[key] = inputs
        if secret_name and secret is None:
            self._write(backend, {"conditions": [self.backend_invalid(secret_name)]})
        else:
            self._write(backend, {"conditions": [self.backend_accepted(
                backend, token.get("kind", ""))]})

    def backend_accepted(self, backend: dict[str, Any], auth_kind: str) -> dict[str, Any]:
        return condition("Accepted", True, "Accepted", "Backend accepted", None)

    def backend_invalid(self, secret_name: str) -> dict[str, Any]:
        message = (f'Backend error: "failed to find secret {secret_name}: Secret '
                   f'"{secret_name}" not found"')
        return condition("Accepted", False, "Invalid", message, None)

    # -- HTTPRoute ------------------------------------------------------------------------------
    def _reconcile_route(self, route: dict[str, Any], gateways: list[Any]) -> list[tuple[str, str]]:
        namespace = route["metadata"]["namespace"]
        generation = _generation(route)
        parents = []
        attached = []
        for parent in route["spec"].get("parentRefs", []):
            parent_ns = parent.get("namespace") or namespace
            if not any(g["metadata"]["name"] == parent.get("name")
                       and g["metadata"]["namespace"] == parent_ns for g in gateways):
                continue  # another controller's parent: nothing written for it
            written = {k: v for k, v in parent.items() if k != "sectionName"}
            written.update(group=GATEWAY_API, kind="Gateway", namespace=parent_ns)
            unresolved = self._unresolved(route)
            reason, message = unresolved or ("ResolvedRefs", "")
            parents.append({"parentRef": written, "controllerName": self.controller_name,
                            "conditions": [
                                condition("Accepted", True, "Accepted", "", generation),
                                condition("ResolvedRefs", unresolved is None, reason, message,
                                          generation),
                            ]})
            attached.append((parent_ns, str(parent.get("name"))))
        others = [p for p in (route.get("status") or {}).get("parents", [])
                  if p.get("controllerName") != self.controller_name]
        self._write(route, {"parents": others + parents})
        return attached

    def _unresolved(self, route: dict[str, Any]) -> tuple[str, str] | None:
        """(reason, message) of ResolvedRefs=False, or None when every backendRef resolves."""
        namespace = route["metadata"]["namespace"]
        for rule in route["spec"].get("rules", []):
            for ref in rule.get("backendRefs", []):
                if (ref.get("group"), ref.get("kind")) != (KGATEWAY_API, "Backend"):
                    continue
                name = str(ref.get("name"))
                found = self._find("backends", ref.get("namespace") or namespace, name)
                # The lookup is keyed with the ref's port: a port never matches a Backend.
                if found is None or "port" in ref:
                    return "BackendNotFound", f"kgateway Backend not found: {namespace}/{name}"
        return None

    # -- kubelet --------------------------------------------------------------------------------
    def _roll_out(self, deployment: dict[str, Any]) -> None:
        replicas = int((deployment.get("spec") or {}).get("replicas", 1))
        self._write(deployment, {"observedGeneration": _generation(deployment),
                                 "replicas": replicas, "updatedReplicas": replicas,
                                 "readyReplicas": replicas, "availableReplicas": replicas})

    # -- running beside a test ------------------------------------------------------------------
    async def run(self, interval: float = 0.02) -> None:
        while True:
            self.reconcile()
            await asyncio.sleep(interval)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[ControllerDouble]:
        task = asyncio.create_task(self.run())
        try:
            yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _generation(obj: Any) -> int:
    return int((obj.get("metadata") or {}).get("generation") or 1)


def _without_times(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _without_times(v) for k, v in value.items() if k != "lastTransitionTime"}
    if isinstance(value, list):
        return [_without_times(v) for v in value]
    return value


AGW_CONTROLLER_NAME = "agentgateway.dev/agentgateway"
AGW_NAMESPACE = "agentgateway-system"
AGW_API = "agentgateway.dev"


class AgentgatewayDouble(ControllerDouble):
    """agentgateway v1.4.1's status writes, from the upstream fact sheet ``agentgateway-v1.4.md``
    §5.

    - GatewayClass ``agentgateway`` with controllerName ``agentgateway.dev/agentgateway``,
      Accepted "GatewayClass accepted by agentgateway controller"
      (``controller/pkg/reports/status.go``); the controller Deployment is ``agentgateway``.
    - AgentgatewayBackends (``syncer/backend/backend_plugin.go TranslateAgwBackend``): Accepted
      "Backend successfully accepted", or on a translation error ``Accepted=False``,
      ``TranslationError``, ``failed to translate backend: <err>``, both with
      observedGeneration. The errors: ``secret <ns>/<name> not found`` and ``secret <ns>/<name>
      missing Authorization value`` (``kubeutils.GetSecretDataAuth``: trimmed, then a leading
      "Bearer " removed; empty means missing).
    - HTTPRoutes: as kgateway's agentgateway syncer, but a missing backend reads
      ``Backend not found: <ns>/<name>`` and a backendRef ``port`` is ignored
      (``reference_indexes.go``, ``translator/conversion.go``).
    """

    controller_name = AGW_CONTROLLER_NAME
    namespace = AGW_NAMESPACE
    controller_deployment = "agentgateway"
    backend_plural = "agentgatewaybackends"
    gateway_class_message = "GatewayClass accepted by agentgateway controller"

    def _reconcile_backend(self, backend: dict[str, Any]) -> None:
        meta = backend["metadata"]
        auth = (((backend.get("spec") or {}).get("policies") or {}).get("auth")) or {}
        error = None
        if "secretRef" in auth:
            name = str(auth["secretRef"].get("name", ""))
            key = str(auth["secretRef"].get("key") or "Authorization")
            found = self._find("secrets", meta["namespace"], name)
            value = data_value(secret_data(found), key) or ""
            if key == "Authorization":  # GetSecretDataAuth
                value = value.removeprefix("Bearer ").strip()
            if found is None:
                error = f"secret {meta['namespace']}/{name} not found"
            elif not value:
                error = f"secret {meta['namespace']}/{name} missing {key} value"
        if error is None:
            written = condition("Accepted", True, "Accepted", "Backend successfully accepted",
                                _generation(backend))
        else:
            written = condition("Accepted", False, "TranslationError",
                                f"failed to translate backend: {error}", _generation(backend))
        self._write(backend, {"conditions": [written]})

    def _unresolved(self, route: dict[str, Any]) -> tuple[str, str] | None:
        """``buildAgwDestination``: each invalid backendRef replaces the last one's condition."""
        namespace = route["metadata"]["namespace"]
        last = None
        for rule in route["spec"].get("rules", []):
            for ref in rule.get("backendRefs", []):
                last = self._ref_error(ref, namespace) or last
        return last

    def _ref_error(self, ref: dict[str, Any], namespace: str) -> tuple[str, str] | None:
        group, kind = ref.get("group") or "", ref.get("kind") or "Service"
        name, target = str(ref.get("name")), str(ref.get("namespace") or namespace)
        if target != namespace and not self._granted(namespace, group, kind, name, target):
            return "RefNotPermitted", (f"backendRef {target}/{name} not accessible to a "
                                       f'HTTPRoute in namespace "{namespace}" (missing a '
                                       "ReferenceGrant?)")
        if (group, kind) == (AGW_API, "AgentgatewayBackend"):
            if self._find(self.backend_plural, target, name) is None:
                return "BackendNotFound", f"Backend not found: {target}/{name}"
            return None
        if (group, kind) == ("", "Service"):
            if self._find("services", target, name) is None:
                return "BackendNotFound", f"backend({name}.{target}.svc.cluster.local) not found"
            return None
        return "InvalidKind", f'referencing unsupported backendRef: group "{group}" kind "{kind}"'

    def _granted(self, namespace: str, group: str, kind: str, name: str, target: str) -> bool:
        for grant in self._live("referencegrants"):
            if grant["metadata"].get("namespace") != target:
                continue
            spec = grant.get("spec") or {}
            if any(f.get("group") == GATEWAY_API and f.get("kind") == "HTTPRoute"
                   and f.get("namespace") == namespace for f in spec.get("from") or []) and any(
                    (t.get("group") or "") == group and t.get("kind") == kind
                    and t.get("name") in (None, "", name) for t in spec.get("to") or []):
                return True
        return False
