"""The real API server as the oracle of a CEL rule: throwaway CRDs, one property per rule node,
and a server-side dry-run create of an object that holds one value under one property."""

from __future__ import annotations

import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.cel_cases import (
    GROUP,
    NAMESPACE,
    RuleNode,
    Verdict,
    document,
    sim_verdict,
    throwaway_crds,
    updated_name,
)
from tests.tier.apiserver import ApiServer

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
ESTABLISH_TIMEOUT = 120.0


class RuleOracle:
    """The throwaway CRDs installed on one tier, and both sides' words on a value."""

    def __init__(self, server: ApiServer, nodes: tuple[RuleNode, ...]) -> None:
        self.server = server
        self.crds: dict[str, dict[str, Any]] = {}
        self.batches = throwaway_crds(nodes)
        for crd, batch in self.batches:
            for node in batch:
                self.crds[node.id] = crd

    def install(self) -> float:
        """Apply every throwaway CRD, wait until each is Established; the seconds it took."""
        started = time.monotonic()
        for crd, _ in self.batches:
            status, data = self.server.kube.request(
                "PATCH", f"{CRDS}/{crd['metadata']['name']}", body=crd,
                query={"fieldManager": "agw-sandbox-tests", "force": "true"},
                content_type="application/apply-patch+yaml", timeout=120)
            assert status < 300, data.get("message")
        for crd, _ in self.batches:
            self._wait_established(crd["metadata"]["name"], started)
        return time.monotonic() - started

    def _wait_established(self, name: str, started: float) -> None:
        while True:
            _, data = self.server.kube.request("GET", f"{CRDS}/{name}")
            conditions = {c.get("type"): c.get("status")
                          for c in (data.get("status") or {}).get("conditions") or []}
            if conditions.get("Established") == "True":
                return
            assert time.monotonic() - started < ESTABLISH_TIMEOUT, f"{name} not established"
            time.sleep(0.2)

    def path(self, node: RuleNode, name: str | None = None) -> str:
        plural = self.crds[node.id]["spec"]["names"]["plural"]
        base = f"/apis/{GROUP}/v1/namespaces/{NAMESPACE}/{plural}"
        return f"{base}/{name}" if name else base

    def real(self, node: RuleNode, value: Any, old: Any = None) -> Verdict:
        """The server's words: a dry-run create, or for a transition rule a dry-run update of
        an object created with ``old`` (left in place: the tier is thrown away)."""
        doc = document(self.crds[node.id], node, value)
        kube = self.server.kube
        if old is None:
            status, data = kube.request("POST", self.path(node), body=doc,
                                        query={"dryRun": "All", "fieldValidation": "Strict"})
            return Verdict(None if status < 300 else str(data.get("message")))
        name = updated_name(node, old)
        stored = document(self.crds[node.id], node, old, name)
        status, data = kube.request("POST", self.path(node), body=stored)
        if status == 409:  # made already (by another question on the same old value)
            status, data = kube.request("GET", self.path(node, name))
        assert status < 300, data.get("message")
        doc["metadata"] = {**doc["metadata"], "name": name,
                           "resourceVersion": data["metadata"]["resourceVersion"]}
        status, data = kube.request("PUT", self.path(node, name), body=doc,
                                    query={"dryRun": "All", "fieldValidation": "Strict"})
        return Verdict(None if status < 300 else str(data.get("message")))

    def sim(self, node: RuleNode, value: Any, old: Any = None) -> Verdict:
        """The sim's words on the same object, with the same schema."""
        crd = self.crds[node.id]
        if old is None:
            return sim_verdict(crd, document(crd, node, value))
        name = updated_name(node, old)
        return sim_verdict(crd, document(crd, node, value, name), document(crd, node, old, name))

    def ask_all(self, questions: Iterable[tuple[RuleNode, Any, Any]], workers: int = 4
                ) -> list[Verdict]:
        """The server's verdicts on many values, a few requests at a time."""
        asked = list(questions)
        with ThreadPoolExecutor(workers) as pool:
            return list(pool.map(lambda q: self.real(*q), asked))
