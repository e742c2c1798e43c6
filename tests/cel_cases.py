"""Every CEL rule of the CRDs the sim admits, alone on its node, and values to try it on.

A rule is taken with the schema node it sits on (descriptions and every other rule left out),
so one throwaway CRD property per rule lets the real API server say whether a value satisfies
that rule and nothing else (tests/tier/test_cel_rules.py), and the sim can evaluate the same
rule on the same value (tests/unit/test_cel_rule_cases.py, against the recorded verdicts).

Values are found mechanically from the node's schema and the rule's own text (the fields it
names, the literals it compares with), plus a few written by hand where a rule needs a shape
no mechanical variation reaches (``EXTRA``).
"""

from __future__ import annotations

import copy
import functools
import hashlib
import itertools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from sandbox.runtimes.sim.admission import apply_defaults, validate

# The real API server's verdicts on each rule's values (tests/tier/record_cel_rules.py).
RECORD = Path(__file__).resolve().parent / "data" / "cel_rules.json"
GROUP = "rules.agw-sandbox.test"
NAMESPACE = "default"
MAX_CANDIDATES = 40
# Strings tried wherever a string fits the schema (patterns, lengths) beside the rule's own.
STOCK_STRINGS = ("a", "abc", "example.com", "a.example.com", "*.example.com", "Foo", "/",
                 "/a", "1s", "10ms", "100ms", "1m", "5m", "1h", "0s", "1Mi", "16Ki", "100",
                 "arn:aws:iam::123456789012:role/a",
                 "1.2.3.4", "::1", "GET", "http", "a/b", "a b", "", "*", "x-a", ":path",
                 "tools/*", "*/list", "a*b", "http://example.com", "Secret", "Service")
STOCK_KEYS = ("a", "example.com/a", "a b", "b")


@dataclass(frozen=True)
class RuleNode:
    """One rule on one schema node (the node keeps its structure, not its other rules)."""

    id: str
    rule: dict[str, Any]
    node: dict[str, Any]
    sources: tuple[str, ...]

    @property
    def prop(self) -> str:
        """The throwaway CRD's property that holds this node."""
        return f"r{self.id}"

    @property
    def transition(self) -> bool:
        return "oldSelf" in self.rule["rule"]


def _strip(schema: Any, keep_rules: bool) -> Any:
    """The schema without prose and (below the top, or everywhere) without CEL rules."""
    if isinstance(schema, list):
        return [_strip(item, False) for item in schema]
    if not isinstance(schema, dict):
        return schema
    return {k: _strip(v, False) for k, v in schema.items() if k != "description"
            and (keep_rules or k != "x-kubernetes-validations")}


def _walk(schema: Any, path: str) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    if not isinstance(schema, dict):
        return
    for rule in schema.get("x-kubernetes-validations") or ():
        yield path, rule, schema
    for key, child in (schema.get("properties") or {}).items():
        yield from _walk(child, f"{path}.{key}")
    for key in ("items", "additionalProperties"):
        yield from _walk(schema.get(key), f"{path}[*]")


@functools.cache
def rule_nodes() -> tuple[RuleNode, ...]:
    """Every distinct (rule, node) of the package's admission schemas, in a stable order."""
    folder = resources.files("sandbox.runtimes.sim").joinpath("schemas")
    index = json.loads(folder.joinpath("index.json").read_text("utf-8"))
    found: dict[str, tuple[dict[str, Any], dict[str, Any], list[str]]] = {}
    for entries in index.values():
        for entry in entries:
            schema = json.loads(folder.joinpath(entry["file"]).read_text("utf-8"))
            for path, rule, node in _walk(schema, ""):
                alone = {**_strip(node, False), "x-kubernetes-validations": [rule]}
                text = json.dumps(alone, sort_keys=True)
                key = hashlib.sha256(text.encode()).hexdigest()[:10]
                found.setdefault(key, (rule, alone, []))[2].append(
                    f"{entry['kind']} {entry['apiVersion']} {path or '<root>'}")
    return tuple(RuleNode(key, rule, node, tuple(sorted(set(sources))))
                 for key, (rule, node, sources) in sorted(found.items()))


