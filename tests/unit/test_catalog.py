from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sandbox.catalog.loader import load_catalog
from sandbox.catalog.scenarios import ApplyStep, CleanupStep, RequestStep, WaitStep
from sandbox.errors import ScenarioError
from sandbox.profiles import builtin_dir
from tests.conftest import REPO

GOOD = """\
id: my-scenario
title: Mine
summary: s
security: t
steps:
  - title: Apply
    apply: [manifests/route.yaml]
  - title: Ask
    request:
      path: /openai
    expect: {status: 200}
"""
ROUTE = """\
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: kgateway-system}
spec: {}
"""


def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text)
    return path


def test_builtin_scenarios_come_in_teaching_order() -> None:
    catalog = load_catalog()
    assert catalog.ids == ("setup", "inline", "secret", "passthrough")
    secret = catalog.get("secret")
    kinds = [type(s) for s in secret.steps]
    assert ApplyStep in kinds and WaitStep in kinds and RequestStep in kinds
    assert isinstance(secret.steps[-1], CleanupStep)
    assert all(s.summary and s.security for s in catalog.scenarios)


def test_an_extra_directory_adds_its_scenarios(tmp_path: Path) -> None:
    write(tmp_path / "manifests", "route.yaml", ROUTE)
    write(tmp_path, "mine.yaml", GOOD)
    catalog = load_catalog([tmp_path])
    assert catalog.ids[-1] == "my-scenario"
    assert catalog.get("my-scenario").source == tmp_path / "mine.yaml"


@pytest.mark.parametrize(("text", "line", "reason"), ids=[
    "typo-key", "bad-yaml", "missing-template", "bad-status", "unknown-variable",
    "two-actions", "bad-resource", "manifest-not-scenario"], argvalues=[
    (GOOD.replace("title: Mine", "titel: Mine"), 2, "unknown key 'titel'"),
    (GOOD.replace("expect: {status: 200}", "expect: {status: 200"), 12, "not valid YAML"),
    (GOOD.replace("[manifests/route.yaml]", "[nope.yaml]"), 7,
     "manifest template 'nope.yaml' not found"),
    (GOOD.replace("expect: {status: 200}", "expect: {status: 9000}"), 11, "HTTP status code"),
    (GOOD.replace("path: /openai", "path: /${nope}"), 5, "${nope}, which is not a declared"),
    (GOOD.replace("    apply: [manifests/route.yaml]\n",
                  "    apply: [manifests/route.yaml]\n    cleanup: true\n"),
     6, "has several actions"),
    (GOOD + "  - title: Wait\n    wait:\n      - resource: Backend\n        conditions: "
     "{Accepted: yes}\n", 14, "must be written Kind/name"),
    (ROUTE, 1, "this is a Kubernetes manifest, not a scenario"),
])
def test_each_problem_is_reported_with_file_line_and_reason(
        tmp_path: Path, text: str, line: int, reason: str) -> None:
    write(tmp_path / "manifests", "route.yaml", ROUTE)
    path = write(tmp_path, "broken.yaml", text)
    with pytest.raises(ScenarioError) as caught:
        load_catalog([tmp_path])
    problems = [p for p in caught.value.problems if p.path == str(path)]
    assert any(reason in p.reason and p.line == line for p in problems), problems


def test_every_broken_file_is_reported_not_just_the_first(tmp_path: Path) -> None:
    write(tmp_path / "manifests", "route.yaml", ROUTE)
    write(tmp_path, "a.yaml", GOOD.replace("id: my-scenario", "id: a").replace("title:", "x:"))
    write(tmp_path, "b.yaml", "id: b\n  bad: [indent")
    write(tmp_path, "c.yaml", GOOD.replace("id: my-scenario", "id: inline"))
    with pytest.raises(ScenarioError) as caught:
        load_catalog([tmp_path])
    paths = {Path(p.path).name for p in caught.value.problems}
    assert paths == {"a.yaml", "b.yaml", "c.yaml"}
    message = str(caught.value)
    assert "already used by" in message and "b.yaml:2" in message


def test_a_missing_or_empty_directory_is_an_error_not_a_silent_skip(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="not a directory"):
        load_catalog([tmp_path / "missing"])
    with pytest.raises(ScenarioError, match=r"no \*\.yaml scenario files"):
        load_catalog([tmp_path])


def test_template_with_a_mismatched_auth_token_is_reported(tmp_path: Path) -> None:
    shutil.copytree(REPO / "scenarios", tmp_path / "copy")
    template = tmp_path / "copy" / "manifests" / "backend-inline.yaml"
    template.write_text(template.read_text().replace("inline: ${token}", "secretRef: {name: x}"))
    with pytest.raises(ScenarioError, match="kind is Inline but"):
        load_catalog([tmp_path / "copy"], include_builtin=False)


def test_builtin_dir_is_the_repository_scenarios_in_a_checkout() -> None:
    assert (builtin_dir() / "inline.yaml").is_file()


def test_what_a_scenario_needs_is_declared_in_its_file() -> None:
    catalog = load_catalog()
    for scenario_id in ("inline", "secret", "passthrough"):
        assert catalog.get(scenario_id).needs == ("setup",)
        assert [s.id for s in catalog.prerequisites(catalog.get(scenario_id))] == ["setup"]
    assert catalog.prerequisites(catalog.get("setup")) == []


def test_needs_run_in_order_transitively(tmp_path: Path) -> None:
    write(tmp_path / "manifests", "route.yaml", ROUTE)
    write(tmp_path, "a.yaml", GOOD.replace("my-scenario", "first"))
    write(tmp_path, "b.yaml", GOOD.replace("id: my-scenario", "id: second\nneeds: [first]"))
    write(tmp_path, "c.yaml", GOOD.replace("id: my-scenario", "id: third\nneeds: [second, c2]"))
    write(tmp_path, "d.yaml", GOOD.replace("id: my-scenario", "id: c2\nneeds: [first]"))
    catalog = load_catalog([tmp_path], include_builtin=False)
    assert [s.id for s in catalog.prerequisites(catalog.get("third"))] == ["first", "second",
                                                                          "c2"]


@pytest.mark.parametrize(("needs", "problem"), [
    ("[nosuch]", "'needs' names 'nosuch', which no scenario has as its id"),
    ("[My Setup]", "'needs' lists scenario ids, not 'My Setup'"),
    ("[my-scenario]", "a scenario cannot need itself"),
])
def test_a_wrong_need_is_reported_with_its_file(tmp_path: Path, needs: str,
                                                problem: str) -> None:
    write(tmp_path / "manifests", "route.yaml", ROUTE)
    path = write(tmp_path, "s.yaml", GOOD.replace("summary: s", f"needs: {needs}\nsummary: s"))
    with pytest.raises(ScenarioError) as caught:
        load_catalog([tmp_path], include_builtin=False)
    assert problem in str(caught.value) and str(path) in str(caught.value)
