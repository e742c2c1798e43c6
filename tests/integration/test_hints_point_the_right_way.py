"""A failed request step's hint points at what really answered: a 404 the provider gave through
the route is not blamed on the route, and the gateway's own 404 ("route not found", agentgateway's
``ProxyError::RouteNotFound``) still is; a JSON answer labelled as an event stream is said to be
one, not blamed on the Backend's model; a stream that carries the provider's error is judged
failed, with that error shown masked.

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
from tests.helpers import readable_key
from tests.hostile_provider import (
    JSON,
    chunk,
    completion,
    head,
    run_hostile,
    sse_event,
    whole,
)

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


MODEL_EXPECTED = "    expect: {status: 200, model: gpt-4o-mini}\n"


def json_chunked_as_sse(conn: socket.socket, key: str, stop: threading.Event) -> None:
    head(conn, "HTTP/1.1 200 OK", [("Content-Type", "text/event-stream; charset=utf-8"),
                                   ("Transfer-Encoding", "chunked"), ("Connection", "close")])
    chunk(conn, completion(f"echo {key}"))
    conn.sendall(b"0\r\n\r\n")


def json_under_two_types(conn: socket.socket, key: str, stop: threading.Event) -> None:
    whole(conn, completion("hello"), headers=[("Content-Type", "text/event-stream"),
                                              ("Content-Type", "application/json")])


@pytest.mark.parametrize(("handler", "labelled"), [
    (json_chunked_as_sse, "its Content-Type says text/event-stream"),
    (json_under_two_types, "two Content-Type headers (text/event-stream and application/json)"),
], ids=["sse", "two-types"])
def test_a_json_answer_labelled_as_an_event_stream_is_said_to_be_one(
        handler: object, labelled: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, transcript = run(handler, tmp_path, monkeypatch, capsys, as_json=True,
                                expect=MODEL_EXPECTED)
    assert code == 1, out
    step = failed_ask(out)
    assert step["detail"] == ("expected the answer to come from model 'gpt-4o-mini', got an "
                              "answer that names no model")
    hint = step["hint"]
    assert "replaces the request's" not in hint, hint
    assert hint.startswith("the body is JSON, but") and labelled in hint, hint
    assert "read as a stream of server-sent events, it holds none" in hint, hint
    response = step["response"]
    assert any(note.startswith("the body is JSON, but") for note in response["notes"]), response
    assert TOKEN not in out + transcript


def test_a_model_the_backend_did_not_set_is_hinted_with_the_profiles_own_field(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A JSON answer naming another model: the Backend's model is the one to check."""
    def other_model(conn: socket.socket, key: str, stop: threading.Event) -> None:
        whole(conn, completion("hello", model="gpt-4.1"))

    code, out, _ = run(other_model, tmp_path, monkeypatch, capsys, as_json=True,
                       expect=MODEL_EXPECTED)
    assert code == 1, out
    step = failed_ask(out)
    assert step["hint"] == "the Backend's model replaces the request's: check spec.ai.llm"


def test_a_stream_step_answered_with_one_json_document_is_said_not_to_be_streamed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    def unstreamed(conn: socket.socket, key: str, stop: threading.Event) -> None:
        whole(conn, completion("hello"))

    code, out, _ = run(unstreamed, tmp_path, monkeypatch, capsys, as_json=True,
                       stream_step=True, expect=MODEL_EXPECTED)
    assert code == 1, out
    hint = failed_ask(out)["hint"]
    assert hint.startswith("the body is JSON (application/json), not a stream of server-sent "
                           "events: the provider did not stream its answer"), hint


def test_on_agentgateway_v1_4_the_model_hint_names_its_backends_field() -> None:
    from sandbox.profiles import AGENTGATEWAY_V1_4
    from sandbox.walkthrough.answer import Answer
    from sandbox.walkthrough.events import ResponseView

    scenario = load_catalog((), profile=AGENTGATEWAY_V1_4.name).get("inline")
    ctx = make_context(scenario, TOKEN, "mock", None)
    view = ResponseView(200, "OK", 3.0, (), '{"model": "gpt-4.1"}', "", "gpt-4.1")
    with pytest.raises(StepFailed) as caught:
        check_response(Answer(view, view.body, "gpt-4.1"), Expectation(model="gpt-4o"), ctx)
    assert caught.value.hint == ("the AgentgatewayBackend's model replaces the request's: "
                                 "check spec.ai.provider")


def erring_stream(*tail: bytes) -> object:
    """A stream that says "hi", then sends ``tail`` (each piece formatted with the key)."""
    def handler(conn: socket.socket, key: str, stop: threading.Event) -> None:
        head(conn, "HTTP/1.1 200 OK", [("Content-Type", "text/event-stream"),
                                       ("Transfer-Encoding", "chunked"), ("Connection", "close")])
        chunk(conn, sse_event("hi "))
        for piece in tail:
            chunk(conn, piece.replace(b"KEY", key.encode()))
        conn.sendall(b"0\r\n\r\n")
    return handler


def error_object(message: str) -> bytes:
    return json.dumps({"error": {"message": message, "type": "server_error",
                                 "code": "rate_limit_exceeded"}}).encode()


@pytest.mark.parametrize(("handler", "said"), [
    (erring_stream(b"event: error\ndata: " + error_object("quota gone for KEY") + b"\n\n"),
     "quota gone for sk-…c5Ge"),
    (erring_stream(b"data: " + error_object("overloaded, retry (KEY)") + b"\n\n",
                   b"data: [DONE]\n\n"),
     "overloaded, retry (sk-…c5Ge)"),
    (erring_stream(b"event: error\r\ndata: upstream\r\ndata: reset KEY\r\n\r\n"),
     "upstream reset sk-…c5Ge"),
], ids=["event-error", "data-error", "event-error-text"])
@pytest.mark.parametrize("stream_step", [True, False], ids=["stream-step", "plain-step"])
def test_a_stream_that_carries_the_providers_error_fails_the_step(
        handler: object, said: str, stream_step: bool, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, transcript = run(handler, tmp_path, monkeypatch, capsys, as_json=True,
                                stream_step=stream_step)
    assert code == 1, out
    step = failed_ask(out)
    assert step["detail"] == ("the answer (200 OK) carried an error from the provider in its "
                              f"stream: {said}"), step["detail"]
    assert "again" in step["hint"], step["hint"]
    assert any(said in note for note in step["response"]["notes"]), step["response"]
    assert TOKEN not in out + transcript
    assert readable_key(out, TOKEN) == [] and readable_key(transcript, TOKEN) == []


def test_a_stream_that_only_speaks_of_errors_still_passes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    handler = erring_stream(sse_event('{"error": "none"} is fine'), b"event: ping\ndata: {}\n\n",
                            b"data: [DONE]\n\n")
    code, out, _ = run(handler, tmp_path, monkeypatch, capsys, stream_step=True)
    assert code == 0, out