def throwaway_crds(nodes: tuple[RuleNode, ...], budget: int = 600_000
                   ) -> list[tuple[dict[str, Any], tuple[RuleNode, ...]]]:
    """CRDs whose spec holds one property per rule node, each CRD under ``budget`` bytes."""
    batches: list[list[RuleNode]] = [[]]
    size = 0
    for node in nodes:
        length = len(json.dumps(node.node))
        if batches[-1] and size + length > budget:
            batches.append([])
            size = 0
        batches[-1].append(node)
        size += length
    return [(throwaway_crd(index, batch), tuple(batch)) for index, batch in enumerate(batches)]


def throwaway_crd(index: int, nodes: list[RuleNode]) -> dict[str, Any]:
    kind = f"Rules{index}"
    spec = {"type": "object", "properties": {n.prop: n.node for n in nodes}}
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"rules{index}.{GROUP}"},
        "spec": {"group": GROUP, "scope": "Namespaced",
                 "names": {"kind": kind, "plural": f"rules{index}", "singular": f"rules{index}",
                           "listKind": f"{kind}List"},
                 "versions": [{"name": "v1", "served": True, "storage": True, "schema": {
                     "openAPIV3Schema": {"type": "object", "properties": {
                         "apiVersion": {"type": "string"}, "kind": {"type": "string"},
                         "metadata": {"type": "object"}, "spec": spec}}}}]},
    }


def document(crd: Mapping[str, Any], node: RuleNode, value: Any, name: str = "v"
             ) -> dict[str, Any]:
    """An object of the throwaway kind holding ``value`` under the rule's property only."""
    return {"apiVersion": f"{GROUP}/v1", "kind": crd["spec"]["names"]["kind"],
            "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": {node.prop: copy.deepcopy(value)}}


def updated_name(node: RuleNode, old: Any) -> str:
    """The name of the object a transition rule is tried on (created with ``old``)."""
    digest = hashlib.sha256(json.dumps([node.id, old], sort_keys=True).encode())
    return f"o{digest.hexdigest()[:12]}"


# -- values -------------------------------------------------------------------------------------
def names_in(rule: str) -> set[str]:
    """The field names a rule reads (``self.a.b``, ``has(x.c)``): a.b.c."""
    names = set(re.findall(r"\.\s*([A-Za-z_]\w*)", rule))
    return {n.replace("__namespace__", "namespace") for n in names} - {
        "all", "exists", "exists_one", "filter", "map", "size", "matches", "startsWith",
        "endsWith", "contains", "split", "indexOf", "lastIndexOf", "isLessThan",
        "isGreaterThan"}


def literals_in(rule: str) -> list[Any]:
    """The string and number literals a rule compares with."""
    strings = re.findall(r"'((?:[^'\\]|\\.)*)'", rule) + re.findall(r'(?<!")"([^"]*)"', rule)
    numbers = [int(n) for n in re.findall(r"(?<![\w.'\"])(\d+)(?![\w.'\"])", rule)]
    return list(dict.fromkeys([*strings, *numbers]))


