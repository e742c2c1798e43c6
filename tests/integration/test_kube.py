"""The kube layer against an HTTP Kubernetes API emulator (kmock)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from sandbox.errors import ManifestRejected, RuntimeUnavailable, WaitTimeout
from sandbox.profiles import DEFAULT_PROFILE
from sandbox.runtimes.kube.client import Kube
from sandbox.runtimes.runtime import ResourceRef
from tests.conftest import TOKEN
from tests.helpers import backend, route, secret
from tests.kubeemu import ApplyingEmulator, serve_crd, set_status

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
    assert not ready and detail == "waiting for the deployment spec update to be observed"
    with pytest.raises(WaitTimeout, match=r"not ready after 0\.2s"):
        await asyncio.to_thread(kube.wait_deployment, "kgateway-system", "agentgateway", 0.2,
                                0.05)
    set_status(kmock, "apps", "v1", "deployments", "kgateway-system", "agentgateway",
               {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1,
                "availableReplicas": 1})
    assert await asyncio.to_thread(kube.wait_deployment, "kgateway-system", "agentgateway",
                                   5, 0.05) == "1/1 available, 1 updated"


# A rollout of a one-replica Deployment (maxSurge 25% rounds up to 1, maxUnavailable 25% down
# to 0): the new pod is created beside the old one, which stays available until the new one is.
MID_ROLLOUT = {"observedGeneration": 2, "replicas": 2, "updatedReplicas": 1,
               "readyReplicas": 1, "availableReplicas": 1}


@pytest.mark.parametrize(("status", "detail"), [
    ({**MID_ROLLOUT, "observedGeneration": 1},
     "waiting for the deployment spec update to be observed"),
    ({**MID_ROLLOUT, "updatedReplicas": 0, "replicas": 1},
     "0 out of 1 new replicas have been updated"),
    (MID_ROLLOUT, "1 old replicas are pending termination"),
    ({**MID_ROLLOUT, "replicas": 1, "availableReplicas": 0},
     "0 of 1 updated replicas are available"),
], ids=["not-observed", "not-updated", "old-replica-serving", "new-not-available"])
async def test_a_rollout_is_finished_only_when_kubectl_says_so(
        kube: Kube, kmock: Any, status: dict[str, int], detail: str) -> None:
    """kubectl/pkg/polymorphichelpers/rollout_status.go, its three tests in its order, after
    observedGeneration: an old replica still serving is not a finished rollout."""
    await asyncio.to_thread(kube.apply, {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "mock-provider", "namespace": "kgateway-system", "generation": 2},
        "spec": {"replicas": 1}})
    set_status(kmock, "apps", "v1", "deployments", "kgateway-system", "mock-provider", status)
    assert await asyncio.to_thread(kube.deployment_ready, "kgateway-system",
                                   "mock-provider") == (False, detail)
    with pytest.raises(WaitTimeout, match=rf"not ready after 0\.2s \({detail}\)"):
        await asyncio.to_thread(kube.wait_deployment, "kgateway-system", "mock-provider", 0.2,
                                0.05)


async def test_a_rollout_past_its_progress_deadline_fails_at_once(kube: Kube,
                                                                  kmock: Any) -> None:
    await asyncio.to_thread(kube.apply, {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "mock-provider", "namespace": "kgateway-system", "generation": 2},
        "spec": {"replicas": 1}})
    set_status(kmock, "apps", "v1", "deployments", "kgateway-system", "mock-provider", {
        **MID_ROLLOUT, "conditions": [
            {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
            {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
             "message": 'ReplicaSet "mock-provider-7c9d8f6b5" has timed out progressing.'}]})
    with pytest.raises(WaitTimeout, match="exceeded its progress deadline") as caught:
        await asyncio.to_thread(kube.wait_deployment, "kgateway-system", "mock-provider", 30,
                                0.05)
    assert "has timed out progressing" in caught.value.message


# What the ReplicaSet controller copies onto the Deployment when the API server refuses its pods:
# the admission error (pod-security-admission's reasons and details) as the condition's message.
PSA_REFUSAL = (
    'pods "mock-provider-7c9d8f6b5-x2kqp" is forbidden: violates PodSecurity '
    '"restricted:latest": allowPrivilegeEscalation != false (container "mock-provider" must set '
    'securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container '
    '"mock-provider" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true '
    '(pod or container "mock-provider" must set securityContext.runAsNonRoot=true), '
    'seccompProfile (pod or container "mock-provider" must set '
    'securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")')
REPLICA_FAILURE = {"observedGeneration": 1, "conditions": [
    {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable",
     "message": "Deployment does not have minimum availability."},
    {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
     "message": PSA_REFUSAL},
    {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
     "message": 'ReplicaSet "mock-provider-7c9d8f6b5" is progressing.'}]}


async def test_pods_the_cluster_refuses_are_named_with_its_reason_not_image_pulls(
        kube: Kube, kmock: Any) -> None:
    await asyncio.to_thread(kube.apply, {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "mock-provider", "namespace": "kgateway-system", "generation": 1},
        "spec": {"replicas": 1}})
    set_status(kmock, "apps", "v1", "deployments", "kgateway-system", "mock-provider",
               REPLICA_FAILURE)
    started = time.monotonic()
    with pytest.raises(WaitTimeout) as caught:
        await asyncio.to_thread(kube.wait_deployment, "kgateway-system", "mock-provider", 30,
                                0.05, 0.3)
    assert time.monotonic() - started < 5, "a refusal that persists is not waited out"
    message, hint = caught.value.message, caught.value.hint
    assert "cannot create its pods" in message and 'violates PodSecurity "restricted' in message
    assert "image pull" not in message + hint
    assert "kubectl get namespace kgateway-system --show-labels" in hint
    # Until the grace is over a short FailedCreate (a ServiceAccount not there yet) is waited out,
    # and a timeout still names it.
    with pytest.raises(WaitTimeout, match=r"not ready after 0\.2s \(.*violates PodSecurity"):
        await asyncio.to_thread(kube.wait_deployment, "kgateway-system", "mock-provider", 0.2,
                                0.05)


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


async def test_kinds_outside_the_table_are_found_through_discovery(kube: Kube,
                                                                  kmock: Any) -> None:
    """Not by guessing a plural from the kind: the API server's discovery says what serves it."""
    serve_crd(kmock, "example.dev", "v1", "TrafficPolicy", "trafficpolicies")
    serve_crd(kmock, "example.dev", "v1", "ClusterWidgetSet", "clusterwidgetsets",
              namespaced=False)
    policy = {"apiVersion": "admissionregistration.k8s.io/v1beta1",
              "kind": "ValidatingAdmissionPolicy", "metadata": {"name": "safe-upgrades"},
              "spec": {}}
    gateway_policy = {"apiVersion": "example.dev/v1", "kind": "TrafficPolicy",
                      "metadata": {"name": "p", "namespace": "default"}, "spec": {}}
    widgets = {"apiVersion": "example.dev/v1", "kind": "ClusterWidgetSet",
               "metadata": {"name": "w", "namespace": "ignored"}, "spec": {}}
    for doc in (policy, gateway_policy, widgets):
        await asyncio.to_thread(kube.apply, doc)
    paths = [str(r.url.path) for r in list(kmock) if r.method == "PATCH"]
    assert paths == [
        "/apis/admissionregistration.k8s.io/v1beta1/validatingadmissionpolicies/safe-upgrades",
        "/apis/example.dev/v1/namespaces/default/trafficpolicies/p",
        "/apis/example.dev/v1/clusterwidgetsets/w"]


