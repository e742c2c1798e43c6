"""Record what the real API server says about each CEL rule's values (tests/data/cel_rules.json).

    python -m tests.tier.record_cel_rules [--kubeconfig FILE]

Starts a tier of the upstream tier (tools/upstream-tier; or uses the one already up for FILE),
installs the throwaway CRDs, asks the server about every candidate value of every rule and
keeps, per rule, a value it admits, a value the rule refuses and the values it cannot
evaluate, each with the server's own message. tests/unit/test_cel_rule_cases.py holds the sim
to these; tests/tier/test_cel_rules.py checks that the server still says the same.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sandbox.runtimes.kube.client import Kube
from tests.cel_cases import RECORD, RuleNode, Verdict, candidates, rule_nodes
from tests.conftest import REPO
from tests.tier.apiserver import ApiServer
from tests.tier.rule_oracle import RuleOracle

PROFILE = "kgateway-v2.1"


def questions(nodes: tuple[RuleNode, ...]) -> Iterator[tuple[RuleNode, Any, Any]]:
    """(node, value, old) for every candidate; a transition rule is asked on updates of its
    first candidate (to itself, and to each other value)."""
    for node in nodes:
        values = candidates(node)
        if node.transition:
            yield from ((node, value, values[0]) for value in values[:8])
        else:
            yield from ((node, value, None) for value in values)


def pick(asked: list[tuple[Any, Any, Verdict]], node: RuleNode) -> list[dict[str, Any]]:
    """A value the server admits, one the rule refuses, and up to two it cannot evaluate."""
    chosen: list[dict[str, Any]] = []
    wanted = {"holds": 1, "breaks": 1, "error": 2}
    for value, old, verdict in asked:
        kind = verdict.of_rule(node)
        if kind == "holds" and verdict.message is not None:
            continue  # admitted values only: nothing else in the message
        if wanted.get(kind, 0) > 0:
            wanted[kind] -= 1
            case = {"verdict": kind, "value": value, "message": verdict.message}
            if old is not None:
                case["old"] = old
            chosen.append(case)
    return chosen


def record(server: ApiServer) -> dict[str, Any]:
    nodes = rule_nodes()
    oracle = RuleOracle(server, nodes)
    oracle.install()
    asked = list(questions(nodes))
    verdicts = oracle.ask_all(asked)
    by_node: dict[str, list[tuple[Any, Any, Verdict]]] = {}
    for (node, value, old), verdict in zip(asked, verdicts, strict=True):
        by_node.setdefault(node.id, []).append((value, old, verdict))
    return {"server": server.version, "rules": [
        {"id": node.id, "rule": node.rule["rule"], "sources": list(node.sources),
         "cases": pick(by_node.get(node.id, []), node)} for node in nodes]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", type=Path, help="a tier already up (left running)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO / "tools"))
    import tier

    with tempfile.TemporaryDirectory() as tmp:
        kubeconfig = args.kubeconfig or Path(tmp) / "kubeconfig"
        info = tier.up(PROFILE, kubeconfig, log=lambda line: None)
        try:
            server = ApiServer(PROFILE, info, Kube.connect(str(info.kubeconfig), info.context))
            data = record(server)
        finally:
            if args.kubeconfig is None:
                tier.down(info.kubeconfig)
    RECORD.write_text(json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    cases = sum(len(r["cases"]) for r in data["rules"])
    print(f"recorded {cases} verdicts of kube-apiserver {data['server']} on "
          f"{len(data['rules'])} rules in {RECORD.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
