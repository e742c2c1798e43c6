"""Every object the sim admits gets the status upstream writes, or an honest refusal.

What the simulated runtime does not reproduce is refused at apply, or answered at request time,
in the sandbox's own labelled words ("not simulated: ... (works on kind)"); what it does
reproduce follows agentgateway's code (v1.4.1 ``controller/pkg/syncer/backend``,
``controller/pkg/agentgateway/translator``, ``crates/agentgateway``) and kgateway v2.1's.
"""

from __future__ import annotations

import base64
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from sandbox.errors import ManifestRejected
from sandbox.profiles import AGENTGATEWAY_V1_4
from sandbox.runtimes.runtime import ResourceRef
from sandbox.runtimes.sim.runtime import SimRuntime
from tests.conftest import TOKEN
from tests.helpers import (
    AGW_GATEWAY,
    AGW_NAMESPACE,
    GATEWAY,
    agw_backend,
    agw_route,
    agw_secret,
    backend,
    route,
)

ASK = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Write a short haiku."}]}
AGW_BACKEND = ResourceRef("AgentgatewayBackend", "openai", AGW_NAMESPACE)
AGW_ROUTE = ResourceRef("HTTPRoute", "openai", AGW_NAMESPACE)
# The docs' inline AgentgatewayBackend sets these route types.
DOCS_ROUTES = {"/v1/responses": "Responses", "/v1/chat/completions": "Completions",
               "/v1/models": "Models", "*": "Passthrough"}


@pytest.fixture
async def agw() -> AsyncIterator[SimRuntime]:
    runtime = SimRuntime(AGENTGATEWAY_V1_4, 0, "mock", [TOKEN], token_delay=0.0)
    await runtime.up(lambda message: None)
    try:
        yield runtime
    finally:
        await runtime.down()


def agw_doc(spec: dict[str, Any], name: str = "openai") -> dict[str, Any]:
    return {"apiVersion": "agentgateway.dev/v1alpha1", "kind": "AgentgatewayBackend",
            "metadata": {"name": name, "namespace": AGW_NAMESPACE}, "spec": spec}


async def ask(sim: SimRuntime, path: str = "/openai", body: Any = ASK,
              headers: dict[str, str] | None = None) -> httpx.Response:
    async with httpx.AsyncClient(trust_env=False) as client:
        return await client.post(sim.gateway_url + path, json=body, headers=headers or {})


def received(sim: SimRuntime) -> tuple[str, str, str]:
    assert sim.mock is not None
    last = sim.mock.received[-1]
    return last.key, last.path, last.model


async def conditions(sim: SimRuntime, ref: ResourceRef) -> list[tuple[str, str, str, str]]:
    return [(c.type, c.status, c.reason, c.message) for c in (await sim.status(ref)).conditions]


# -- refused: what the sim does not reproduce -------------------------------------------------
NOT_SERVED = {
    "static": {"static": {"host": "example.com", "port": 80}},
    "mcp": {"mcp": {"targets": [{"name": "t", "static": {"host": "example.com", "port": 80}}]}},
    "a2a": {"a2a": {"host": "example.com", "port": 80}},
    "dynamicForwardProxy": {"dynamicForwardProxy": {}},
    "groups": {"ai": {"groups": [{"providers": [{"name": "a", "openai": {}}]}]}},
    "gcp": {"ai": {"provider": {"openai": {}}}, "policies": {"auth": {"gcp": {}}}},
    "aws": {"ai": {"provider": {"openai": {}}}, "policies": {"auth": {"aws": {}}}},
    "oauthTokenExchange": {"ai": {"provider": {"openai": {}}}, "policies": {"auth": {
        "oauthTokenExchange": {"backendRef": {"name": "sts", "group": "agentgateway.dev",
                                              "kind": "AgentgatewayBackend"}}}}},
    "location": {"ai": {"provider": {"openai": {}}}, "policies": {"auth": {
        "key": "sk-test-1", "location": {"header": {"name": "x-api-key"}}}}},
    "tls": {"ai": {"provider": {"openai": {}}}, "policies": {"tls": {}}},
}


