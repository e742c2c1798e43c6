"""The sim refuses what kube-apiserver v1.34.3 refuses, in its exact words, where our reading of
the CRDs was wrong: cases found by asking the real API server (the upstream tier).

Each case's message is the real server's, recorded in tests/data/admission_words.json by
tests/tier/record_admission_words.py from a server-side apply dry run (field manager
agw-sandbox, fieldValidation=Strict); tests/tier/test_admission_agrees.py checks that the
server still says it. Where Go walks a map (kube-openapi, structured-merge-diff, ObjectMeta),
the server lists its errors in a random order: the sim's text need only be one of those orders.
"""

from __future__ import annotations

import copy
import functools
import json
from dataclasses import dataclass
from typing import Any

import pytest

from sandbox.errors import ManifestRejected
from sandbox.runtimes.sim.admission import admit
from tests.conftest import REPO, TOKEN
from tests.helpers import GATEWAY, agw_backend, backend, route, secret
from tests.words import same_words

KGW, AGW = "kgateway-v2.1", "agentgateway-v1.4"
RECORD = REPO / "tests" / "data" / "admission_words.json"
DELETE = object()


def changed(doc: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A copy of ``doc`` with ``a__b__0=value`` set (DELETE removes the field)."""
    out = copy.deepcopy(doc)
    for path, value in changes.items():
        *parents, last = path.split("__")
        node: Any = out
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        key_: Any = int(last) if last.isdigit() else last
        if value is DELETE:
            del node[key_]
        else:
            node[key_] = value
    return out


@dataclass(frozen=True)
class Worded:
    name: str
    profile: str
    doc: dict[str, Any]


INLINE = backend({"kind": "Inline", "inline": TOKEN})
ROUTE = route()
AGW_BACKEND = agw_backend({"secretRef": {"name": "openai-secret"}})
SECRET = secret(TOKEN)
POLICY = {"apiVersion": "agentgateway.dev/v1alpha1", "kind": "AgentgatewayPolicy",
          "metadata": {"name": "x", "namespace": "agentgateway-system"},
          "spec": {"targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway",
                                   "name": "g"}]}}
CONFIG_MAP = {"apiVersion": "v1", "kind": "ConfigMap",
              "metadata": {"name": "x", "namespace": "kgateway-system"}}


def _frame_size(value: Any) -> dict[str, Any]:
    return changed(POLICY, spec__frontend={"http": {"http2FrameSize": value}})


def _timeout(value: str) -> dict[str, Any]:
    return changed(AGW_BACKEND, spec__policies__http={"requestTimeout": value})


CASES = [
    # structured-merge-diff: the first undeclared field of a map stops its walk
    Worded("an undeclared field beside declared ones", KGW, changed(INLINE, spec__foo=1)),
    Worded("undeclared fields at two depths", KGW, changed(
        INLINE, spec__ai__llm__openai__authToken__inlin="x", spec__ai__llm__openai__modl="y")),
    Worded("undeclared field and a wrong type", KGW, changed(
        INLINE, spec__ai__llm__openai__authToken__inlin="x", spec__ai__llm__port="y",
        spec__ai__llm__host="h")),
    Worded("undeclared metadata and spec fields", KGW, changed(
        INLINE, metadata__label={}, spec__foo=1)),
    Worded("a port that is a boolean", KGW, changed(INLINE, spec__ai__llm__host="h",
                                                    spec__ai__llm__port=True)),
    Worded("a model that is a list", KGW, changed(INLINE, spec__ai__llm__openai__model=["a"])),
    Worded("a model that is a map", KGW, changed(INLINE,
                                                 spec__ai__llm__openai__model={"a": 1})),
    Worded("llm that is a list", KGW, changed(INLINE, spec__ai__llm=[1])),
    Worded("duplicate header match names", KGW, changed(
        ROUTE, spec__rules__0__matches__0__headers=[{"name": "a", "value": "b"},
                                                   {"name": "a", "value": "c"}])),
    # a null is kept by server-side apply and refused unless the schema defaults it
    Worded("port left empty", KGW, changed(INLINE, spec__ai__llm__host="mock",
                                           spec__ai__llm__port=None)),
    Worded("host and port left empty", KGW, changed(INLINE, spec__ai__llm__host=None,
                                                    spec__ai__llm__port=None)),
    Worded("model left empty", KGW, changed(INLINE, spec__ai__llm__openai__model=None)),
    Worded("authToken left empty", KGW, changed(INLINE, spec__ai__llm__openai__authToken=None)),
    Worded("hostnames left empty", KGW, changed(ROUTE, spec__hostnames=None)),
    Worded("a backendRef weight left empty gets its default", KGW, changed(
        ROUTE, spec__rules__0__backendRefs__0__weight=None)),
    Worded("spec left empty", KGW, changed(INLINE, spec=None)),
    Worded("a port that is a fraction", KGW, changed(INLINE, spec__ai__llm__host="h",
                                                     spec__ai__llm__port=8000.5)),
    # ObjectMeta
    Worded("no name", KGW, changed(INLINE, metadata__name=DELETE)),
    Worded("a name with a capital", KGW, changed(INLINE, metadata__name="OpenAI")),
    Worded("a name with a dot", KGW, changed(INLINE, metadata__name="open.ai")),
    Worded("a label key with a space", KGW, changed(INLINE, metadata__labels={"a b": "c"})),
    Worded("a label value with a space", KGW, changed(INLINE, metadata__labels={"a": "c d"})),
    Worded("a label key with two slashes", KGW, changed(INLINE, metadata__labels={"a/b/c": "d"})),
    Worded("a label key with an empty prefix", KGW, changed(INLINE, metadata__labels={"/b": "d"})),
    Worded("a label value too long", KGW, changed(INLINE, metadata__labels={"a": "v" * 64})),
    Worded("an annotation key with a space", KGW, changed(
        INLINE, metadata__annotations={"a b": "c"})),
    Worded("labels left empty", KGW, changed(INLINE, metadata__labels=None)),
    # Secrets and ConfigMaps: the checks compiled into the API server
    Worded("a Secret key with a space", KGW, changed(SECRET, stringData={"a b": "c"})),
    Worded("a Secret data key with a space", KGW, changed(SECRET, stringData=DELETE,
                                                          data={"a b": "YQ=="})),
    Worded("a Secret key '..x'", KGW, changed(SECRET, stringData={"..x": "c"})),
    Worded("a TLS Secret without its keys", KGW, changed(SECRET, type="kubernetes.io/tls")),
    Worded("a basic-auth Secret without its keys", KGW, changed(
        SECRET, type="kubernetes.io/basic-auth")),
    Worded("an ssh-auth Secret with an empty key", KGW, changed(
        SECRET, type="kubernetes.io/ssh-auth", stringData={"ssh-privatekey": ""})),
    Worded("a Secret immutable that is a word", KGW, changed(SECRET, immutable="yes")),
    Worded("a Secret data value that is a number", KGW, changed(SECRET, stringData=DELETE,
                                                                data={"a": 1})),
    Worded("a Secret data value that is not base64", KGW, changed(
        SECRET, stringData=DELETE, data={"b": "YQ==", "a": "not base64!"})),
    Worded("a Secret data value with bad padding", KGW, changed(
        SECRET, stringData=DELETE, data={"a": "YWJjZA="})),
    Worded("a Secret name with an underscore", KGW, changed(SECRET,
                                                            metadata__name="openai_secret")),
    Worded("ConfigMap binaryData that is not base64", KGW, {**CONFIG_MAP,
                                                             "binaryData": {"a": "!!"}}),
    Worded("a ConfigMap key in data and binaryData", KGW, {
        **CONFIG_MAP, "binaryData": {"a": "YQ=="}, "data": {"a": "b"}}),
    Worded("a ConfigMap key '.'", KGW, {**CONFIG_MAP, "data": {".": "b"}}),
    # kube-openapi's words
    Worded("two lists below their minimum", KGW, {
        "apiVersion": "gateway.networking.k8s.io/v1beta1", "kind": "ReferenceGrant",
        "metadata": {"name": "x", "namespace": "kgateway-system"},
        "spec": {"from": [], "to": []}}),
    Worded("an IPAddress address that is a hostname", KGW, changed(
        GATEWAY, spec__addresses=[{"type": "IPAddress", "value": "example.com"}])),
    Worded("a GatewayClass controllerName without a path", KGW, {
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass",
        "metadata": {"name": "x"}, "spec": {"controllerName": "bad"}}),
    Worded("a listener with an HTTPS and an empty tls", KGW, changed(
        GATEWAY, spec__listeners=[{"name": "a", "port": 443, "protocol": "HTTPS",
                                   "tls": {"mode": "Terminate"}}])),
    # CEL with Kubernetes' functions and Go's parsing
    Worded("requestTimeout 30s", AGW, _timeout("30s")),
    Worded("requestTimeout 1h30m", AGW, _timeout("1h30m")),
    Worded("requestTimeout 0s", AGW, _timeout("0s")),
    Worded("requestTimeout 30x", AGW, _timeout("30x")),
    Worded("requestTimeout with a trailing space", AGW, _timeout("30s ")),
    Worded("requestTimeout in microseconds", AGW, _timeout("500µs")),
    Worded("connectTimeout below its minimum", AGW, changed(
        AGW_BACKEND, spec__policies__tcp={"connectTimeout": "10ms"})),
    Worded("http2FrameSize 16k", AGW, _frame_size("16k")),
    Worded("http2FrameSize 16Ki", AGW, _frame_size("16Ki")),
    Worded("http2FrameSize as a number too large", AGW, _frame_size(100000000)),
    Worded("http2FrameSize that is no quantity", AGW, _frame_size("lots")),
    Worded("http2FrameSize with an exponent", AGW, _frame_size("2e4")),
    Worded("tls insecureSkipVerify with SANs", AGW, changed(
        AGW_BACKEND, spec__policies__tls={"insecureSkipVerify": "All",
                                          "verifySubjectAltNames": ["a"]})),
    Worded("an MCP backend with an empty selector", KGW, changed(
        INLINE, spec__type="MCP", spec__ai=DELETE,
        spec__mcp={"targets": [{"name": "a", "selector": {}}]})),
    Worded("an MCP selector naming a namespace", KGW, changed(
        INLINE, spec__type="MCP", spec__ai=DELETE,
        spec__mcp={"targets": [{"name": "a", "selector": {"namespace": {}}}]})),
    Worded("empty GatewayParameters", KGW, {
        "apiVersion": "gateway.kgateway.dev/v1alpha1", "kind": "GatewayParameters",
        "metadata": {"name": "x", "namespace": "kgateway-system"}, "spec": {}}),
]


@functools.cache
def recorded() -> dict[str, str | None]:
    messages: dict[str, str | None] = json.loads(RECORD.read_text("utf-8"))
    return messages


def sim_words(case: Worded) -> str | None:
    try:
        admit(case.doc, profile=case.profile)
    except ManifestRejected as exc:
        return exc.message
    return None


def test_every_case_has_the_api_servers_words() -> None:
    assert sorted(recorded()) == sorted(c.name for c in CASES), (
        "record them again: python -m tests.tier.record_admission_words")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_sim_words_a_refusal_as_the_api_server_does(case: Worded) -> None:
    said = sim_words(case)
    assert same_words(recorded()[case.name], said), (recorded()[case.name], said)
    assert TOKEN not in (said or "")
