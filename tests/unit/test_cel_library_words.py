"""Kubernetes' CEL functions give the sim what they gave kube-apiserver v1.34.3: the value
(through a messageExpression) or the evaluation error, in the server's recorded words
(tests/data/cel_library.json, from the upstream tier; tests/cel_library_cases.py)."""

from __future__ import annotations

import functools
import json

import pytest

from tests.cel_cases import sim_verdict
from tests.cel_library_cases import CRD, EXPRESSIONS, KNOWN, RECORD, calls
from tests.words import same_words


@functools.cache
def recorded() -> dict[str, str | None]:
    words: dict[str, str | None] = json.loads(RECORD.read_text("utf-8"))
    return words


def test_every_call_has_the_api_servers_words() -> None:
    keys = [key for index in range(len(EXPRESSIONS)) for key, _ in calls(index)]
    assert sorted(recorded()) == sorted(keys), (
        "record them again: python -m tests.tier.record_cel_library")


@pytest.mark.parametrize(("index", "expression"),
                         [(i, e) for i, (e, _) in enumerate(EXPRESSIONS) if e not in KNOWN],
                         ids=[e for e, _ in EXPRESSIONS if e not in KNOWN])
def test_the_function_gives_the_sim_what_it_gave_the_api_server(index: int,
                                                                 expression: str) -> None:
    differing = [(key, recorded()[key], sim_verdict(CRD, doc).message)
                 for key, doc in calls(index)
                 if not same_words(recorded()[key], sim_verdict(CRD, doc).message)]
    assert differing == []
