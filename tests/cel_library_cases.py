"""Calls of Kubernetes' CEL functions, in a throwaway CRD, for the sim and the real API server.

Each expression sits in the CRD twice: as the messageExpression of a rule that always fails (so
a refusal shows the expression's value as text, or the rule's message when it cannot be
evaluated: upstream's fallback), and inside a rule of its own (so an evaluation error shows in
cel-go's words). tests/data/cel_library.json holds the real server's words on each call
(python -m tests.tier.record_cel_library); the unit tests hold the sim to them, the tier tests
check that the server still says them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.cel_cases import GROUP, NAMESPACE

RECORD = Path(__file__).resolve().parent / "data" / "cel_library.json"
STRINGS = ["", "abc", "AbC d", "  x  ", "a/b/c", "héllo", "1Gi", "100m", "1.5", "2e3", "16k",
           "lots", "1e", "+1Ki", "http://user@example.com:8080/a%20b?q=1", "https://example.com",
           "/path", "example.com", "10.0.0.1", "::1", "10.0.0.0/8", "1.2.3.4/33", "1s", "1h30m",
           "500ms", "1.5h", "1µs", "30x", "x1y22z333"]
LISTS = [[], ["a"], ["b", "a"], ["a", "b", "b"]]
NUMBERS = [[], [3], [1, 2, 3], [5, 1, 4]]
# (expression over self.s / self.l / self.n, which of them it reads)
EXPRESSIONS: list[tuple[str, str]] = [
    ("string(isQuantity(self.s))", "s"),
    ("string(quantity(self.s).isLessThan(quantity('1Gi')))", "s"),
    ("string(quantity(self.s).isGreaterThan(quantity('100m')))", "s"),
    ("string(quantity(self.s).compareTo(quantity('1')))", "s"),
    ("string(quantity(self.s).asApproximateFloat())", "s"),
    ("string(quantity(self.s).isInteger())", "s"),
    ("string(isURL(self.s))", "s"),
    ("url(self.s).getScheme()", "s"),
    ("url(self.s).getHost()", "s"),
    ("url(self.s).getHostname()", "s"),
    ("url(self.s).getPort()", "s"),
    ("url(self.s).getEscapedPath()", "s"),
    ("string(isIP(self.s))", "s"),
    ("string(isCIDR(self.s))", "s"),
    ("string(self.s.matches('^[a-z]+$'))", "s"),
    ("string(matches(self.s, '[0-9]'))", "s"),
    ("self.s.find('[0-9]+')", "s"),
    ("string(duration(self.s) > duration('1s'))", "s"),
    ("string(duration(self.s))", "s"),
    ("string(ip(self.s))", "s"),
    ("self.s.charAt(1)", "s"),
    ("self.s.substring(1)", "s"),
    ("strings.quote(self.s)", "s"),
    ("string(self.s.indexOf('b'))", "s"),
    ("string(self.s.lastIndexOf('b'))", "s"),
    ("self.s.lowerAscii()", "s"),
    ("self.s.upperAscii()", "s"),
    ("self.s.replace('a', 'z')", "s"),
    ("self.s.trim()", "s"),
    ("string(self.s.size())", "s"),
    ("string(self.l.isSorted())", "l"),
    ("string(self.l.indexOf('b'))", "l"),
    ("string(self.l.lastIndexOf('b'))", "l"),
    ("string(sets.contains(self.l, ['a']))", "l"),
    ("string(sets.equivalent(self.l, ['a', 'b']))", "l"),
    ("string(sets.intersects(self.l, ['b']))", "l"),
    ("string(self.n.isSorted())", "n"),
    ("string(self.n.sum())", "n"),
    ("string(self.n.min())", "n"),
    ("string(self.n.max())", "n"),
]
# Where the sim cannot give the server's text, and why (both texts are in the failure).
KNOWN: dict[str, str] = {}


def _crd() -> dict[str, Any]:
    data = {"type": "object", "properties": {
        "s": {"type": "string", "maxLength": 64},
        "l": {"type": "array", "maxItems": 8, "items": {"type": "string", "maxLength": 8}},
        "n": {"type": "array", "maxItems": 8, "items": {"type": "integer"}}}}
    props = {}
    for index, (expression, _) in enumerate(EXPRESSIONS):
        props[f"m{index}"] = {**data, "x-kubernetes-validations": [
            {"rule": "false", "message": "cannot evaluate", "messageExpression": expression}]}
        props[f"e{index}"] = {**data, "x-kubernetes-validations": [
            {"rule": f"{expression} != '\\u0000'", "message": f"rule {index}"}]}
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"library.{GROUP}"},
        "spec": {"group": GROUP, "scope": "Namespaced",
                 "names": {"kind": "Library", "plural": "library", "singular": "library",
                           "listKind": "LibraryList"},
                 "versions": [{"name": "v1", "served": True, "storage": True, "schema": {
                     "openAPIV3Schema": {"type": "object", "properties": {
                         "apiVersion": {"type": "string"}, "kind": {"type": "string"},
                         "metadata": {"type": "object"},
                         "spec": {"type": "object", "properties": props}}}}}]}}


CRD = _crd()


def _values(reads: str) -> list[dict[str, Any]]:
    return {"s": [{"s": v} for v in STRINGS], "l": [{"l": v} for v in LISTS],
            "n": [{"n": v} for v in NUMBERS]}[reads]


def calls(index: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """(a key for the record, the object) for each call of expression ``index``."""
    for prop in (f"m{index}", f"e{index}"):
        for value in _values(EXPRESSIONS[index][1]):
            key = f"{prop} {sorted(value.items())}"
            yield key, {"apiVersion": f"{GROUP}/v1", "kind": "Library",
                        "metadata": {"name": "v", "namespace": NAMESPACE},
                        "spec": {prop: value}}
