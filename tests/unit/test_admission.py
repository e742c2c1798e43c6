"""The simulated API server refuses what the real one refuses, with the same wording."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from sandbox.checks import lint
from sandbox.errors import ManifestRejected
from sandbox.sim.admission import admit
from tests.conftest import TOKEN
from tests.helpers import GATEWAY, backend, route, secret

Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = doc
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        if value is None:
            del node[last]
        else:
            node[last] = value
    return mutate


INLINE = backend({"kind": "Inline", "inline": TOKEN})
# (manifest, mutation, fragment of the API server's message, caught by the structural schema)
REJECTED = [
    (INLINE, _set("spec.ai.llm.openai.authToken.kind", "Secret"),
     'authToken.kind: Unsupported value: "Secret"', True),
    (INLINE, _set("spec.ai.llm.openai.authToken", {"inline": TOKEN}),
     "authToken.kind: Required value", True),
    (INLINE, _set("spec.ai.llm.openai.authtoken", {"kind": "Inline"}),
     '.spec.ai.llm.openai.authtoken: field not declared in schema', False),
    (INLINE, _set("spec.type", None), "spec.type: Required value", True),
    (INLINE, _set("spec.ai.llm.host", "mock"), "both host and port must be set together", False),
    (INLINE, _set("spec.ai.llm.port", "8000"), "must be of type integer", True),
    (INLINE, _set("spec.ai.llm.anthropic", {"authToken": {"kind": "Passthrough"}}),
     "exactly one of the fields in [openai azureopenai", False),
    (INLINE, _set("spec.ai.llm.openai.authToken.secretRef", {"name": "x"}),
     "at most one of the fields in [inline secretRef]", False),
    (INLINE, _set("spec.ai", None), "ai backend must be specified when type is 'AI'", False),
    (route(), _set("spec.rules.0.matches.0.path.type", "Prefix"),
     'Unsupported value: "Prefix"', True),
    (route(), _set("spec.rules.0.filters.0.urlRewrite.path.type", "ReplacePrefixMatch"),
     "replacePrefixMatch must be specified", False),
    (route(), _set("spec.rules.0.backendRefs.0.port", 70000),
     "less than or equal to 65535", True),
    (GATEWAY, _set("spec.listeners.0.port", None), "listeners[0].port: Required value", True),
    (GATEWAY, _set("spec.gatewayClassName", None), "gatewayClassName: Required value", True),
    (GATEWAY, _set("metadata.name", "Agent_Gateway"), "RFC 1123", False),
]


@pytest.mark.parametrize(("doc", "mutate", "message", "structural"), REJECTED,
                         ids=[m for _, _, m, _ in REJECTED])
def test_invalid_manifests_are_rejected_like_the_api_server(
        doc: dict[str, Any], mutate: Mutation, message: str, structural: bool) -> None:
    broken = copy.deepcopy(doc)
    mutate(broken)
    with pytest.raises(ManifestRejected) as caught:
        admit(broken)
    assert message in caught.value.message
    assert caught.value.hint


@functools.cache
def _schema(crds: Path, kind: str) -> dict[str, Any]:
    name = {"Backend": "gateway.kgateway.dev_backends.yaml",
            "HTTPRoute": "gateway.networking.k8s.io_httproutes.yaml",
            "Gateway": "gateway.networking.k8s.io_gateways.yaml"}[kind]
    crd = yaml.safe_load((crds / name).read_text())
    return next(v["schema"]["openAPIV3Schema"] for v in crd["spec"]["versions"] if v["storage"])


@pytest.mark.parametrize(("doc", "mutate", "message", "structural"),
                         [r for r in REJECTED if r[3]], ids=[r[2] for r in REJECTED if r[3]])
def test_the_real_crd_schema_rejects_them_too(crds: Path, doc: dict[str, Any], mutate: Mutation,
                                              message: str, structural: bool) -> None:
    broken = copy.deepcopy(doc)
    mutate(broken)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(_schema(crds, broken["kind"])).validate(broken)


@pytest.mark.parametrize("doc", [INLINE, route(), GATEWAY, secret(TOKEN),
                                 backend({"kind": "Passthrough"}, "127.0.0.1", 8000)])
def test_valid_manifests_are_admitted_and_pass_the_real_schema(
        crds: Path, doc: dict[str, Any]) -> None:
    assert admit(doc).kind == doc["kind"]
    if doc["kind"] != "Secret":
        jsonschema.Draft7Validator(_schema(crds, doc["kind"])).validate(doc)


def test_unknown_kind_names_what_the_cluster_knows() -> None:
    with pytest.raises(ManifestRejected, match='no matches for kind "Bakend"') as caught:
        admit({**INLINE, "kind": "Bakend"})
    assert "Backend (gateway.kgateway.dev/v1alpha1)" in caught.value.hint


def test_secret_data_must_be_base64() -> None:
    bad = {**secret(TOKEN), "data": {"Authorization": "not base64!"}}
    del bad["stringData"]
    with pytest.raises(ManifestRejected, match="illegal base64"):
        admit(bad)


@pytest.mark.parametrize(("doc", "fragment"), [
    (backend({"kind": "Inline"}), "kind is Inline but spec.ai.llm.openai.authToken.inline is"),
    (backend({"kind": "SecretRef"}), "secretRef.name is not set"),
    (backend({"kind": "Passthrough", "inline": TOKEN}), "kind is Passthrough"),
    (backend({"kind": "SecretRef", "secretRef": {"name": "s"}, "inline": "x"}),
     "remove inline"),
    (route(port=8080), "sets a port"),
    (secret(TOKEN, key="authorization"), "case-sensitive"),
])
def test_the_sandbox_catches_what_the_api_server_lets_through(
        doc: dict[str, Any], fragment: str) -> None:
    assert any(fragment in problem for problem in lint(doc))


def test_lint_is_quiet_for_the_guide_manifests() -> None:
    for doc in (INLINE, backend({"kind": "Passthrough"}), route(), secret(TOKEN), GATEWAY):
        assert lint(doc) == []
