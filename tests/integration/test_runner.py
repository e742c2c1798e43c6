"""The walkthrough runner against the simulated runtime: events, masking, failure handling."""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from sandbox.catalog.loader import load_catalog
from sandbox.catalog.scenarios import ApplyStep, RequestSpec, RequestStep
from sandbox.errors import ManifestRejected
from sandbox.profiles import DEFAULT_PROFILE
from sandbox.runtimes.runtime import Applied, ResourceRef, ResourceStatus
from sandbox.runtimes.sim.runtime import SimRuntime
from sandbox.walkthrough.events import (
    Event,
    ManifestApplied,
    RequestSent,
    ResponseChunk,
    ResponseReceived,
    ScenarioFinished,
    StatusChanged,
    StepFinished,
    StepStarted,
)
from sandbox.walkthrough.exchange import new_client
from sandbox.walkthrough.runner import Walkthrough
from tests.conftest import TOKEN

CATALOG = load_catalog()


async def run(sim: SimRuntime, *ids: str, token: str = TOKEN) -> tuple[list[Event],
                                                                      list[ScenarioFinished]]:
    events: list[Event] = []
    async with new_client() as client:
        walkthrough = Walkthrough(sim, client, events.append, token, "mock")
        results = [await walkthrough.run(CATALOG.get(i)) for i in ids]
    return events, results


async def test_all_scenarios_pass_and_no_event_carries_the_key(sim: SimRuntime) -> None:
    events, results = await run(sim, "setup", "inline", "secret", "passthrough")
    assert all(r.passed for r in results)
    assert TOKEN not in repr(events)
    kinds = [type(e).__name__ for e in events]
    assert kinds.count("RequestSent") == kinds.count("ResponseReceived") == 7


async def test_events_follow_each_step_in_order(sim: SimRuntime) -> None:
    events, _ = await run(sim, "setup", "secret")
    secret_events = events[next(i for i, e in enumerate(events)
                                if isinstance(e, StepStarted) and e.scenario_id == "secret"):]
    started = [e.step_id for e in secret_events if isinstance(e, StepStarted)]
    finished = [e.step_id for e in secret_events if isinstance(e, StepFinished)]
    assert started == finished == [s.id for s in CATALOG.get("secret").steps]
    rejected = [e for e in secret_events if isinstance(e, StatusChanged)
                and e.ref.kind == "Backend" and e.conditions[0].status == "False"]
    assert rejected and rejected[0].conditions[0].message == (
        'Backend error: "failed to find secret openai-secret: Secret "openai-secret" not found"')
    statuses = [e.response.status for e in secret_events if isinstance(e, ResponseReceived)]
    assert statuses == [401, 200]
    applied = [e for e in secret_events if isinstance(e, ManifestApplied)]
    assert applied[0].note is not None and "mock provider" in applied[0].note


async def test_a_wrong_token_fails_with_what_was_expected(sim: SimRuntime) -> None:
    events, results = await run(sim, "setup", "inline", token="sk-test-not-the-accepted-key-0")
    assert results[0].passed and not results[1].passed
    failed = next(e for e in events if isinstance(e, StepFinished) and e.outcome == "failed")
    assert failed.step_id == "ask"
    assert "expected status 200, got 401" in failed.detail
    assert "rejected the key" in failed.hint
    outcomes = {e.step_id: e.outcome for e in events
                if isinstance(e, StepFinished) and e.scenario_id == "inline"}
    assert outcomes["overwrite"] == "skipped" and outcomes["cleanup"] == "passed"
    assert not (await sim.status(ResourceRef("Backend", "openai", "kgateway-system"))).exists


async def test_an_edited_manifest_is_checked_then_applied(sim: SimRuntime) -> None:
    events: list[Event] = []
    scenario = CATALOG.get("inline")
    async with new_client() as client:
        walkthrough = Walkthrough(sim, client, events.append, TOKEN, "mock")
        await walkthrough.run(CATALOG.get("setup"))
        state = walkthrough.start(scenario)
        step = next(s for s in scenario.steps if isinstance(s, ApplyStep))
        docs = walkthrough.rendered(state, step)
        broken = copy.deepcopy(docs)
        broken[0]["spec"]["ai"]["llm"]["openai"]["authToken"]["kind"] = "Passthrough"
        result = await walkthrough.run_step(state, step, broken)
        assert result.outcome == "failed" and "remove inline/secretRef" in result.detail
        docs[0]["spec"]["ai"]["llm"]["openai"]["model"] = "gpt-4o-mini"
        assert (await walkthrough.run_step(state, step, docs)).outcome == "passed"
        for later in scenario.steps[2:4]:
            await walkthrough.run_step(state, later)
        ask = scenario.steps[4]
        assert isinstance(ask, RequestStep)
        result = await walkthrough.run_step(state, ask)
    assert result.outcome == "failed" and "model 'gpt-3.5-turbo'" in result.detail
    response = [e for e in events if isinstance(e, ResponseReceived)][-1]
    assert response.response.model == "gpt-4o-mini"


