"""--provider openai without a way to api.openai.com fails in seconds and says why.

Only loopback traffic is possible here, so the "internet" is a black hole on 127.0.0.1: a
listener whose accept queue is full, which drops every SYN exactly like a filtered network.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from sandbox.catalog.loader import load_catalog
from sandbox.errors import RuntimeUnavailable
from sandbox.profiles import DEFAULT_PROFILE
from sandbox.runtimes.sim import gateway
from sandbox.runtimes.sim.gateway import CONNECT_TIMEOUT, unreachable
from sandbox.runtimes.sim.runtime import SimRuntime
from sandbox.walkthrough.events import Event, StepFinished
from sandbox.walkthrough.exchange import new_client
from sandbox.walkthrough.runner import Walkthrough
from tests.conftest import TOKEN

CATALOG = load_catalog()


@pytest.fixture
def black_hole() -> Iterator[tuple[str, int]]:
    """A loopback address that never answers a TCP connect (its accept queue of one is full)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        address = listener.getsockname()
        with socket.create_connection(address):
            yield address


def test_the_reachability_check_reports_timeouts_refusals_and_success(
        black_hole: tuple[str, int]) -> None:
    started = time.monotonic()
    assert unreachable(black_hole, timeout=0.5) in ("timed out", "no answer within 0.5 s")
    assert time.monotonic() - started < 1.5
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        refused = closed.getsockname()
    assert unreachable(refused, timeout=0.5) == "Connection refused"
    with socket.create_server(("127.0.0.1", 0)) as listening:
        assert unreachable(listening.getsockname(), timeout=0.5) is None


def test_a_name_lookup_that_hangs_counts_against_the_timeout(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def dead_dns(address: tuple[str, int], timeout: float) -> socket.socket:
        time.sleep(10)  # what getaddrinfo does when the DNS server never answers
        raise socket.gaierror(-3, "Temporary failure in name resolution")

    monkeypatch.setattr(gateway.socket, "create_connection", dead_dns)
    started = time.monotonic()
    assert unreachable(("api.openai.com", 443), timeout=0.3) == "no answer within 0.3 s"
    assert time.monotonic() - started < 1.0


async def test_openai_without_a_route_out_fails_at_start_naming_api_openai_com(
        black_hole: tuple[str, int]) -> None:
    runtime = SimRuntime(DEFAULT_PROFILE, 0, "openai", [TOKEN], openai_address=black_hole)
    started = time.monotonic()
    with pytest.raises(RuntimeUnavailable) as caught:
        await runtime.up(lambda line: None)
    assert time.monotonic() - started < CONNECT_TIMEOUT + 1.5
    assert "api.openai.com is not reachable" in caught.value.message
    assert "proxy" in caught.value.hint and "--provider mock" in caught.value.hint
    assert runtime.gateway is None  # nothing left listening


async def test_a_request_step_gives_up_in_seconds_with_a_hint_about_api_openai_com(
        black_hole: tuple[str, int]) -> None:
    runtime = SimRuntime(DEFAULT_PROFILE, 0, "openai", [TOKEN], openai_address=black_hole,
                         preflight=False)  # the network went away after the start
    await runtime.up(lambda line: None)
    events: list[Event] = []
    try:
        async with new_client() as client:
            walkthrough = Walkthrough(runtime, client, events.append, TOKEN, "openai")
            await walkthrough.run(CATALOG.get("setup"))
            started = time.monotonic()
            result = await walkthrough.run(CATALOG.get("inline"))
            elapsed = time.monotonic() - started
    finally:
        await runtime.down()
    requests = [e for e in events if isinstance(e, StepFinished) and e.kind == "request"
                and e.scenario_id == "inline"]
    assert not result.passed and requests
    assert elapsed < len(requests) * (CONNECT_TIMEOUT + 1) + 2
    failed = requests[0]
    assert "503" in failed.detail
    assert "api.openai.com" in failed.hint and "--provider mock" in failed.hint
    assert "(and mock)" not in failed.hint
