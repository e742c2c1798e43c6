"""The simulated API server refuses what the real one refuses, with the same wording."""

from __future__ import annotations

import copy
import functools
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from sandbox.catalog import checks
from sandbox.catalog.checks import lint
from sandbox.catalog.loader import load_catalog
from sandbox.catalog.scenarios import Scenario
from sandbox.errors import ManifestRejected
from sandbox.profiles import DEFAULT_PROFILE
from sandbox.runtimes.sim.admission import admit, kind_of, unevaluable_rules, validate
from sandbox.runtimes.sim.cel_rules import check_rule, unevaluable
from sandbox.runtimes.sim.control import SimCluster
from sandbox.runtimes.sim.runtime import SimRuntime
from sandbox.settings import Settings
from sandbox.tui.session import Session
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
    (INLINE, _set("spec.ai.llm.port", "8000"), "expected numeric (int or float), got string",
     True),
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


# (mutation of INLINE, the API server's message or a part of it)
WORDED = [
    (_set("spec.ai.llm.openai.authToken.kind", "Secret"),
     'Backend.gateway.kgateway.dev "openai" is invalid: [spec.ai.llm.openai.authToken.kind: '
     'Unsupported value: "Secret": supported values: "Inline", "SecretRef", "Passthrough", '
     '<nil>: Invalid value: null: some validation rules were not checked because the object '
     "was invalid; correct the existing errors to complete validation]"),
    (_set("spec.ai.llm.host", "mock"),
     'Backend.gateway.kgateway.dev "openai" is invalid: spec.ai.llm: Invalid value: "object": '
     "both host and port must be set together"),
    (_set("spec.ai.llm.openai.authtoken", {"kind": "Inline"}),
     "failed to create typed patch object (kgateway-system/openai; "
     "gateway.kgateway.dev/v1alpha1, Kind=Backend): .spec.ai.llm.openai.authtoken: field not "
     "declared in schema"),
    (_set("spec.ai.llm.openai.model", 4),
     ".spec.ai.llm.openai.model: expected string, got &value.valueUnstructured{Value:4}"),
    (_set("spec.ai.llm.port", "8000"),
     ".spec.ai.llm.port: expected numeric (int or float), got string"),
    (_set("spec.ai.llm.openai.authToken", "Inline"),
     ".spec.ai.llm.openai.authToken: expected map, got &{Inline}"),
    (_set("metadata.name", "x" * 254),
     'metadata.name: Invalid value: "' + "x" * 254 + '": must be no more than 253 characters'),
]


@pytest.mark.parametrize(("mutate", "message"), WORDED)
def test_refusals_are_worded_as_the_api_server_words_them(mutate: Mutation, message: str
                                                          ) -> None:
    broken = copy.deepcopy(INLINE)
    mutate(broken)
    with pytest.raises(ManifestRejected) as caught:
        admit(broken)
    assert message in caught.value.message


def test_duplicate_list_map_keys_stop_server_side_apply() -> None:
    broken = copy.deepcopy(GATEWAY)
    broken["spec"]["listeners"].append({"name": "http", "port": 8081, "protocol": "HTTP"})
    with pytest.raises(ManifestRejected) as caught:
        admit(broken)
    assert caught.value.message == (
        "failed to create typed patch object (kgateway-system/agentgateway; "
        "gateway.networking.k8s.io/v1, Kind=Gateway): .spec.listeners: duplicate entries for "
        'key [name="http"]')


def test_an_empty_value_is_refused_where_the_schema_does_not_allow_null() -> None:
    """Server-side apply keeps a null (``port:`` with nothing after it) and validation refuses
    it, in kube-apiserver v1.34.3's words; a null where the schema has a default gets it."""
    edited = copy.deepcopy(INLINE)
    edited["spec"]["ai"]["llm"].update(host="mock", port=None)
    with pytest.raises(ManifestRejected) as caught:
        admit(edited)
    assert caught.value.message == (
        'Backend.gateway.kgateway.dev "openai" is invalid: [spec.ai.llm.port: Invalid value: '
        '"null": spec.ai.llm.port in body must be of type integer: "null", <nil>: Invalid value: '
        "null: some validation rules were not checked because the object was invalid; correct "
        "the existing errors to complete validation]")
    defaulted = route()
    defaulted["spec"]["rules"][0]["backendRefs"][0]["weight"] = None
    assert admit(defaulted).object["spec"]["rules"][0]["backendRefs"][0]["weight"] == 1