@pytest.mark.parametrize("what", list(NOT_SERVED))
async def test_a_backend_the_sim_cannot_serve_is_refused_in_its_own_words(
        agw: SimRuntime, what: str) -> None:
    with pytest.raises(ManifestRejected) as caught:
        await agw.apply(agw_doc(NOT_SERVED[what]))
    assert caught.value.message.startswith("not simulated: ")
    assert caught.value.message.endswith("(works on kind)")
    assert what in caught.value.message
    assert "--runtime kind" in caught.value.hint
    assert not (await agw.status(AGW_BACKEND)).exists


@pytest.mark.parametrize("doc", [
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "mock", "namespace": "default"},
     "spec": {"ports": [{"port": 80}]}},
    {"apiVersion": "apps/v1", "kind": "Deployment",
     "metadata": {"name": "mock", "namespace": "default"}, "spec": {}},
    {"apiVersion": "agentgateway.dev/v1alpha1", "kind": "AgentgatewayPolicy",
     "metadata": {"name": "p", "namespace": AGW_NAMESPACE},
     "spec": {"targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute",
                              "name": "openai"}], "backend": {"auth": {"passthrough": {}}}}},
], ids=["Service", "Deployment", "AgentgatewayPolicy"])
async def test_a_kind_the_sim_does_not_keep_is_refused_not_unknown(
        agw: SimRuntime, doc: dict[str, Any]) -> None:
    with pytest.raises(ManifestRejected) as caught:
        await agw.apply(doc)
    assert caught.value.message.startswith(f"not simulated: a {doc['kind']}")
    assert "no matches for kind" not in caught.value.message


# -- modelled: status as upstream writes it -----------------------------------------------------
async def test_another_provider_gets_upstreams_status_and_an_honest_answer(
        agw: SimRuntime) -> None:
    """llm-bedrock.yaml: any provider with a resolvable key is "Backend successfully accepted";
    requests through it are not simulated (the mock speaks OpenAI's API only)."""
    await agw.apply(AGW_GATEWAY)
    await agw.apply(agw_doc({"ai": {"provider": {"anthropic": {"model": "claude-3-5-haiku"}}},
                             "policies": {"auth": {"secretRef": {"name": "openai-secret"}}}}))
    await agw.apply(agw_route())
    assert await conditions(agw, AGW_BACKEND) == [(
        "Accepted", "False", "TranslationError",
        "failed to translate backend: secret agentgateway-system/openai-secret not found")]
    await agw.apply(agw_secret(f"Bearer {TOKEN}"))
    assert await conditions(agw, AGW_BACKEND) == [
        ("Accepted", "True", "Accepted", "Backend successfully accepted")]
    response = await ask(agw)
    assert response.status_code == 501
    assert response.text.startswith("not simulated: a request through the anthropic provider")


async def test_a_secret_value_that_is_not_utf8_is_missing_to_agentgateway(
        agw: SimRuntime) -> None:
    binary = agw_secret("")
    del binary["stringData"]
    binary["data"] = {"Authorization": base64.b64encode(b"\xff\xfe").decode()}
    await agw.apply(binary)
    await agw.apply(agw_backend({"secretRef": {"name": "openai-secret"}}))
    assert await conditions(agw, AGW_BACKEND) == [(
        "Accepted", "False", "TranslationError",
        "failed to translate backend: secret agentgateway-system/openai-secret missing "
        "Authorization value")]


# -- modelled: the proxy's paths and route types ------------------------------------------------
async def setup_agw(sim: SimRuntime, auth: dict[str, Any], rewrite: bool = True,
                    **provider: Any) -> None:
    upstream = sim.mock_upstream()
    assert upstream is not None
    doc = agw_backend(auth, *upstream, path=None)
    doc["spec"]["ai"]["provider"].update(provider)
    for each in (AGW_GATEWAY, doc, agw_route(rewrite=rewrite)):
        await sim.apply(each)


