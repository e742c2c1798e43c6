"""Status before config: on a real runtime a request step waits briefly for the gateway."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sandbox.catalog.loader import load_catalog
from sandbox.catalog.scenarios import WaitStep
from sandbox.runtimes.runtime import Applied, Progress, ResourceRef, ResourceStatus
from sandbox.runtimes.sim.runtime import SimRuntime
from sandbox.walkthrough.events import Event, StepFinished, StepNote
from sandbox.walkthrough.exchange import new_client
from sandbox.walkthrough.runner import Walkthrough
from tests.conftest import TOKEN

WORKSHOP = Path(__file__).resolve().parents[2] / "examples" / "workshop"


class LaggingGateway:
    """A "cluster" whose proxy takes its configuration ``lag`` seconds after the API accepts it.

    The status is read from the simulated control plane at once (Accepted=True arrives first);
    the simulated gateway serves the old configuration until the lag has passed.
    """

    name = "cluster"
    label = "cluster lagging"

    def __init__(self, sim: SimRuntime, lag: float) -> None:
        self.sim, self.lag = sim, lag
        self._pending: set[asyncio.Task[Any]] = set()

    async def up(self, progress: Progress) -> None:
        await self.sim.up(progress)

    async def apply(self, doc: Mapping[str, Any]) -> Applied:
        metadata = doc["metadata"]
        ref = ResourceRef(str(doc["kind"]), metadata["name"], metadata.get("namespace", ""))
        if await self.sim.status(ref) == ResourceStatus(ref, False):
            return await self.sim.apply(doc)  # new objects: nothing to lag behind
        task = asyncio.create_task(self._later(doc))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        return Applied(ref, "configured")

    async def _later(self, doc: Mapping[str, Any]) -> None:
        await asyncio.sleep(self.lag)
        await self.sim.apply(doc)

    def placed(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        return self.sim.placed(doc)

    def placed_ref(self, ref: ResourceRef) -> ResourceRef:
        return self.sim.placed_ref(ref)

    async def status(self, ref: ResourceRef) -> ResourceStatus:
        return await self.sim.status(ref)

    async def delete(self, ref: ResourceRef) -> bool:
        return await self.sim.delete(ref)

    async def down(self) -> None:
        await self.sim.down()

    @property
    def gateway_url(self) -> str:
        return self.sim.gateway_url

    def mock_upstream(self) -> tuple[str, int] | None:
        return self.sim.mock_upstream()


async def run_rotation(runtime: Any, settle_time: float | None = None) -> list[Event]:
    catalog = load_catalog([WORKSHOP])
    events: list[Event] = []
    async with new_client() as client:
        walkthrough = Walkthrough(runtime, client, events.append, TOKEN, "mock",
                                  settle_time=settle_time)
        await walkthrough.run(catalog.get("setup"))
        await walkthrough.run(catalog.get("rotate-key"))
    return events


def outcome(events: list[Event], step_id: str) -> StepFinished:
    return next(e for e in events if isinstance(e, StepFinished) and e.step_id == step_id
                and e.scenario_id == "rotate-key")


async def test_a_rotated_key_is_retried_until_the_gateway_has_it() -> None:
    sim = SimRuntime(_profile(), 0, "mock", [TOKEN], token_delay=0.0)
    lagging = LaggingGateway(sim, lag=1.5)
    await lagging.up(lambda line: None)
    try:
        events = await run_rotation(lagging)
    finally:
        await lagging.down()
    accepted = outcome(events, "accepted")
    assert accepted.outcome == "passed", accepted.detail
    assert accepted.seconds >= 1.0  # it waited for the lag
    notes = [e.text for e in events if isinstance(e, StepNote)]
    assert len(notes) == 1
    assert "expected status 200, got 401" in notes[0]
    assert "waiting up to 10s for the gateway to pick up the change" in notes[0]
    assert TOKEN not in repr(events)


async def test_the_wait_is_bounded_and_says_so() -> None:
    sim = SimRuntime(_profile(), 0, "mock", [TOKEN], token_delay=0.0)
    lagging = LaggingGateway(sim, lag=30.0)
    await lagging.up(lambda line: None)
    try:
        events = await run_rotation(lagging, settle_time=1.0)
    finally:
        await lagging.down()
    accepted = outcome(events, "accepted")
    assert accepted.outcome == "failed"
    assert accepted.detail.startswith("expected status 200, got 401")
    assert accepted.detail.endswith("(still so after 1s of waiting for the gateway)")
    assert 1.0 <= accepted.seconds < 5.0


async def test_the_sim_answers_at_once_and_is_never_retried(sim: SimRuntime) -> None:
    catalog = load_catalog([WORKSHOP])
    events: list[Event] = []
    async with new_client() as client:
        # The "revoked" key is the accepted one: the step expecting 401 gets 200.
        walkthrough = Walkthrough(sim, client, events.append, TOKEN, "mock",
                                  {"old_token": TOKEN})
        assert (await walkthrough.run(catalog.get("setup"))).passed
        result = await walkthrough.run(catalog.get("rotate-key"))
    assert not result.passed
    assert not [e for e in events if isinstance(e, StepNote)]
    failed = next(s for s in result.steps if s.outcome == "failed")
    assert (failed.step_id, failed.detail[:26]) == ("refused", "expected status 401, got 2")
    assert failed.seconds < 1.0


def test_the_rotation_example_waits_before_its_request() -> None:
    steps = load_catalog([WORKSHOP]).get("rotate-key").steps
    ids = [s.id for s in steps]
    between = steps[ids.index("rotate") + 1:ids.index("accepted")]
    assert any(isinstance(s, WaitStep) for s in between)


def _profile() -> Any:
    from sandbox.profiles import DEFAULT_PROFILE

    return DEFAULT_PROFILE


class ReconnectingForward(LaggingGateway):
    """A "cluster" whose port-forward is reconnecting: nothing listens on the gateway's port
    until ``after`` seconds have passed (never, with None); then a relay to the gateway."""

    def __init__(self, sim: SimRuntime, after: float | None) -> None:
        super().__init__(sim, lag=0.0)
        self.after = after
        self.port = _free_port()
        self.forward_state = "reconnecting"
        self._relay: asyncio.Task[None] | None = None

    async def up(self, progress: Progress) -> None:
        await self.sim.up(progress)
        self._relay = asyncio.create_task(self._listen_later())

    async def _listen_later(self) -> None:
        if self.after is None:
            return
        await asyncio.sleep(self.after)
        target = self.sim.gateway_url.rsplit(":", 1)[1]

        async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1",
                                                                             int(target))

            async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
                sink.close()

            await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer),
                                 return_exceptions=True)

        server = await asyncio.start_server(relay, "127.0.0.1", self.port)
        self.forward_state = "healthy"
        async with server:
            await server.serve_forever()

    async def apply(self, doc: Mapping[str, Any]) -> Applied:
        return await self.sim.apply(doc)

    async def down(self) -> None:
        if self._relay is not None:
            self._relay.cancel()
        await self.sim.down()

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def knock(runtime: Any, settle_time: float | None = None) -> tuple[list[Event],
                                                                         StepFinished]:
    catalog = load_catalog()
    events: list[Event] = []
    async with new_client() as client:
        walkthrough = Walkthrough(runtime, client, events.append, TOKEN, "mock",
                                  settle_time=settle_time)
        await walkthrough.run(catalog.get("setup"))
    return events, next(e for e in events if isinstance(e, StepFinished)
                        and e.step_id == "knock")


async def test_a_request_is_retried_while_the_port_forward_reconnects() -> None:
    forward = ReconnectingForward(SimRuntime(_profile(), 0, "mock", [TOKEN], token_delay=0.0),
                                  after=1.5)
    await forward.up(lambda line: None)
    try:
        events, step = await knock(forward)
    finally:
        await forward.down()
    assert step.outcome == "passed", step.detail
    assert step.seconds >= 1.0
    [note] = [e.text for e in events if isinstance(e, StepNote)]
    assert note.startswith(f"could not reach the gateway at {forward.gateway_url}/openai")
    assert "waiting up to 10s for the port-forward to reconnect" in note


async def test_a_connection_that_never_comes_back_is_said_to_be_the_port_forward() -> None:
    forward = ReconnectingForward(SimRuntime(_profile(), 0, "mock", [TOKEN], token_delay=0.0),
                                  after=None)
    await forward.up(lambda line: None)
    try:
        _, step = await knock(forward, settle_time=1.0)
    finally:
        await forward.down()
    assert step.outcome == "failed"
    assert step.detail.startswith(f"could not reach the gateway at {forward.gateway_url}/openai")
    assert "the port-forward was reconnecting" in step.detail
    assert "still so after 1s" in step.detail
    assert 1.0 <= step.seconds < 5.0