def test_a_rule_with_a_field_path_names_that_field() -> None:
    rule = {"rule": "has(self.a)", "message": "a is required", "fieldPath": ".a"}
    found = check_rule(rule, {}, None, "object", "spec.x")
    assert str(found) == 'spec.x.a: Invalid value: "object": a is required'
    found = check_rule({"rule": "false", "reason": "FieldValueForbidden"}, {}, None, "object",
                        "")
    assert str(found) == "<nil>: Forbidden: failed rule: false"


def test_a_rule_that_fails_to_evaluate_refuses_the_object_and_says_why() -> None:
    found = check_rule({"rule": "self.a.b == 1", "message": "b must be 1"}, {"c": 1}, None,
                       "object", "spec.x")
    assert str(found) == 'spec.x: Invalid value: "object": no such key: a evaluating rule: ' \
        "b must be 1"
    found = check_rule({"rule": "self + 1 == 2"}, "1", None, "string", "spec.y")
    assert str(found).startswith('spec.y: Invalid value: "string": \'no such overload\'')


def test_several_refusals_are_listed_in_brackets() -> None:
    broken = copy.deepcopy(INLINE)
    broken["spec"]["type"] = "Ai"
    del broken["spec"]["ai"]["llm"]["openai"]["authToken"]["kind"]
    with pytest.raises(ManifestRejected) as caught:
        admit(broken)
    assert caught.value.message.startswith(
        'Backend.gateway.kgateway.dev "openai" is invalid: [spec.ai.llm.openai.authToken.kind: '
        'Required value, spec.type: Unsupported value: "Ai": supported values: "AI", "AWS"')


def test_the_structural_wording_for_a_type_validated_without_apply() -> None:
    broken = copy.deepcopy(INLINE)
    broken["spec"]["ai"]["llm"]["openai"]["model"] = 4
    schema = kind_of(broken).schema
    assert str(validate(broken, schema)[0]) == (
        'spec.ai.llm.openai.model: Invalid value: "integer": spec.ai.llm.openai.model in body '
        'must be of type string: "integer"')


def test_too_long_values_are_refused_without_echoing_them() -> None:
    broken = route()
    broken["spec"]["parentRefs"][0]["name"] = "p" * 254
    with pytest.raises(ManifestRejected) as caught:
        admit(broken)
    assert "spec.parentRefs[0].name: Too long: may not be more than 253 bytes" in \
        caught.value.message
    assert "p" * 254 not in caught.value.message


def test_the_schema_defaults_are_applied_before_the_object_is_stored() -> None:
    cluster = SimCluster(DEFAULT_PROFILE)
    cluster.apply(route())
    stored = cluster.get("HTTPRoute", "kgateway-system", "openai")
    assert stored is not None
    assert stored["spec"]["parentRefs"][0]["group"] == "gateway.networking.k8s.io"
    assert stored["spec"]["parentRefs"][0]["kind"] == "Gateway"
    assert stored["spec"]["rules"][0]["backendRefs"][0]["weight"] == 1
    listener = {**GATEWAY["spec"]["listeners"][0]}  # type: ignore[index]
    del listener["allowedRoutes"]
    cluster.apply({**GATEWAY, "spec": {"gatewayClassName": "agentgateway",
                                       "listeners": [listener]}})
    gateway = cluster.get("Gateway", "kgateway-system", "agentgateway")
    assert gateway is not None
    assert gateway["spec"]["listeners"][0]["allowedRoutes"] == {
        "namespaces": {"from": "Same"}}