async def test_path_prefix_replaces_the_v1_base_of_the_openai_path(agw: SimRuntime) -> None:
    await setup_agw(agw, {"key": TOKEN}, rewrite=False, pathPrefix="/v1")
    assert (await ask(agw)).status_code == 200
    assert received(agw)[1] == "/v1/chat/completions"
    await setup_agw(agw, {"key": TOKEN}, rewrite=False, pathPrefix="/api/v2/")
    response = await ask(agw)
    assert response.status_code == 404  # the mock's: it was asked for /api/v2/chat/completions
    assert "/api/v2/chat/completions" in response.json()["error"]["message"]


async def test_the_docs_route_types_are_served_as_agentgateway_serves_them(
        agw: SimRuntime) -> None:
    upstream = agw.mock_upstream()
    assert upstream is not None
    doc = agw_backend({"key": TOKEN}, *upstream)
    doc["spec"]["policies"]["ai"] = {"routes": DOCS_ROUTES}
    for each in (AGW_GATEWAY, doc, agw_route(rewrite=True)):
        await agw.apply(each)
    # /openai becomes /v1/chat/completions: a completion, so the backend's model is forced.
    assert (await ask(agw)).status_code == 200
    assert received(agw)[1:] == ("/v1/chat/completions", "gpt-3.5-turbo")
    # "*": Passthrough: the body is not parsed, so the client's model stays.
    assert (await ask(agw, "/openai/other")).status_code == 200
    assert received(agw)[1:] == ("/v1/chat/completions", "gpt-4o")
    models = await ask(agw, "/openai/v1/models")
    assert (models.status_code, models.text) == (
        501, "{\"error\":\"Route 'Models' not implemented\"}")
    assert models.headers["content-type"] == "application/json"
    responses = await ask(agw, "/openai/v1/responses")
    assert responses.status_code == 501
    assert responses.text.startswith("not simulated: the Responses route type")


# -- modelled: backendRefs as agentgateway's controller resolves them -------------------------
def agw_route_to(**ref: Any) -> dict[str, Any]:
    doc = agw_route()
    doc["spec"]["rules"][0]["backendRefs"] = [ref]
    return doc


GRANT = {"apiVersion": "gateway.networking.k8s.io/v1beta1", "kind": "ReferenceGrant",
         "metadata": {"name": "routes-from-agw", "namespace": "default"},
         "spec": {"from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute",
                            "namespace": AGW_NAMESPACE}],
                  "to": [{"group": "agentgateway.dev", "kind": "AgentgatewayBackend"}]}}


async def test_a_backend_in_another_namespace_needs_a_reference_grant(agw: SimRuntime) -> None:
    upstream = agw.mock_upstream()
    assert upstream is not None
    elsewhere = agw_backend({"key": TOKEN}, *upstream)
    elsewhere["metadata"]["namespace"] = "default"
    for each in (AGW_GATEWAY, elsewhere,
                 agw_route_to(name="openai", namespace="default", group="agentgateway.dev",
                              kind="AgentgatewayBackend")):
        await agw.apply(each)
    assert (await conditions(agw, AGW_ROUTE))[1] == (
        "ResolvedRefs", "False", "RefNotPermitted",
        'backendRef default/openai not accessible to a HTTPRoute in namespace '
        '"agentgateway-system" (missing a ReferenceGrant?)')
    refused = await ask(agw)
    assert (refused.status_code, refused.text) == (500, "backend does not exist")
    await agw.apply(GRANT)
    assert (await conditions(agw, AGW_ROUTE))[1] == ("ResolvedRefs", "True", "ResolvedRefs", "")
    assert (await ask(agw)).status_code == 200


@pytest.mark.parametrize(("ref", "reason", "message", "answer"), [
    ({"name": "mock", "port": 8000}, "BackendNotFound",
     "backend(mock.agentgateway-system.svc.cluster.local) not found", "service not found"),
    ({"name": "x", "group": "example.com", "kind": "NotBackend"}, "InvalidKind",
     'referencing unsupported backendRef: group "example.com" kind "NotBackend"',
     "backend does not exist"),
], ids=["Service", "other-kind"])
async def test_a_backend_ref_of_another_kind_gets_agentgateways_condition(
        agw: SimRuntime, ref: dict[str, Any], reason: str, message: str, answer: str) -> None:
    await agw.apply(AGW_GATEWAY)
    await agw.apply(agw_route_to(**ref))
    assert (await conditions(agw, AGW_ROUTE))[1] == ("ResolvedRefs", "False", reason, message)
    response = await ask(agw)
    assert (response.status_code, response.text) == (500, answer)


