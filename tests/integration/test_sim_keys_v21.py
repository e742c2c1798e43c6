"""kgateway v2.1's key handling and upstream path in the sim, over real loopback HTTP.

Shaped from ``pkg/utils/kubeutils/secrets.go`` and ``agentgatewaysyncer/backend/translate.go``
on v2.1.x (a Secret's value trimmed, a case-sensitive leading ``Bearer `` removed, trimmed
again, empty means no key; an inline key verbatim) and agentgateway 0.10.3's
``proxy/httpproxy.rs`` (the OpenAI path is forced only without a host override).
"""

from __future__ import annotations

import base64
from typing import Any

import httpx

from sandbox.runtimes.runtime import ResourceRef
from sandbox.runtimes.sim.runtime import SimRuntime
from tests.conftest import TOKEN
from tests.helpers import GATEWAY, backend, route, secret

ASK = {"model": "", "messages": [{"role": "user", "content": "Write a short haiku."}]}
BACKEND = ResourceRef("Backend", "openai", "kgateway-system")
SECRET_REF = {"kind": "SecretRef", "secretRef": {"name": "openai-secret"}}


async def setup(sim: SimRuntime, auth: dict[str, Any], *extra: dict[str, Any],
                rewrite: bool = True) -> None:
    upstream = sim.mock_upstream()
    assert upstream is not None
    written_route = route()
    if not rewrite:
        del written_route["spec"]["rules"][0]["filters"]
    for doc in (GATEWAY, *extra, backend(auth, *upstream), written_route):
        await sim.apply(doc)


async def ask(sim: SimRuntime, path: str = "/openai") -> httpx.Response:
    async with httpx.AsyncClient(trust_env=False) as client:
        return await client.post(sim.gateway_url + path, json=ASK)


def last_path(sim: SimRuntime) -> str:
    assert sim.mock is not None
    return sim.mock.received[-1].path


async def test_a_secret_value_with_a_trailing_newline_works(sim: SimRuntime) -> None:
    """`kubectl create secret --from-file` and `echo` leave a newline: kgateway trims it."""
    await setup(sim, SECRET_REF, secret(f"{TOKEN}\n"))
    response = await ask(sim)
    assert response.status_code == 200, response.text
    assert "sk-…c5Ge" in response.json()["choices"][0]["message"]["content"]


async def test_bearer_and_surrounding_space_in_a_secret_are_trimmed(sim: SimRuntime) -> None:
    await setup(sim, SECRET_REF, secret(f"  Bearer {TOKEN} \n"))
    assert (await ask(sim)).status_code == 200


async def test_an_inline_key_is_sent_verbatim_so_bearer_is_doubled(sim: SimRuntime) -> None:
    await setup(sim, {"kind": "Inline", "inline": f"Bearer {TOKEN}"})
    response = await ask(sim)
    # The provider receives "Bearer Bearer sk-…": a key it does not know.
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"


async def test_a_lower_case_bearer_in_a_secret_is_kept(sim: SimRuntime) -> None:
    await setup(sim, SECRET_REF, secret(f"bearer {TOKEN}"))
    response = await ask(sim)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"


async def test_a_secret_holding_only_bearer_sends_the_key_bearer(sim: SimRuntime) -> None:
    await setup(sim, SECRET_REF, secret("Bearer "))
    response = await ask(sim)
    # A wrong key, not a missing one: the provider names the key as invalid.
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"


async def test_a_secret_value_that_is_not_utf8_drops_the_key(sim: SimRuntime) -> None:
    """GetSecretValue ignores a value that is not valid UTF-8; only the Secret's existence
    decides the status."""
    binary = {**secret(""), "data": {"Authorization": base64.b64encode(b"\xff\xfe sk").decode()}}
    del binary["stringData"]
    await setup(sim, SECRET_REF, binary)
    status = await sim.status(BACKEND)
    assert [(c.status, c.reason) for c in status.conditions] == [("True", "Accepted")]
    response = await ask(sim)
    assert response.status_code == 401
    assert "didn't provide an API key" in response.text


async def test_a_host_override_keeps_the_routes_path(sim: SimRuntime) -> None:
    """Without a URLRewrite the mock is asked for /openai and answers 404, as on kind."""
    await setup(sim, {"kind": "Inline", "inline": TOKEN}, rewrite=False)
    response = await ask(sim, "/openai")
    assert response.status_code == 404  # the mock's own: it was asked for /openai
    assert response.json()["error"]["message"].startswith("Invalid URL (POST /openai)")


async def test_path_full_replaces_the_path_with_a_host_override(sim: SimRuntime) -> None:
    upstream = sim.mock_upstream()
    assert upstream is not None
    doc = backend({"kind": "Inline", "inline": TOKEN}, *upstream)
    doc["spec"]["ai"]["llm"]["path"] = {"full": "/v1/chat/completions"}
    plain_route = route()
    del plain_route["spec"]["rules"][0]["filters"]
    for each in (GATEWAY, doc, plain_route):
        await sim.apply(each)
    assert (await ask(sim, "/openai?x=1")).status_code == 200
    assert last_path(sim) == "/v1/chat/completions"


async def test_the_backends_accepted_condition_carries_no_observed_generation(
        sim: SimRuntime) -> None:
    """``pluginutils.BuildCondition`` sets none, Accepted or Invalid alike."""
    await setup(sim, {"kind": "Passthrough"})
    stored = sim.cluster.get("Backend", "kgateway-system", "openai")
    assert stored is not None
    [condition] = stored["status"]["conditions"]
    assert condition["message"] == "Backend accepted" and "observedGeneration" not in condition
