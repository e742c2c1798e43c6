"""Kubernetes' CEL functions give the sim what they give kube-apiserver v1.34.3 (the calls and
how they show the result: tests/cel_library_cases.py)."""

from __future__ import annotations

import json
import time

import pytest

from tests.cel_cases import GROUP, NAMESPACE, sim_verdict
from tests.cel_library_cases import CRD, EXPRESSIONS, KNOWN, RECORD, calls
from tests.tier.apiserver import ApiServer, agreed, differ
from tests.tier.rule_oracle import CRDS
from tests.words import same_words

pytestmark = pytest.mark.tier


def install_library(server: ApiServer) -> ApiServer:
    """The throwaway CRD of the calls, created and established."""
    kube = server.kube
    status, data = kube.request("POST", CRDS, body=CRD)
    assert status < 300 or status == 409, data.get("message")
    for _ in range(600):
        _, data = kube.request("GET", f"{CRDS}/{CRD['metadata']['name']}")
        if any(c.get("type") == "Established" and c.get("status") == "True"
               for c in (data.get("status") or {}).get("conditions") or []):
            return server
        time.sleep(0.1)
    raise AssertionError("the library CRD was not established")


@pytest.fixture(scope="session")
def library(kgateway_tier: ApiServer) -> ApiServer:
    return install_library(kgateway_tier)


def ask(server: ApiServer, doc: dict[str, object]) -> str | None:
    status, data = server.kube.request(
        "POST", f"/apis/{GROUP}/v1/namespaces/{NAMESPACE}/library", body=doc,
        query={"dryRun": "All"})
    return None if status < 300 else str(data.get("message"))


@pytest.mark.parametrize(("index", "expression"),
                         [(i, e) for i, (e, _) in enumerate(EXPRESSIONS)],
                         ids=[e for e, _ in EXPRESSIONS])
def test_the_function_gives_the_sim_what_it_gives_the_api_server(
        library: ApiServer, index: int, expression: str) -> None:
    differing = []
    recorded = json.loads(RECORD.read_text("utf-8"))
    found = list(calls(index))
    for key, doc in found:
        real = ask(library, doc)
        sim = sim_verdict(CRD, doc).message
        if not same_words(real, sim):
            differing.append(f"{key}:\n  API server: {real}\n  sim:        {sim}")
        assert same_words(real, recorded[key]), (
            "record again: python -m tests.tier.record_cel_library", key, real)
    if expression in KNOWN:
        assert differing, f"no longer differs: drop it from KNOWN ({KNOWN[expression]})"
        differ()
        return
    assert differing == [], "\n".join(differing)
    agreed("CEL library calls", len(found))
