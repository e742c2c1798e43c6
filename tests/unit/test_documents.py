"""YAML with line numbers: libyaml's fast parser and the pure-Python one read the same documents,
with the same lines, and refuse the same things in the same words."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sandbox import documents
from sandbox.documents import MAX_DEPTH, DocumentError, LineDict, load_all
from tests.conftest import CRDS, REPO

TEXTS = sorted([*REPO.glob("scenarios/**/*.yaml"), *REPO.glob("examples/**/*.yaml"),
                *REPO.glob("assets/*.yaml"), *CRDS.glob("*/gateway.kgateway.dev_backends.yaml")])


def lines(value: Any) -> Any:
    """Every mapping's own line and its keys' lines, beside the values."""
    if isinstance(value, LineDict):
        return {"@": value.line, **{k: (value.key_lines[k], lines(v)) for k, v in value.items()}}
    if isinstance(value, list):
        return [lines(v) for v in value]
    return value


@pytest.mark.parametrize("path", TEXTS, ids=lambda p: str(p.relative_to(REPO)))
def test_both_parsers_read_the_same_documents_and_lines(path: Path) -> None:
    text = path.read_text()
    assert lines(load_all(text)) == lines(documents._load_all_slowly(text))


REFUSED = [
    ("a: &x 1\nb: *x\n", "YAML anchors and aliases", 1),
    ("a: 1\nb: &only 2\n", "YAML anchors and aliases", 2),
    ("base: &b {x: 1}\nother:\n  <<: *b\n", "YAML anchors and aliases", 1),
    ("x:" + " [" * MAX_DEPTH + "1" + "]" * MAX_DEPTH + "\n", "nested more than 100", 1),
    ("a: 1\na: 2\n", "the key 'a' appears twice", 2),
    ("a: [1, 2\n", "not valid YAML", None),
    ("a: \x07\n", "control character", 1),
    ("key: 'unterminated\n", "not valid YAML", None),
    ("data:\n  raw: !!binary aGVsbG8=\n", "!!binary is not accepted", 2),
    ("kinds: !!set {a, b}\n", "!!set is not accepted", 1),
]


@pytest.mark.parametrize("loader", [load_all, documents._load_all_slowly])
def test_a_date_is_read_as_the_text_it_is_as_kubernetes_reads_it(loader: Any) -> None:
    """A timestamp would be a Python date, which no JSON holds (the admission check, a
    request's body, ``run --json``): Kubernetes' YAML reader keeps it as its text."""
    docs = loader("data:\n  released: 2001-12-14\n  at: 2001-12-14t21:59:43.10-05:00\n"
                  "2024-01-01: new year\n")
    assert docs == [{"data": {"released": "2001-12-14",
                              "at": "2001-12-14t21:59:43.10-05:00"},
                     "2024-01-01": "new year"}]


@pytest.mark.parametrize(("text", "reason", "line"), REFUSED)
def test_both_parsers_refuse_the_same_input_in_the_same_words(text: str, reason: str,
                                                             line: int | None) -> None:
    with pytest.raises(DocumentError) as fast:
        load_all(text)
    with pytest.raises(DocumentError) as slow:
        documents._load_all_slowly(text)
    assert reason in fast.value.reason
    assert (fast.value.reason, fast.value.line) == (slow.value.reason, slow.value.line)
    if line is not None:
        assert fast.value.line == line


@pytest.mark.parametrize("nesting", range(MAX_DEPTH - 3, MAX_DEPTH + 2))
def test_the_depth_limit_falls_at_the_same_place(nesting: int) -> None:
    text = "x:" + " [" * nesting + "1" + "]" * nesting + "\n"
    outcomes = []
    for load in (load_all, documents._load_all_slowly):
        try:
            outcomes.append(lines(load(text)))
        except DocumentError as refused:
            outcomes.append((refused.reason, refused.line))
    assert outcomes[0] == outcomes[1]


VALUES = [{"key": "sk-…0001", "multi": "line1\nline2\n", "lead": "  space", "long": "x" * 300,
           "unicode": "ünï — 世界", "none": None, "yes": "yes", "float": "1.0", "empty": "",
           "list": [], "map": {}, "separator": "ab\u2028cd", "tab": "a\tb",
           "block": documents.BlockText("${AGW_SANDBOX_TOKEN}"), "number": 7, "bool": True}]


@pytest.mark.parametrize("path", TEXTS, ids=lambda p: str(p.relative_to(REPO)))
def test_both_emitters_write_the_same_text(path: Path) -> None:
    for doc in load_all(path.read_text()):
        assert documents.dump(doc) == documents._dump(doc, documents._Dumper)


def test_both_emitters_write_odd_values_the_same() -> None:
    for value in VALUES:
        text = documents.dump(value)
        assert text == documents._dump(value, documents._Dumper)
        assert "block: |-\n  ${AGW_SANDBOX_TOKEN}\n" in text
