"""Odd characters in a key, a header, the path or the method give a clear error, never a crash.

A copy-pasted key may carry a zero-width space, a header a café, a path a CR/LF. HTTP cannot
carry them; the user gets told which part is wrong (never its value) and the run goes on.
"""

from __future__ import annotations

import httpx
import pytest

from sandbox.catalog.loader import load_catalog
from sandbox.errors import RequestFailed, SandboxError
from sandbox.runtimes.sim.runtime import SimRuntime
from sandbox.walkthrough.events import Event, StepFinished
from sandbox.walkthrough.exchange import new_client, send
from sandbox.walkthrough.render import RenderedRequest, make_context
from sandbox.walkthrough.runner import Walkthrough
from tests.conftest import TOKEN
from tests.helpers import GATEWAY, backend, route

CATALOG = load_catalog()
BODY = b'{"model": "", "messages": [{"role": "user", "content": "hi"}]}'
AUTH = ("Authorization", f"Bearer {TOKEN}")


@pytest.mark.parametrize(("method", "path", "headers", "named"), [
    ("POST", "/openai\r\nX-Injected: 1", (AUTH,), "the path holds a control character (U+000D)"),
    ("POST", "/openai", (AUTH, ("X-Note", "café ☕")),
     "the X-Note header holds a non-ASCII character (U+00E9) at position 4"),
    ("POST", "/openai", (("Authorization", f"Bearer {TOKEN}\u200b"),),
     f"the Authorization header holds a non-ASCII character (U+200B) at position {len(TOKEN) + 8}"),
    ("POST", "/openai", (("Authorization", f"Bearer {TOKEN}\r\nX-Evil: 1"),),
     "the Authorization header holds a control character (U+000D)"),
    ("GE T", "/openai", (AUTH,), "the method 'GE T' is not a valid HTTP method name"),
    ("POST", "/openai", (AUTH, ("X Note", "x")), "the header name 'X Note' is not a valid"),
    ("POST", "/openai", (AUTH, ("Content-Length", "1")),
     "the header 'Content-Length' is set by the client from the body"),
    ("GET", "/openai", (AUTH, ("transfer-encoding", "chunked")),
     "the header 'transfer-encoding' is set by the client from the body"),
], ids=["crlf-path", "nonascii-header", "zero-width-key", "crlf-key", "bad-method",
        "bad-header-name", "content-length", "transfer-encoding"])
async def test_an_unsendable_request_is_a_clear_request_failed(
        sim: SimRuntime, method: str, path: str, headers: tuple[tuple[str, str], ...],
        named: str) -> None:
    ctx = make_context(CATALOG.get("passthrough"), TOKEN, "mock", sim.mock_upstream())
    request = RenderedRequest(method, path, headers, BODY, False)
    async with new_client() as client:
        with pytest.raises(RequestFailed) as caught:
            await send(client, request, sim.gateway_url, ctx, lambda chunk: None)
    assert named in caught.value.message
    assert "printable ASCII" in caught.value.hint
    assert TOKEN not in str(caught.value)


async def test_a_key_with_a_pasted_invisible_character_is_refused_before_any_step(
        sim: SimRuntime, capfd: pytest.CaptureFixture[str]) -> None:
    events: list[Event] = []
    odd = TOKEN + "\u200b"
    async with new_client() as client:
        with pytest.raises(SandboxError) as caught:
            walkthrough = Walkthrough(sim, client, events.append, odd, "mock")
            await walkthrough.run(CATALOG.get("passthrough"))
    assert "U+200B" in str(caught.value) and "position 41" in str(caught.value)
    assert TOKEN not in str(caught.value) and TOKEN not in repr(events)
    assert not [e for e in events if isinstance(e, StepFinished)]
    assert "Traceback" not in capfd.readouterr().err


@pytest.mark.parametrize("key", [TOKEN + "€", TOKEN + "\r\nX-Evil: 1"], ids=["euro", "crlf"])
async def test_a_backend_key_http_cannot_carry_is_handled_as_kgateway_v2_1_does(
        sim: SimRuntime, key: str, capfd: pytest.CaptureFixture[str]) -> None:
    """agentgateway 0.10.3 sets the header only when ``HeaderValue::from_str`` takes it: a
    non-ASCII key goes out as UTF-8 (a key the provider does not know), a control character
    leaves the request without the gateway's header (so without a key)."""
    upstream = sim.mock_upstream()
    assert upstream is not None and sim.gateway is not None
    for doc in (GATEWAY, backend({"kind": "Inline", "inline": key}, *upstream), route()):
        await sim.apply(doc)
    async with httpx.AsyncClient(trust_env=False) as client:
        response = await client.post(sim.gateway_url + "/openai", content=BODY)
    assert response.status_code == 401
    code = response.json()["error"]["code"]
    assert code == ("invalid_api_key" if key.endswith("€") else None)
    assert TOKEN not in response.text
    assert sim.gateway.failures == ()
    assert "Traceback" not in capfd.readouterr().err
