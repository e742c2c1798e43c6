"""A wait on a resource that nothing has created: the simulation, where only a scenario's steps
create resources, says so at once; a cluster, where something else may create it, still waits."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from sandbox.catalog.loader import load_catalog
from sandbox.catalog.scenarios import Scenario
from sandbox.profiles import DEFAULT_PROFILE
from sandbox.runtimes.sim.runtime import SimRuntime
from sandbox.walkthrough.events import Event, StatusChanged, StepFinished
from sandbox.walkthrough.exchange import new_client
from sandbox.walkthrough.runner import Walkthrough
from tests.conftest import TOKEN
from tests.helpers import backend

WAITS_ONLY = """\
id: waits-only
title: Waits for a Backend no step applies
order: 70
summary: S
security: s
steps:
  - id: ready
    title: wait
    wait:
      - resource: Backend/kgateway-system/made-elsewhere
        conditions: {Accepted: "True"}
"""


def waits_only(tmp_path: Path) -> Scenario:
    (tmp_path / "waits.yaml").write_text(WAITS_ONLY)
    return load_catalog([tmp_path]).get("waits-only")


async def run(runtime: SimRuntime, scenario: Scenario) -> tuple[list[Event], bool, float]:
    events: list[Event] = []
    started = time.monotonic()
    async with new_client() as client:
        finished = await Walkthrough(runtime, client, events.append, TOKEN, "mock").run(scenario)
    return events, finished.passed, time.monotonic() - started


async def test_the_simulation_says_at_once_that_nothing_created_it(sim: SimRuntime,
                                                                   tmp_path: Path) -> None:
    events, passed, seconds = await run(sim, waits_only(tmp_path))
    assert not passed and seconds < 10  # not the wait's 180 s
    failed = next(e for e in events if isinstance(e, StepFinished) and e.outcome == "failed")
    assert failed.detail.startswith("Backend kgateway-system/made-elsewhere does not exist, and "
                                    "in the simulation nothing but a scenario's steps creates "
                                    "resources")
    assert "apply it in an earlier step" in failed.hint
    assert [e.exists for e in events if isinstance(e, StatusChanged)] == [False]


class SharedCluster(SimRuntime):
    """A cluster someone else uses too: what a scenario waits for may appear without a step."""

    name = "cluster"


async def test_a_cluster_still_waits_for_what_something_else_creates(tmp_path: Path) -> None:
    cluster = SharedCluster(DEFAULT_PROFILE, 0, "mock", [TOKEN], token_delay=0.0)
    await cluster.up(lambda line: None)
    made = backend({"kind": "Inline", "inline": TOKEN})
    made["metadata"]["name"] = "made-elsewhere"

    async def someone_else() -> None:
        await asyncio.sleep(0.5)
        await cluster.apply(made)

    try:
        elsewhere = asyncio.create_task(someone_else())
        events, passed, _ = await run(cluster, waits_only(tmp_path))
        await elsewhere
    finally:
        await cluster.down()
    assert passed
    assert [e.exists for e in events if isinstance(e, StatusChanged)][:1] == [False]
