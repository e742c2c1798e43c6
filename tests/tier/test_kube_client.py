"""The cluster runtime's client (sandbox/runtimes/kube/client.py) against a real kube-apiserver.

What the API emulator in tests/kubeemu.py can only imitate: server-side apply and its managed
fields, ownership by field manager, deletion with finalizers, namespaces that must exist, the
Secret's bytes, the API server's own refusals (schema, strict decoding, the Gateway API v1.6.0
admission policy) and the words the user then reads.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.catalog.loader import load_catalog
from sandbox.catalog.scenarios import ApplyStep
from sandbox.documents import load_all
from sandbox.errors import ManifestRejected, NotOurs, RuntimeUnavailable, WaitTimeout
from sandbox.profiles import FIELD_MANAGER, PROFILES
from sandbox.runtimes.kube.client import Kube
from sandbox.runtimes.kube.install import gateway_api_crds, refused_downgrade
from sandbox.runtimes.kube.runtime import KubeRuntime
from sandbox.runtimes.runtime import ResourceRef
from sandbox.walkthrough.render import make_context, render_manifest
from tests.conftest import CRDS, TOKEN
from tests.helpers import backend, secret
from tests.tier.apiserver import ApiServer, agreed

pytestmark = pytest.mark.tier


def _client(server: ApiServer, owned_only: bool = False) -> Kube:
    info = server.info
    return Kube.connect(str(info.kubeconfig), info.context, owned_only=owned_only)


@pytest.fixture
def namespace(kgateway_tier: ApiServer) -> Iterator[str]:
    """A namespace of the test's own (a deleted one stays Terminating: no controller)."""
    name = f"t-{uuid.uuid4().hex[:8]}"
    assert kgateway_tier.apply({"apiVersion": "v1", "kind": "Namespace",
                                "metadata": {"name": name}}) is None
    yield name


def _in(doc: dict[str, Any], namespace: str, name: str = "openai") -> dict[str, Any]:
    moved = copy.deepcopy(doc)
    moved["metadata"].update(namespace=namespace, name=name)
    return moved


def test_apply_is_server_side_with_our_field_manager(kgateway_tier: ApiServer,
                                                     namespace: str) -> None:
    kube = _client(kgateway_tier)
    doc = _in(backend({"kind": "Passthrough"}), namespace)
    assert kube.apply(doc).outcome == "created"
    assert kube.apply(doc).outcome == "unchanged"
    doc["spec"]["ai"]["llm"]["openai"]["model"] = "gpt-4o-mini"
    assert kube.apply(doc).outcome == "configured"
    stored = kube.get("Backend", namespace, "openai")
    assert stored is not None
    managers = {(m["manager"], m["operation"]) for m in stored["metadata"]["managedFields"]}
    assert managers == {(FIELD_MANAGER, "Apply")}
    assert stored["spec"]["ai"]["llm"]["openai"]["model"] == "gpt-4o-mini"
    agreed("kube client behaviours")


def test_a_misspelled_field_is_refused_with_the_api_servers_words(
        kgateway_tier: ApiServer, namespace: str) -> None:
    """The API server answers 500 for a typed-patch failure: still the manifest's fault."""
    doc = _in(backend({"kind": "Inline", "inlin": TOKEN}), namespace)
    with pytest.raises(ManifestRejected) as caught:
        _client(kgateway_tier).apply(doc)
    assert caught.value.message == (
        f"failed to create typed patch object ({namespace}/openai; "
        "gateway.kgateway.dev/v1alpha1, Kind=Backend): .spec.ai.llm.openai.authToken.inlin: "
        "field not declared in schema")
    assert "misspelled" in caught.value.hint
    assert "retry" not in caught.value.hint
    assert kgateway_tier.get("gateway.kgateway.dev/v1alpha1", "Backend", namespace,
                             "openai") is None
    agreed("kube client behaviours")


def test_a_schema_refusal_reads_as_the_sim_words_it(kgateway_tier: ApiServer,
                                                    namespace: str) -> None:
    doc = _in(backend({"kind": "inline"}), namespace)
    with pytest.raises(ManifestRejected) as caught:
        _client(kgateway_tier).apply(doc)
    assert caught.value.message.startswith(
        'Backend.gateway.kgateway.dev "openai" is invalid: [spec.ai.llm.openai.authToken.kind: '
        'Unsupported value: "inline"')
    agreed("kube client behaviours")


