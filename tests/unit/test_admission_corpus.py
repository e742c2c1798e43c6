"""The sim's admission agrees with the upstream CRD files on a corpus of manifests and mutations.

The oracle here validates each document directly against the project's copy of the upstream CRD
file (sandbox/runtimes/sim/crds, derived with only the prose left out) with the same libraries
(jsonschema for the structure, the CEL library for the rules), independently of the generated
package data and of admission's own walk.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cel
import jsonschema
import pytest
import yaml
from cel import stdlib

from sandbox.errors import ManifestRejected
from sandbox.runtimes.sim.admission import admit, kind_of
from sandbox.runtimes.sim.cel_rules import compile_rule
from sandbox.walkthrough.render import substitute
from tests.conftest import REPO, TOKEN

AGW = "agentgateway-v1.4"
KGW = "kgateway-v2.1"
MANIFESTS = REPO / "scenarios" / "manifests"
Mutation = Callable[[dict[str, Any]], None]


def scenario(name: str, host: str | None = None, port: int | None = None) -> dict[str, Any]:
    """A scenario manifest rendered as the runner renders it (the sim adds host/port)."""
    doc: dict[str, Any] = substitute(yaml.safe_load((MANIFESTS / name).read_text()),
                                     {"token": TOKEN})
    if host is not None:
        doc["spec"]["ai"]["llm"].update(host=host, port=port)
    return doc


def _walk(doc: Any, path: str) -> tuple[Any, str | int]:
    *parents, last = path.split(".")
    node = doc
    for key in parents:
        node = node[int(key)] if key.isdigit() else node[key]
    return node, int(last) if last.isdigit() else last


def put(path: str, value: Any) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        node, key = _walk(doc, path)
        if isinstance(node, list) and key == len(node):
            node.append(copy.deepcopy(value))
        else:
            node[key] = copy.deepcopy(value)
    return mutate


def drop(path: str) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        node, key = _walk(doc, path)
        del node[key]
    return mutate


def both(*mutations: Mutation) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        for mutation in mutations:
            mutation(doc)
    return mutate


def many_matches(doc: dict[str, Any]) -> None:
    rule = doc["spec"]["rules"][0]
    doc["spec"]["rules"] = [
        {**copy.deepcopy(rule), "matches": [{"path": {"type": "PathPrefix",
                                                     "value": f"/r{r}m{m}"}} for m in range(9)]}
        for r in range(16)]


@dataclass(frozen=True)
class Case:
    name: str
    doc: dict[str, Any]
    mutate: Mutation | None = None
    field: str | None = None  # the field a refusal names; None: accepted
    profile: str = KGW

    def document(self) -> dict[str, Any]:
        doc = copy.deepcopy(self.doc)
        if self.mutate is not None:
            self.mutate(doc)
        return doc


INLINE = scenario("backend-inline.yaml")
SECRET_REF = scenario("backend-secret.yaml")
ROUTE = scenario("httproute.yaml")
GATEWAY = scenario("gateway.yaml")
TOKEN_PATH = "spec.ai.llm.openai.authToken"
PATH = "spec.rules.0.matches.0.path"
REWRITE = "spec.rules.0.filters.0"
LISTENER = "spec.listeners.0"
AGW_BACKEND = {
    "apiVersion": "agentgateway.dev/v1alpha1", "kind": "AgentgatewayBackend",
    "metadata": {"name": "openai", "namespace": "agentgateway-system"},
    "spec": {"ai": {"provider": {"openai": {"model": "gpt-4o-mini"}}},
             "policies": {"auth": {"secretRef": {"name": "openai-secret"}}}},
}
LONG = "a" * 254
HTTP2 = {"name": "http2", "port": 8080, "protocol": "HTTP"}

CASES = [
    # the scenarios' own manifests, as documented and as the sim renders them
    *(Case(f"scenario {name}", scenario(name)) for name in sorted(
        p.name for p in MANIFESTS.glob("*.yaml")) if scenario(name)["kind"] != "Secret"),
    Case("scenario backend-inline with the mock upstream",
         scenario("backend-inline.yaml", "127.0.0.1", 8000)),
    Case("scenario backend-passthrough with the mock upstream",
         scenario("backend-passthrough.yaml", "mock", 8000)),
    # Backend
    Case("authToken kind misspelled", INLINE, put(f"{TOKEN_PATH}.kind", "inline"),
         f"{TOKEN_PATH}.kind"),
    Case("authToken kind missing", INLINE, drop(f"{TOKEN_PATH}.kind"), f"{TOKEN_PATH}.kind"),
    Case("authToken field typo", INLINE, put(f"{TOKEN_PATH}.inlin", "x"),
         f".{TOKEN_PATH}.inlin"),
    Case("authToken key typo", INLINE, both(drop(TOKEN_PATH),
                                             put("spec.ai.llm.openai.authtoken",
                                                 {"kind": "Inline"})),
         ".spec.ai.llm.openai.authtoken"),
    Case("both inline and secretRef", INLINE, put(f"{TOKEN_PATH}.secretRef", {"name": "s"}),
         TOKEN_PATH),
    # the API server lets an empty secretRef through (the sandbox's own checks catch it)
    Case("secretRef without name", SECRET_REF, put(f"{TOKEN_PATH}.secretRef", {})),
    Case("host without port", INLINE, put("spec.ai.llm.host", "mock"), "spec.ai.llm"),
    Case("port without host", INLINE, put("spec.ai.llm.port", 8000), "spec.ai.llm"),
    Case("port as a string", INLINE, both(put("spec.ai.llm.host", "mock"),
                                           put("spec.ai.llm.port", "8000")),
         "spec.ai.llm.port"),
    Case("two providers", INLINE, put("spec.ai.llm.anthropic",
                                      {"authToken": {"kind": "Passthrough"}}), "spec.ai.llm"),
    Case("no provider", INLINE, drop("spec.ai.llm.openai"), "spec.ai.llm"),
    Case("type missing", INLINE, drop("spec.type"), "spec.type"),
    Case("type wrong enum", INLINE, put("spec.type", "Ai"), "spec.type"),
    Case("type AI without ai", INLINE, both(drop("spec.ai"),
                                            put("spec.static", {"hosts": [
                                                {"host": "h", "port": 80}]})), "spec"),
    Case("two backend kinds", INLINE, put("spec.static", {"hosts": [{"host": "h", "port": 80}]}),
         "spec"),
    Case("llm and priorityGroups", INLINE, put("spec.ai.priorityGroups", [{"providers": [
        {"name": "p", "openai": {"authToken": {"kind": "Passthrough"}}}]}]), "spec.ai"),
    Case("ai without llm or priorityGroups", INLINE, put("spec.ai", {}), "spec.ai"),
    Case("spec missing", INLINE, drop("spec")),
    Case("unknown top-level field", INLINE, put("sepc", {}), ".sepc"),
    Case("unknown metadata field", INLINE, put("metadata.label", {"a": "b"}), ".metadata.label"),
    Case("model as a number", INLINE, put("spec.ai.llm.openai.model", 4), "spec.ai.llm.openai"
         ".model"),
    # HTTPRoute
    Case("path type Prefix", ROUTE, put(f"{PATH}.type", "Prefix"), f"{PATH}.type"),
    Case("path without leading slash", ROUTE, put(f"{PATH}.value", "openai"), PATH),
    Case("path with //", ROUTE, put(f"{PATH}.value", "/openai//x"), PATH),
    Case("path with #", ROUTE, put(f"{PATH}.value", "/openai#x"), PATH),
    Case("path with %2F", ROUTE, put(f"{PATH}.value", "/a%2Fb"), PATH),
    Case("path with %2f", ROUTE, put(f"{PATH}.value", "/a%2fb"), PATH),
    Case("path with /./", ROUTE, put(f"{PATH}.value", "/a/./b"), PATH),
    Case("path with /../", ROUTE, put(f"{PATH}.value", "/a/../b"), PATH),
    Case("path ending /.", ROUTE, put(f"{PATH}.value", "/a/."), PATH),
    Case("path ending /..", ROUTE, put(f"{PATH}.value", "/a/.."), PATH),
    Case("path with a space", ROUTE, put(f"{PATH}.value", "/a b"), PATH),
    Case("regular expression path", ROUTE, both(put(f"{PATH}.type", "RegularExpression"),
                                                put(f"{PATH}.value", "/open.*"))),
    Case("path type defaulted", ROUTE, drop(f"{PATH}.type")),
    Case("rewrite type misspelled", ROUTE, put(f"{REWRITE}.type", "UrlRewrite"),
         f"{REWRITE.replace('.0', '[0]')}.type"),
    Case("rewrite ReplacePrefixMatch without value", ROUTE,
         put(f"{REWRITE}.urlRewrite.path.type", "ReplacePrefixMatch"),
         "spec.rules[0].filters[0].urlRewrite.path"),
    Case("rewrite replaceFullPath with the other type", ROUTE,
         put(f"{REWRITE}.urlRewrite.path", {"type": "ReplacePrefixMatch",
                                             "replacePrefixMatch": "/v1",
                                             "replaceFullPath": "/v1"}),
         "spec.rules[0].filters[0].urlRewrite.path"),
    Case("rewrite ReplaceFullPath without value", ROUTE,
         put(f"{REWRITE}.urlRewrite.path", {"type": "ReplaceFullPath",
                                             "replacePrefixMatch": "/v1"}),
         "spec.rules[0].filters[0].urlRewrite.path"),
    Case("rewrite prefix with a prefix match", ROUTE,
         put(f"{REWRITE}.urlRewrite.path", {"type": "ReplacePrefixMatch",
                                             "replacePrefixMatch": "/v1"})),
    Case("rewrite prefix with two matches", ROUTE, both(
        put(f"{REWRITE}.urlRewrite.path", {"type": "ReplacePrefixMatch",
                                            "replacePrefixMatch": "/v1"}),
        put("spec.rules.0.matches.1", {"path": {"type": "PathPrefix", "value": "/b"}})),
        "spec.rules[0]"),
    Case("redirect prefix with an Exact match", ROUTE, both(
        put(REWRITE, {"type": "RequestRedirect", "requestRedirect": {"path": {
            "type": "ReplacePrefixMatch", "replacePrefixMatch": "/v1"}}}),
        drop("spec.rules.0.backendRefs"), put(f"{PATH}.type", "Exact")), "spec.rules[0]"),
    Case("backendRef rewrite prefix with an Exact match", ROUTE, both(
        put("spec.rules.0.backendRefs.0.filters", [{"type": "URLRewrite", "urlRewrite": {
            "path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/v1"}}}]),
        put(f"{PATH}.type", "Exact")), "spec.rules[0]"),
    Case("backendRef redirect prefix with an Exact match", ROUTE, both(
        put("spec.rules.0.backendRefs.0.filters", [{"type": "RequestRedirect",
                                                    "requestRedirect": {"path": {
                                                        "type": "ReplacePrefixMatch",
                                                        "replacePrefixMatch": "/v1"}}}]),
        put(f"{PATH}.type", "Exact")), "spec.rules[0]"),
    Case("redirect with backendRefs", ROUTE, put(REWRITE, {
        "type": "RequestRedirect", "requestRedirect": {"scheme": "https"}}), "spec.rules[0]"),
    Case("redirect and rewrite together", ROUTE, both(
        put("spec.rules.0.filters.1", {"type": "RequestRedirect",
                                        "requestRedirect": {"scheme": "https"}}),
        drop("spec.rules.0.backendRefs")), "spec.rules[0].filters"),
    Case("filter type without its field", ROUTE, put(REWRITE, {"type": "RequestMirror"}),
         "spec.rules[0].filters[0]"),
    *(Case(f"{kind} filter with {other}", ROUTE, put(REWRITE, {"type": other, field: value}),
           "spec.rules[0].filters[0]") for kind, field, value, other in (
        ("RequestHeaderModifier", "requestHeaderModifier", {"set": [{"name": "a", "value": "b"}]},
         "URLRewrite"),
        ("ResponseHeaderModifier", "responseHeaderModifier", {"add": [{"name": "a",
                                                                       "value": "b"}]},
         "URLRewrite"),
        ("RequestMirror", "requestMirror", {"backendRef": {"name": "m", "port": 80}},
         "URLRewrite"),
        ("RequestRedirect", "requestRedirect", {"scheme": "https"}, "URLRewrite"),
        ("ExtensionRef", "extensionRef", {"group": "g", "kind": "K", "name": "n"},
         "URLRewrite"),
        ("URLRewrite", "urlRewrite", {"hostname": "x"}, "RequestMirror"))),
    *(Case(f"{kind} without {field}", ROUTE, put(REWRITE, {"type": kind}),
           "spec.rules[0].filters[0]") for kind, field in (
        ("RequestHeaderModifier", "requestHeaderModifier"),
        ("ResponseHeaderModifier", "responseHeaderModifier"),
        ("RequestRedirect", "requestRedirect"), ("URLRewrite", "urlRewrite"),
        ("ExtensionRef", "extensionRef"))),
    Case("header modifiers", ROUTE, put("spec.rules.0.filters.1", {
        "type": "RequestHeaderModifier", "requestHeaderModifier": {"set": [
            {"name": "x-a", "value": "b"}]}})),
    *(Case(f"{kind} repeated", ROUTE, put("spec.rules.0.filters", [filter_, filter_]),
           "spec.rules[0].filters") for kind, filter_ in (
        ("URLRewrite", {"type": "URLRewrite", "urlRewrite": {"hostname": "x"}}),
        ("RequestHeaderModifier", {"type": "RequestHeaderModifier", "requestHeaderModifier": {
            "set": [{"name": "a", "value": "b"}]}}),
        ("ResponseHeaderModifier", {"type": "ResponseHeaderModifier",
                                    "responseHeaderModifier": {"set": [{"name": "a",
                                                                        "value": "b"}]}}))),
    Case("RequestRedirect repeated", ROUTE, both(
        put("spec.rules.0.filters", [{"type": "RequestRedirect",
                                      "requestRedirect": {"scheme": "https"}}] * 2),
        drop("spec.rules.0.backendRefs")), "spec.rules[0].filters"),
    Case("backend port out of range", ROUTE, put("spec.rules.0.backendRefs.0.port", 70000),
         "spec.rules[0].backendRefs[0].port"),
    Case("Service reference without port", ROUTE, both(
        put("spec.rules.0.backendRefs.0.group", ""),
        put("spec.rules.0.backendRefs.0.kind", "Service")), "spec.rules[0].backendRefs[0]"),
    Case("Service reference with port", ROUTE, both(
        put("spec.rules.0.backendRefs.0.group", ""),
        put("spec.rules.0.backendRefs.0.kind", "Service"),
        put("spec.rules.0.backendRefs.0.port", 80))),
    Case("too-long parentRef name", ROUTE, put("spec.parentRefs.0.name", LONG),
         "spec.parentRefs[0].name"),
    Case("parentRef without name", ROUTE, drop("spec.parentRefs.0.name"),
         "spec.parentRefs[0].name"),
    Case("same parent twice without sectionName", ROUTE, put("spec.parentRefs.1", {
        "name": "agentgateway", "namespace": "kgateway-system"}), "spec.parentRefs"),
    Case("same parent twice, sectionName once", ROUTE, both(
        put("spec.parentRefs.0.sectionName", "http"),
        put("spec.parentRefs.1", {"name": "agentgateway", "namespace": "kgateway-system"})),
        "spec.parentRefs"),
    Case("same parent twice, same sectionName", ROUTE, both(
        put("spec.parentRefs.0.sectionName", "http"),
        put("spec.parentRefs.1", {"name": "agentgateway", "namespace": "kgateway-system",
                                  "sectionName": "http"})), "spec.parentRefs"),
    Case("same parent on two sections", ROUTE, both(
        put("spec.parentRefs.0.sectionName", "http"),
        put("spec.parentRefs.1", {"name": "agentgateway", "namespace": "kgateway-system",
                                  "sectionName": "https"}))),
    Case("too many matches in all", ROUTE, many_matches, "spec.rules"),
    Case("method misspelled", ROUTE, put("spec.rules.0.matches.0.method", "get"),
         "spec.rules[0].matches[0].method"),
    Case("hostname with uppercase", ROUTE, put("spec.hostnames", ["API.example.com"]),
         "spec.hostnames[0]"),
    # Gateway
    Case("listener port missing", GATEWAY, drop(f"{LISTENER}.port"), "spec.listeners[0].port"),
    Case("listener protocol lowercase", GATEWAY, put(f"{LISTENER}.protocol", "HT TP"),
         "spec.listeners[0].protocol"),
    Case("gatewayClassName missing", GATEWAY, drop("spec.gatewayClassName"),
         "spec.gatewayClassName"),
    Case("listener port 0", GATEWAY, put(f"{LISTENER}.port", 0), "spec.listeners[0].port"),
    Case("too-long listener name", GATEWAY, put(f"{LISTENER}.name", LONG),
         "spec.listeners[0].name"),
    Case("allowedRoutes from misspelled", GATEWAY,
         put(f"{LISTENER}.allowedRoutes.namespaces.from", "all"),
         "spec.listeners[0].allowedRoutes.namespaces.from"),
    Case("two listeners", GATEWAY, put("spec.listeners.1", {**HTTP2, "port": 8081})),
    Case("duplicate listener name", GATEWAY, put("spec.listeners.1", {**HTTP2, "name": "http",
                                                                       "port": 8081}),
         "spec.listeners"),
    Case("duplicate port and protocol", GATEWAY, put("spec.listeners.1", HTTP2),
         "spec.listeners"),
    Case("hostname on TCP", GATEWAY, put("spec.listeners.1", {
        "name": "tcp", "port": 9000, "protocol": "TCP", "hostname": "a.example.com"}),
         "spec.listeners"),
    Case("tls on HTTP", GATEWAY, put(f"{LISTENER}.tls", {"mode": "Terminate",
                                                         "certificateRefs": [{"name": "c"}]}),
         "spec.listeners"),
    Case("HTTPS with Passthrough", GATEWAY, put("spec.listeners.1", {
        "name": "https", "port": 8443, "protocol": "HTTPS", "tls": {"mode": "Passthrough"}}),
         "spec.listeners"),
    Case("HTTPS with Terminate", GATEWAY, put("spec.listeners.1", {
        "name": "https", "port": 8443, "protocol": "HTTPS", "tls": {
            "mode": "Terminate", "certificateRefs": [{"name": "c"}]}})),
    # AgentgatewayBackend (agentgateway v1.4 profile)
    Case("agentgateway backend", AGW_BACKEND, profile=AGW),
    Case("agentgateway backend with host and port", AGW_BACKEND, both(
        put("spec.ai.provider.host", "mock"), put("spec.ai.provider.port", 8000)), profile=AGW),
    Case("agentgateway host without port", AGW_BACKEND, put("spec.ai.provider.host", "mock"),
         "spec.ai.provider", AGW),
    Case("agentgateway two providers", AGW_BACKEND, put("spec.ai.provider.anthropic", {}),
         "spec.ai.provider", AGW),
    Case("agentgateway key and secretRef", AGW_BACKEND, put("spec.policies.auth.key", TOKEN),
         "spec.policies.auth", AGW),
    Case("agentgateway empty auth", AGW_BACKEND, put("spec.policies.auth", {}),
         "spec.policies.auth", AGW),
    Case("agentgateway passthrough", AGW_BACKEND, put("spec.policies.auth", {"passthrough": {}}),
         profile=AGW),
    Case("agentgateway empty model", AGW_BACKEND, put("spec.ai.provider.openai.model", ""),
         "spec.ai.provider.openai.model", AGW),
    Case("agentgateway unknown field", AGW_BACKEND, put("spec.ai.provider.openai.authToken", {}),
         ".spec.ai.provider.openai.authToken", AGW),
    Case("agentgateway no backend", AGW_BACKEND, drop("spec.ai"), "spec", AGW),
    Case("agentgateway path and pathPrefix", AGW_BACKEND, both(
        put("spec.ai.provider.host", "mock"), put("spec.ai.provider.port", 8000),
        put("spec.ai.provider.path", "/v1"), put("spec.ai.provider.pathPrefix", "/v1")),
         "spec.ai.provider", AGW),
]


# -- the oracle: the CRD file, read now, with jsonschema and the CEL library directly -------
CRD_FILES = {KGW: {"gateway.networking.k8s.io": "gateway-api-v1.4.0",
                   "gateway.kgateway.dev": "kgateway-v2.1"},
             AGW: {"gateway.networking.k8s.io": "gateway-api-v1.6.0",
                   "agentgateway.dev": "agentgateway-v1.4.1"}}


# metav1.ObjectMeta's fields (the API server types metadata itself, not the CRD).
OBJECT_META = {"name", "generateName", "namespace", "uid", "resourceVersion", "generation",
               "creationTimestamp", "labels", "annotations", "ownerReferences", "finalizers",
               "managedFields"}


@functools.cache
def crd_schema(crds: Path, profile: str, api_version: str, kind: str) -> dict[str, Any]:
    group, _, version = api_version.rpartition("/")
    folder = crds / CRD_FILES[profile][group]
    for path in sorted(folder.glob(f"{group}_*.yaml")):
        crd = yaml.safe_load(path.read_text())
        if crd.get("kind") == "CustomResourceDefinition" and crd["spec"]["names"]["kind"] == kind:
            return next(v["schema"]["openAPIV3Schema"] for v in crd["spec"]["versions"]
                        if v["name"] == version)
    raise LookupError(f"{kind} {api_version} not in {folder}")


def closed(schema: Any) -> Any:
    """The schema with undeclared fields refused, as server-side apply refuses them."""
    if not isinstance(schema, dict):
        return schema
    out = {k: closed(v) if k in ("items", "additionalProperties") else v
           for k, v in schema.items()}
    if "properties" in schema:
        out["properties"] = {k: closed(v) for k, v in schema["properties"].items()}
        if not schema.get("x-kubernetes-preserve-unknown-fields") and \
                "additionalProperties" not in schema:
            out["additionalProperties"] = False
    return out


def defaulted(value: Any, schema: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        for key, child in (schema.get("properties") or {}).items():
            if key not in value and "default" in child:
                value[key] = copy.deepcopy(child["default"])
            if key in value:
                defaulted(value[key], child)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            defaulted(item, schema["items"])
    return value


def rules(value: Any, schema: dict[str, Any], path: str = ""
          ) -> Iterator[tuple[str, str, dict[str, Any], Any]]:
    """(field path, schema path, rule, value) for every rule on a present value."""
    for rule in schema.get("x-kubernetes-validations") or ():
        yield path, re.sub(r"\[\d+\]", "[]", path), rule, value
    if isinstance(value, dict):
        for key, child in (schema.get("properties") or {}).items():
            if key in value:
                yield from rules(value[key], child, f"{path}.{key}".lstrip("."))
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            yield from rules(item, schema["items"], f"{path}[{index}]")


def holds(rule: dict[str, Any], value: Any) -> bool:
    context = cel.Context(variables={"self": value},
                          functions=dict(stdlib.STDLIB_FUNCTIONS))
    try:
        return cel.compile(rule["rule"]).execute(context) is True
    except Exception:  # an evaluation error refuses the object too
        return False


def oracle(crds: Path, case: Case) -> list[str]:
    """The fields the CRD file refuses in the case's document (empty: accepted)."""
    doc = case.document()
    doc.pop("status", None)
    schema = crd_schema(crds, case.profile, doc["apiVersion"], doc["kind"])
    meta = [f".metadata.{k}" for k in doc.get("metadata") or {} if k not in OBJECT_META]
    undeclared = [e for e in jsonschema.Draft4Validator(closed(schema)).iter_errors(doc)
                  if e.validator == "additionalProperties" and e.validator_value is False]
    if meta or undeclared:
        return meta + ["." + ".".join(str(p) for p in e.absolute_path) for e in undeclared]
    defaulted(doc, schema)
    errors = list(jsonschema.Draft4Validator(schema).iter_errors(doc))
    if errors:
        return [re.sub(r"\.(\d+)", r"[\1]", ".".join(str(p) for p in e.absolute_path))
                for e in errors]
    return [path for path, _, rule, value in rules(doc, schema)
            if "oldSelf" not in rule["rule"] and not holds(rule, value)]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_sim_refuses_what_the_crd_refuses_and_names_the_field(crds: Path, case: Case
                                                                  ) -> None:
    refused = oracle(crds, case)
    try:
        admit(case.document(), profile=case.profile)
        message = None
    except ManifestRejected as exc:
        message = exc.message
    assert (message is None) == (not refused), (message, refused)
    assert (case.field is None) == (message is None), message
    if message is not None:
        assert case.field is not None
        assert re.sub(r"\.(\d+)", r"[\1]", case.field) in message
        assert any(path in message for path in refused), (refused, message)
        assert TOKEN not in message