async def test_a_kind_the_cluster_does_not_serve_is_refused_as_kubectl_refuses_it(
        kube: Kube, kmock: Any) -> None:
    gadget = {"apiVersion": "example.dev/v1", "kind": "Gadget",
              "metadata": {"name": "g", "namespace": "default"}, "spec": {}}
    with pytest.raises(ManifestRejected, match=r'^no matches for kind "Gadget" in version '
                                               r'"example\.dev/v1"') as caught:
        await asyncio.to_thread(kube.apply, gadget)
    assert "CRD" in caught.value.hint
    with pytest.raises(ManifestRejected, match=r"^the cluster serves no kind 'Gadget'"):
        await asyncio.to_thread(kube.status, ResourceRef("Gadget", "g", "default"))
    assert not [r for r in list(kmock) if r.method == "PATCH"]


# The CRD charts' kinds a scenario may apply beside the backend (agentgateway v1.4.1 and kgateway
# v2.1.x install/helm/*-crds/templates), as discovery lists them once the charts are installed.
CHART_KINDS = [
    ("agentgateway.dev", "AgentgatewayPolicy", "agentgatewaypolicies", "agentgateway-system"),
    ("agentgateway.dev", "AgentgatewayParameters", "agentgatewayparameters",
     "agentgateway-system"),
    ("gateway.kgateway.dev", "TrafficPolicy", "trafficpolicies", "kgateway-system"),
    ("gateway.kgateway.dev", "GatewayParameters", "gatewayparameters", "kgateway-system"),
]