def test_an_object_another_manager_owns_is_neither_overwritten_nor_deleted(
        kgateway_tier: ApiServer, namespace: str) -> None:
    theirs = _in(backend({"kind": "Passthrough"}), namespace)
    assert kgateway_tier.apply(theirs, manager="team-b") is None
    ours = copy.deepcopy(theirs)
    ours["spec"]["ai"]["llm"]["openai"]["model"] = "gpt-4o"
    kube = _client(kgateway_tier, owned_only=True)
    with pytest.raises(NotOurs) as caught:
        kube.apply(ours)
    assert caught.value.message == (
        f"Backend {namespace}/openai already exists and belongs to field manager `team-b`, "
        "not to agw-sandbox: the sandbox never overwrites what it did not create")
    with pytest.raises(NotOurs, match="never deletes what it did not create"):
        kube.delete("Backend", namespace, "openai")
    stored = kube.get("Backend", namespace, "openai")
    assert stored is not None and stored["spec"]["ai"]["llm"]["openai"]["model"] == \
        "gpt-3.5-turbo"
    agreed("kube client behaviours")


def test_delete_waits_until_the_object_is_gone(kgateway_tier: ApiServer,
                                               namespace: str) -> None:
    kube = _client(kgateway_tier, owned_only=True)
    doc = _in(backend({"kind": "Passthrough"}), namespace)
    kube.apply(doc)
    assert kube.delete("Backend", namespace, "openai") is True
    assert kube.get("Backend", namespace, "openai") is None
    assert kube.delete("Backend", namespace, "openai") is False
    agreed("kube client behaviours")


def test_a_finalizer_that_holds_an_object_is_named_when_the_wait_ends(
        kgateway_tier: ApiServer, namespace: str) -> None:
    kube = _client(kgateway_tier)
    held = _in(backend({"kind": "Passthrough"}), namespace)
    held["metadata"]["finalizers"] = ["example.com/hold"]
    kube.apply(held)
    with pytest.raises(WaitTimeout) as caught:
        kube.delete("Backend", namespace, "openai", timeout=1.5)
    assert caught.value.message == (f"Backend {namespace}/openai is still being deleted after "
                                    "1.5s (finalizers: example.com/hold)")
    # let it go: nothing controls the finalizer here
    kube.request("PATCH", f"/apis/gateway.kgateway.dev/v1alpha1/namespaces/{namespace}/"
                 "backends/openai", body={"metadata": {"finalizers": None}},
                 content_type="application/merge-patch+json")
    agreed("kube client behaviours")


def _digest(value: bytes) -> str:
    return hashlib.sha256(value).hexdigest()


def test_a_secret_keeps_its_trailing_newline(kgateway_tier: ApiServer, namespace: str) -> None:
    """``kubectl create secret --from-file`` and ``echo`` leave a newline: the client must not
    trim it (the controller does); compared by digest so no key is ever printed."""
    kube = _client(kgateway_tier)
    doc = _in(secret(TOKEN + "\n"), namespace, "openai-secret")
    assert kube.apply(doc).outcome == "created"
    stored = kube.get("Secret", namespace, "openai-secret")
    assert stored is not None
    kept = base64.b64decode(stored["data"]["Authorization"])
    assert _digest(kept) == _digest((TOKEN + "\n").encode())
    as_data = _in(secret(""), namespace, "openai-secret-data")
    del as_data["stringData"]
    as_data["data"] = {"Authorization": base64.b64encode((TOKEN + "\n").encode()).decode()}
    kube.apply(as_data)
    again = kube.get("Secret", namespace, "openai-secret-data")
    assert again is not None and again["data"] == stored["data"]
    agreed("kube client behaviours")


def _rendered(profile: str, scenario_id: str) -> list[dict[str, Any]]:
    catalog = load_catalog(profile=profile)
    scenario = catalog.get(scenario_id)
    ctx = make_context(scenario, TOKEN, "mock", ("mock-provider.x.svc.cluster.local", 8000))
    return [doc for step in scenario.steps if isinstance(step, ApplyStep)
            for manifest in step.manifests for doc in render_manifest(manifest, ctx)]


