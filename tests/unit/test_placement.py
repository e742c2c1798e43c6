"""Moving the guide's names to the sandbox's own, and telling our objects from others'."""

from __future__ import annotations

from sandbox.profiles import DEFAULT_PROFILE
from sandbox.runtimes.kube.ownership import created_by_us, owner_of
from sandbox.runtimes.placement import Placement
from sandbox.runtimes.runtime import ResourceRef
from tests.helpers import GATEWAY, route

OWN = Placement.of(DEFAULT_PROFILE, "agw-sandbox", "agw-sb")


def test_the_guides_names_stay_when_no_others_are_given() -> None:
    guide = Placement.of(DEFAULT_PROFILE)
    assert guide.doc(route()) == route()
    assert guide.proxy_deployment == DEFAULT_PROFILE.proxy_deployment
    ref = ResourceRef("Gateway", "agentgateway", "kgateway-system")
    assert guide.ref(ref) == ref


def test_a_route_and_its_gateway_move_together() -> None:
    moved = OWN.doc(route())
    assert moved["metadata"]["namespace"] == "agw-sandbox"
    assert moved["spec"]["parentRefs"] == [{"name": "agw-sb", "namespace": "agw-sandbox"}]
    assert moved["spec"]["rules"][0]["backendRefs"][0]["namespace"] == "agw-sandbox"
    gateway = OWN.doc(GATEWAY)
    assert (gateway["metadata"]["name"], gateway["metadata"]["namespace"]) == (
        "agw-sb", "agw-sandbox")
    assert OWN.ref(ResourceRef("Gateway", "agentgateway", "kgateway-system")) == ResourceRef(
        "Gateway", "agw-sb", "agw-sandbox")
    assert OWN.proxy_deployment == "agw-sb"
    assert route()["metadata"]["namespace"] == "kgateway-system"  # the input is not changed


def test_references_elsewhere_are_left_as_written() -> None:
    doc = route()
    doc["metadata"]["namespace"] = "team-a"
    doc["spec"]["parentRefs"] = [{"name": "agentgateway"}]  # team-a's own Gateway
    doc["spec"]["rules"][0]["backendRefs"][0]["namespace"] = "team-a"
    assert OWN.doc(doc) == doc
    assert OWN.ref(ResourceRef("Backend", "openai", "team-a")).namespace == "team-a"


def test_ours_is_told_by_field_manager_or_label_and_others_are_named() -> None:
    ours = {"metadata": {"managedFields": [{"manager": "agw-sandbox", "operation": "Apply"}]}}
    labelled = {"metadata": {"labels": {"app.kubernetes.io/managed-by": "agw-sandbox"}}}
    theirs = {"metadata": {"managedFields": [
        {"manager": "kubectl-client-side-apply", "operation": "Update"},
        {"manager": "kgateway", "operation": "Update", "subresource": "status"}]}}
    assert created_by_us(ours) and created_by_us(labelled) and not created_by_us(theirs)
    assert owner_of(theirs) == "field manager `kubectl-client-side-apply`"
    assert owner_of({"metadata": {}}) == "someone else (it has no field managers)"
