"""The kinds a cluster serves once a profile is installed: Kubernetes' own, the Gateway API
standard install and the profile's CRD chart, with their plural names, scope and versions.

Read from the upstream CRDs at the pinned versions (Gateway API v1.4.0 and v1.6.0
``config/crd/standard``; kgateway v2.1.x and agentgateway v1.4.1 ``install/helm/*-crds``, the
agentgateway chart's experimental AgentgatewayModel left out as its default values leave it
out) and from the Kubernetes API reference for the built-in kinds a scenario may apply.
"""

from __future__ import annotations

from sandbox.records import record


@record
class ServedKind:
    group: str
    kind: str
    plural: str
    versions: tuple[str, ...]  # the first is the one to read it with
    namespaced: bool = True

    def serves(self, api_version: str) -> bool:
        group, _, version = api_version.rpartition("/")
        return group == self.group and version in self.versions


BUILT_IN = (
    ServedKind("", "Namespace", "namespaces", ("v1",), namespaced=False),
    ServedKind("", "Secret", "secrets", ("v1",)),
    ServedKind("", "ConfigMap", "configmaps", ("v1",)),
    ServedKind("", "Service", "services", ("v1",)),
    ServedKind("", "ServiceAccount", "serviceaccounts", ("v1",)),
    ServedKind("", "Pod", "pods", ("v1",)),
    ServedKind("apps", "Deployment", "deployments", ("v1",)),
    ServedKind("apps", "StatefulSet", "statefulsets", ("v1",)),
    ServedKind("apps", "DaemonSet", "daemonsets", ("v1",)),
    ServedKind("batch", "Job", "jobs", ("v1",)),
    ServedKind("networking.k8s.io", "NetworkPolicy", "networkpolicies", ("v1",)),
    ServedKind("rbac.authorization.k8s.io", "Role", "roles", ("v1",)),
    ServedKind("rbac.authorization.k8s.io", "RoleBinding", "rolebindings", ("v1",)),
    ServedKind("apiextensions.k8s.io", "CustomResourceDefinition", "customresourcedefinitions",
               ("v1",), namespaced=False),
    # The Gateway API bundle carries an admission policy guarding upgrades (v1.5 and later).
    ServedKind("admissionregistration.k8s.io", "ValidatingAdmissionPolicy",
               "validatingadmissionpolicies", ("v1",), namespaced=False),
    ServedKind("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding",
               "validatingadmissionpolicybindings", ("v1",), namespaced=False),
)

_GATEWAY_API = "gateway.networking.k8s.io"
GATEWAY_API_V1_4 = (
    ServedKind(_GATEWAY_API, "GatewayClass", "gatewayclasses", ("v1", "v1beta1"),
               namespaced=False),
    ServedKind(_GATEWAY_API, "Gateway", "gateways", ("v1", "v1beta1")),
    ServedKind(_GATEWAY_API, "HTTPRoute", "httproutes", ("v1", "v1beta1")),
    ServedKind(_GATEWAY_API, "GRPCRoute", "grpcroutes", ("v1",)),
    ServedKind(_GATEWAY_API, "ReferenceGrant", "referencegrants", ("v1beta1",)),
    ServedKind(_GATEWAY_API, "BackendTLSPolicy", "backendtlspolicies", ("v1",)),
)
GATEWAY_API_V1_6 = (
    *(kind for kind in GATEWAY_API_V1_4 if kind.kind != "ReferenceGrant"),
    ServedKind(_GATEWAY_API, "ReferenceGrant", "referencegrants", ("v1beta1", "v1")),
    ServedKind(_GATEWAY_API, "ListenerSet", "listenersets", ("v1",)),
    ServedKind(_GATEWAY_API, "TCPRoute", "tcproutes", ("v1",)),
    ServedKind(_GATEWAY_API, "TLSRoute", "tlsroutes", ("v1",)),
    ServedKind(_GATEWAY_API, "UDPRoute", "udproutes", ("v1",)),
)

_KGATEWAY = "gateway.kgateway.dev"
KGATEWAY_V2_1 = tuple(ServedKind(_KGATEWAY, kind, plural, ("v1alpha1",)) for kind, plural in (
    ("Backend", "backends"), ("BackendConfigPolicy", "backendconfigpolicies"),
    ("DirectResponse", "directresponses"), ("GatewayExtension", "gatewayextensions"),
    ("GatewayParameters", "gatewayparameters"), ("HTTPListenerPolicy", "httplistenerpolicies"),
    ("TrafficPolicy", "trafficpolicies")))

_AGENTGATEWAY = "agentgateway.dev"
AGENTGATEWAY_V1_4 = tuple(ServedKind(_AGENTGATEWAY, kind, plural, ("v1alpha1",))
                          for kind, plural in (
    ("AgentgatewayBackend", "agentgatewaybackends"),
    ("AgentgatewayParameters", "agentgatewayparameters"),
    ("AgentgatewayPolicy", "agentgatewaypolicies")))

# By profile name (sandbox/profiles/__init__.py): what its installs serve.
SERVED = {
    "kgateway-v2.1": (*BUILT_IN, *GATEWAY_API_V1_4, *KGATEWAY_V2_1),
    "agentgateway-v1.4": (*BUILT_IN, *GATEWAY_API_V1_6, *AGENTGATEWAY_V1_4),
}
# Every kind the sandbox knows, by name, read with its first version (the same in every profile).
KNOWN = {kind.kind: kind for kinds in SERVED.values() for kind in kinds}