@dataclass(frozen=True)
class Maker:
    """Values for one rule's node: structurally valid, varied where the rule looks."""

    names: frozenset[str]
    literals: tuple[Any, ...]

    def minimal(self, schema: Mapping[str, Any], depth: int = 0) -> Any:
        if "default" in schema:
            return copy.deepcopy(schema["default"])
        if schema.get("enum"):
            return schema["enum"][0]
        kind = schema.get("type")
        if schema.get("x-kubernetes-int-or-string"):
            return 1
        if kind == "object" or (kind is None and "properties" in schema):
            return self._minimal_object(schema, depth)
        if kind == "array":
            count = int(schema.get("minItems") or 0)
            return self._distinct(schema.get("items") or {}, count, depth)
        if kind == "string":
            return next(iter(self.strings(schema)), "a")
        if kind in ("integer", "number"):
            return next(iter(self.numbers(schema)), 1)
        if kind == "boolean":
            return False
        return {}

    def rich(self, schema: Mapping[str, Any], depth: int = 0) -> Any:
        """Every field the rule reads present, each scalar one of the rule's own literals where
        the schema allows one: the shape most rules are about."""
        kind = schema.get("type")
        allowed = [v for v in self.literals if self._fits(v, schema)]
        if allowed and (schema.get("enum") or kind in ("string", "integer", "number")
                        or schema.get("x-kubernetes-int-or-string")):
            return allowed[0]
        if depth > 6:
            return self.minimal(schema, depth)
        if kind == "object" or (kind is None and "properties" in schema):
            props: Mapping[str, Any] = schema.get("properties") or {}
            value = self._minimal_object(schema, depth)
            for key in props:
                if key in self.names:
                    value[key] = self.rich(props[key], depth + 1)
            return value
        if kind == "array":
            item = self.rich(schema.get("items") or {}, depth + 1)
            return [item] if int(schema.get("maxItems", 1)) >= 1 else []
        return self.minimal(schema, depth)

    def _fits(self, value: Any, schema: Mapping[str, Any]) -> bool:
        if schema.get("enum"):
            return value in schema["enum"]
        if isinstance(value, str):
            return value in self.strings(schema) and (
                schema.get("type") == "string" or bool(schema.get("x-kubernetes-int-or-string")))
        if isinstance(value, int):
            return value in self.numbers(schema) and schema.get("type") in ("integer", "number")
        return False

    def _minimal_object(self, schema: Mapping[str, Any], depth: int) -> dict[str, Any]:
        props: Mapping[str, Any] = schema.get("properties") or {}
        value = {key: self.minimal(props[key], depth + 1) for key in schema.get("required") or ()
                 if key in props}
        extra = schema.get("additionalProperties")
        wanted = int(schema.get("minProperties") or 0)
        for key in props:
            if len(value) >= wanted:
                break
            value.setdefault(key, self.minimal(props[key], depth + 1))
        if isinstance(extra, dict) and len(value) < wanted:
            value["a"] = self.minimal(extra, depth + 1)
        return value

    def _distinct(self, items: Mapping[str, Any], count: int, depth: int) -> list[Any]:
        pool = self.variants(items, depth + 1)
        chosen: list[Any] = []
        for candidate in pool:
            if len(chosen) == count:
                break
            if candidate not in chosen:
                chosen.append(candidate)
        return chosen

    def strings(self, schema: Mapping[str, Any]) -> list[str]:
        pattern = schema.get("pattern")
        low, high = int(schema.get("minLength") or 0), int(schema.get("maxLength") or 10**6)
        pool = [*[v for v in self.literals if isinstance(v, str)], *STOCK_STRINGS]
        return [s for s in dict.fromkeys(pool) if low <= len(s) <= high
                and (pattern is None or re.search(pattern, s))]

    def numbers(self, schema: Mapping[str, Any]) -> list[int]:
        low = schema.get("minimum", -(2**31))
        high = schema.get("maximum", 2**31)
        pool = [1, 0, *[v for v in self.literals if isinstance(v, int)], low, high, 80, 8080,
                5, 16384]
        return [int(n) for n in dict.fromkeys(pool) if low <= n <= high]

    def variants(self, schema: Mapping[str, Any], depth: int = 0) -> list[Any]:
        """Values of this schema: the minimal one first, then variations (bounded)."""
        base = self.minimal(schema, depth)
        found: list[Any] = [base]
        kind = schema.get("type")
        if schema.get("enum"):
            found += list(schema["enum"])
        elif schema.get("x-kubernetes-int-or-string"):
            found += [*self.numbers(schema), *self.strings(schema)]
        elif kind == "string":
            found += self.strings(schema)
        elif kind in ("integer", "number"):
            found += self.numbers(schema)
        elif kind == "boolean":
            found += [True, False]
        elif depth < 4 and kind == "array":
            found += self._lists(schema, depth)
        elif depth < 4 and (kind == "object" or "properties" in schema):
            found += self._objects(schema, base, depth)
        if depth == 0:
            found[1:1] = self._around_rich(schema)
        unique: list[Any] = []
        for value in found:
            if value not in unique:
                unique.append(value)
        return unique[:MAX_CANDIDATES]

    def _around_rich(self, schema: Mapping[str, Any]) -> list[Any]:
        """The rich value, and it with one field the rule reads left out or made minimal."""
        rich = self.rich(schema)
        found = [rich]
        if isinstance(rich, dict):
            props: Mapping[str, Any] = schema.get("properties") or {}
            for key in [k for k in rich if k in self.names]:
                found.append({k: v for k, v in rich.items() if k != key})
                found.append({**rich, key: self.minimal(props.get(key) or {}, 1)})
        elif isinstance(rich, list) and rich:
            items = schema.get("items") or {}
            found += [rich * 2, [rich[0], self.minimal(items, 1)], [self.minimal(items, 1)]]
            if isinstance(rich[0], dict):
                for key in [k for k in rich[0] if k in self.names]:
                    found.append([{k: v for k, v in rich[0].items() if k != key}])
        return found

    def _lists(self, schema: Mapping[str, Any], depth: int) -> list[Any]:
        items = schema.get("items") or {}
        low, high = int(schema.get("minItems") or 0), int(schema.get("maxItems") or 64)
        pool = self.variants(items, depth + 1)[:8]
        shapes: list[list[Any]] = [[]]
        shapes += [[v] for v in pool]
        shapes += [[a, b] for a, b in itertools.combinations(pool[:5], 2)]
        shapes += [[v, v] for v in pool[:4]]
        shapes += [pool[:3], [pool[0], pool[-1], pool[0]]] if pool else []
        return [s for s in shapes if low <= len(s) <= high]

    def _objects(self, schema: Mapping[str, Any], base: Any, depth: int) -> list[Any]:
        props: Mapping[str, Any] = schema.get("properties") or {}
        looked = [k for k in props if k in self.names] or list(props)[:6]
        found: list[Any] = []
        for key in looked:
            for value in self.variants(props[key], depth + 1)[:6]:
                found.append({**base, key: value})
            found.append({k: v for k, v in base.items() if k != key})
        for a, b in itertools.combinations(looked[:8], 2):
            found.append({**base, a: self.minimal(props[a], depth + 1),
                          b: self.minimal(props[b], depth + 1)})
        found.append({**base, **{k: self.minimal(props[k], depth + 1) for k in looked}})
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            value = self.minimal(extra, depth + 1)
            found += [{key: value} for key in STOCK_KEYS]
            found.append({key: value for key in STOCK_KEYS[:2]})
        return found


