"""The words of agentgateway's 503 when the provider cannot be reached or its answer cannot be
read, from upstream's source: 0.10.3's fork of hyper-util prints ``{kind:?}: {cause}``, v1.4.1's
pool the same in its Debug plus a hyper error's source, and hyper 1.7 describes what broke."""

from __future__ import annotations

import http.client

import pytest

from sandbox.profiles.backend_api import AgentgatewayBackends, KgatewayBackends
from sandbox.profiles.llm_requests import BrokenAnswer, UpstreamFailure
from sandbox.runtimes.sim.provider_answer import hyper_error

REFUSED = UpstreamFailure("Connection refused", 111)
RESET = BrokenAnswer("connection error", "Connection reset by peer (os error 104)")


@pytest.mark.parametrize("api", [KgatewayBackends(), AgentgatewayBackends()])
def test_a_refused_connection_is_the_dials_io_error_after_connect(api: object) -> None:
    answer = api.unreachable(REFUSED)  # type: ignore[attr-defined]
    assert (answer.status, answer.body) == (
        503, "upstream call failed: Connect: Connection refused (os error 111)")


def test_a_reset_answer_shows_its_cause_only_in_v14s_debug_form() -> None:
    assert KgatewayBackends().answer_invalid(RESET).body == (
        "upstream call failed: SendRequest: connection error")
    assert AgentgatewayBackends().answer_invalid(RESET).body == (
        "upstream call failed: SendRequest: connection error: Connection reset by peer "
        "(os error 104)")


@pytest.mark.parametrize(("broken", "description"), [
    (http.client.BadStatusLine("HTTP/1.1 099 Odd\r\n"), "invalid HTTP status-code parsed"),
    (http.client.BadStatusLine("ICY 200 OK\r\n"), "invalid HTTP version parsed"),
    (http.client.BadStatusLine("HTTP/1.1 2"), "connection closed before message completed"),
    (http.client.RemoteDisconnected("closed"), "connection closed before message completed"),
    (http.client.LineTooLong("header line"), "message head is too large"),
    (http.client.HTTPException("got more than 100 headers"), "message head is too large"),
])
def test_what_broke_is_said_in_hypers_words(broken: Exception, description: str) -> None:
    assert hyper_error(broken) == BrokenAnswer(description)


def test_a_reset_is_hypers_io_kind_with_the_operating_systems_words() -> None:
    assert hyper_error(ConnectionResetError(104, "Connection reset by peer")) == RESET
