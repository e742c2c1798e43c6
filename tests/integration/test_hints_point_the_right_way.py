"""A failed request step's hint points at what really answered: a 404 the provider gave through
the route is not blamed on the route, and the gateway's own 404 ("route not found", agentgateway's
``ProxyError::RouteNotFound``) still is.

The provider is a loopback server of the test's own behind the simulated gateway
(``--provider openai``), so every answer went through a route as it would on a real runtime.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from pathlib import Path
from typing import Any

import pytest

from sandbox.catalog.loader import load_catalog
from sandbox.catalog.scenarios import Expectation
from sandbox.runtimes.sim.runtime import SimRuntime
from sandbox.walkthrough.exchange import new_client, send
from sandbox.walkthrough.render import RenderedRequest, make_context
from sandbox.walkthrough.runner import StepFailed, check_response
from tests.conftest import TOKEN
from tests.hostile_provider import JSON, run_hostile, whole

GUARD = 90.0


def run(*args: object, **kwargs: object) -> tuple[int, str, str]:
    return asyncio.run(asyncio.wait_for(run_hostile(*args, **kwargs), GUARD))  # type: ignore[arg-type]


def failed_ask(out: str) -> dict[str, Any]:
    """The failed request step of ``run --json``'s report."""
    report, _ = json.JSONDecoder().raw_decode(out)
    steps = [step for scenario in report["scenarios"] for step in scenario["steps"]
             if step["outcome"] == "failed"]
    assert len(steps) == 1, out
    return steps[0]  # type: ignore[no-any-return]


def no_such_model(conn: socket.socket, key: str, stop: threading.Event) -> None:
    body = {"error": {"message": "The model `gpt-9-mini` does not exist or you do not have "
                      "access to it.", "type": "invalid_request_error", "param": None,
                      "code": "model_not_found"}}
    whole(conn, json.dumps(body).encode(), "HTTP/1.1 404 Not Found", JSON)


def invalid_url(conn: socket.socket, key: str, stop: threading.Event) -> None:
    body = {"error": {"message": "Invalid URL (POST /v1/chat/completions?tenant=blue)",
                      "type": "invalid_request_error", "param": None, "code": None}}
    whole(conn, json.dumps(body).encode(), "HTTP/1.1 404 Not Found", JSON)


def plain_not_found(conn: socket.socket, key: str, stop: threading.Event) -> None:
    whole(conn, b"404 page not found\n", "HTTP/1.1 404 Not Found",
          [("Content-Type", "text/plain; charset=utf-8")])


def route_words(conn: socket.socket, key: str, stop: threading.Event) -> None:
    """A provider whose 404 happens to read like the gateway's, but as JSON."""
    whole(conn, b'{"error": "route not found"}', "HTTP/1.1 404 Not Found", JSON)


@pytest.mark.parametrize(("handler", "cause"), [
    (no_such_model, "no such model"),
    (invalid_url, "path and query"),
    (plain_not_found, "its own explanation"),
    (route_words, "its own explanation"),
], ids=["model", "url", "plain", "json-route-words"])
def test_a_404_the_provider_gave_through_the_route_is_the_providers(
        handler: object, cause: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, transcript = run(handler, tmp_path, monkeypatch, capsys, as_json=True)
    assert code == 1, out
    step = failed_ask(out)
    assert step["detail"].startswith("expected status 200, got 404 Not Found"), step
    hint = step["hint"]
    assert "HTTPRoute's matches" not in hint and "no route" not in hint, hint
    assert "the route matched" in hint and "provider" in hint and cause in hint, hint
    assert f"**Hint:** {hint}" in transcript
    assert TOKEN not in out + transcript


async def test_the_gateways_own_404_still_points_at_the_route(sim: SimRuntime) -> None:
    ctx = make_context(load_catalog(()).get("inline"), TOKEN, "mock", None)
    request = RenderedRequest("POST", "/nowhere/v1?x=1", (("Content-Type", "application/json"),),
                              b"{}", False)
    async with new_client() as client:
        answer = await send(client, request, sim.gateway_url, ctx, lambda text: None)
    assert (answer.view.status, answer.view.body) == (404, "route not found")
    with pytest.raises(StepFailed) as caught:
        check_response(answer, Expectation(status=200), ctx)
    hint = caught.value.hint
    assert "HTTPRoute" in hint and "route not found" in hint and "provider" not in hint, hint