def candidates(node: RuleNode) -> list[Any]:
    """Values to try the rule on, hand-written ones (``EXTRA``) first."""
    maker = Maker(frozenset(names_in(node.rule["rule"])), tuple(literals_in(node.rule["rule"])))
    extra = EXTRA.get(node.rule["rule"]) or next(
        (v for start, v in EXTRA_BY_START.items() if node.rule["rule"].startswith(start)), [])
    values = [*extra, *maker.variants(node.node)]
    unique: list[Any] = []
    for value in values:
        if value not in unique:
            unique.append(value)
    return unique


def _redirect(kind: str, where: str, path_type: str) -> dict[str, Any]:
    """An HTTPRoute rule with a ReplacePrefixMatch filter (on the rule or a backendRef)."""
    field = "requestRedirect" if kind == "RequestRedirect" else "urlRewrite"
    filters = [{"type": kind, field: {"path": {"type": "ReplacePrefixMatch",
                                               "replacePrefixMatch": "/v1"}}}]
    rule: dict[str, Any] = {"matches": [{"path": {"type": path_type, "value": "/a"}}]}
    if where == "rule":
        rule["filters"] = filters
    else:
        rule["backendRefs"] = [{"name": "a", "port": 80, "filters": filters}]
    return rule


_MATCHES_64 = {"matches": [{"path": {"type": "PathPrefix", "value": f"/{i}"}} for i in range(64)]}
_PROVIDER = {"issuer": "a", "jwks": {"inline": "{}"}}
_SERVICE_REF = {"group": "", "kind": "Service", "name": "a"}
_SERVICE_SELECTOR = {"group": "", "kind": "Service", "matchLabels": {"a": "b"}}

