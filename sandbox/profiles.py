"""API profiles: every pinned upstream version and name, in one place so it can be bumped.

A profile is a parameter, not a fork: it names the versions to install, where the gateway lives,
and where a provider's upstream host/port go in a backend manifest. Scenarios say which profile
their manifests are written for.
"""

from __future__ import annotations

from dataclasses import dataclass

FIELD_MANAGER = "agw-sandbox"


@dataclass(frozen=True)
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


@dataclass(frozen=True)
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
    # Where an LLM provider's upstream host/port are set inside a backend manifest.
    upstream_path: tuple[str, ...]


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

PROFILES = {p.name: p for p in (KGATEWAY_V2_1,)}
DEFAULT_PROFILE = KGATEWAY_V2_1
