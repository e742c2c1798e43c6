"""The supervised port-forward, with a fake kubectl that forwards like the real one."""

from __future__ import annotations

import os
import signal
import socket
import sys
from pathlib import Path

import httpx
import pytest

from sandbox.errors import PortInUse
from sandbox.runtimes.kube.portforward import PortForward

FAKES = Path(__file__).resolve().parents[1] / "fakes" / "bin"


@pytest.fixture(autouse=True)
def fake_kubectl(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", f"{FAKES}:{Path(sys.executable).parent}:/usr/bin:/bin")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def wait_for(condition: object, timeout: float = 10.0) -> None:
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await condition():  # type: ignore[operator]
        assert loop.time() < deadline, "condition not reached"
        await asyncio.sleep(0.05)


async def test_forwards_reconnects_after_the_pod_restarts_and_stops_cleanly() -> None:
    port = free_port()
    states: list[str] = []
    forward = PortForward("deployment/agentgateway", "kgateway-system", port, 8080, None,
                          "kind-agw-sandbox", states.append)
    await forward.start()
    try:
        async with httpx.AsyncClient(trust_env=False) as client:
            assert (await client.get(f"http://127.0.0.1:{port}/")).status_code == 404
        assert await forward.healthy()
        first = forward._process
        assert first is not None
        os.kill(first.pid, signal.SIGKILL)  # what a pod restart does to kubectl
        await wait_for(lambda: _restarted(forward))
        await wait_for(forward.healthy)
        assert states[:3] == ["healthy", "reconnecting", "healthy"]
    finally:
        await forward.stop()
    assert forward._process is not None and forward._process.returncode is not None
    assert not await forward.healthy()
    with socket.socket() as probe:  # nothing is left listening (TIME_WAIT is fine)
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))
        probe.listen()


async def _restarted(forward: PortForward) -> bool:
    return forward.restarts == 1


async def test_a_taken_local_port_is_refused_before_starting() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        forward = PortForward("deployment/agentgateway", "kgateway-system",
                              holder.getsockname()[1], 8080, None, None)
        with pytest.raises(PortInUse, match="already in use"):
            await forward.start()


async def test_port_zero_uses_the_port_kubectl_bound() -> None:
    forward = PortForward("deployment/agentgateway", "kgateway-system", 0, 8080, None, None)
    await forward.start()
    try:
        assert forward.local_port != 0
        async with httpx.AsyncClient(trust_env=False) as client:
            answer = await client.get(f"http://127.0.0.1:{forward.local_port}/")
        assert answer.status_code == 404
        bound = forward.local_port
        assert forward._process is not None
        os.kill(forward._process.pid, signal.SIGKILL)  # a restart keeps the same port
        await wait_for(lambda: _restarted(forward))
        await wait_for(forward.healthy)
        assert forward.local_port == bound
    finally:
        await forward.stop()