# -- modelled: what the proxy says when it cannot send or connect -----------------------------
async def test_a_key_http_cannot_carry_fails_the_request_on_v1_4(agw: SimRuntime) -> None:
    await setup_agw(agw, {"key": f"{TOKEN}\n"}, path="/v1/chat/completions")
    response = await ask(agw)
    assert (response.status_code, response.text) == (
        503, "processing failed: failed to parse header value")


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_an_unreachable_upstream_gets_each_proxys_own_words(
        agw: SimRuntime, sim: SimRuntime) -> None:
    port = closed_port()
    for each in (AGW_GATEWAY, agw_backend({"key": TOKEN}, "127.0.0.1", port), agw_route()):
        await agw.apply(each)
    response = await ask(agw)
    assert response.status_code == 503
    assert response.text.startswith("upstream call failed: Connect: Connection refused (os ")
    for each in (GATEWAY, backend({"kind": "Inline", "inline": TOKEN}, "127.0.0.1", port),
                 route()):
        await sim.apply(each)
    response = await ask(sim)  # 0.10.3's fork of hyper-util prints its error as 1.4.1's pool does
    assert response.status_code == 503
    assert response.text.startswith("upstream call failed: Connect: Connection refused (os ")


# -- kgateway v2.1 ------------------------------------------------------------------------------
KGW_NOT_SERVED = {
    "Static": {"type": "Static", "static": {"hosts": [{"host": "example.com", "port": 80}]}},
    "DynamicForwardProxy": {"type": "DynamicForwardProxy", "dynamicForwardProxy": {}},
    "priorityGroups": {"type": "AI", "ai": {"priorityGroups": [{"providers": [
        {"name": "a", "openai": {"authToken": {"kind": "Passthrough"}}}]}]}},
    "bedrock": {"type": "AI", "ai": {"llm": {"bedrock": {
        "model": "m", "region": "us-east-1",
        "auth": {"type": "Secret", "secretRef": {"name": "s"}}}}}},
}


@pytest.mark.parametrize("what", list(KGW_NOT_SERVED))
async def test_a_kgateway_backend_the_sim_cannot_serve_is_refused(
        sim: SimRuntime, what: str) -> None:
    doc = {**backend({"kind": "Passthrough"}), "spec": KGW_NOT_SERVED[what]}
    with pytest.raises(ManifestRejected) as caught:
        await sim.apply(doc)
    assert caught.value.message.startswith("not simulated: ") and what in caught.value.message


async def test_a_kgateway_anthropic_backend_is_accepted_and_answered_honestly(
        sim: SimRuntime) -> None:
    doc = backend({"kind": "Inline", "inline": TOKEN})
    doc["spec"]["ai"]["llm"] = {"anthropic": doc["spec"]["ai"]["llm"]["openai"]}
    for each in (GATEWAY, doc, route()):
        await sim.apply(each)
    status = await sim.status(ResourceRef("Backend", "openai", "kgateway-system"))
    assert [(c.status, c.message) for c in status.conditions] == [("True", "Backend accepted")]
    response = await ask(sim)
    assert response.status_code == 501 and response.text.startswith("not simulated: ")


@pytest.mark.parametrize("ref", [{"name": "mock", "port": 8000},
                                 {"name": "openai", "namespace": "default",
                                  "group": "gateway.kgateway.dev", "kind": "Backend"}],
                         ids=["Service", "other-namespace"])
async def test_a_kgateway_route_the_sim_cannot_resolve_is_refused(
        sim: SimRuntime, ref: dict[str, Any]) -> None:
    doc = route()
    doc["spec"]["rules"][0]["backendRefs"] = [ref]
    with pytest.raises(ManifestRejected, match=r"^not simulated: a backendRef"):
        await sim.apply(doc)