def test_the_corpus_is_large_and_covers_the_kinds() -> None:
    kinds = {c.doc["kind"] for c in CASES}
    assert len(CASES) >= 40
    assert {"Backend", "HTTPRoute", "Gateway", "AgentgatewayBackend"} <= kinds


def _touched() -> set[tuple[str, str, str]]:
    """(kind, schema path, rule) for every rule on a value the scenarios' manifests set."""
    found = set()
    for path in MANIFESTS.glob("*.yaml"):
        doc = scenario(path.name)
        if doc["kind"] == "Secret":
            continue  # a core kind: no CRD rules
        kind = kind_of(doc)
        for _, where, rule, _ in rules(defaulted(doc, kind.schema), kind.schema):
            found.add((doc["kind"], where, rule["rule"]))
    return found


def test_every_rule_the_scenarios_touch_has_an_accepted_and_a_refused_example() -> None:
    seen: dict[tuple[str, str, str], set[bool]] = {}
    for case in CASES:
        doc = case.document()
        kind = kind_of(doc, case.profile)
        for _, where, rule, value in rules(defaulted(doc, kind.schema), kind.schema):
            seen.setdefault((doc["kind"], where, rule["rule"]), set()).add(holds(rule, value))
    touched = _touched()
    assert len(touched) > 40
    missing = sorted(f"{k} {w}: {r[:60]} has {seen.get((k, w, r), set())}"
                     for k, w, r in touched if seen.get((k, w, r)) != {True, False})
    assert missing == []


def test_admitting_again_compiles_no_rule_again() -> None:
    admit(INLINE)
    before = compile_rule.cache_info().misses
    admit(INLINE)
    assert compile_rule.cache_info().misses == before
