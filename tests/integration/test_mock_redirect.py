"""The mock-provider redirect never hides or breaks what the author wrote.

With the mock provider the sandbox rewrites an LLM backend's host, port and path. Admission
judges the manifest as the author wrote it, before that rewrite; the rewrite keeps a valid
manifest valid; and the note beside it names the provider it stands in for.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from sandbox.catalog.loader import load_catalog
from sandbox.catalog.scenarios import Scenario
from sandbox.profiles import AGENTGATEWAY_V1_4, DEFAULT_PROFILE, Profile
from sandbox.runtimes.sim.runtime import SimRuntime
from sandbox.settings import Settings
from sandbox.tui.session import Session
from sandbox.walkthrough.events import Event, ManifestApplied, StepFinished
from sandbox.walkthrough.exchange import new_client
from sandbox.walkthrough.render import make_context, upstream_note
from sandbox.walkthrough.runner import Walkthrough
from tests.conftest import TOKEN
from tests.helpers import AGW_GATEWAY, GATEWAY, agw_backend, agw_route, backend, route


def scenario_folder(root: Path, profile: Profile, docs: list[dict[str, Any]]) -> Path:
    """A workshop author's folder: one scenario applying ``docs``, then asking /openai."""
    folder = root / profile.scenario_dir if profile.scenario_dir else root
    (folder / "manifests").mkdir(parents=True)
    (folder / "manifests" / "all.yaml").write_text(yaml.safe_dump_all(docs))
    scenario = {"id": "author", "title": "An author's backend", "summary": "s",
                "security": "s", "steps": [
                    {"id": "apply", "title": "Apply", "apply": ["manifests/all.yaml"]},
                    {"id": "ask", "title": "Ask", "request": {
                        "path": "/openai", "body": {"model": "", "messages": [
                            {"role": "user", "content": "hi"}]}},
                     "expect": {"status": 200}}]}
    if profile.scenario_dir:
        scenario["profile"] = profile.name
    (folder / "author.yaml").write_text(yaml.safe_dump(scenario))
    return root


@pytest.fixture
async def sim_v14() -> AsyncIterator[SimRuntime]:
    runtime = SimRuntime(AGENTGATEWAY_V1_4, 0, "mock", [TOKEN], token_delay=0.0)
    await runtime.up(lambda message: None)
    try:
        yield runtime
    finally:
        await runtime.down()


async def run(runtime: SimRuntime, scenario: Scenario) -> tuple[list[Event],
                                                                dict[str, StepFinished]]:
    events: list[Event] = []
    async with new_client() as client:
        finished = await Walkthrough(runtime, client, events.append, TOKEN, "mock").run(
            scenario)
    return events, {step.step_id: step for step in finished.steps}


def catalog_scenario(root: Path, profile: Profile) -> Scenario:
    return load_catalog([root], include_builtin=False, profile=profile.name).get("author")


async def test_a_backend_with_host_and_no_port_is_refused_as_written(
        sim: SimRuntime, tmp_path: Path) -> None:
    """The API server refuses it; the redirect's port must not make it pass here."""
    written = backend({"kind": "Inline", "inline": TOKEN}, "llm.internal.example", 8000)
    del written["spec"]["ai"]["llm"]["port"]
    await sim.apply(GATEWAY)
    root = scenario_folder(tmp_path, DEFAULT_PROFILE, [written, route()])
    _, steps = await run(sim, catalog_scenario(root, DEFAULT_PROFILE))
    assert steps["apply"].outcome == "failed"
    assert steps["apply"].detail == (
        'Backend.gateway.kgateway.dev "openai" is invalid: spec.ai.llm: Invalid value: '
        '"object": both host and port must be set together')


async def test_a_backend_with_a_path_prefix_stays_valid_and_reaches_the_mock(
        sim_v14: SimRuntime, tmp_path: Path) -> None:
    written = agw_backend({"key": TOKEN}, "llm.internal.example", 8443, path=None)
    written["spec"]["ai"]["provider"]["pathPrefix"] = "/api/v1"
    await sim_v14.apply(AGW_GATEWAY)
    root = scenario_folder(tmp_path, AGENTGATEWAY_V1_4, [written, agw_route()])
    events, steps = await run(sim_v14, catalog_scenario(root, AGENTGATEWAY_V1_4))
    assert steps["apply"].outcome == "passed", steps["apply"].detail
    assert steps["ask"].outcome == "passed", steps["ask"].detail
    [shown] = [e for e in events if isinstance(e, ManifestApplied)
               and e.ref.kind == "AgentgatewayBackend"]
    assert shown.note is not None and "pathPrefix" in shown.note


def context(profile: Profile, scenario_id: str) -> Any:
    catalog = load_catalog(profile=profile.name)
    return make_context(catalog.get(scenario_id), TOKEN, "mock", ("127.0.0.1", 8000))


@pytest.mark.parametrize(("provider", "host"), [("openai", "api.openai.com"),
                                                ("anthropic", "api.anthropic.com"),
                                                ("gemini", "generativelanguage.googleapis.com")])
def test_the_note_names_the_provider_the_mock_stands_in_for(provider: str, host: str) -> None:
    doc = agw_backend({"key": TOKEN})
    doc["spec"]["ai"]["provider"] = {provider: {"model": "m"}}
    note = upstream_note(context(AGENTGATEWAY_V1_4, "inline"), [doc])
    assert note is not None and f"instead of {host}" in note
    others = {"api.openai.com", "api.anthropic.com"} - {host}
    assert not any(other in note for other in others)


def test_no_note_without_a_backend_to_redirect() -> None:
    assert upstream_note(context(DEFAULT_PROFILE, "inline"), [GATEWAY, route()]) is None


async def test_the_app_judges_the_authors_manifest_too(tmp_path: Path) -> None:
    """The app's session runs a step through the same check, not the redirected copy."""
    written = backend({"kind": "Inline", "inline": TOKEN}, "llm.internal.example", 8000)
    del written["spec"]["ai"]["llm"]["port"]
    root = scenario_folder(tmp_path, DEFAULT_PROFILE, [GATEWAY, written, route()])
    settings = Settings(runtime="sim", port=0, token=TOKEN)
    runtime = SimRuntime(DEFAULT_PROFILE, 0, "mock", [TOKEN], token_delay=0.0)
    catalog = load_catalog([root], include_builtin=False)
    session = Session(settings, catalog, runtime, lambda event: None)
    await session.start(lambda line: None)
    try:
        assert await session.run_current(catalog.get("author")) == "failed"
    finally:
        await session.close()
