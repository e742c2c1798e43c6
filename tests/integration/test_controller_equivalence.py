"""The sim's controller and the upstream-shaped controller double write the same conditions.

One case per row of DESIGN §4 that involves status: the same manifests go, in the same order,
to the sim's control plane and (by server-side apply through the real kube client) to the API
emulator that the double reconciles. The sim can then never agree with our assumptions but not
with upstream.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sandbox.profiles import AGENTGATEWAY_V1_4, DEFAULT_PROFILE, Profile
from sandbox.runtimes.kube.client import Kube
from sandbox.runtimes.runtime import ResourceRef, conditions_of
from sandbox.runtimes.sim.control import SimCluster
from tests.conftest import OTHER_TOKEN, TOKEN
from tests.controller_double import AgentgatewayDouble, ControllerDouble
from tests.helpers import (
    AGW_GATEWAY,
    GATEWAY,
    agw_backend,
    agw_route,
    agw_secret,
    backend,
    route,
    secret,
)
from tests.kubeemu import ApplyingEmulator

pytestmark = pytest.mark.kmock(cls=ApplyingEmulator)

SECRET_REF = {"kind": "SecretRef", "secretRef": {"name": "openai-secret"}}
EMPTY_SECRET = {**secret(""), "stringData": {}}
MOCK = ("mock-provider.kgateway-system.svc.cluster.local", 8000)
REFS = (ResourceRef("GatewayClass", "agentgateway", ""),
        ResourceRef("Gateway", "agentgateway", "kgateway-system"),
        ResourceRef("Backend", "openai", "kgateway-system"),
        ResourceRef("HTTPRoute", "openai", "kgateway-system"))
# DESIGN §4, first column: the row, and the manifests that produce it, in order.
CASES: dict[str, list[dict[str, Any]]] = {
    "inline key": [GATEWAY, backend({"kind": "Inline", "inline": TOKEN}), route()],
    "secret key": [GATEWAY, secret(TOKEN), backend(SECRET_REF), route()],
    "passthrough": [GATEWAY, backend({"kind": "Passthrough"}), route()],
    "secret missing": [GATEWAY, backend(SECRET_REF), route()],
    "secret without Authorization": [GATEWAY, secret(TOKEN, key="authorization"),
                                     backend(SECRET_REF), route()],
    "secret with an empty value": [GATEWAY, secret(""), backend(SECRET_REF), route()],
    "secret with just Bearer": [GATEWAY, secret("Bearer "), backend(SECRET_REF), route()],
    "secret value Bearer <key>": [GATEWAY, secret(f"Bearer {TOKEN}"), backend(SECRET_REF),
                                  route()],
    "wrong key": [GATEWAY, backend({"kind": "Inline", "inline": OTHER_TOKEN}), route()],
    "route to a missing Backend": [GATEWAY, route(backend_name="openai-gone")],
    "port on a backendRef": [GATEWAY, backend({"kind": "Passthrough"}), route(port=8080)],
    "path not matched": [GATEWAY, backend({"kind": "Passthrough"}), route(prefix="/other")],
    "mock provider host and port": [GATEWAY, backend({"kind": "Passthrough"}, *MOCK), route()],
    "secret created after being missing": [GATEWAY, backend(SECRET_REF), route(),
                                           secret(TOKEN)],
    "secret created empty after being missing": [GATEWAY, backend(SECRET_REF), route(),
                                                 EMPTY_SECRET],
}

Written = dict[ResourceRef, list[tuple[str, ...]]]


def _shape(ref: ResourceRef, conditions: Any) -> list[tuple[str, ...]]:
    # The notes pin the Gateway's condition types and reasons, not its messages.
    if ref.kind == "Gateway":
        return [(c.type, c.status, c.reason) for c in conditions]
    return [(c.type, c.status, c.reason, c.message) for c in conditions]


def on_the_sim(docs: list[dict[str, Any]], profile: Profile = DEFAULT_PROFILE,
               refs: tuple[ResourceRef, ...] = REFS
               ) -> tuple[Written, dict[ResourceRef, Any]]:
    cluster = SimCluster(profile)
    for doc in docs:
        cluster.apply(doc)
    stored = {ref: cluster.get(ref.kind, ref.namespace, ref.name) for ref in refs}
    return ({ref: _shape(ref, conditions_of(obj, profile.controller_name))
             for ref, obj in stored.items() if obj is not None}, stored)


async def on_the_double(kmock: Any, docs: list[dict[str, Any]],
                        double_type: type[ControllerDouble] = ControllerDouble,
                        refs: tuple[ResourceRef, ...] = REFS
                        ) -> tuple[Written, dict[ResourceRef, Any]]:
    kube = Kube.for_url(str(kmock.url).rstrip("/"), double_type.controller_name)
    double = double_type(kmock)
    double.reconcile()
    for doc in docs:
        await asyncio.to_thread(kube.apply, doc)
        double.reconcile()
    stored = {ref: await asyncio.to_thread(kube.get, ref.kind, ref.namespace, ref.name)
              for ref in refs}
    written = {}
    for ref, obj in stored.items():
        if obj is not None:
            written[ref] = _shape(ref, (await asyncio.to_thread(kube.status, ref)).conditions)
    return written, stored


@pytest.mark.parametrize("row", list(CASES))
async def test_the_sim_writes_what_upstream_writes(kmock: Any, row: str) -> None:
    sim, sim_stored = on_the_sim(CASES[row])
    double, double_stored = await on_the_double(kmock, CASES[row])
    assert sim == double
    assert all(sim[ref] for ref in sim)  # every object present got a status
    route_written = double_stored[REFS[3]]
    if route_written is not None:
        [sim_parent] = sim_stored[REFS[3]]["status"]["parents"]
        [parent] = route_written["status"]["parents"]
        assert (sim_parent["controllerName"], sim_parent["parentRef"]) == (
            parent["controllerName"], parent["parentRef"])
    backend_written = double_stored[REFS[2]]
    if backend_written is not None:  # Invalid carries no observedGeneration, Accepted does
        assert [("observedGeneration" in c) for c in
                sim_stored[REFS[2]]["status"]["conditions"]] == [
            ("observedGeneration" in c) for c in backend_written["status"]["conditions"]]


async def test_the_double_writes_upstreams_words(kmock: Any) -> None:
    """Pins the double itself to the notes, so the equivalence cannot drift with both."""
    double, stored = await on_the_double(kmock, CASES["secret missing"])
    assert double[REFS[2]] == [("Accepted", "False", "Invalid",
                                'Backend error: "failed to find secret openai-secret: '
                                'Secret "openai-secret" not found"')]
    assert double[REFS[3]] == [("Accepted", "True", "Accepted", ""),
                               ("ResolvedRefs", "True", "ResolvedRefs", "")]
    service = await asyncio.to_thread(Kube.for_url(str(kmock.url).rstrip("/")).get, "Service",
                                      "kgateway-system", "agentgateway")
    assert service is not None and service["spec"]["type"] == "LoadBalancer"
    assert service["status"]["loadBalancer"] == {}  # pending: no ingress on kind
    assert stored[REFS[1]]["status"].get("addresses") is None
    assert double[REFS[1]] == [("Accepted", "True", "Accepted"),
                               ("Programmed", "True", "Programmed")]
    missing, _ = await on_the_double(kmock, CASES["route to a missing Backend"])
    assert missing[REFS[3]][1] == ("ResolvedRefs", "False", "BackendNotFound",
                                   "kgateway Backend not found: kgateway-system/openai-gone")


# DESIGN §4, second column (agentgateway v1.4.1).
AGW_REFS = (ResourceRef("GatewayClass", "agentgateway", ""),
            ResourceRef("Gateway", "agentgateway-proxy", "agentgateway-system"),
            ResourceRef("AgentgatewayBackend", "openai", "agentgateway-system"),
            ResourceRef("HTTPRoute", "openai", "agentgateway-system"))
AGW_SECRET_REF = {"secretRef": {"name": "openai-secret"}}
AGW_MOCK = ("mock-provider.agentgateway-system.svc.cluster.local", 8000)
AGW_CASES: dict[str, list[dict[str, Any]]] = {
    "inline key": [AGW_GATEWAY, agw_backend({"key": TOKEN}), agw_route(rewrite=True)],
    "secret key": [AGW_GATEWAY, agw_secret(TOKEN), agw_backend(AGW_SECRET_REF), agw_route()],
    "passthrough": [AGW_GATEWAY, agw_backend({"passthrough": {}}), agw_route()],
    "secret missing": [AGW_GATEWAY, agw_backend(AGW_SECRET_REF), agw_route()],
    "secret without Authorization": [AGW_GATEWAY, agw_secret(TOKEN, key="authorization"),
                                     agw_backend(AGW_SECRET_REF), agw_route()],
    "secret with an empty value": [AGW_GATEWAY, agw_secret(""), agw_backend(AGW_SECRET_REF),
                                   agw_route()],
    "secret with just Bearer": [AGW_GATEWAY, agw_secret("Bearer "),
                                agw_backend(AGW_SECRET_REF), agw_route()],
    "secret value Bearer <key>": [AGW_GATEWAY, agw_secret(f"Bearer {TOKEN}"),
                                  agw_backend(AGW_SECRET_REF), agw_route()],
    "secretRef.key": [AGW_GATEWAY, agw_secret(TOKEN, key="api-key"),
                      agw_backend({"secretRef": {"name": "openai-secret", "key": "api-key"}}),
                      agw_route()],
    "empty inline key": [AGW_GATEWAY, agw_backend({"key": ""}), agw_route()],
    "wrong key": [AGW_GATEWAY, agw_backend({"key": OTHER_TOKEN}), agw_route()],
    "route to a missing backend": [AGW_GATEWAY, agw_route(backend_name="openai")],
    "port on a backendRef": [AGW_GATEWAY, agw_backend({"passthrough": {}}),
                             agw_route(port=8080)],
    "mock provider host, port and path": [AGW_GATEWAY,
                                          agw_backend({"passthrough": {}}, *AGW_MOCK),
                                          agw_route()],
    "secret created after being missing": [AGW_GATEWAY, agw_backend(AGW_SECRET_REF),
                                           agw_route(), agw_secret(TOKEN)],
    "secret created empty after being missing": [AGW_GATEWAY, agw_backend(AGW_SECRET_REF),
                                                 agw_route(),
                                                 {**agw_secret(""), "stringData": {}}],
}


@pytest.mark.parametrize("row", list(AGW_CASES))
async def test_the_sim_writes_what_agentgateway_v1_4_writes(kmock: Any, row: str) -> None:
    sim, sim_stored = on_the_sim(AGW_CASES[row], AGENTGATEWAY_V1_4, AGW_REFS)
    double, double_stored = await on_the_double(kmock, AGW_CASES[row], AgentgatewayDouble,
                                                AGW_REFS)
    assert sim == double
    assert all(sim[ref] for ref in sim)
    route_written = double_stored[AGW_REFS[3]]
    [sim_parent] = sim_stored[AGW_REFS[3]]["status"]["parents"]
    [parent] = route_written["status"]["parents"]
    assert (sim_parent["controllerName"], sim_parent["parentRef"]) == (
        parent["controllerName"], parent["parentRef"])
    backend_written = double_stored[AGW_REFS[2]]
    if backend_written is not None:  # agentgateway writes observedGeneration either way
        assert [("observedGeneration" in c) for c in
                sim_stored[AGW_REFS[2]]["status"]["conditions"]] == [
            ("observedGeneration" in c) for c in backend_written["status"]["conditions"]]


async def test_the_agentgateway_double_writes_upstreams_words(kmock: Any) -> None:
    """Pins the v1.4 double to the fact sheet, so the equivalence cannot drift with both."""
    written, _ = await on_the_double(kmock, AGW_CASES["secret missing"], AgentgatewayDouble,
                                     AGW_REFS)
    assert written[AGW_REFS[2]] == [(
        "Accepted", "False", "TranslationError",
        "failed to translate backend: secret agentgateway-system/openai-secret not found")]
    assert written[AGW_REFS[3]] == [("Accepted", "True", "Accepted", ""),
                                    ("ResolvedRefs", "True", "ResolvedRefs", "")]
    assert written[AGW_REFS[0]] == [("Accepted", "True", "Accepted",
                                     "GatewayClass accepted by agentgateway controller")]
    missing, _ = await on_the_double(kmock, [AGW_GATEWAY, agw_route(backend_name="gone")],
                                     AgentgatewayDouble, AGW_REFS)
    assert missing[AGW_REFS[3]][1] == ("ResolvedRefs", "False", "BackendNotFound",
                                       "Backend not found: agentgateway-system/gone")