def test_a_transition_rule_refuses_an_update_but_not_a_create() -> None:
    cluster = SimCluster(DEFAULT_PROFILE)
    gateway_class = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass",
                     "metadata": {"name": "other"}, "spec": {"controllerName": "example.com/a"}}
    cluster.apply(gateway_class)
    changed = copy.deepcopy(gateway_class)
    changed["spec"]["controllerName"] = "example.com/b"
    with pytest.raises(ManifestRejected) as caught:
        cluster.apply(changed)
    assert caught.value.message == (
        'GatewayClass.gateway.networking.k8s.io "other" is invalid: spec.controllerName: '
        'Invalid value: "string": Value is immutable')
    assert admit(changed).kind == "GatewayClass"  # no old object: a create


# Rules the CEL library cannot evaluate here. Admission refuses an object whose rule fails to
# evaluate (as the API server reports an evaluation error), so this list may only shrink.
UNEVALUABLE: list[str] = []


def test_every_rule_in_the_package_data_can_be_evaluated() -> None:
    assert unevaluable_rules() == UNEVALUABLE


def test_an_unknown_function_is_reported_as_unevaluable() -> None:
    assert unevaluable("self.isPalindrome()") == "unknown functions: isPalindrome"
    assert unevaluable("self.quantity(") is not None
    assert unevaluable("self.all(k, k.split('/')[0].size() < 253)") is None


@pytest.mark.parametrize(("rule", "value", "holds"), [
    ("!quantity(string(self)).isLessThan(quantity('16384'))", 16384, True),
    ("!quantity(string(self)).isLessThan(quantity('16384'))", "16Ki", True),
    ("!quantity(string(self)).isLessThan(quantity('16384'))", "16k", False),
    ("!quantity(string(self)).isGreaterThan(quantity('1677215'))", "1Mi", True),
    ("duration(self) >= duration('100ms')", "1s", True),
    ("duration(self) >= duration('100ms')", "50ms", False),
    ("self.all(key, key.split('/')[0].size() < 253)", {"a/b": "c"}, True),
    ("self.indexOf('*') == self.lastIndexOf('*')", "*.a.*", False),
    ("isURL(self)", "https://example.com/x", True),
    ("isURL(self)", "not a url", False),
])
def test_the_kubernetes_cel_extensions(rule: str, value: Any, holds: bool) -> None:
    found = check_rule({"rule": rule, "message": "no"}, value, None, "string", "spec.x")
    assert (found is None) == holds, found


def test_schema_facts_are_loaded_lazily_not_at_app_start() -> None:
    """Admission, the cluster client and HTTP are not paid for before the first screen."""
    code = ("import sys, sandbox.cli, sandbox.tui.app, sandbox.tui.session; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('jsonschema', 'cel', 'celpy', 'httpx', 'kubernetes', 'docker')))")
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "[]"
    assert "jsonschema" not in out.stderr


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
    name = {"Backend": "kgateway-v2.1/gateway.kgateway.dev_backends.yaml",
            "HTTPRoute": "gateway-api-v1.4.0/gateway.networking.k8s.io_httproutes.yaml",
            "Gateway": "gateway-api-v1.4.0/gateway.networking.k8s.io_gateways.yaml"}[kind]
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
    with pytest.raises(ManifestRejected) as caught:
        admit(bad)
    assert caught.value.message == (
        "failed to convert new object (kgateway-system/openai-secret; /v1, Kind=Secret) to "
        "proper version: unable to convert unstructured object to /v1, Kind=Secret: error "
        "decoding from json: illegal base64 data at input byte 3")
    assert "stringData" in caught.value.hint


@pytest.mark.parametrize(("doc", "fragment"), [
    (backend({"kind": "Inline"}), "kind is Inline but spec.ai.llm.openai.authToken.inline is"),
    (backend({"kind": "SecretRef"}), "secretRef.name is not set"),
    (backend({"kind": "Passthrough", "inline": TOKEN}), "kind is Passthrough"),
    (backend({"kind": "Inline", "secretRef": {"name": "s"}}), "kind is Inline but"),
    (route(port=8080), "sets a port"),
    (secret(TOKEN, key="authorization"), "case-sensitive"),
])
def test_the_sandbox_catches_what_the_api_server_lets_through(
        doc: dict[str, Any], fragment: str) -> None:
    admit(doc)  # the API server would take it
    assert any(fragment in problem and problem.startswith(checks.LABEL)
               for problem in lint(doc))


