"""The kube layer against an HTTP Kubernetes API emulator (kmock)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sandbox.errors import ManifestRejected, RuntimeUnavailable, WaitTimeout
from sandbox.profiles import DEFAULT_PROFILE
from sandbox.runtimes.kube.client import Kube
from sandbox.runtimes.runtime import ResourceRef
from tests.conftest import TOKEN
from tests.helpers import backend, route, secret
from tests.kubeemu import ApplyingEmulator, set_status

pytestmark = pytest.mark.kmock(cls=ApplyingEmulator)
CONTROLLER = DEFAULT_PROFILE.controller_name


@pytest.fixture
def kube(kmock: Any) -> Kube:
    return Kube.for_url(str(kmock.url).rstrip("/"), CONTROLLER)


async def test_server_side_apply_creates_then_reports_unchanged_and_configured(
        kube: Kube, kmock: Any) -> None:
    doc = backend({"kind": "Passthrough"})
    first = await asyncio.to_thread(kube.apply, doc)
    again = await asyncio.to_thread(kube.apply, doc)
    changed = await asyncio.to_thread(kube.apply, backend({"kind": "Passthrough"},
                                                          model="gpt-4o"))
    assert [first.outcome, again.outcome, changed.outcome] == ["created", "unchanged",
                                                               "configured"]
    assert first.ref == ResourceRef("Backend", "openai", "kgateway-system")
    patches = [r for r in list(kmock) if r.method == "PATCH"]
    assert len(patches) == 3
    assert patches[0].headers["Content-Type"] == "application/apply-patch+yaml"
    assert patches[0].params == {"fieldManager": "agw-sandbox", "force": "true",
                                 "fieldValidation": "Strict"}  # as kubectl sends it
    assert str(patches[0].url.path) == (
        "/apis/gateway.kgateway.dev/v1alpha1/namespaces/kgateway-system/backends/openai")


async def test_core_resources_use_the_core_api_path(kube: Kube, kmock: Any) -> None:
    await asyncio.to_thread(kube.apply, secret(TOKEN))
    request = next(r for r in list(kmock) if r.method == "PATCH")
    assert str(request.url.path) == "/api/v1/namespaces/kgateway-system/secrets/openai-secret"


async def test_status_reads_conditions_the_controller_wrote(kube: Kube, kmock: Any) -> None:
    await asyncio.to_thread(kube.apply, backend({"kind": "SecretRef",
                                                 "secretRef": {"name": "openai-secret"}}))
    ref = ResourceRef("Backend", "openai", "kgateway-system")
    assert (await asyncio.to_thread(kube.status, ref)).conditions == ()
    set_status(kmock, "gateway.kgateway.dev", "v1alpha1", "backends", "kgateway-system",
               "openai", {"conditions": [{"type": "Accepted", "status": "False",
                                          "reason": "Invalid",
                                          "message": "secret not found"}]})
    status = await asyncio.to_thread(kube.status, ref)
    accepted = status.condition("Accepted")
    assert accepted is not None and (accepted.status, accepted.reason) == ("False", "Invalid")


async def test_route_conditions_come_from_our_controllers_parent(kube: Kube,
                                                                 kmock: Any) -> None:
    await asyncio.to_thread(kube.apply, route())
    set_status(kmock, "gateway.networking.k8s.io", "v1", "httproutes", "kgateway-system",
               "openai", {"parents": [
                   {"controllerName": "example.com/other", "conditions": [
                       {"type": "Accepted", "status": "False", "reason": "NotOurs"}]},
                   {"controllerName": CONTROLLER, "conditions": [
                       {"type": "Accepted", "status": "True", "reason": "Accepted"},
                       {"type": "ResolvedRefs", "status": "False",
                        "reason": "BackendNotFound"}]}]})
    status = await asyncio.to_thread(kube.status, ResourceRef("HTTPRoute", "openai",
                                                              "kgateway-system"))
    assert [(c.type, c.reason) for c in status.conditions] == [
        ("Accepted", "Accepted"), ("ResolvedRefs", "BackendNotFound")]


async def test_route_status_as_kgateway_v2_1_writes_it_is_read(kube: Kube, kmock: Any) -> None:
    """agentgateway's status syncer writes one parent, as `kgateway.dev/agentgateway`.

    Shaped after pkg/reports/status.go and translator/route_collections.go (v2.1.x): the Envoy
    syncer writes nothing for agentgateway routes; conditions carry empty messages.
    """
    await asyncio.to_thread(kube.apply, route())
    set_status(kmock, "gateway.networking.k8s.io", "v1", "httproutes", "kgateway-system",
               "openai", {"parents": [{
                   "parentRef": {"group": "gateway.networking.k8s.io", "kind": "Gateway",
                                 "name": "agentgateway", "namespace": "kgateway-system"},
                   "controllerName": "kgateway.dev/agentgateway",
                   "conditions": [
                       {"type": "Accepted", "status": "True", "reason": "Accepted",
                        "message": "", "observedGeneration": 1,
                        "lastTransitionTime": "2026-11-27T08:00:00Z"},
                       {"type": "ResolvedRefs", "status": "True", "reason": "ResolvedRefs",
                        "message": "", "observedGeneration": 1,
                        "lastTransitionTime": "2026-11-27T08:00:00Z"}]}]})
    profile_kube = Kube.for_url(kube.host, DEFAULT_PROFILE.controller_name)
    status = await asyncio.to_thread(profile_kube.status, ResourceRef("HTTPRoute", "openai",
                                                                      "kgateway-system"))
    assert [(c.type, c.status) for c in status.conditions] == [
        ("Accepted", "True"), ("ResolvedRefs", "True")]


async def test_delete_waits_until_gone_so_the_same_name_can_be_applied_again(
        kube: Kube, kmock: Any) -> None:
    """`run --all` deletes Backend/openai and applies it again milliseconds later."""
    await asyncio.to_thread(kube.apply, backend({"kind": "Passthrough"}))
    assert await asyncio.to_thread(kube.delete, "Backend", "kgateway-system", "openai")
    deletes = [r for r in list(kmock) if r.method == "DELETE"]
    assert deletes[0].params == {"propagationPolicy": "Background"}
    again = await asyncio.to_thread(kube.apply, backend({"kind": "Passthrough"},
                                                        model="gpt-4o"))
    assert again.outcome == "created"
    await asyncio.sleep(kmock.linger * 2)  # the emulator's finalizer would have let go by now
    stored = await asyncio.to_thread(kube.get, "Backend", "kgateway-system", "openai")
    assert stored is not None, "the re-applied Backend was swept away with the deleted one"
    assert stored["spec"]["ai"]["llm"]["openai"]["model"] == "gpt-4o"
    assert not stored["metadata"].get("deletionTimestamp")


@pytest.mark.kmock(cls=ApplyingEmulator, linger=30.0)
async def test_a_delete_held_by_a_finalizer_times_out_by_name(kube: Kube) -> None:
    await asyncio.to_thread(kube.apply, secret(TOKEN))
    with pytest.raises(WaitTimeout, match=r"Secret kgateway-system/openai-secret is still being "
                                          r"deleted after 0\.3s \(finalizers: ") as caught:
        await asyncio.to_thread(kube.delete, "Secret", "kgateway-system", "openai-secret", 0.3)
    assert "finalizer" in caught.value.hint


async def test_delete_and_missing_objects(kube: Kube) -> None:
    await asyncio.to_thread(kube.apply, secret(TOKEN))
    assert await asyncio.to_thread(kube.delete, "Secret", "kgateway-system", "openai-secret")
    assert not await asyncio.to_thread(kube.delete, "Secret", "kgateway-system",
                                       "openai-secret")
    gone = await asyncio.to_thread(kube.status, ResourceRef("Secret", "openai-secret",
                                                            "kgateway-system"))
    assert not gone.exists


async def test_deployment_readiness(kube: Kube, kmock: Any) -> None:
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment",
                  "metadata": {"name": "agentgateway", "namespace": "kgateway-system",
                               "generation": 1},
                  "spec": {"replicas": 1}}
    await asyncio.to_thread(kube.apply, deployment)
    ready, detail = await asyncio.to_thread(kube.deployment_ready, "kgateway-system",
                                            "agentgateway")
    assert not ready and detail == "0/1 available, 0 updated"
    with pytest.raises(WaitTimeout, match=r"not ready after 0\.2s"):
        await asyncio.to_thread(kube.wait_deployment, "kgateway-system", "agentgateway", 0.2,
                                0.05)
    set_status(kmock, "apps", "v1", "deployments", "kgateway-system", "agentgateway",
               {"observedGeneration": 1, "updatedReplicas": 1, "availableReplicas": 1})
    assert await asyncio.to_thread(kube.wait_deployment, "kgateway-system", "agentgateway",
                                   5, 0.05) == "1/1 available, 1 updated"


async def test_api_errors_become_our_errors(kube: Kube, kmock: Any) -> None:
    kmock["patch"] << 422 << {"kind": "Status", "message": 'Backend.gateway.kgateway.dev '
                              '"openai" is invalid: spec.type: Required value'}
    with pytest.raises(ManifestRejected, match=r"spec\.type: Required value"):
        await asyncio.to_thread(kube.apply, backend({"kind": "Passthrough"}))


async def test_an_unreachable_api_server_is_explained() -> None:
    kube = Kube.for_url("http://127.0.0.1:9", CONTROLLER)
    with pytest.raises(RuntimeUnavailable, match="cannot reach the Kubernetes API"):
        await asyncio.to_thread(kube.get, "Secret", "default", "x")


def test_a_missing_context_is_explained(tmp_path: Any) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n")
    with pytest.raises(RuntimeUnavailable, match="--context"):
        Kube.connect(str(config), "kind-nope")


async def test_kinds_outside_the_table_follow_the_naming_conventions(kube: Kube,
                                                                     kmock: Any) -> None:
    policy = {"apiVersion": "admissionregistration.k8s.io/v1beta1",
              "kind": "ValidatingAdmissionPolicy", "metadata": {"name": "safe-upgrades"},
              "spec": {}}
    gateway_policy = {"apiVersion": "example.dev/v1", "kind": "TrafficPolicy",
                      "metadata": {"name": "p", "namespace": "default"}, "spec": {}}
    await asyncio.to_thread(kube.apply, policy)
    await asyncio.to_thread(kube.apply, gateway_policy)
    paths = [str(r.url.path) for r in list(kmock) if r.method == "PATCH"]
    assert paths == [
        "/apis/admissionregistration.k8s.io/v1beta1/validatingadmissionpolicies/safe-upgrades",
        "/apis/example.dev/v1/namespaces/default/trafficpolicies/p"]


async def test_the_sim_writes_route_status_as_the_agentgateway_controller(sim: Any) -> None:
    from tests.helpers import GATEWAY

    for doc in (GATEWAY, backend({"kind": "Passthrough"}), route()):
        await sim.apply(doc)
    stored = sim.cluster.get("HTTPRoute", "kgateway-system", "openai")
    assert [p["controllerName"] for p in stored["status"]["parents"]] == [
        "kgateway.dev/agentgateway"]
    status = await sim.status(ResourceRef("HTTPRoute", "openai", "kgateway-system"))
    assert status.condition("ResolvedRefs") is not None
