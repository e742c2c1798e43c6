"""Every CEL rule of the CRDs the sim admits, judged by the real API server, and the sim agreeing.

Each rule, alone on its schema node, becomes a property of a throwaway CRD on the tier's
kube-apiserver; an object holding one value under that property is created as a dry run, so the
server itself says whether the rule holds (tests/tier/rule_oracle.py). The recorded verdicts
(tests/data/cel_rules.json, which the unit tests hold the sim to) must still be the server's,
and on every candidate value (thousands: tests/cel_cases.py) the sim must say what the server
says, message included.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.cel_cases import RECORD, UNBREAKABLE, RuleNode, Verdict, rule_nodes
from tests.tier.apiserver import ApiServer, agreed
from tests.tier.record_cel_rules import questions
from tests.tier.rule_oracle import RuleOracle
from tests.words import same_words

pytestmark = pytest.mark.tier

Asked = list[tuple[RuleNode, Any, Any, Verdict]]


@pytest.fixture(scope="session")
def oracle(kgateway_tier: ApiServer) -> RuleOracle:
    found = RuleOracle(kgateway_tier, rule_nodes())
    found.install()
    return found


@pytest.fixture(scope="session")
def sweep(oracle: RuleOracle) -> Asked:
    """The server's verdict on every candidate value of every rule."""
    asked = list(questions(rule_nodes()))
    return [(node, value, old, verdict)
            for (node, value, old), verdict in zip(asked, oracle.ask_all(asked), strict=True)]


def _recorded() -> Iterator[tuple[RuleNode, dict[str, Any]]]:
    nodes = {node.id: node for node in rule_nodes()}
    for rule in json.loads(RECORD.read_text("utf-8"))["rules"]:
        for case in rule["cases"]:
            yield nodes[rule["id"]], case


def test_the_recorded_verdicts_are_still_the_api_servers(oracle: RuleOracle) -> None:
    cases = list(_recorded())
    verdicts = oracle.ask_all((node, case["value"], case.get("old")) for node, case in cases)
    changed = [(node.id, case["value"], case["message"], verdict.message)
               for (node, case), verdict in zip(cases, verdicts, strict=True)
               if not same_words(verdict.message, case["message"])]
    assert changed == [], "record again: python -m tests.tier.record_cel_rules"
    agreed("recorded rule verdicts", len(cases))


def test_the_sim_agrees_with_the_api_server_on_every_candidate_value(
        oracle: RuleOracle, sweep: Asked) -> None:
    disagree = []
    for node, value, old, real in sweep:
        sim = oracle.sim(node, value, old)
        if not same_words(real.message, sim.message):
            disagree.append(f"{node.id} {json.dumps(value)[:200]}\n  API server: {real.message}"
                            f"\n  sim:        {sim.message}")
    assert disagree == [], "\n".join(disagree[:20])
    agreed("CEL rule values", len(sweep))


def test_every_rule_holds_and_breaks_on_the_api_server(sweep: Asked) -> None:
    seen: dict[str, set[str]] = {}
    for node, _, _, verdict in sweep:
        seen.setdefault(node.id, set()).add(verdict.of_rule(node))
    lacking = [f"{node.id} {sorted(seen.get(node.id, set()))}: {node.rule['rule'][:80]}"
               for node in rule_nodes() if not {"holds", "breaks"} <= seen.get(node.id, set())
               and node.rule["rule"] not in UNBREAKABLE]
    assert lacking == []
    unbreakable = [node for node in rule_nodes() if node.rule["rule"] in UNBREAKABLE]
    assert all("breaks" not in seen[node.id] for node in unbreakable)
    agreed("CEL rules", len(rule_nodes()))