# Shapes a rule needs that no mechanical variation reaches, by the rule's text (a breaking
# value first, then a holding one).
EXTRA: dict[str, list[Any]] = {
    **{rule: [_redirect(kind, where, "Exact"), _redirect(kind, where, "PathPrefix")]
       for kind, where, rule in (
           ("RequestRedirect", "rule", "(has(self.filters) && self.filters.exists_one(f, "
            "has(f.requestRedirect) && has(f.requestRedirect.path) && f.requestRedirect.path"
            ".type == 'ReplacePrefixMatch' && has(f.requestRedirect.path.replacePrefixMatch)))"
            " ? ((size(self.matches) != 1 || !has(self.matches[0].path) || self.matches[0]"
            ".path.type != 'PathPrefix') ? false : true) : true"),
           ("URLRewrite", "rule", "(has(self.filters) && self.filters.exists_one(f, "
            "has(f.urlRewrite) && has(f.urlRewrite.path) && f.urlRewrite.path.type == "
            "'ReplacePrefixMatch' && has(f.urlRewrite.path.replacePrefixMatch))) ? "
            "((size(self.matches) != 1 || !has(self.matches[0].path) || self.matches[0].path"
            ".type != 'PathPrefix') ? false : true) : true"),
           ("RequestRedirect", "backendRef", "(has(self.backendRefs) && self.backendRefs"
            ".exists_one(b, (has(b.filters) && b.filters.exists_one(f, has(f.requestRedirect)"
            " && has(f.requestRedirect.path) && f.requestRedirect.path.type == "
            "'ReplacePrefixMatch' && has(f.requestRedirect.path.replacePrefixMatch))) )) ? "
            "((size(self.matches) != 1 || !has(self.matches[0].path) || self.matches[0].path"
            ".type != 'PathPrefix') ? false : true) : true"),
           ("URLRewrite", "backendRef", "(has(self.backendRefs) && self.backendRefs"
            ".exists_one(b, (has(b.filters) && b.filters.exists_one(f, has(f.urlRewrite) && "
            "has(f.urlRewrite.path) && f.urlRewrite.path.type == 'ReplacePrefixMatch' && "
            "has(f.urlRewrite.path.replacePrefixMatch))) )) ? ((size(self.matches) != 1 || "
            "!has(self.matches[0].path) || self.matches[0].path.type != 'PathPrefix') ? false "
            ": true) : true"))},
    "!has(self.mcp) || size(self.providers) == 1": [
        {"mcp": {}, "providers": [_PROVIDER, {**_PROVIDER, "issuer": "b"}]},
        {"mcp": {}, "providers": [_PROVIDER]}],
    "!has(self.mcp) || !has(self.mode) || self.mode == 'Strict'": [
        {"mcp": {}, "mode": "Permissive", "providers": [_PROVIDER]},
        {"mcp": {}, "mode": "Strict", "providers": [_PROVIDER]}],
    "self.all(a1, a1.type == 'IPAddress' && has(a1.value) ? self.exists_one(a2, a2.type == "
    "a1.type && has(a2.value) && a2.value == a1.value) : true )": [
        [{"type": "IPAddress", "value": "10.0.0.1"}, {"type": "IPAddress", "value": "10.0.0.1"}],
        [{"type": "IPAddress", "value": "10.0.0.1"}, {"type": "IPAddress", "value": "10.0.0.2"}]],
    "self.all(l, (l.protocol == 'HTTPS' && has(l.tls)) ? (l.tls.mode == '' || l.tls.mode == "
    "'Terminate') : true)": [
        [{"name": "a", "port": 443, "protocol": "HTTPS", "tls": {"mode": "Passthrough"}}],
        [{"name": "a", "port": 443, "protocol": "HTTPS", "tls": {"mode": "Terminate"}}]],
    "has(self.frontend) && has(self.targetRefs) ? self.targetRefs.all(t, t.kind == 'Gateway') "
    ": true": [{"frontend": {}, "targetRefs": [_SERVICE_REF]}],
    "has(self.frontend) && has(self.targetSelectors) ? self.targetSelectors.all(t, t.kind == "
    "'Gateway') : true": [{"frontend": {}, "targetSelectors": [_SERVICE_SELECTOR]}],
    "has(self.traffic) && has(self.targetRefs) ? self.targetRefs.all(t, t.kind in ['Gateway', "
    "'HTTPRoute', 'GRPCRoute', 'ListenerSet', 'InferencePool']) : true": [
        {"traffic": {}, "targetRefs": [_SERVICE_REF]}],
    "has(self.traffic) && has(self.targetSelectors) ? self.targetSelectors.all(t, t.kind in "
    "['Gateway', 'HTTPRoute', 'GRPCRoute', 'ListenerSet', 'InferencePool']) : true": [
        {"traffic": {}, "targetSelectors": [_SERVICE_SELECTOR]}],
    "!has(self.deployment) || !has(self.workload) || !has(self.workload.kind) || "
    "self.workload.kind == 'Deployment'": [{"deployment": {}, "workload": {"kind": "DaemonSet"}}],
    "self.all(key, key.split(\"/\")[0].size() < 253)": [
        {"a" * 253 + "/b": "c"}, {"a" * 252 + "/b": "c"}],
    "!(has(self.requestHeaderModifier) && self.type != 'RequestHeaderModifier')": [
        {"type": "URLRewrite", "requestHeaderModifier": {}, "urlRewrite": {}}],
    "!self.startsWith(':') || self in [':authority', ':method', ':path', ':scheme', ':status']": [
        ":foo", ":path"],
    "!(has(self.request) && has(self.backendRequest) && duration(self.request) != duration('0s')"
    " && duration(self.backendRequest) > duration(self.request))": [
        {"request": "1s", "backendRequest": "2s"}, {"request": "0s", "backendRequest": "2s"}],
    "has(self.replaceFullPath) ? self.type == 'ReplaceFullPath' : true": [
        {"type": "ReplacePrefixMatch", "replaceFullPath": "/v1"}],
    "self.all(k, !k.contains('*') || (k.indexOf('*') == k.lastIndexOf('*') && (k.indexOf('*') "
    "== 0 || k.indexOf('*') == size(k) - 1)))": [{"a*b": "Full"}, {"tools/*": "Full"},
                                                {"*/list": "Off"}, {"*": "Full"}],
}
# Rules with a long text, by how their text starts.
EXTRA_BY_START: dict[str, list[Any]] = {
    # the total of matches across an HTTPRoute's rules: 129 break it
    "(self.size() > 0 ? self[0].matches.size() : 0)": [
        [_MATCHES_64, _MATCHES_64, {"matches": _MATCHES_64["matches"][:1]}],
        [_MATCHES_64, _MATCHES_64]],
    # two parentRefs to one parent: both with a sectionName, or neither
    "self.all(p1, self.all(p2, p1.group == p2.group": [
        [{"name": "a", "sectionName": "x"}, {"name": "a"}],
        [{"name": "a", "sectionName": "x"}, {"name": "a", "sectionName": "y"}]],
}