async def test_namespace_and_gateway_placement_on_a_shared_cluster(
        kgateway_tier: ApiServer) -> None:
    profile = PROFILES["kgateway-v2.1"]
    own = f"team-{uuid.uuid4().hex[:6]}"
    runtime = KubeRuntime(profile, 0, "mock", TOKEN, kgateway_tier.info.kubeconfig,
                          kgateway_tier.info.context, namespace=own, gateway="gw-a")
    runtime.kube = _client(kgateway_tier, owned_only=True)
    # the guide's own Backend (other tests may have made one): untouched by what follows
    before = runtime.kube.get("Backend", profile.namespace, "openai")
    await runtime._own_namespace()
    gateway = load_all((CRDS.parents[3] / "scenarios" / "manifests" / "gateway.yaml")
                       .read_text())[0]
    for doc in [gateway, *_rendered("kgateway-v2.1", "setup"),
                *_rendered("kgateway-v2.1", "secret")]:
        await runtime.apply(doc)
    kube = runtime.kube
    assert kube.get("Gateway", own, "gw-a") is not None
    assert kube.get("Gateway", own, "agentgateway") is None
    route = kube.get("HTTPRoute", own, "openai")
    assert route is not None
    assert [(p["name"], p["namespace"]) for p in route["spec"]["parentRefs"]] == [("gw-a", own)]
    assert {r["namespace"] for rule in route["spec"]["rules"] for r in rule["backendRefs"]} == {
        own}
    assert kube.get("Backend", own, "openai") is not None
    after = kube.get("Backend", profile.namespace, "openai")
    assert (after or {}).get("metadata", {}).get("resourceVersion") == (
        before or {}).get("metadata", {}).get("resourceVersion")
    status = await runtime.status(ResourceRef("Backend", "openai", profile.namespace))
    assert status.exists and status.ref.namespace == own
    assert await runtime.delete(ResourceRef("Backend", "openai", profile.namespace)) is True
    assert kube.get("Backend", own, "openai") is None
    agreed("kube client behaviours")


def _v14_crds() -> str:
    folder = CRDS / "gateway-api-v1.4.0"
    return "\n---\n".join(p.read_text() for p in sorted(folder.glob("*.yaml")))


async def test_the_v1_6_policy_refuses_the_older_gateway_api_crds_and_says_why(
        agentgateway_tier: ApiServer) -> None:
    kube = _client(agentgateway_tier, owned_only=True)

    async def fetch(url: str) -> str:
        return _v14_crds()

    with pytest.raises(RuntimeUnavailable) as caught:
        await gateway_api_crds(kube, PROFILES["kgateway-v2.1"], fetch, lambda q: True,
                               lambda line: None)
    assert caught.value.message == (
        "the cluster has the Gateway API v1.6.0 CRDs, and their admission policy "
        "(ValidatingAdmissionPolicy safe-upgrades.gateway.networking.k8s.io) refuses the older "
        "v1.4.0 CRDs that the kgateway-v2.1 profile needs")
    # the sandbox's reading of the policy is the policy's own: the server refuses v1.4.0 ...
    assert refused_downgrade("v1.6.0", "v1.4.0")
    older = next(d for d in load_all(_v14_crds()) if d["kind"] == "CustomResourceDefinition")
    with pytest.raises(ManifestRejected) as refused:
        kube.apply(older, guard=False)
    assert ("ValidatingAdmissionPolicy 'safe-upgrades.gateway.networking.k8s.io' with binding "
            "'safe-upgrades.gateway.networking.k8s.io' denied request: Installing CRDs with "
            "version before v1.5.0 is prohibited by default") in refused.value.message
    # ... and takes v1.6.0 again
    assert not refused_downgrade("v1.6.0", "v1.6.0")
    current = load_all((CRDS / "gateway-api-v1.6.0" /
                        "gateway.networking.k8s.io_httproutes.yaml").read_text())[0]
    assert agentgateway_tier.dry_run_apply(current) is None
    agreed("kube client behaviours")
