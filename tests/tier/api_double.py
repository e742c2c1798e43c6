"""The controller double (tests/controller_double.py) reading and writing a real kube-apiserver.

Only how it reaches objects changes: it lists them through the API, writes status through the
status subresource (a JSON merge patch, as a controller's status patch is) and creates what the
chart and the kubelet would (the GatewayClass, Deployments, the proxy's Service) as valid
objects. What the double writes is its own; what the server keeps of it is upstream's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tests.controller_double import (
    GATEWAY_API,
    GATEWAY_CLASS,
    AgentgatewayDouble,
    ControllerDouble,
    _without_times,
)
from tests.tier.apiserver import ApiServer

# Where each plural the double reads lives (group/version; "" is the core group).
API_VERSIONS = {
    "gatewayclasses": f"{GATEWAY_API}/v1", "gateways": f"{GATEWAY_API}/v1",
    "httproutes": f"{GATEWAY_API}/v1", "referencegrants": f"{GATEWAY_API}/v1beta1",
    "backends": "gateway.kgateway.dev/v1alpha1",
    "agentgatewaybackends": "agentgateway.dev/v1alpha1",
    "secrets": "v1", "services": "v1", "deployments": "apps/v1",
}
PLURALS = {"GatewayClass": "gatewayclasses", "Gateway": "gateways", "HTTPRoute": "httproutes",
           "ReferenceGrant": "referencegrants", "Backend": "backends",
           "AgentgatewayBackend": "agentgatewaybackends", "Secret": "secrets",
           "Service": "services", "Deployment": "deployments"}
CONTROLLER_MANAGER = "controller-double"


class OnApiServer:
    """The store methods of the double, on a real API server (mixed in before the double)."""

    server: ApiServer
    writes: list[tuple[dict[str, Any], dict[str, Any]]]

    def _path(self, plural: str, namespace: str | None = None, name: str | None = None) -> str:
        api_version = API_VERSIONS[plural]
        base = f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"
        if namespace:
            base += f"/namespaces/{namespace}"
        return base + f"/{plural}" + (f"/{name}" if name else "")

    def _live(self, plural: str) -> list[dict[str, Any]]:
        status, data = self.server.kube.request("GET", self._path(plural))
        if status == 404:  # a kind this profile's cluster does not serve
            return []
        assert status == 200, data.get("message")
        kind = data["kind"].removesuffix("List")
        return [{**item, "kind": kind, "apiVersion": API_VERSIONS[plural]}
                for item in data.get("items") or []]

    def _find(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        status, data = self.server.kube.request("GET", self._path(plural, namespace, name))
        return data if status == 200 else None

    def _write(self, doc: Mapping[str, Any], status: dict[str, Any]) -> None:
        """Write only a real change, through the status subresource; a refusal fails loudly."""
        if _without_times(doc.get("status") or {}) == _without_times(status):
            return
        meta = doc["metadata"]
        plural = PLURALS[doc["kind"]]
        code, data = self.server.kube.request(
            "PATCH", self._path(plural, meta.get("namespace"), meta["name"]) + "/status",
            body={"status": status}, content_type="application/merge-patch+json")
        assert code == 200, f"the API server refused the double's status: {data.get('message')}"
        self.writes.append((dict(doc), status))

    def _create(self, doc: dict[str, Any]) -> None:
        message = self.server.apply(doc, manager=CONTROLLER_MANAGER)
        assert message is None, message

    def install(self) -> None:
        self._create({"apiVersion": f"{GATEWAY_API}/v1", "kind": "GatewayClass",
                      "metadata": {"name": GATEWAY_CLASS},
                      "spec": {"controllerName": self.controller_name}})  # type: ignore[attr-defined]
        self._deployment(self.namespace, self.controller_deployment)  # type: ignore[attr-defined]

    def _deployment(self, namespace: str, name: str) -> None:
        if self._find("deployments", namespace, name) is None:
            labels = {"app.kubernetes.io/name": name}
            self._create({"apiVersion": "apps/v1", "kind": "Deployment",
                          "metadata": {"name": name, "namespace": namespace},
                          "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                                   "template": {"metadata": {"labels": labels}, "spec": {
                                       "containers": [{"name": name, "image": "example"}]}}}})

    def _load_balancer(self, gateway: dict[str, Any]) -> None:
        meta = gateway["metadata"]
        if self._find("services", meta["namespace"], meta["name"]) is None:
            ports = [{"name": str(listener.get("name")), "port": listener.get("port"),
                      "targetPort": listener.get("port"), "protocol": "TCP"}
                     for listener in gateway["spec"].get("listeners", [])]
            self._create({"apiVersion": "v1", "kind": "Service",
                          "metadata": {"name": meta["name"], "namespace": meta["namespace"]},
                          "spec": {"type": "LoadBalancer", "ports": ports,
                                   "selector": {"app.kubernetes.io/name": meta["name"]}}})


class KgatewayOnApiServer(OnApiServer, ControllerDouble):
    def __init__(self, server: ApiServer) -> None:
        ControllerDouble.__init__(self, None)
        self.server, self.writes = server, []


class AgentgatewayOnApiServer(OnApiServer, AgentgatewayDouble):
    def __init__(self, server: ApiServer) -> None:
        AgentgatewayDouble.__init__(self, None)
        self.server, self.writes = server, []
