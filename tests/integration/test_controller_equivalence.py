"""The sim's controller and the upstream-shaped controller double write the same conditions.

One case per row of DESIGN §4 that involves status: the same manifests go, in the same order,
to the sim's control plane and (by server-side apply through the real kube client) to the API
emulator that the double reconciles. The sim can then never agree with our assumptions but not
with upstream.
"""

from __future__ import annotations

import asyncio
import base64
import copy
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


def binary(doc: dict[str, Any]) -> dict[str, Any]:
    """The Secret with an Authorization value that is not UTF-8."""
    written = {k: v for k, v in doc.items() if k != "stringData"}
    return {**written, "data": {"Authorization": base64.b64encode(b"\xff\xfe").decode()}}


def provider(doc: dict[str, Any], name: str) -> dict[str, Any]:
    """The backend with its OpenAI settings under another provider's name."""
    written = copy.deepcopy(doc)
    node = written["spec"]["ai"]["llm" if "llm" in written["spec"]["ai"] else "provider"]
    node[name] = node.pop("openai")
    return written


BINARY_SECRET = binary(secret(""))
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
    "secret value with a trailing newline": [GATEWAY, secret(f"{TOKEN}\n"),
                                             backend(SECRET_REF), route()],
    "secret value bearer in lower case": [GATEWAY, secret(f"bearer {TOKEN}"),
                                          backend(SECRET_REF), route()],
    "secret value that is not UTF-8": [GATEWAY, BINARY_SECRET, backend(SECRET_REF), route()],
    "inline key Bearer <key>": [GATEWAY, backend({"kind": "Inline", "inline": f"Bearer {TOKEN}"}),
                                route()],
    "anthropic provider": [GATEWAY, provider(backend({"kind": "Inline", "inline": TOKEN}),
                                             "anthropic"), route()],
    "anthropic provider, secret missing": [GATEWAY, provider(backend(SECRET_REF), "anthropic"),
                                           route()],
    "re-applied with a new model": [GATEWAY, backend({"kind": "Passthrough"}), route(),
                                    backend({"kind": "Passthrough"}, model="gpt-4o")],
}

Written = dict[ResourceRef, list[tuple[str, ...]]]


def _shape(ref: ResourceRef, conditions: Any) -> list[tuple[str, ...]]:
    return [(c.type, c.status, c.reason, c.message, str(c.stale)) for c in conditions]


def _generations(obj: Any) -> list[Any]:
    """Which conditions carry observedGeneration, and whether it is the object's generation."""
    status = obj.get("status") or {}
    raw = status.get("conditions")
    if raw is None:
        raw = [c for p in status.get("parents") or [] for c in p.get("conditions", [])]
    generation = obj["metadata"].get("generation") or 1
    return [c.get("observedGeneration") == generation if "observedGeneration" in c else None
            for c in raw]


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
    for ref in REFS:  # observedGeneration where upstream writes it, and only there
        if double_stored[ref] is not None:
            assert _generations(sim_stored[ref]) == _generations(double_stored[ref]), ref


async def test_the_double_writes_upstreams_words(kmock: Any) -> None:
    """Pins the double itself to the notes, so the equivalence cannot drift with both."""
    double, stored = await on_the_double(kmock, CASES["secret missing"])
    assert double[REFS[2]] == [("Accepted", "False", "Invalid",
                                'Backend error: "failed to find secret openai-secret: '
                                'Secret "openai-secret" not found"', "False")]
    assert double[REFS[3]] == [("Accepted", "True", "Accepted", "", "False"),
                               ("ResolvedRefs", "True", "ResolvedRefs", "", "False")]
    service = await asyncio.to_thread(Kube.for_url(str(kmock.url).rstrip("/")).get, "Service",
                                      "kgateway-system", "agentgateway")
    assert service is not None and service["spec"]["type"] == "LoadBalancer"
    assert service["status"]["loadBalancer"] == {}  # pending: no ingress on kind
    assert stored[REFS[1]]["status"].get("addresses") is None
    assert double[REFS[1]] == [("Accepted", "True", "Accepted", "", "False"),
                               ("Programmed", "True", "Programmed",
                                "Successfully programmed Gateway", "False")]
    missing, _ = await on_the_double(kmock, CASES["route to a missing Backend"])
    assert missing[REFS[3]][1] == ("ResolvedRefs", "False", "BackendNotFound",
                                   "kgateway Backend not found: kgateway-system/openai-gone",
                                   "False")


# DESIGN §4, second column (agentgateway v1.4.1).
AGW_REFS = (ResourceRef("GatewayClass", "agentgateway", ""),
            ResourceRef("Gateway", "agentgateway-proxy", "agentgateway-system"),
            ResourceRef("AgentgatewayBackend", "openai", "agentgateway-system"),
            ResourceRef("HTTPRoute", "openai", "agentgateway-system"))
AGW_SECRET_REF = {"secretRef": {"name": "openai-secret"}}
AGW_MOCK = ("mock-provider.agentgateway-system.svc.cluster.local", 8000)
# The docs' inline AgentgatewayBackend, as the "API keys" page writes it.
DOCS_INLINE = agw_backend({"key": TOKEN}, path=None)
DOCS_INLINE["spec"]["policies"]["ai"] = {"routes": {
    "/v1/responses": "Responses", "/v1/chat/completions": "Completions", "/v1/models": "Models",
    "*": "Passthrough"}}
