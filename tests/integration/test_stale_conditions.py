"""Conditions as upstream writes them, and a wait that never passes on the status of an earlier
version of an object.

A condition whose ``observedGeneration`` is older than the object's ``metadata.generation`` was
written before the controller saw the current spec: an edited and re-applied manifest must wait
for the controller again, in the sim and on a cluster (through the same ``conditions_of``).
"""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest

from sandbox.errors import WaitTimeout
from sandbox.profiles import AGENTGATEWAY_V1_4, DEFAULT_PROFILE, Profile
from sandbox.runtimes.kube.client import Kube
from sandbox.runtimes.runtime import (
    ConditionExpectation,
    ResourceRef,
    ResourceStatus,
    WaitFor,
    conditions_of,
    poll_until_satisfied,
)
from sandbox.runtimes.sim.control import SimCluster
from tests.conftest import TOKEN
from tests.controller_double import AgentgatewayDouble
from tests.helpers import AGW_GATEWAY, GATEWAY, agw_backend, agw_route
from tests.kubeemu import ApplyingEmulator

BACKEND = ResourceRef("AgentgatewayBackend", "openai", "agentgateway-system")
ACCEPTED = (ConditionExpectation("Accepted", "True"),)


def stored(generation: int, observed: int | None) -> dict[str, Any]:
    condition: dict[str, Any] = {"type": "Accepted", "status": "True", "reason": "Accepted",
                                 "message": "Backend successfully accepted"}
    if observed is not None:
        condition["observedGeneration"] = observed
    return {"metadata": {"name": "openai", "generation": generation},
            "status": {"conditions": [condition]}}


def test_a_condition_for_an_earlier_generation_does_not_satisfy_a_wait() -> None:
    [stale] = conditions_of(stored(2, 1), "")
    assert stale.stale and "earlier version" in str(stale)
    assert not ResourceStatus(BACKEND, True, (stale,)).satisfies(ACCEPTED[0])
    [fresh] = conditions_of(stored(2, 2), "")
    assert not fresh.stale and ResourceStatus(BACKEND, True, (fresh,)).satisfies(ACCEPTED[0])


def test_a_condition_without_observed_generation_is_taken_at_its_word() -> None:
    """kgateway's Backend status carries none: nothing says it is old."""
    [unsaid] = conditions_of(stored(3, None), "")
    assert not unsaid.stale


@pytest.mark.kmock(cls=ApplyingEmulator)
async def test_a_re_applied_manifest_waits_for_the_controller_again(kmock: Any) -> None:
    kube = Kube.for_url(str(kmock.url).rstrip("/"), AgentgatewayDouble.controller_name)
    double = AgentgatewayDouble(kmock)
    first = {**agw_backend({"key": TOKEN}), "metadata": {**agw_backend(None)["metadata"],
                                                          "generation": 1}}
    for doc in (AGW_GATEWAY, first, agw_route()):
        await asyncio.to_thread(kube.apply, doc)
    double.reconcile()
    wait = WaitFor(BACKEND, ACCEPTED, timeout=0.3)
    await poll_until_satisfied(_Reader(kube), wait, lambda status: None)
    edited = copy.deepcopy(first)
    edited["metadata"]["generation"] = 2  # what the API server does on a spec change
    edited["spec"]["ai"]["provider"]["openai"]["model"] = "gpt-4o"
    await asyncio.to_thread(kube.apply, edited)
    with pytest.raises(WaitTimeout) as caught:  # the double has not reconciled yet
        await poll_until_satisfied(_Reader(kube), wait, lambda status: None)
    assert "not yet written a status for this version" in caught.value.message
    double.reconcile()
    reached = await poll_until_satisfied(_Reader(kube), wait, lambda status: None)
    assert reached.satisfies(ACCEPTED[0])


class _Reader:
    """Just enough of a Runtime for a wait: the kube path's status reads."""

    def __init__(self, kube: Kube) -> None:
        self.kube = kube

    async def status(self, ref: ResourceRef) -> ResourceStatus:
        return await asyncio.to_thread(self.kube.status, ref)


def test_the_sim_writes_the_current_generation_on_every_condition_it_sets() -> None:
    cluster = SimCluster(AGENTGATEWAY_V1_4)
    edited = agw_backend({"key": TOKEN})
    for doc in (AGW_GATEWAY, agw_backend({"key": TOKEN}), agw_route()):
        cluster.apply(doc)
    edited["spec"]["ai"]["provider"]["openai"]["model"] = "gpt-4o"
    cluster.apply(edited)
    changed_route = agw_route(prefix="/llm")
    cluster.apply(changed_route)
    for kind, name in (("AgentgatewayBackend", "openai"), ("HTTPRoute", "openai"),
                       ("Gateway", "agentgateway-proxy")):
        obj = cluster.get(kind, "agentgateway-system", name)
        assert obj is not None
        assert not any(c.stale for c in conditions_of(obj, AGENTGATEWAY_V1_4.controller_name))
    backend = cluster.get("AgentgatewayBackend", "agentgateway-system", "openai")
    assert backend is not None and backend["metadata"]["generation"] == 2
    assert backend["status"]["conditions"][0]["observedGeneration"] == 2


@pytest.mark.parametrize("profile", [DEFAULT_PROFILE, AGENTGATEWAY_V1_4], ids=lambda p: p.name)
def test_gateway_conditions_are_worded_as_both_controllers_write_them(profile: Profile) -> None:
    """translator/testdata/gateways/*.yaml: Accepted with no message, Programmed with the
    reports constant, each listener "No errors found"; all at the Gateway's generation."""
    cluster = SimCluster(profile)
    cluster.apply(GATEWAY if profile is DEFAULT_PROFILE else AGW_GATEWAY)
    gateway = cluster.get("Gateway", profile.namespace, profile.gateway_name)
    assert gateway is not None
    assert [(c["type"], c["status"], c["reason"], c["message"], c["observedGeneration"])
            for c in gateway["status"]["conditions"]] == [
        ("Accepted", "True", "Accepted", "", 1),
        ("Programmed", "True", "Programmed", "Successfully programmed Gateway", 1)]
    [listener] = gateway["status"]["listeners"]
    assert [(c["type"], c["status"], c["reason"], c["message"])
            for c in listener["conditions"]] == [
        ("Accepted", "True", "Accepted", "No errors found"),
        ("Conflicted", "False", "NoConflicts", "No errors found"),
        ("Programmed", "True", "Programmed", "No errors found"),
        ("ResolvedRefs", "True", "ResolvedRefs", "No errors found")]
