"""Scenarios per API profile: the same ids, their own manifests, and what a profile lacks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sandbox.catalog.loader import load_catalog
from sandbox.errors import ScenarioError
from tests.conftest import REPO

IDS = ("setup", "inline", "secret", "passthrough")


def test_each_profile_has_the_same_ids_with_its_own_manifests() -> None:
    default = load_catalog()
    current = load_catalog(profile="agentgateway-v1.4")
    assert default.ids == current.ids == IDS
    assert {s.profile for s in default.scenarios} == {"kgateway-v2.1"}
    assert {s.profile for s in current.scenarios} == {"agentgateway-v1.4"}
    assert default.missing == current.missing == ()
    assert current.for_profile("kgateway-v2.1").ids == IDS
    inline = current.get("inline")
    assert inline.source.parent.name == "agentgateway-v1.4"
    wait = [w for step in inline.steps for w in getattr(step, "waits", ())]
    assert wait[0].ref.kind == "AgentgatewayBackend"
    assert {w.ref.namespace for w in wait} == {"agentgateway-system"}


def test_a_scenario_written_for_one_profile_is_listed_as_missing_in_the_other(
        tmp_path: Path) -> None:
    shutil.copy(REPO / "examples/workshop/rotate-key.yaml", tmp_path)
    shutil.copytree(REPO / "examples/workshop/manifests", tmp_path / "manifests")
    current = load_catalog([tmp_path], profile="agentgateway-v1.4")
    assert "rotate-key" not in current.ids
    [(scenario, profiles)] = current.missing
    assert (scenario.id, profiles) == ("rotate-key", ("kgateway-v2.1",))
    assert "rotate-key" in current.for_profile("kgateway-v2.1").ids


@pytest.mark.parametrize("profile", ["kgateway-v2.1", "agentgateway-v1.4"])
def test_a_run_leaves_the_other_profiles_builtins_out_but_checks_every_extra_file(
        tmp_path: Path, profile: str) -> None:
    shutil.copy(REPO / "examples/workshop/rotate-key.yaml", tmp_path)  # kgateway, needs setup
    shutil.copytree(REPO / "examples/workshop/manifests", tmp_path / "manifests")
    running = load_catalog([tmp_path], profile=profile, other_builtins=False)
    assert running.ids[:4] == IDS
    assert {s.source.parent for s in running.scenarios if s.id in IDS} == {
        s.source.parent for s in load_catalog(profile=profile).scenarios}
    assert [s.id for s in running.others] == (["rotate-key"] if profile != "kgateway-v2.1"
                                              else [])
    (tmp_path / "agentgateway-v1.4").mkdir()
    (tmp_path / "agentgateway-v1.4" / "broken.yaml").write_text("id: [\n")
    with pytest.raises(ScenarioError, match=r"broken\.yaml"):  # another profile's, still read
        load_catalog([tmp_path], profile="kgateway-v2.1", other_builtins=False)


def test_a_profile_folder_holds_that_profiles_scenarios_only(tmp_path: Path) -> None:
    folder = tmp_path / "agentgateway-v1.4"
    shutil.copytree(REPO / "examples/workshop/manifests", folder / "manifests")
    text = (REPO / "examples/workshop/rotate-key.yaml").read_text()
    (folder / "rotate-key.yaml").write_text(text)  # no `profile:` key: the default
    with pytest.raises(ScenarioError) as caught:
        load_catalog([tmp_path])
    assert "add `profile: agentgateway-v1.4`" in str(caught.value)


def test_a_resource_without_namespace_is_in_its_profiles_namespace(tmp_path: Path) -> None:
    folder = tmp_path / "agentgateway-v1.4"
    shutil.copytree(REPO / "scenarios/agentgateway-v1.4/manifests", folder / "manifests")
    (folder / "check.yaml").write_text("""\
id: check
title: Check the backend
profile: agentgateway-v1.4
summary: s
security: s
steps:
  - id: wait
    title: Wait
    wait:
      - resource: AgentgatewayBackend/openai
        conditions: {Accepted: "True"}
""")
    [scenario] = [s for s in load_catalog([tmp_path], profile="agentgateway-v1.4").scenarios
                  if s.id == "check"]
    [wait] = scenario.steps[0].waits  # type: ignore[union-attr]
    assert wait.ref.namespace == "agentgateway-system"
