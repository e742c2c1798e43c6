"""Every row of the gateway behaviour table, over real loopback HTTP (gateway + mock provider)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from sandbox.errors import ManifestRejected, PortInUse
from sandbox.profiles import DEFAULT_PROFILE
from sandbox.runtimes.runtime import ResourceRef
from sandbox.runtimes.sim.runtime import SimRuntime
from tests.conftest import OTHER_TOKEN, TOKEN
from tests.helpers import GATEWAY, backend, route, secret

ASK = {"model": "", "messages": [{"role": "user", "content": "Write a short haiku."}]}
BACKEND = ResourceRef("Backend", "openai", "kgateway-system")
ROUTE = ResourceRef("HTTPRoute", "openai", "kgateway-system")


async def setup(sim: SimRuntime, auth: dict[str, Any], *extra: dict[str, Any]) -> None:
    upstream = sim.mock_upstream()
    assert upstream is not None
    for doc in (GATEWAY, *extra, backend(auth, *upstream), route()):
        await sim.apply(doc)


async def ask(sim: SimRuntime, path: str = "/openai", body: Any = ASK,
              headers: dict[str, str] | None = None) -> httpx.Response:
    async with httpx.AsyncClient(trust_env=False) as client:
        return await client.post(sim.gateway_url + path, json=body, headers=headers or {})


def received(sim: SimRuntime) -> str:
    assert sim.mock is not None
    return sim.mock.received[-1].key


async def conditions(sim: SimRuntime, ref: ResourceRef) -> dict[str, tuple[str, str]]:
    status = await sim.status(ref)
    return {c.type: (c.status, c.reason) for c in status.conditions}


async def test_inline_key_overwrites_a_bogus_client_header(sim: SimRuntime) -> None:
    await setup(sim, {"kind": "Inline", "inline": TOKEN})
    response = await ask(sim, headers={"Authorization": f"Bearer {OTHER_TOKEN}"})
    assert response.status_code == 200
    assert received(sim) == "sk-…c5Ge"
    assert "sk-…c5Ge" in response.json()["choices"][0]["message"]["content"]


async def test_secret_ref_sets_the_key_and_strips_a_bearer_prefix(sim: SimRuntime) -> None:
    await setup(sim, {"kind": "SecretRef", "secretRef": {"name": "openai-secret"}},
                secret(f"Bearer {TOKEN}"))
    assert (await conditions(sim, BACKEND))["Accepted"] == ("True", "Accepted")
    response = await ask(sim, headers={"Authorization": "Bearer sk-test-bogus-client"})
    assert response.status_code == 200
    assert received(sim) == "sk-…c5Ge"


async def test_passthrough_forwards_the_client_header_unchanged(sim: SimRuntime) -> None:
    await setup(sim, {"kind": "Passthrough"})
    response = await ask(sim, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200 and received(sim) == "sk-…c5Ge"


async def test_passthrough_without_a_header_gets_the_providers_401(sim: SimRuntime) -> None:
    await setup(sim, {"kind": "Passthrough"})
    response = await ask(sim)
    assert response.status_code == 401
    assert response.json()["error"]["message"].startswith("You didn't provide an API key")


MISSING_SECRET = ('Backend error: "failed to find secret openai-secret: Secret "openai-secret" '
                  'not found"')


async def raw_conditions(sim: SimRuntime, ref: ResourceRef) -> list[dict[str, Any]]:
    stored = sim.cluster.get(ref.kind, ref.namespace, ref.name)
    assert stored is not None
    status = stored["status"]
    return list(status["parents"][0]["conditions"] if "parents" in status
                else status["conditions"])


async def test_missing_secret_rejects_the_backend_and_drops_the_auth_policy(
        sim: SimRuntime) -> None:
    await setup(sim, {"kind": "SecretRef", "secretRef": {"name": "openai-secret"}})
    [condition] = await raw_conditions(sim, BACKEND)  # the whole list replaced
    assert (condition["status"], condition["reason"], condition["message"]) == (
        "False", "Invalid", MISSING_SECRET)
    assert "observedGeneration" not in condition  # upstream's Invalid write sets none
    response = await ask(sim)
    assert response.status_code == 401
    assert "didn't provide an API key" in response.text
    # The backend is still served, without an auth policy: the client's own header passes.
    response = await ask(sim, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200 and received(sim) == "sk-…c5Ge"


@pytest.mark.parametrize("stored", [secret(TOKEN, key="authorization"), secret(""),
                                    secret(" \n")],
                         ids=["no-Authorization-key", "empty-value", "only-whitespace"])
async def test_a_secret_without_a_usable_key_leaves_the_backend_accepted(
        sim: SimRuntime, stored: dict[str, Any]) -> None:
    await setup(sim, {"kind": "SecretRef", "secretRef": {"name": "openai-secret"}}, stored)
    [condition] = await raw_conditions(sim, BACKEND)
    assert (condition["status"], condition["reason"], condition["message"]) == (
        "True", "Accepted", "Backend accepted")
    # The auth is dropped silently: no header reaches the provider, the client's passes as is.
    response = await ask(sim)
    assert response.status_code == 401 and received(sim) == ""
    response = await ask(sim, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200 and received(sim) == "sk-…c5Ge"


async def test_creating_the_secret_later_repairs_the_backend(sim: SimRuntime) -> None:
    await setup(sim, {"kind": "SecretRef", "secretRef": {"name": "openai-secret"}})
    assert (await ask(sim)).status_code == 401
    await sim.apply(secret(TOKEN))
    assert (await conditions(sim, BACKEND))["Accepted"] == ("True", "Accepted")
    assert (await ask(sim)).status_code == 200


async def test_an_empty_secret_created_after_a_missing_one_keeps_the_stale_status(
        sim: SimRuntime) -> None:
    await setup(sim, {"kind": "SecretRef", "secretRef": {"name": "openai-secret"}})
    empty = {**secret(""), "stringData": {}}
    await sim.apply(empty)
    [condition] = await raw_conditions(sim, BACKEND)
    assert (condition["status"], condition["message"]) == ("False", MISSING_SECRET)
    await sim.apply(secret(TOKEN))  # real data is a change kgateway notices
    assert (await conditions(sim, BACKEND))["Accepted"] == ("True", "Accepted")


async def test_wrong_key_gets_the_providers_invalid_api_key(sim: SimRuntime) -> None:
    await setup(sim, {"kind": "Inline", "inline": OTHER_TOKEN})
    response = await ask(sim)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"


async def test_route_to_a_missing_backend_is_not_resolved_and_answers_500(
        sim: SimRuntime) -> None:
    await sim.apply(GATEWAY)
    await sim.apply(route(backend_name="nope"))
    assert [(c["type"], c["status"], c["reason"], c["message"])
            for c in await raw_conditions(sim, ROUTE)] == [
        ("Accepted", "True", "Accepted", ""),
        ("ResolvedRefs", "False", "BackendNotFound",
         "kgateway Backend not found: kgateway-system/nope")]
    response = await ask(sim)
    assert (response.status_code, response.content) == (500, b"Backend service unavailable")
    assert "content-type" not in response.headers


async def test_a_port_on_a_backend_ref_yields_backend_not_found(sim: SimRuntime) -> None:
    await setup(sim, {"kind": "Passthrough"})
    await sim.apply(route(port=8080))
    assert (await conditions(sim, ROUTE))["ResolvedRefs"] == ("False", "BackendNotFound")


async def test_unmatched_path_is_a_404_from_the_gateway(sim: SimRuntime) -> None:
    await setup(sim, {"kind": "Inline", "inline": TOKEN})
    for path in ("/anthropic", "/openaix", "/"):
        response = await ask(sim, path=path)
        assert (response.status_code, response.text) == (404, "route not found")
    assert (await ask(sim, path="/openai/extra")).status_code == 200


async def test_openai_path_and_backend_model_are_forced(sim: SimRuntime) -> None:
    await setup(sim, {"kind": "Inline", "inline": TOKEN})
    response = await ask(sim, body={**ASK, "model": "gpt-4o"})
    assert response.json()["model"] == "gpt-3.5-turbo"
    assert sim.mock is not None
    assert sim.mock.received[-1].path == "/v1/chat/completions"


async def test_streaming_passes_through_the_gateway_chunk_by_chunk(sim: SimRuntime) -> None:
    await setup(sim, {"kind": "Inline", "inline": TOKEN})
    events = []
    async with httpx.AsyncClient(trust_env=False) as client, client.stream(
            "POST", sim.gateway_url + "/openai", json={**ASK, "stream": True}) as response:
        assert response.headers["content-type"] == "text/event-stream"
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                events.append(line[6:])
    assert events[-1] == "[DONE]"
    text = "".join(json.loads(e)["choices"][0]["delta"].get("content", "") for e in events[:-1])
    assert "sk-…c5Ge" in text and len(events) > 10


async def test_config_dump_redacts_keys(sim: SimRuntime) -> None:
    await setup(sim, {"kind": "Inline", "inline": TOKEN})
    dump = json.dumps(sim.cluster.config_dump())
    assert TOKEN not in dump and "<redacted>" in dump


async def test_conditions_follow_the_controller(sim: SimRuntime) -> None:
    await setup(sim, {"kind": "Passthrough"})
    gateway = await sim.status(ResourceRef("Gateway", "agentgateway", "kgateway-system"))
    assert {c.type: c.status for c in gateway.conditions} == {"Accepted": "True",
                                                               "Programmed": "True"}
    stored = sim.cluster.get("HTTPRoute", "kgateway-system", "openai")
    assert stored is not None
    [parent] = stored["status"]["parents"]
    assert parent["controllerName"] == "kgateway.dev/agentgateway"
    assert parent["parentRef"] == {"group": "gateway.networking.k8s.io", "kind": "Gateway",
                                   "namespace": "kgateway-system", "name": "agentgateway"}
    assert [(c["type"], c["status"], c["reason"], c["message"])
            for c in parent["conditions"]] == [("Accepted", "True", "Accepted", ""),
                                               ("ResolvedRefs", "True", "ResolvedRefs", "")]
    assert await sim.delete(BACKEND)
    assert (await conditions(sim, ROUTE))["ResolvedRefs"][1] == "BackendNotFound"
    assert not (await sim.status(BACKEND)).exists


async def test_apply_reports_created_configured_unchanged(sim: SimRuntime) -> None:
    first = await sim.apply(GATEWAY)
    again = await sim.apply(GATEWAY)
    changed = await sim.apply({**GATEWAY, "metadata": {**GATEWAY["metadata"],
                                                       "labels": {"a": "b"}}})
    assert [first.outcome, again.outcome, changed.outcome] == ["created", "unchanged",
                                                               "configured"]


async def test_a_secret_is_stored_as_base64_data_like_the_api_server(sim: SimRuntime) -> None:
    await sim.apply(secret(TOKEN))
    stored = sim.cluster.get("Secret", "kgateway-system", "openai-secret")
    assert stored is not None and "stringData" not in stored
    assert TOKEN not in json.dumps(stored)


async def test_missing_namespace_is_rejected(sim: SimRuntime) -> None:
    doc = {**GATEWAY, "metadata": {"name": "g", "namespace": "nowhere"}}
    with pytest.raises(ManifestRejected, match='namespaces "nowhere" not found'):
        await sim.apply(doc)


async def test_a_taken_port_is_a_clear_error(sim: SimRuntime) -> None:
    assert sim.gateway is not None
    second = SimRuntime(DEFAULT_PROFILE, sim.gateway.port, "mock", [TOKEN])
    with pytest.raises(PortInUse, match=f"port {sim.gateway.port} .* already in use") as caught:
        await second.up(lambda message: None)
    assert "--port" in caught.value.hint
    assert second.gateway is None and second.mock is None