def test_lint_is_quiet_for_the_guide_manifests() -> None:
    for doc in (INLINE, backend({"kind": "Passthrough"}), route(), secret(TOKEN), GATEWAY):
        assert lint(doc) == []


def _edit_session() -> tuple[Session, Scenario]:
    catalog = load_catalog()
    runtime = SimRuntime(DEFAULT_PROFILE, 0, "mock", [TOKEN], token_delay=0.0)
    session = Session(Settings(runtime="sim", port=0, token=TOKEN), catalog, runtime,
                      lambda event: None)
    return session, catalog.get("inline")


def test_the_edit_dialog_shows_the_api_servers_words_for_a_schema_refusal() -> None:
    session, scenario = _edit_session()
    text = yaml.safe_dump(INLINE).replace("kind: Inline", "kind: inline")
    with pytest.raises(ManifestRejected) as caught:
        session.parse_edit(scenario, text)
    assert caught.value.message.startswith(
        'Backend.gateway.kgateway.dev "openai" is invalid: [spec.ai.llm.openai.authToken.kind: '
        'Unsupported value: "inline": supported values: "Inline", "SecretRef", "Passthrough"')
    assert checks.LABEL not in caught.value.message


def test_the_edit_dialog_labels_the_sandboxs_own_checks() -> None:
    session, scenario = _edit_session()
    doc = backend({"kind": "Inline"})
    with pytest.raises(ManifestRejected) as caught:
        session.parse_edit(scenario, yaml.safe_dump(doc))
    assert caught.value.message.startswith(f"{checks.LABEL}: spec.ai.llm.openai.authToken.kind "
                                           "is Inline but")


@pytest.mark.parametrize("edit", [
    ("inline: ${token}", "inline:\n            - ${token}"),  # a list where a string goes
    ("inline: ${token}", "inline: {k: \"${token}\"}"),
    ("kind: Inline", "kind: ${token}"),  # an enum the API server quotes back
])
def test_the_edit_dialog_never_shows_the_key_the_api_server_quotes(
        edit: tuple[str, str]) -> None:
    """The API server's words quote the refused value: with the key filled in, it is the key."""
    session, scenario = _edit_session()
    text = (scenario.source.parent / "manifests" / "backend-inline.yaml").read_text()
    assert edit[0] in text
    with pytest.raises(ManifestRejected) as caught:
        session.parse_edit(scenario, text.replace(edit[0], edit[1]))
    shown = caught.value.message + caught.value.hint
    assert TOKEN not in shown and TOKEN[-4:] in shown  # there, but masked


def test_admission_loads_the_cel_evaluator_without_its_command_line() -> None:
    """`import cel` pulls its REPL (prompt_toolkit, typer) in: the sim never pays for it."""
    code = ("import sys; from sandbox.runtimes.sim.admission import admit; "
            "admit({'apiVersion': 'gateway.networking.k8s.io/v1', 'kind': 'HTTPRoute', "
            "'metadata': {'name': 'r', 'namespace': 'kgateway-system'}, 'spec': {}}); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('prompt_toolkit', 'typer', 'click')), 'cel.cel' in sys.modules, "
            "sys.modules['cel.cli'].__doc__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ("[] True not loaded: the sandbox evaluates CEL, it does not run "
                                  "the CEL REPL")


def test_each_kind_s_validator_is_built_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from sandbox.runtimes.sim import structural

    built: list[object] = []
    real = structural._validator_class()
    monkeypatch.setattr(structural, "_VALIDATORS", {})
    monkeypatch.setattr(structural, "_validator_class",
                        lambda: lambda *a, **k: built.append(a) or real(*a, **k))
    route = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
             "metadata": {"name": "r", "namespace": "kgateway-system"}, "spec": {}}
    for name in ("one", "two", "three"):
        admit({**route, "metadata": {**route["metadata"], "name": name}})
    admit({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}})
    assert len(built) == 2  # one HTTPRoute validator for three routes, one for the Secret
