"""Every CEL rule of the CRDs the sim admits evaluates as kube-apiserver v1.34.3 evaluates it.

tests/data/cel_rules.json holds, per rule (alone on its schema node, in a throwaway CRD), a value
the real API server admits, a value the rule refuses and the values the server cannot evaluate,
each with the server's own message (recorded by tests/tier/record_cel_rules.py; the tier tests
check that the server still says so). Here the sim must say the same about the same values,
everywhere: no upstream tier needed.
"""

from __future__ import annotations

import copy
import functools
import json
from typing import Any

import pytest

from sandbox.runtimes.sim.admission import apply_defaults
from sandbox.runtimes.sim.cel_rules import check_rule, escaped
from tests.cel_cases import (
    RECORD,
    UNBREAKABLE,
    RuleNode,
    document,
    rule_nodes,
    sim_verdict,
    throwaway_crds,
    updated_name,
)
from tests.words import same_words


@functools.cache
def recorded() -> dict[str, dict[str, Any]]:
    data = json.loads(RECORD.read_text("utf-8"))
    return {rule["id"]: rule for rule in data["rules"]}


@functools.cache
def crd_of() -> dict[str, dict[str, Any]]:
    return {node.id: crd for crd, batch in throwaway_crds(rule_nodes()) for node in batch}


NODES = {node.id: node for node in rule_nodes()}


def test_every_rule_of_the_admitted_crds_has_recorded_verdicts() -> None:
    """A new or changed rule in the package data needs the server's verdicts recorded."""
    assert len(NODES) > 250
    assert sorted(recorded()) == sorted(NODES), (
        "record the API server's verdicts again: python -m tests.tier.record_cel_rules")


@pytest.mark.parametrize("rule_id", sorted(NODES))
def test_the_sim_says_what_the_api_server_said_about_each_value(rule_id: str) -> None:
    node, crd = NODES[rule_id], crd_of()[rule_id]
    for case in recorded()[rule_id]["cases"]:
        if "old" in case:
            name = updated_name(node, case["old"])
            said = sim_verdict(crd, document(crd, node, case["value"], name),
                               document(crd, node, case["old"], name))
        else:
            said = sim_verdict(crd, document(crd, node, case["value"]))
        assert same_words(case["message"], said.message), (case["value"], case["message"],
                                                           said.message)
        assert said.of_rule(node) == case["verdict"]


def _evaluated(node: RuleNode, case: dict[str, Any]) -> Any:
    """The sim's evaluation of the rule alone on the value as the API server stores it
    (defaulted, property names escaped); None when it holds."""
    def stored(value: Any) -> Any:
        holder = {"v": copy.deepcopy(value)}
        apply_defaults(holder, {"properties": {"v": node.node}})
        return escaped(holder["v"], node.node) if value is not None else None

    return check_rule(node.rule, stored(case["value"]), stored(case.get("old")),
                      node.node.get("type", ""), "spec.v")


@pytest.mark.parametrize("rule_id", sorted(NODES))
def test_each_rule_holds_on_one_value_and_breaks_on_another_without_an_error(
        rule_id: str) -> None:
    node = NODES[rule_id]
    verdicts = {case["verdict"]: case for case in recorded()[rule_id]["cases"]}
    assert "holds" in verdicts
    assert _evaluated(node, verdicts["holds"]) is None
    if node.rule["rule"] in UNBREAKABLE:
        assert "breaks" not in verdicts  # the reason is written in UNBREAKABLE
        return
    broken = _evaluated(node, verdicts["breaks"])
    assert broken is not None and "evaluating rule" not in str(broken), broken


def test_the_rules_no_value_breaks_are_few_and_each_says_why() -> None:
    assert len(UNBREAKABLE) <= 4
    texts = {node.rule["rule"] for node in rule_nodes()}
    assert set(UNBREAKABLE) <= texts
    assert all(len(why) > 30 for why in UNBREAKABLE.values())


def test_the_admitted_crds_have_no_message_expression() -> None:
    """messageExpression is evaluated as upstream does (tests/tier/test_cel_library.py holds
    it to the server); none of the admitted CRDs uses one today."""
    assert [n.id for n in rule_nodes() if n.rule.get("messageExpression")] == []
