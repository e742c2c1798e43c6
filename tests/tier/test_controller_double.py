"""The controller double writes status through the status subresource of a real API server:
what the server keeps, drops or refuses of it is what upstream's controllers live with.

The double (tests/controller_double.py) plays kgateway v2.1 and agentgateway v1.4's status
writes for the fake-cluster tests; here its writes go to kube-apiserver v1.34.3, which validates
each against the CRD's status schema and prunes what the schema does not declare. Every status
must come back exactly as written: nothing refused, nothing dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sandbox.catalog.loader import load_catalog
from sandbox.catalog.scenarios import ApplyStep
from sandbox.runtimes.kube.client import Kube
from sandbox.runtimes.runtime import ResourceRef
from sandbox.walkthrough.render import make_context, render_manifest
from tests.conftest import TOKEN
from tests.controller_double import _without_times
from tests.tier.api_double import AgentgatewayOnApiServer, KgatewayOnApiServer, OnApiServer
from tests.tier.apiserver import ApiServer, agreed

pytestmark = pytest.mark.tier

DOUBLES: dict[str, Callable[[ApiServer], OnApiServer]] = {
    "kgateway-v2.1": KgatewayOnApiServer, "agentgateway-v1.4": AgentgatewayOnApiServer}


def _scenario_docs(profile: str, scenario_id: str) -> list[dict[str, Any]]:
    catalog = load_catalog(profile=profile)
    scenario = catalog.get(scenario_id)
    ctx = make_context(scenario, TOKEN, "mock", ("127.0.0.1", 8000))
    return [doc for step in scenario.steps if isinstance(step, ApplyStep)
            for manifest in step.manifests for doc in render_manifest(manifest, ctx)]


def _apply(server: ApiServer, docs: list[dict[str, Any]]) -> None:
    for doc in docs:
        assert server.apply(doc) is None


def _status_as_stored(server: ApiServer, doc: dict[str, Any]) -> Any:
    meta = doc["metadata"]
    stored = server.get(doc["apiVersion"], doc["kind"], meta.get("namespace"), meta["name"])
    assert stored is not None
    return stored.get("status")


@pytest.mark.parametrize("profile", sorted(DOUBLES))
def test_every_status_the_double_writes_is_kept_as_written(
        profile: str, tier_for: Callable[[str], ApiServer]) -> None:
    server = tier_for(profile)
    docs = _scenario_docs(profile, "setup") + _scenario_docs(profile, "secret")
    missing = [d for d in docs if d["kind"] != "Secret"]  # the Secret is applied later
    _apply(server, missing)
    double = DOUBLES[profile](server)
    double.reconcile()
    _apply(server, [d for d in docs if d["kind"] == "Secret"])
    double.reconcile()
    double.reconcile()
    kinds = {doc["kind"] for doc, _ in double.writes}
    assert {"GatewayClass", "Gateway", "HTTPRoute", "Deployment"} <= kinds
    assert any(k.endswith("Backend") for k in kinds)
    latest = {(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]): (d, w)
              for d, w in double.writes}
    for doc, written in latest.values():
        kept = _status_as_stored(server, doc)
        if doc["kind"] == "Deployment":  # the kubelet's part: the server adds its own fields
            assert {k: kept.get(k) for k in written} == written
        else:
            assert _without_times(kept) == _without_times(written), doc["kind"]
    agreed("status writes of the controller double", len(double.writes))


@pytest.mark.parametrize("profile", sorted(DOUBLES))
def test_the_backend_reads_back_as_the_cluster_runtime_shows_it(
        profile: str, tier_for: Callable[[str], ApiServer]) -> None:
    """A Backend whose Secret is missing, then present: the conditions the app's status pane
    reads through the kube client are the double's, as the server stored them."""
    server = tier_for(profile)
    settings = server.info
    docs = _scenario_docs(profile, "secret")
    backend = next(d for d in docs if d["kind"].endswith("Backend"))
    backend = {**backend, "metadata": {**backend["metadata"], "name": "lonely"}}
    backend["spec"] = _with_secret_named(backend["spec"], "no-such-secret")
    _apply(server, [backend])
    double = DOUBLES[profile](server)
    double.reconcile()
    kube = Kube.connect(str(settings.kubeconfig), settings.context,
                        controller=double.controller_name)
    status = kube.status(ResourceRef(backend["kind"], "lonely", backend["metadata"]["namespace"]))
    accepted = status.condition("Accepted")
    assert accepted is not None and accepted.status == "False"
    assert "no-such-secret" in accepted.message
    agreed("status writes of the controller double")


def _with_secret_named(spec: dict[str, Any], name: str) -> dict[str, Any]:
    """The spec with its secretRef (of either API) pointing at ``name``."""
    if "policies" in spec:
        return {**spec, "policies": {**spec["policies"], "auth": {"secretRef": {"name": name}}}}
    llm = spec["ai"]["llm"]
    token = {"kind": "SecretRef", "secretRef": {"name": name}}
    return {**spec, "ai": {"llm": {**llm, "openai": {**llm["openai"], "authToken": token}}}}


@pytest.mark.parametrize("profile", sorted(DOUBLES))
def test_a_status_the_schema_does_not_allow_is_refused(
        profile: str, tier_for: Callable[[str], ApiServer]) -> None:
    """The server validates status writes, so 'kept as written' above means 'valid'."""
    server = tier_for(profile)
    route = next(d for d in _scenario_docs(profile, "secret") if d["kind"] == "HTTPRoute")
    _apply(server, [route])
    double = DOUBLES[profile](server)
    broken = {"parents": [{"parentRef": {"name": "x"}, "controllerName": "nope",
                           "conditions": [{"type": "Accepted", "status": "Maybe"}]}]}
    with pytest.raises(AssertionError) as caught:
        double._write({**route, "status": {}}, broken)
    assert "the API server refused the double's status" in str(caught.value)
    assert 'status.parents[0].conditions[0].status: Unsupported value: "Maybe"' in str(
        caught.value)