@pytest.mark.parametrize(("group", "kind", "plural", "namespace"), CHART_KINDS,
                         ids=[k[1] for k in CHART_KINDS])
async def test_every_kind_of_the_charts_can_be_applied_read_waited_on_and_deleted(
        kmock: Any, group: str, kind: str, plural: str, namespace: str) -> None:
    serve_crd(kmock, group, "v1alpha1", kind, plural)
    # A fresh client for each step: nothing is remembered from the apply.
    fresh = lambda: Kube.for_url(str(kmock.url).rstrip("/"), CONTROLLER)  # noqa: E731
    doc = {"apiVersion": f"{group}/v1alpha1", "kind": kind,
           "metadata": {"name": "openai", "namespace": namespace}, "spec": {}}
    assert (await asyncio.to_thread(fresh().apply, doc)).outcome == "created"
    path = f"/apis/{group}/v1alpha1/namespaces/{namespace}/{plural}/openai"
    assert str(next(r for r in list(kmock) if r.method == "PATCH").url.path) == path
    # Policies report per ancestor, as Gateway API's PolicyAncestorStatus.
    set_status(kmock, group, "v1alpha1", plural, namespace, "openai", {"ancestors": [{
        "ancestorRef": {"group": "gateway.networking.k8s.io", "kind": "Gateway",
                        "name": "agentgateway-proxy", "namespace": namespace},
        "controllerName": CONTROLLER,
        "conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted",
                        "message": "Attached to all targets"}]}]})
    ref = ResourceRef(kind, "openai", namespace)
    status = await asyncio.to_thread(fresh().status, ref)
    assert status.exists and [(c.type, c.status) for c in status.conditions] == [
        ("Accepted", "True")]
    assert await asyncio.to_thread(fresh().delete, kind, namespace, "openai")
    assert not (await asyncio.to_thread(fresh().status, ref)).exists


async def test_the_sim_writes_route_status_as_the_agentgateway_controller(sim: Any) -> None:
    from tests.helpers import GATEWAY

    for doc in (GATEWAY, backend({"kind": "Passthrough"}), route()):
        await sim.apply(doc)
    stored = sim.cluster.get("HTTPRoute", "kgateway-system", "openai")
    assert [p["controllerName"] for p in stored["status"]["parents"]] == [
        "kgateway.dev/agentgateway"]
    status = await sim.status(ResourceRef("HTTPRoute", "openai", "kgateway-system"))
    assert status.condition("ResolvedRefs") is not None
