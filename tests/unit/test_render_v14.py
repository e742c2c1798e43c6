"""The agentgateway-v1.4 scenarios render the docs' manifests, valid for the v1.4.1 CRDs."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from sandbox.catalog.scenario_file import load_file
from sandbox.catalog.scenarios import ApplyStep, Scenario
from sandbox.errors import Problem
from sandbox.profiles import AGENTGATEWAY_V1_4, builtin_dir
from sandbox.walkthrough.render import make_context, render_manifest, upstream_note
from tests.conftest import CRDS, TOKEN
from tests.helpers import AGW_GATEWAY, agw_backend, agw_route, agw_secret

IDS = ("setup", "inline", "secret", "passthrough")


@functools.cache
def scenario(scenario_id: str) -> Scenario:
    problems: list[Problem] = []
    found = load_file(builtin_dir() / AGENTGATEWAY_V1_4.scenario_dir / f"{scenario_id}.yaml",
                      problems)
    assert found is not None, problems
    return found


def rendered(scenario_id: str, provider: str = "openai",
             upstream: tuple[str, int] | None = None) -> list[dict[str, Any]]:
    ctx = make_context(scenario(scenario_id), TOKEN, provider, upstream)
    return [doc for step in scenario(scenario_id).steps if isinstance(step, ApplyStep)
            for m in step.manifests for doc in render_manifest(m, ctx)]


def test_every_scenario_is_written_for_the_profile() -> None:
    assert {scenario(i).profile for i in IDS} == {"agentgateway-v1.4"}


def test_setup_renders_the_docs_gateway() -> None:
    assert rendered("setup") == [AGW_GATEWAY]


def test_inline_renders_the_docs_backend_and_rewriting_route() -> None:
    backend, http_route = rendered("inline")
    assert backend["spec"]["policies"]["auth"] == {"key": TOKEN}
    assert backend["spec"]["ai"] == {"provider": {"openai": {"model": "gpt-3.5-turbo"}}}
    assert backend["spec"]["policies"]["ai"]["routes"]["/v1/chat/completions"] == "Completions"
    assert http_route == agw_route(rewrite=True)


def test_secret_and_passthrough_render_the_docs_manifests() -> None:
    no_path = agw_backend(None)
    assert rendered("secret") == [
        {**no_path, "spec": {**no_path["spec"], "policies": {"auth": {
            "secretRef": {"name": "openai-secret"}}}}},
        agw_route(), agw_secret(TOKEN)]
    assert rendered("passthrough") == [agw_backend({"passthrough": {}}), agw_route()]


def test_the_mock_provider_adds_host_port_and_the_chat_path() -> None:
    documented = rendered("secret")[0]
    with_mock = rendered("secret", "mock", ("mock-provider.agentgateway-system", 8000))[0]
    provider = with_mock["spec"]["ai"]["provider"]
    assert (provider.pop("host"), provider.pop("port"), provider.pop("path")) == (
        "mock-provider.agentgateway-system", 8000, "/v1/chat/completions")
    assert with_mock == documented
    ctx = make_context(scenario("secret"), TOKEN, "mock", ("127.0.0.1", 8000))
    assert "spec.ai.provider.host/port/path" in (upstream_note(ctx, [with_mock]) or "")


@functools.cache
def _schemas() -> dict[tuple[str, str], dict[str, Any]]:
    found = {}
    for folder in ("agentgateway-v1.4.1", "gateway-api-v1.6.0"):
        for path in (CRDS / folder).glob("*.yaml"):
            for crd in yaml.safe_load_all(path.read_text()):
                if not crd or crd.get("kind") != "CustomResourceDefinition":
                    continue
                group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
                for version in crd["spec"]["versions"]:
                    found[(f"{group}/{version['name']}", kind)] = (
                        version["schema"]["openAPIV3Schema"])
    return found


def _all_rendered() -> list[tuple[str, dict[str, Any]]]:
    return [(f"{i}/{provider}", doc) for i in IDS
            for provider, upstream in (("openai", None), ("mock", ("127.0.0.1", 8000)))
            for doc in rendered(i, provider, upstream)]


@pytest.mark.parametrize(("label", "doc"), _all_rendered(),
                         ids=[f"{label}:{doc['kind']}" for label, doc in _all_rendered()])
def test_every_rendered_manifest_validates_against_the_v1_4_1_and_v1_6_0_crds(
        crds: Path, label: str, doc: dict[str, Any]) -> None:
    if doc["kind"] == "Secret":
        return
    schema = _schemas()[(doc["apiVersion"], doc["kind"])]
    jsonschema.Draft7Validator(schema).validate(doc)


def test_the_scenarios_use_only_kinds_the_profile_installs(crds: Path) -> None:
    kinds = {(d["apiVersion"], d["kind"]) for _, d in _all_rendered() if d["kind"] != "Secret"}
    assert kinds == {("gateway.networking.k8s.io/v1", "Gateway"),
                     ("gateway.networking.k8s.io/v1", "HTTPRoute"),
                     ("agentgateway.dev/v1alpha1", "AgentgatewayBackend")}
    assert kinds <= set(_schemas())
