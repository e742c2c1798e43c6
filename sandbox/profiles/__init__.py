"""API profiles: every pinned upstream version and name, in one place so it can be bumped.

A profile is a parameter, not a fork: it names the versions to install, where the gateway lives,
and where a provider's upstream host/port go in a backend manifest. Scenarios say which profile
their manifests are written for. The little behaviour that differs between the controllers (how
a backend's auth is translated, their status messages, the gateway's answer for a backend it
does not have) is a named strategy on the profile: ``backend_api``
(sandbox/profiles/backend_api.py).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from sandbox.records import record

if TYPE_CHECKING:  # the strategies load with the first use: the app's first screen needs none
    from sandbox.profiles.backend_api import BackendApi

FIELD_MANAGER = "agw-sandbox"
Strategy = Literal["kgateway", "agentgateway"]


@cache
def backend_strategy(name: Strategy) -> BackendApi:
    """The one instance of the named controller's strategy (``backend_api.py``)."""
    from sandbox.profiles.backend_api import AgentgatewayBackends, KgatewayBackends

    return KgatewayBackends() if name == "kgateway" else AgentgatewayBackends()


@record
class Pins:
    kind: str
    node_image: str
    gateway_api: str
    gateway_api_crds_url: str
    crd_chart: str
    chart: str
    chart_version: str
    controller_image: str
    proxy_image: str
    helm_min: str
    helm_values: tuple[tuple[str, str], ...]
    # The Gateway API minors the release supports (installed CRDs in range, at least the
    # pinned minor, are used as they are).
    gateway_api_range: tuple[str, str]


@record
class Profile:
    name: str
    description: str
    pins: Pins
    namespace: str
    gateway_name: str
    gateway_class: str
    gateway_port: int
    proxy_deployment: str
    controller_deployment: str
    controller_name: str
    backend_api_version: str
    backend_kind: str
    # Where an LLM provider's upstream host/port are set inside a backend manifest (the
    # strategy's `redirect` says what else the mock provider needs there).
    upstream_path: tuple[str, ...]
    backend_plural: str = "backends"
    cluster_name: str = "agw-sandbox"  # the kind cluster: one per profile (see README)
    gateway_class_accepted: str = "GatewayClass accepted by kgateway controller"
    # The behaviour that differs: how the controller translates a backend, and its words
    # (the ``backend_api`` strategy of that name).
    strategy: Strategy = "kgateway"
    title: str = "kgateway v2.1"
    releases: tuple[str, str] = ("kgateway-crds", "kgateway")  # Helm: the CRDs, the controller
    # The controller Deployment's selector labels in the chart (its _helpers.tpl), whatever
    # the release is called: how an installation under other names is found.
    controller_labels: tuple[tuple[str, str], ...] = (("kgateway", "kgateway"),
                                                      ("app.kubernetes.io/name", "kgateway"))
    # Where the built-in scenarios for this profile live, under the scenarios directory.
    scenario_dir: str = ""

    @property
    def backend_api(self) -> BackendApi:
        return backend_strategy(self.strategy)

    @property
    def backend_group(self) -> str:
        return self.backend_api_version.rpartition("/")[0]

    @property
    def backend_crd(self) -> str:
        """The CustomResourceDefinition of the backend kind (installed by the CRD chart)."""
        return f"{self.backend_plural}.{self.backend_group}"


KGATEWAY_V2_1 = Profile(
    name="kgateway-v2.1",
    description="kgateway v2.1.x with agentgateway enabled (Backend.gateway.kgateway.dev)",
    pins=Pins(
        kind="v0.30.0",
        node_image=(
            "kindest/node:v1.34.0@sha256:"
            "7416a61b42b1662ca6ca89f02028ac133a309a2a30ba309614e8ec94d976dc5a"
        ),
        gateway_api="v1.4.0",
        gateway_api_crds_url=(
            "https://github.com/kubernetes-sigs/gateway-api/releases/download/"
            "v1.4.0/standard-install.yaml"
        ),
        crd_chart="oci://cr.kgateway.dev/kgateway-dev/charts/kgateway-crds",
        chart="oci://cr.kgateway.dev/kgateway-dev/charts/kgateway",
        chart_version="v2.1.3",
        controller_image="cr.kgateway.dev/kgateway-dev/kgateway:v2.1.3",
        proxy_image="ghcr.io/agentgateway/agentgateway:0.10.3",
        helm_min="3.12.0",
        helm_values=(("agentgateway.enabled", "true"),),
        gateway_api_range=("v1.4", "v1.4"),
    ),
    namespace="kgateway-system",
    gateway_name="agentgateway",
    gateway_class="agentgateway",
    gateway_port=8080,
    proxy_deployment="agentgateway",
    controller_deployment="kgateway",
    controller_name="kgateway.dev/agentgateway",
    backend_api_version="gateway.kgateway.dev/v1alpha1",
    backend_kind="Backend",
    upstream_path=("spec", "ai", "llm"),
)

AGENTGATEWAY_V1_4 = Profile(
    name="agentgateway-v1.4",
    description="agentgateway v1.4.x, its own API group (AgentgatewayBackend.agentgateway.dev)",
    pins=Pins(
        kind="v0.30.0",
        # Inside both profiles' Kubernetes ranges (1.31-1.34 and 1.31-1.36).
        node_image=KGATEWAY_V2_1.pins.node_image,
        gateway_api="v1.6.0",
        gateway_api_crds_url=(
            "https://github.com/kubernetes-sigs/gateway-api/releases/download/"
            "v1.6.0/standard-install.yaml"
        ),
        crd_chart="oci://cr.agentgateway.dev/charts/agentgateway-crds",
        chart="oci://cr.agentgateway.dev/charts/agentgateway",
        chart_version="v1.4.1",
        controller_image="cr.agentgateway.dev/controller:v1.4.1",
        proxy_image="cr.agentgateway.dev/agentgateway:v1.4.1",
        helm_min="3.12.0",
        helm_values=(),
        # The docs' support matrix for 1.4.x; built against v1.6.1 (go.mod).
        gateway_api_range=("v1.4", "v1.6"),
    ),
    namespace="agentgateway-system",
    gateway_name="agentgateway-proxy",
    gateway_class="agentgateway",
    gateway_port=80,
    proxy_deployment="agentgateway-proxy",
    controller_deployment="agentgateway",
    controller_name="agentgateway.dev/agentgateway",
    backend_api_version="agentgateway.dev/v1alpha1",
    backend_kind="AgentgatewayBackend",
    upstream_path=("spec", "ai", "provider"),
    backend_plural="agentgatewaybackends",
    cluster_name="agw-sandbox-v1-4",
    gateway_class_accepted="GatewayClass accepted by agentgateway controller",
    strategy="agentgateway",
    title="agentgateway v1.4",
    releases=("agentgateway-crds", "agentgateway"),
    controller_labels=(("agentgateway", "agentgateway"),
                       ("app.kubernetes.io/name", "agentgateway")),
    scenario_dir="agentgateway-v1.4",
)

PROFILES = {p.name: p for p in (KGATEWAY_V2_1, AGENTGATEWAY_V1_4)}
DEFAULT_PROFILE = KGATEWAY_V2_1


def builtin_dir() -> Path:
    """The built-in scenarios (package data); each profile's are in its ``scenario_dir``.

    Found with ``find_spec``: importlib.resources costs the app's first paint 5 ms."""
    from importlib.util import find_spec

    spec = find_spec("sandbox.builtin_scenarios")
    assert spec is not None and spec.submodule_search_locations is not None
    return Path(next(iter(spec.submodule_search_locations)))
