"""Failure hints point at the real cause: a malformed request is not a gateway that is down,
and a 503 with the real provider is not about the mock."""

from __future__ import annotations

import pytest

from sandbox.catalog.loader import load_catalog
from sandbox.catalog.scenarios import Expectation
from sandbox.errors import RequestFailed
from sandbox.runtimes.sim.runtime import SimRuntime
from sandbox.walkthrough.answer import Answer
from sandbox.walkthrough.events import ResponseView
from sandbox.walkthrough.exchange import new_client, send
from sandbox.walkthrough.render import Context, RenderedRequest, make_context
from sandbox.walkthrough.runner import StepFailed, check_response
from tests.conftest import TOKEN


def answered(view: ResponseView) -> Answer:
    """The answer as the runner checks it: its text is the body (no key in these)."""
    return Answer(view, view.body + "\n" + view.content, view.model)


def context(provider: str) -> Context:
    return make_context(load_catalog(()).get("inline"), TOKEN, provider, None)


@pytest.mark.parametrize(("method", "headers", "reason"), [
    ("GET X", (), "the method 'GET X' is not a valid HTTP method name"),
    ("POST", (("Bad Header", "1"),), "the header name 'Bad Header' is not a valid HTTP header"),
    ("POST", (("Authorization", f"Bearer {TOKEN}\r\nX-Evil: 1"),),
     "the Authorization header holds a control character (U+000D)"),
])
async def test_a_request_that_cannot_be_sent_is_not_blamed_on_the_gateway(
        sim: SimRuntime, method: str, headers: tuple[tuple[str, str], ...],
        reason: str) -> None:
    request = RenderedRequest(method, "/openai", headers, b"{}", False)
    async with new_client() as client:
        with pytest.raises(RequestFailed) as caught:
            await send(client, request, sim.gateway_url, context("mock"), lambda text: None)
    error = caught.value
    assert error.message.startswith(f"the request cannot be sent: {reason}")
    assert "could not reach the gateway" not in str(error)
    assert "agw-sandbox status" not in error.hint and "header" in error.hint
    assert TOKEN not in str(error) and "X-Evil" not in str(error)


def test_a_down_gateway_is_still_called_unreachable() -> None:
    import asyncio
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again before the request: nothing listens

    async def attempt() -> RequestFailed:
        async with new_client() as client:
            try:
                await send(client, RenderedRequest("GET", "/openai", (), None, False),
                           f"http://127.0.0.1:{port}", context("mock"), lambda text: None)
            except RequestFailed as exc:
                return exc
        raise AssertionError("the request should have failed")

    error = asyncio.run(attempt())
    assert "could not reach the gateway" in error.message and "agw-sandbox status" in error.hint


UNAVAILABLE = ResponseView(503, "Service Unavailable", 12.0, (),
                           "upstream connect error: Temporary failure in name resolution", "",
                           None)


def test_a_503_with_the_real_provider_names_openai_not_the_mock() -> None:
    with pytest.raises(StepFailed) as caught:
        check_response(answered(UNAVAILABLE), Expectation(status=200), context("openai"))
    assert "api.openai.com" in caught.value.hint
    assert "mock" not in caught.value.hint.replace("--provider mock", "")


def test_a_503_with_the_mock_points_at_the_runtime() -> None:
    with pytest.raises(StepFailed) as caught:
        check_response(answered(UNAVAILABLE), Expectation(status=200), context("mock"))
    assert "mock provider" in caught.value.hint and "api.openai.com" not in caught.value.hint


def test_an_unsendable_backend_key_is_not_blamed_on_reachability() -> None:
    unsendable = ResponseView(503, "Service Unavailable", 3.0, (),
                              "processing failed: failed to parse header value", "", None)
    with pytest.raises(StepFailed) as caught:
        check_response(answered(unsendable), Expectation(status=200), context("mock"))
    assert "key" in caught.value.hint and "reach" not in caught.value.hint


def test_a_request_the_sim_does_not_reproduce_points_at_kind() -> None:
    answer = ResponseView(501, "Not Implemented", 1.0, (),
                          "not simulated: a request through the anthropic provider (works on "
                          "kind)", "", None)
    with pytest.raises(StepFailed) as caught:
        check_response(answered(answer), Expectation(status=200), context("mock"))
    assert "--runtime kind" in caught.value.hint
