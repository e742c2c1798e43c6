"""Rendered manifests are the guide's resources, and valid for the real CRD schemas."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from sandbox.catalog.loader import load_catalog
from sandbox.catalog.scenarios import ApplyStep, RequestStep, Scenario
from sandbox.walkthrough.render import make_context, render_manifest, render_request
from tests.conftest import TOKEN
from tests.helpers import route

CATALOG = load_catalog()
LABELS = {"app": "agentgateway"}


def rendered(scenario_id: str, provider: str = "openai",
             upstream: tuple[str, int] | None = None) -> list[dict[str, Any]]:
    scenario = CATALOG.get(scenario_id)
    ctx = make_context(scenario, TOKEN, provider, upstream)
    return [doc for step in scenario.steps if isinstance(step, ApplyStep)
            for m in step.manifests for doc in render_manifest(m, ctx)]


def guide_backend(auth_token: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "gateway.kgateway.dev/v1alpha1", "kind": "Backend",
            "metadata": {"labels": LABELS, "name": "openai", "namespace": "kgateway-system"},
            "spec": {"type": "AI", "ai": {"llm": {"openai": {
                "authToken": auth_token, "model": "gpt-3.5-turbo"}}}}}


GUIDE_ROUTE = {**route(), "metadata": {"name": "openai", "namespace": "kgateway-system",
                                        "labels": LABELS}}


def test_inline_renders_the_guide_backend_and_route() -> None:
    assert rendered("inline") == [guide_backend({"kind": "Inline", "inline": TOKEN}), GUIDE_ROUTE]


def test_secret_renders_the_guide_backend_route_and_secret() -> None:
    backend, http_route, secret = rendered("secret")
    assert backend == guide_backend({"kind": "SecretRef", "secretRef": {"name": "openai-secret"}})
    assert http_route == GUIDE_ROUTE
    assert secret == {"apiVersion": "v1", "kind": "Secret", "metadata": {
        "name": "openai-secret", "namespace": "kgateway-system", "labels": LABELS},
        "type": "Opaque", "stringData": {"Authorization": TOKEN}}


def test_passthrough_renders_the_guide_backend() -> None:
    assert rendered("passthrough") == [guide_backend({"kind": "Passthrough"}), GUIDE_ROUTE]


def test_the_mock_provider_adds_only_host_and_port() -> None:
    documented = rendered("inline")[0]
    with_mock = rendered("inline", "mock", ("mock-provider.kgateway-system", 8000))[0]
    llm = with_mock["spec"]["ai"]["llm"]
    assert (llm.pop("host"), llm.pop("port")) == ("mock-provider.kgateway-system", 8000)
    assert with_mock == documented


def test_request_is_the_guides_curl_with_the_token_only_where_asked() -> None:
    scenario = CATALOG.get("passthrough")
    ctx = make_context(scenario, TOKEN, "mock", None)
    requests = [render_request(s.request, ctx) for s in scenario.steps
                if isinstance(s, RequestStep)]
    without, with_token = requests
    assert dict(without.headers) == {"content-type": "application/json"}
    assert dict(with_token.headers)["Authorization"] == f"Bearer {TOKEN}"
    assert with_token.path == "/openai" and with_token.method == "POST"
    assert b'"model": ""' in with_token.body  # type: ignore[operator]


@functools.cache
def _schemas(crds: Path) -> dict[tuple[str, str], dict[str, Any]]:
    found = {}
    for path in [*crds.glob("gateway-api-v1.4.0/*.yaml"), *crds.glob("kgateway-v2.1/*.yaml")]:
        crd = yaml.safe_load(path.read_text())
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            found[(f"{group}/{version['name']}", kind)] = version["schema"]["openAPIV3Schema"]
    return found


def _all_rendered() -> list[tuple[str, dict[str, Any]]]:
    docs = []
    for scenario in CATALOG.scenarios:
        for provider, upstream in (("openai", None), ("mock", ("127.0.0.1", 8000))):
            docs += [(f"{scenario.id}/{provider}", d) for d in
                     rendered(scenario.id, provider, upstream)]
    return docs


@pytest.mark.parametrize(("label", "doc"), _all_rendered(),
                         ids=[f"{lbl}:{d['kind']}" for lbl, d in _all_rendered()])
def test_every_rendered_manifest_validates_against_the_real_crd(
        crds: Path, label: str, doc: dict[str, Any]) -> None:
    if doc["kind"] == "Secret":
        assert set(doc) <= {"apiVersion", "kind", "metadata", "type", "stringData", "data"}
        return
    schema = _schemas(crds)[(doc["apiVersion"], doc["kind"])]
    jsonschema.Draft7Validator(schema).validate(doc)


def test_scenarios_cover_every_crd_kind_they_use(crds: Path) -> None:
    kinds = {d["kind"] for _, d in _all_rendered()} - {"Secret"}
    assert kinds == {"Gateway", "HTTPRoute", "Backend"}
    assert all(any(k == kind for (_, k) in _schemas(crds)) for kind in kinds)


def test_scenario_dataclass_is_frozen() -> None:
    scenario: Scenario = CATALOG.get("inline")
    with pytest.raises(AttributeError):
        scenario.id = "other"  # type: ignore[misc]
