"""The sim's admission and the real API server agree, verdict and words, on every manifest of
the admission corpus and every built-in manifest, in both profiles.

Each manifest goes to kube-apiserver v1.34.3 (the upstream tier) as ``kubectl apply
--server-side --dry-run=server`` sends it: server-side apply, field manager agw-sandbox,
fieldValidation=Strict. The sim must give the same verdict and the same message, field path
included. Where Go walks a map the server orders its errors at random: the sim's text must be
one of the server's (tests/words.py; a typed-patch refusal is asked again until it is).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from sandbox.catalog.loader import load_catalog
from sandbox.catalog.scenarios import ApplyStep
from sandbox.errors import ManifestRejected
from sandbox.profiles import PROFILES as PROFILE_SETTINGS
from sandbox.runtimes.kube.mock_deployment import in_cluster_address
from sandbox.runtimes.sim.admission import admit, kinds
from sandbox.walkthrough.render import make_context, render_manifest
from tests.conftest import TOKEN
from tests.helpers import GATEWAY, secret
from tests.tier.apiserver import ApiServer, agreed, may_say
from tests.unit import test_admission, test_admission_corpus, test_admission_words

pytestmark = pytest.mark.tier

PROFILES = ("kgateway-v2.1", "agentgateway-v1.4")


@dataclass(frozen=True)
class Sent:
    """One manifest for one profile's API server."""

    name: str
    profile: str
    doc: dict[str, Any]


def _served(profile: str, doc: dict[str, Any]) -> bool:
    return (doc.get("apiVersion"), doc.get("kind")) in kinds(profile)


def corpus() -> Iterator[Sent]:
    """The admission corpus: each case on its own profile, and on the other profile too where
    that profile's cluster serves the kind (the Gateway API objects of both releases)."""
    for case in test_admission_corpus.CASES:
        doc = case.document()
        for profile in PROFILES:
            if profile == case.profile or _served(profile, doc):
                yield Sent(f"corpus: {case.name}", profile, doc)
    for doc, mutate, message, _ in test_admission.REJECTED:
        yield Sent(f"rejected: {message}", "kgateway-v2.1", _mutated(doc, mutate))
    for mutate, message in test_admission.WORDED:
        yield Sent(f"worded: {message[:60]}", "kgateway-v2.1",
                   _mutated(test_admission.INLINE, mutate))
    for case in test_admission_words.CASES:
        yield Sent(f"words: {case.name}", case.profile, case.doc)
    yield from _extra()


def _mutated(doc: Any, mutate: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    copied: dict[str, Any] = copy.deepcopy(doc)
    mutate(copied)
    return copied


def _extra() -> Iterator[Sent]:
    """Manifests of the unit tests written inline there, and what only a live server can
    show: errors Go reports in a random order or one of several at random."""
    duplicate = copy.deepcopy(GATEWAY)
    duplicate["spec"]["listeners"].append({"name": "http", "port": 8081, "protocol": "HTTP"})
    yield Sent("duplicate listener names", "kgateway-v2.1", duplicate)
    bad = {**secret(TOKEN), "data": {"Authorization": "not base64!"}}
    del bad["stringData"]
    yield Sent("Secret data not base64", "kgateway-v2.1", bad)
    yield Sent("unknown kind", "kgateway-v2.1", {**test_admission.INLINE, "kind": "Bakend"})
    inline = test_admission.INLINE
    yield Sent("three undeclared fields at one level", "kgateway-v2.1",
               {**inline, "spec": {**inline["spec"], "foo": 1, "bar": 2, "baz": 3}})
    llm = {**inline["spec"]["ai"]["llm"], "port": "y", "host": 5}
    yield Sent("two wrong types at one level", "kgateway-v2.1",
               {**inline, "spec": {**inline["spec"], "ai": {"llm": llm}}})
    yield Sent("three structural errors", "kgateway-v2.1", {
        **inline, "metadata": {**inline["metadata"], "name": "A"},
        "spec": {**inline["spec"], "type": "x", "ai": {"llm": {"openai": {
            "authToken": {"kind": "y"}}}}}})


def builtin() -> Iterator[Sent]:
    """Every manifest the built-in scenarios apply, rendered as the walkthrough renders it for
    each provider: the mock (as the sim and as a cluster reach it) and OpenAI."""
    for profile in PROFILES:
        catalog = load_catalog(profile=profile)
        namespace = PROFILE_SETTINGS[profile].namespace
        upstreams = (("mock", ("127.0.0.1", 8000)), ("mock", in_cluster_address(namespace)),
                     ("openai", None))
        for scenario in catalog.scenarios:
            for provider, upstream in upstreams:
                ctx = make_context(scenario, TOKEN, provider, upstream)
                for step in scenario.steps:
                    if not isinstance(step, ApplyStep):
                        continue
                    for manifest in step.manifests:
                        for doc in render_manifest(manifest, ctx):
                            where = upstream[0] if upstream else "api.openai.com"
                            yield Sent(f"{scenario.id} {manifest.path} ({provider}, {where})",
                                       profile, doc)


def sim_says(sent: Sent) -> str | None:
    try:
        admit(sent.doc, profile=sent.profile)
    except ManifestRejected as exc:
        return exc.message
    return None


CORPUS = list(corpus())
BUILTIN = list(builtin())


def _check(sent: Sent, server: ApiServer, what: str) -> None:
    sim = sim_says(sent)
    ok, real = may_say(server, sent.doc, sim)
    assert ok, f"the API server said:\n  {real}\nthe sim said:\n  {sim}"
    agreed(what)


@pytest.mark.parametrize("sent", CORPUS, ids=[f"{s.profile}: {s.name}" for s in CORPUS])
def test_the_corpus_gets_the_api_servers_verdict_and_words(
        sent: Sent, tier_for: Callable[[str], ApiServer]) -> None:
    _check(sent, tier_for(sent.profile), "corpus manifests")


@pytest.mark.parametrize("sent", BUILTIN, ids=[f"{s.profile}: {s.name}" for s in BUILTIN])
def test_every_builtin_manifest_is_admitted_as_the_api_server_admits_it(
        sent: Sent, tier_for: Callable[[str], ApiServer]) -> None:
    _check(sent, tier_for(sent.profile), "built-in manifests")


def test_the_corpus_is_large_and_covers_both_profiles_and_the_builtin_manifests() -> None:
    assert len(CORPUS) > 250
    assert {s.profile for s in CORPUS} == set(PROFILES)
    kinds_sent = {s.doc["kind"] for s in BUILTIN}
    assert {"Backend", "AgentgatewayBackend", "HTTPRoute", "Gateway", "Secret"} <= kinds_sent
    assert {s.name.rsplit("(", 1)[1] for s in BUILTIN} >= {
        "mock, 127.0.0.1)", "openai, api.openai.com)"}