PATH_PREFIX = agw_backend({"passthrough": {}}, *AGW_MOCK, path=None)
PATH_PREFIX["spec"]["ai"]["provider"]["pathPrefix"] = "/api/v2"
ELSEWHERE = {**agw_backend({"key": TOKEN}), "metadata": {"name": "openai",
                                                        "namespace": "default"}}
GRANT = {"apiVersion": "gateway.networking.k8s.io/v1beta1", "kind": "ReferenceGrant",
         "metadata": {"name": "routes", "namespace": "default"},
         "spec": {"from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute",
                            "namespace": "agentgateway-system"}],
                  "to": [{"group": "agentgateway.dev", "kind": "AgentgatewayBackend"}]}}


def agw_route_to(**ref: Any) -> dict[str, Any]:
    written = agw_route()
    written["spec"]["rules"][0]["backendRefs"] = [ref]
    return written
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
    "secret value that is not UTF-8": [AGW_GATEWAY, binary(agw_secret("")),
                                       agw_backend(AGW_SECRET_REF), agw_route()],
    "secretRef.key that is not UTF-8": [
        AGW_GATEWAY, {**binary(agw_secret("")), "data": {"api-key": BINARY_SECRET["data"][
            "Authorization"]}},
        agw_backend({"secretRef": {"name": "openai-secret", "key": "api-key"}}), agw_route()],
    "anthropic provider": [AGW_GATEWAY, provider(agw_backend({"key": TOKEN}), "anthropic"),
                           agw_route()],
    "bedrock provider, secret missing": [
        AGW_GATEWAY, {**agw_backend(AGW_SECRET_REF), "spec": {
            "ai": {"provider": {"bedrock": {"model": "m", "region": "us-west-2"}}},
            "policies": {"auth": AGW_SECRET_REF}}}, agw_route()],
    "the docs' route types": [AGW_GATEWAY, DOCS_INLINE, agw_route(rewrite=True)],
    "pathPrefix with a host override": [AGW_GATEWAY, PATH_PREFIX, agw_route()],
    "backend in another namespace": [AGW_GATEWAY, ELSEWHERE, agw_route(namespace="default")],
    "backend in another namespace, granted": [AGW_GATEWAY, ELSEWHERE, GRANT,
                                              agw_route(namespace="default")],
    "backendRef to a Service": [AGW_GATEWAY, agw_route_to(name="mock", port=8000)],
    "backendRef to an unsupported kind": [AGW_GATEWAY, agw_route_to(
        name="x", group="example.com", kind="NotBackend")],
    "re-applied with a new model": [AGW_GATEWAY, agw_backend({"passthrough": {}}), agw_route(),
                                    agw_backend({"passthrough": {}}, model="gpt-4o")],
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
    for ref in AGW_REFS:  # agentgateway writes observedGeneration on every condition
        if double_stored[ref] is not None:
            assert _generations(sim_stored[ref]) == _generations(double_stored[ref]), ref


async def test_the_agentgateway_double_writes_upstreams_words(kmock: Any) -> None:
    """Pins the v1.4 double to the fact sheet, so the equivalence cannot drift with both."""
    written, _ = await on_the_double(kmock, AGW_CASES["secret missing"], AgentgatewayDouble,
                                     AGW_REFS)
    assert written[AGW_REFS[2]] == [(
        "Accepted", "False", "TranslationError",
        "failed to translate backend: secret agentgateway-system/openai-secret not found",
        "False")]
    assert written[AGW_REFS[3]] == [("Accepted", "True", "Accepted", "", "False"),
                                    ("ResolvedRefs", "True", "ResolvedRefs", "", "False")]
    assert written[AGW_REFS[0]] == [("Accepted", "True", "Accepted",
                                     "GatewayClass accepted by agentgateway controller",
                                     "False")]
    missing, _ = await on_the_double(kmock, [AGW_GATEWAY, agw_route(backend_name="gone")],
                                     AgentgatewayDouble, AGW_REFS)
    assert missing[AGW_REFS[3]][1] == ("ResolvedRefs", "False", "BackendNotFound",
                                       "Backend not found: agentgateway-system/gone", "False")


async def test_the_agentgateway_double_resolves_refs_in_upstreams_words(kmock: Any) -> None:
    """translator/testdata: routes/to-backend-cross-ns.yaml, routes/httproute-missing-dest."""
    denied, _ = await on_the_double(kmock, AGW_CASES["backend in another namespace"],
                                    AgentgatewayDouble, AGW_REFS)
    assert denied[AGW_REFS[3]][1] == (
        "ResolvedRefs", "False", "RefNotPermitted",
        'backendRef default/openai not accessible to a HTTPRoute in namespace '
        '"agentgateway-system" (missing a ReferenceGrant?)', "False")
    kind, _ = await on_the_double(kmock, AGW_CASES["backendRef to an unsupported kind"],
                                  AgentgatewayDouble, AGW_REFS)
    assert kind[AGW_REFS[3]][1] == (
        "ResolvedRefs", "False", "InvalidKind",
        'referencing unsupported backendRef: group "example.com" kind "NotBackend"', "False")


async def test_the_agentgateway_double_accepts_another_provider(kmock: Any) -> None:
    """backends/llm-bedrock.yaml: another provider is accepted in the same words."""
    other, _ = await on_the_double(kmock, AGW_CASES["anthropic provider"], AgentgatewayDouble,
                                   AGW_REFS)
    assert other[AGW_REFS[2]] == [("Accepted", "True", "Accepted",
                                   "Backend successfully accepted", "False")]
