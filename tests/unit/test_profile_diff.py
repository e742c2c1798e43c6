"""The 'what changed' diff: one scenario's documented manifests under both profiles."""

from __future__ import annotations

from sandbox.catalog.scenario_file import load_file
from sandbox.catalog.scenarios import Scenario
from sandbox.errors import Problem
from sandbox.profiles import builtin_dir
from sandbox.reports.profile_diff import manifests_diff
from tests.conftest import TOKEN


def both(scenario_id: str) -> tuple[Scenario, Scenario]:
    problems: list[Problem] = []
    found = [load_file(builtin_dir() / sub / f"{scenario_id}.yaml", problems)
             for sub in ("", "agentgateway-v1.4")]
    assert problems == []
    before, after = found
    assert before is not None and after is not None
    return before, after


def test_the_secret_diff_shows_the_api_change_with_the_key_masked() -> None:
    diff = manifests_diff(*both("secret"), TOKEN)
    lines = diff.splitlines()
    assert lines[:2] == ["--- kgateway-v2.1/secret", "+++ agentgateway-v1.4/secret"]
    assert "-apiVersion: gateway.kgateway.dev/v1alpha1" in lines
    assert "+apiVersion: agentgateway.dev/v1alpha1" in lines
    assert "+kind: AgentgatewayBackend" in lines
    assert "-  namespace: kgateway-system" in lines
    assert any(line.startswith("+") and "agentgateway-proxy" in line for line in lines)
    assert TOKEN not in diff  # masked on both sides


def test_the_same_profile_gives_no_diff() -> None:
    before, _ = both("inline")
    assert manifests_diff(before, before, TOKEN) == ""