# Rules no value can break through the API server, and why (the test says so instead).
UNBREAKABLE = {
    "self.type in ['Exact','PathPrefix'] || self.type == 'RegularExpression'":
        "the field's enum admits exactly these three types",
    "[has(self.message),has(self.statusCode)].filter(x,x==true).size() >= 1":
        "both fields have defaults, so the API server always sets them",
    "!(has(self.secretRef) && self.type != 'Secret')":
        "the type's enum is ['Secret']: no other type is admitted",
    "(self >= 1 && self <= 4294967295) || self.size() > 0":
        "an int-or-string: a number outside the range also calls size() on a number, an "
        "evaluation error (no such overload: size), and every string the schema admits is "
        "non-empty",
}


# -- verdicts -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Verdict:
    """What one side said about one value: the Status message (None: admitted)."""

    message: str | None

    def of_rule(self, node: RuleNode) -> str:
        """holds, breaks (the rule's own refusal is among the errors), error (it could not be
        evaluated) or blocked (another error stopped the rules: it tells nothing)."""
        if self.message is None:
            return "holds"
        rule = node.rule
        named = str(rule.get("message") or rule["rule"]).strip()
        at = f"spec.{node.prop}"
        if (f"{at}: Invalid value: " in self.message
                and (f" evaluating rule: {named}" in self.message
                     or f"signature for rule: {named}" in self.message)):
            return "error"
        if "some validation rules were not checked" in self.message:
            return "blocked"
        shown = str(rule.get("message") or f"failed rule: {rule['rule'].strip()}")
        where = at + str(rule.get("fieldPath") or "")
        if f"{where}: " in self.message and (shown in self.message
                                             or "Duplicate value" in self.message):
            return "breaks"
        return "holds"


def sim_verdict(crd: Mapping[str, Any], doc: Mapping[str, Any],
                old: Mapping[str, Any] | None = None) -> Verdict:
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    obj = copy.deepcopy(dict(doc))
    apply_defaults(obj, schema)
    errors = [str(e) for e in validate(obj, schema, old)]
    if not errors:
        return Verdict(None)
    kind = f"{crd['spec']['names']['kind']}.{GROUP}"
    joined = errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]"
    return Verdict(f'{kind} "{doc["metadata"]["name"]}" is invalid: {joined}')
