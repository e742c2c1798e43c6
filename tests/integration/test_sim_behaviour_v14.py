"""DESIGN §4, second column: agentgateway v1.4.1 in the sim, over real loopback HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from sandbox.errors import ManifestRejected
from sandbox.profiles import AGENTGATEWAY_V1_4
from sandbox.runtimes.runtime import ResourceRef
from sandbox.runtimes.sim.runtime import SimRuntime
from tests.conftest import OTHER_TOKEN, TOKEN
from tests.helpers import AGW_GATEWAY, agw_backend, agw_route, agw_secret, backend

ASK = {"model": "", "messages": [{"role": "user", "content": "Write a short haiku."}]}
BACKEND = ResourceRef("AgentgatewayBackend", "openai", "agentgateway-system")
ROUTE = ResourceRef("HTTPRoute", "openai", "agentgateway-system")
SECRET_REF = {"secretRef": {"name": "openai-secret"}}
NOT_FOUND = "failed to translate backend: secret agentgateway-system/openai-secret not found"
NO_VALUE = ("failed to translate backend: secret agentgateway-system/openai-secret missing "
            "Authorization value")


@pytest.fixture
async def sim() -> AsyncIterator[SimRuntime]:
    runtime = SimRuntime(AGENTGATEWAY_V1_4, 0, "mock", [TOKEN], token_delay=0.0)
    await runtime.up(lambda message: None)
    try:
        yield runtime
    finally:
        await runtime.down()


async def setup(sim: SimRuntime, auth: dict[str, Any] | None, *extra: dict[str, Any],
                rewrite: bool = False, path: str | None = "/v1/chat/completions") -> None:
    upstream = sim.mock_upstream()
    assert upstream is not None
    for doc in (AGW_GATEWAY, *extra, agw_backend(auth, *upstream, path=path),
                agw_route(rewrite=rewrite)):
        await sim.apply(doc)


async def ask(sim: SimRuntime, path: str = "/openai",
              headers: dict[str, str] | None = None) -> httpx.Response:
    async with httpx.AsyncClient(trust_env=False) as client:
        return await client.post(sim.gateway_url + path, json=ASK, headers=headers or {})


def received(sim: SimRuntime) -> tuple[str, str]:
    """The masked key and the path the mock provider last received."""
    assert sim.mock is not None
    last = sim.mock.received[-1]
    return last.key, last.path


def written(sim: SimRuntime, ref: ResourceRef) -> list[tuple[str, str, str, str]]:
    stored = sim.cluster.get(ref.kind, ref.namespace, ref.name)
    assert stored is not None
    status = stored["status"]
    raw = status["parents"][0]["conditions"] if "parents" in status else status["conditions"]
    return [(c["type"], c["status"], c["reason"], c["message"]) for c in raw]


def is_service_not_found(response: httpx.Response) -> bool:
    return (response.status_code, response.text,
            response.headers.get("content-type")) == (500, "service not found", "text/plain")


async def test_an_inline_key_overwrites_a_bogus_client_header(sim: SimRuntime) -> None:
    await setup(sim, {"key": TOKEN})
    assert written(sim, BACKEND) == [("Accepted", "True", "Accepted",
                                      "Backend successfully accepted")]
    response = await ask(sim, headers={"Authorization": f"Bearer {OTHER_TOKEN}"})
    assert response.status_code == 200 and received(sim)[0] == "sk-…c5Ge"


async def test_a_secret_ref_sets_the_key_and_strips_a_bearer_prefix(sim: SimRuntime) -> None:
    await setup(sim, SECRET_REF, agw_secret(f"Bearer {TOKEN}"))
    response = await ask(sim, headers={"Authorization": "Bearer sk-test-bogus-client"})
    assert response.status_code == 200 and received(sim)[0] == "sk-…c5Ge"


async def test_passthrough_forwards_the_client_header_and_none_gets_a_401(
        sim: SimRuntime) -> None:
    await setup(sim, {"passthrough": {}})
    assert (await ask(sim, headers={"Authorization": f"Bearer {TOKEN}"})).status_code == 200
    assert received(sim)[0] == "sk-…c5Ge"
    response = await ask(sim)
    assert response.status_code == 401 and "didn't provide an API key" in response.text


async def test_a_missing_secret_fails_translation_and_the_gateway_answers_service_not_found(
        sim: SimRuntime) -> None:
    await setup(sim, SECRET_REF)
    assert written(sim, BACKEND) == [("Accepted", "False", "TranslationError", NOT_FOUND)]
    stored = sim.cluster.get(BACKEND.kind, BACKEND.namespace, BACKEND.name)
    assert stored is not None and "observedGeneration" in stored["status"]["conditions"][0]
    # The route only checks that the AgentgatewayBackend exists.
    assert written(sim, ROUTE) == [("Accepted", "True", "Accepted", ""),
                                   ("ResolvedRefs", "True", "ResolvedRefs", "")]
    # Never sent to the proxy: even the client's own key does not reach the provider.
    assert is_service_not_found(await ask(sim, headers={"Authorization": f"Bearer {TOKEN}"}))
    assert sim.mock is not None and not sim.mock.received
    await sim.apply(agw_secret(TOKEN))  # created later: translated again
    assert written(sim, BACKEND)[0][1] == "True"
    assert (await ask(sim)).status_code == 200


@pytest.mark.parametrize("stored", [agw_secret(TOKEN, key="authorization"), agw_secret(""),
                                    agw_secret("  \n")],
                         ids=["no-Authorization-key", "empty-value", "blank-value"])
async def test_a_secret_without_a_usable_value_fails_translation_too(
        sim: SimRuntime, stored: dict[str, Any]) -> None:
    await setup(sim, SECRET_REF, stored)
    assert written(sim, BACKEND) == [("Accepted", "False", "TranslationError", NO_VALUE)]
    assert is_service_not_found(await ask(sim))


async def test_just_bearer_is_trimmed_first_so_the_key_bearer_is_sent(sim: SimRuntime) -> None:
    """GetSecretDataAuth trims, then removes "Bearer ": "Bearer " alone leaves "Bearer"."""
    await setup(sim, SECRET_REF, agw_secret("Bearer "))
    assert written(sim, BACKEND)[0][:2] == ("Accepted", "True")
    response = await ask(sim)
    assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_api_key"


async def test_secret_ref_key_names_another_entry_and_keeps_its_value_as_is(
        sim: SimRuntime) -> None:
    await setup(sim, {"secretRef": {"name": "openai-secret", "key": "api-key"}},
                agw_secret(TOKEN, key="api-key"))
    assert written(sim, BACKEND)[0][:2] == ("Accepted", "True")
    assert (await ask(sim)).status_code == 200 and received(sim)[0] == "sk-…c5Ge"


async def test_an_empty_inline_key_means_no_auth_and_the_client_header_passes(
        sim: SimRuntime) -> None:
    await setup(sim, {"key": ""})
    assert written(sim, BACKEND)[0][:2] == ("Accepted", "True")
    assert (await ask(sim)).status_code == 401
    assert (await ask(sim, headers={"Authorization": f"Bearer {TOKEN}"})).status_code == 200
    assert received(sim)[0] == "sk-…c5Ge"


async def test_a_route_to_a_missing_backend_is_backend_not_found_and_service_not_found(
        sim: SimRuntime) -> None:
    await sim.apply(AGW_GATEWAY)
    await sim.apply(agw_route(backend_name="openai"))
    assert written(sim, ROUTE) == [
        ("Accepted", "True", "Accepted", ""),
        ("ResolvedRefs", "False", "BackendNotFound",
         "Backend not found: agentgateway-system/openai")]
    assert is_service_not_found(await ask(sim))


async def test_a_port_on_the_backend_ref_is_ignored(sim: SimRuntime) -> None:
    await setup(sim, {"passthrough": {}})
    await sim.apply(agw_route(port=8080))
    assert written(sim, ROUTE)[1][:3] == ("ResolvedRefs", "True", "ResolvedRefs")


async def test_a_host_override_without_path_sends_the_path_the_route_leaves(
        sim: SimRuntime) -> None:
    await setup(sim, {"key": TOKEN}, path=None)
    response = await ask(sim)  # /openai reached the mock as it was
    assert response.status_code == 404 and "Invalid URL (POST /openai)" in response.text
    await sim.apply(agw_route(rewrite=True))  # the inline section's ReplacePrefixMatch
    assert (await ask(sim)).status_code == 200
    assert received(sim)[1] == "/v1/chat/completions"


async def test_the_status_is_written_by_agentgateways_controller(sim: SimRuntime) -> None:
    await setup(sim, {"passthrough": {}})
    gateway_class = sim.cluster.get("GatewayClass", "", "agentgateway")
    assert gateway_class is not None
    assert gateway_class["spec"]["controllerName"] == "agentgateway.dev/agentgateway"
    assert gateway_class["status"]["conditions"][0]["message"] == (
        "GatewayClass accepted by agentgateway controller")
    stored = sim.cluster.get("HTTPRoute", "agentgateway-system", "openai")
    assert stored is not None
    [parent] = stored["status"]["parents"]
    assert parent["controllerName"] == "agentgateway.dev/agentgateway"
    assert parent["parentRef"]["name"] == "agentgateway-proxy"


async def test_a_kgateway_backend_is_unknown_to_this_profile(sim: SimRuntime) -> None:
    with pytest.raises(ManifestRejected, match='no matches for kind "Backend"') as caught:
        await sim.apply({**backend({"kind": "Passthrough"}),
                         "metadata": {"name": "openai", "namespace": "agentgateway-system"}})
    assert "--profile kgateway-v2.1" in caught.value.hint
