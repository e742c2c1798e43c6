"""`scenarios --check` refuses a kind that no runtime can handle for the scenario's profile.

A kind is handled when the simulation knows it (its admission, from the profile's CRDs) or a
cluster with the profile's installs serves it (Kubernetes' own kinds, the Gateway API standard
install, the profile's CRD chart), or when the scenario applies the CRD that defines it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.catalog.loader import load_catalog
from sandbox.errors import ScenarioError
from tests.helpers import run_cli

SCENARIO = """\
id: policy
title: A policy beside the backend
profile: {profile}
summary: s
security: s
steps:
  - id: apply
    title: Apply
    apply: [manifests/policy.yaml]
  - id: wait
    title: Wait
    wait:
      - resource: {waited}/openai-auth
        conditions: {{Accepted: "True"}}
  - id: remove
    title: Remove
    delete: [{waited}/openai-auth]
"""


def scenario(folder: Path, profile: str, manifest: str, waited: str) -> Path:
    (folder / "manifests").mkdir(parents=True)
    (folder / "manifests" / "policy.yaml").write_text(manifest)
    (folder / "policy.yaml").write_text(SCENARIO.format(profile=profile, waited=waited))
    return folder


AGW_POLICY = """\
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: {name: openai-auth, namespace: agentgateway-system}
spec:
  targetRefs: [{group: agentgateway.dev, kind: AgentgatewayBackend, name: openai}]
  backend: {auth: {secretRef: {name: openai-secret}}}
"""
TRAFFIC_POLICY = """\
apiVersion: gateway.kgateway.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: openai-auth, namespace: agentgateway-system}
spec: {}
"""


def test_the_profiles_policy_kinds_are_accepted(tmp_path: Path) -> None:
    folder = scenario(tmp_path / "agentgateway-v1.4", "agentgateway-v1.4", AGW_POLICY,
                      "AgentgatewayPolicy")
    catalog = load_catalog([tmp_path], profile="agentgateway-v1.4")
    assert "policy" in catalog.ids
    assert folder.is_dir()


def test_a_kind_of_the_other_profile_is_refused_with_file_and_line(tmp_path: Path) -> None:
    folder = scenario(tmp_path / "agentgateway-v1.4", "agentgateway-v1.4", TRAFFIC_POLICY,
                      "TrafficPolicy")
    with pytest.raises(ScenarioError) as caught:
        load_catalog([tmp_path], profile="agentgateway-v1.4")
    template = next(p for p in caught.value.problems
                    if Path(p.path) == folder / "manifests" / "policy.yaml")
    assert template.line == 1
    assert template.reason.startswith(
        "TrafficPolicy (gateway.kgateway.dev/v1alpha1) is served by no runtime for the "
        "agentgateway-v1.4 profile")
    assert "a kind of the kgateway-v2.1 profile" in template.reason
    refs = [p for p in caught.value.problems if Path(p.path) == folder / "policy.yaml"]
    assert [p.line for p in refs] == [13, 17]  # the wait and the delete
    assert all("TrafficPolicy is served by no runtime" in p.reason for p in refs)


def test_a_kind_nobody_serves_is_refused_unless_the_scenario_installs_its_crd(
        tmp_path: Path) -> None:
    widget = ("apiVersion: example.dev/v1\nkind: Widget\n"
              "metadata: {name: openai-auth, namespace: kgateway-system}\nspec: {}\n")
    scenario(tmp_path / "plain", "kgateway-v2.1", widget, "Widget")
    with pytest.raises(ScenarioError, match=r"Widget \(example\.dev/v1\) is served by no "
                                            r"runtime for the kgateway-v2.1 profile"):
        load_catalog([tmp_path / "plain"])
    crd = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.dev}
spec:
  group: example.dev
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions: [{name: v1, served: true, storage: true}]
---
"""
    scenario(tmp_path / "with-crd", "kgateway-v2.1", crd + widget, "Widget")
    assert "policy" in load_catalog([tmp_path / "with-crd"]).ids


def test_scenarios_check_reports_it(cli_env: dict[str, str], tmp_path: Path) -> None:
    scenario(tmp_path / "agentgateway-v1.4", "agentgateway-v1.4", TRAFFIC_POLICY,
             "TrafficPolicy")
    result = run_cli("scenarios", "--profile", "agentgateway-v1.4", "--check", str(tmp_path),
                     env=cli_env)
    assert result.returncode == 2
    assert "TrafficPolicy (gateway.kgateway.dev/v1alpha1) is served by no runtime" in (
        result.stderr)
