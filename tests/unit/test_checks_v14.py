"""Load-time checks speak like the API server, or say they are the sandbox's own.

A few AgentgatewayBackend CRD rules are checked when a scenario folder loads; their messages are
exactly what the API server (and so the sim's admission) says for the same manifest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from sandbox.catalog import checks
from sandbox.catalog.loader import load_catalog
from sandbox.errors import ManifestRejected, ScenarioError
from sandbox.runtimes.sim.admission import admit
from tests.helpers import agw_backend, backend

AT_MOST_ONE = ('AgentgatewayBackend.agentgateway.dev "openai" is invalid: spec.policies.auth: '
               'Invalid value: "object": at most one of the fields in [key secretRef passthrough '
               'aws azure gcp oauthTokenExchange crossAppAccess] may be set')


def api_servers_words(doc: dict[str, Any], profile: str = "agentgateway-v1.4") -> str:
    with pytest.raises(ManifestRejected) as caught:
        admit(doc, profile=profile)
    return caught.value.message


def test_two_auth_modes_at_once_read_as_the_api_server_refuses_them() -> None:
    doc = agw_backend({"key": "sk-test-1", "secretRef": {"name": "openai-secret"}})
    [problem] = checks.lint(doc)
    assert problem == AT_MOST_ONE == api_servers_words(doc)


def test_host_without_port_reads_as_the_api_server_refuses_it() -> None:
    doc = agw_backend({"passthrough": {}}, host="mock", port=None)
    del doc["spec"]["ai"]["provider"]["port"]
    [problem] = checks.lint(doc)
    assert problem == api_servers_words(doc)
    assert problem.endswith("both host and port must be set together")


def test_a_secret_ref_without_a_name_reads_as_the_api_server_refuses_it() -> None:
    doc = agw_backend({"secretRef": {"key": "api-key"}})
    [problem] = checks.lint(doc)
    assert problem == api_servers_words(doc)
    assert problem.startswith('AgentgatewayBackend.agentgateway.dev "openai" is invalid: '
                              "[spec.policies.auth.secretRef.name: Required value, ")


def test_inline_and_secret_ref_together_read_as_the_api_server_refuses_them() -> None:
    doc = backend({"kind": "SecretRef", "secretRef": {"name": "s"}, "inline": "x"})
    [problem] = checks.lint(doc)
    assert problem == api_servers_words(doc, "kgateway-v2.1")


def test_the_sandboxs_own_checks_say_so() -> None:
    [problem] = checks.lint(backend({"kind": "Inline"}))
    assert problem.startswith(f"{checks.LABEL}: spec.ai.llm.openai.authToken.kind is Inline")


def test_the_docs_shapes_pass() -> None:
    for auth in ({"key": "sk-test-1"}, {"key": ""}, {"secretRef": {"name": "openai-secret"}},
                 {"passthrough": {}}, None):
        assert checks.lint(agw_backend(auth)) == []
        assert checks.lint(agw_backend(auth, "mock-provider", 8000)) == []


def test_a_scenario_folder_breaking_a_crd_rule_is_refused_in_the_api_servers_words(
        tmp_path: Path) -> None:
    folder = tmp_path / "agentgateway-v1.4"
    (folder / "manifests").mkdir(parents=True)
    (folder / "manifests" / "backend.yaml").write_text(yaml.safe_dump(agw_backend(
        {"key": "${token}", "secretRef": {"name": "openai-secret"}})))
    (folder / "both.yaml").write_text(yaml.safe_dump({
        "id": "both", "title": "Both", "summary": "s", "security": "s",
        "profile": "agentgateway-v1.4",
        "steps": [{"id": "apply", "title": "Apply", "apply": ["manifests/backend.yaml"]}]}))
    with pytest.raises(ScenarioError) as caught:
        load_catalog([tmp_path], include_builtin=False, profile="agentgateway-v1.4")
    assert AT_MOST_ONE in str(caught.value)
    assert "keep exactly one" not in str(caught.value)
