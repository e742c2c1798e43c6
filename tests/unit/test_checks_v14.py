"""The sandbox's own checks catch AgentgatewayBackend mistakes that only CEL would refuse."""

from __future__ import annotations

from sandbox.catalog import checks
from tests.helpers import agw_backend


def test_two_auth_modes_at_once_are_named() -> None:
    [problem] = checks.lint(agw_backend({"key": "sk-test-1", "passthrough": {}}))
    assert "key and passthrough" in problem and "keep exactly one" in problem


def test_a_secret_ref_without_a_name_is_named() -> None:
    [problem] = checks.lint(agw_backend({"secretRef": {"key": "api-key"}}))
    assert "secretRef.name is not set" in problem


def test_host_without_port_is_named() -> None:
    doc = agw_backend({"passthrough": {}}, host="mock", port=None)
    del doc["spec"]["ai"]["provider"]["port"]
    [problem] = checks.lint(doc)
    assert "host and port" in problem


def test_the_docs_shapes_pass() -> None:
    for auth in ({"key": "sk-test-1"}, {"key": ""}, {"secretRef": {"name": "openai-secret"}},
                 {"passthrough": {}}, None):
        assert checks.lint(agw_backend(auth)) == []
        assert checks.lint(agw_backend(auth, "mock-provider", 8000)) == []