async def test_streamed_tokens_arrive_as_chunks(sim: SimRuntime) -> None:
    scenario = CATALOG.get("inline")
    events: list[Event] = []
    async with new_client() as client:
        walkthrough = Walkthrough(sim, client, events.append, TOKEN, "mock")
        await walkthrough.run(CATALOG.get("setup"))
        state = walkthrough.start(scenario)
        for step in scenario.steps[:4]:
            await walkthrough.run_step(state, step)
        ask = scenario.steps[4]
        assert isinstance(ask, RequestStep)
        streaming = RequestStep(ask.id, ask.title, ask.explain,
                                RequestSpec(ask.request.method, ask.request.path,
                                            ask.request.headers, ask.request.body, stream=True),
                                ask.expect, ask.expect_with_mock)
        result = await walkthrough.run_step(state, streaming)
    assert result.outcome == "passed", result.detail
    chunks = [e.text for e in events if isinstance(e, ResponseChunk)]
    assert len(chunks) > 10 and "sk-…c5Ge" in "".join(chunks)
    sent = [e for e in events if isinstance(e, RequestSent)][-1]
    assert '"stream": true' in sent.request.body


class TalkativeController(SimRuntime):
    """A controller whose condition message quotes the key it was given (a real one could)."""

    async def status(self, ref: ResourceRef) -> ResourceStatus:
        current = await super().status(ref)
        return replace(current, conditions=tuple(
            replace(c, message=f"{c.message} (saw Bearer {TOKEN})") for c in current.conditions))


async def test_condition_messages_from_the_controller_are_masked() -> None:
    sim = TalkativeController(DEFAULT_PROFILE, 0, "mock", [TOKEN], token_delay=0.0)
    await sim.up(lambda line: None)
    try:
        events, results = await run(sim, "setup", "inline")
    finally:
        await sim.down()
    assert all(r.passed for r in results)
    changed = [e for e in events if isinstance(e, StatusChanged) and e.conditions]
    assert changed and all("(saw Bearer sk-…" in c.message for e in changed
                           for c in e.conditions)
    assert TOKEN not in repr(events)


async def test_a_route_wait_without_the_gateway_fails_at_once_and_says_why(
        sim: SimRuntime) -> None:
    started = time.monotonic()
    events, results = await run(sim, "inline")  # no setup: the Gateway does not exist
    assert time.monotonic() - started < 10  # not the wait's 180 s timeout
    failed = next(e for e in events if isinstance(e, StepFinished) and e.outcome == "failed")
    assert failed.step_id == "ready"
    assert "Gateway kgateway-system/agentgateway, which does not exist" in failed.detail
    assert "run the setup scenario first" in failed.hint
    assert not results[0].passed


class RefusingServer(SimRuntime):
    """An API server whose refusal holds a line break and quotes the key (a real one could)."""

    async def apply(self, doc: Mapping[str, Any]) -> Applied:
        raise ManifestRejected(f"refused\n✓ passed {TOKEN}", f"ask\nthe admin\t{TOKEN}")


async def test_a_failed_step_says_why_on_one_line_masked() -> None:
    sim = RefusingServer(DEFAULT_PROFILE, 0, "mock", [TOKEN], token_delay=0.0)
    await sim.up(lambda line: None)
    try:
        events, results = await run(sim, "setup")
    finally:
        await sim.down()
    failed = next(e for e in events if isinstance(e, StepFinished) and e.outcome == "failed")
    assert failed.detail == "refused\\n✓ passed sk-…c5Ge"
    assert failed.hint == "ask\\nthe admin\\tsk-…c5Ge"
    assert not results[0].passed and TOKEN not in repr(events)
