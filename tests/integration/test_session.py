"""The session the app drives: restarting on another port, and knowing when setup is missing."""

from __future__ import annotations

import socket

import pytest

from sandbox.catalog.loader import load_catalog
from sandbox.errors import PortInUse
from sandbox.profiles import DEFAULT_PROFILE
from sandbox.runtimes.runtime import Runtime
from sandbox.runtimes.sim.runtime import SimRuntime
from sandbox.settings import Settings
from sandbox.tui.session import Session
from tests.conftest import TOKEN


def sim_factory(settings: Settings, name: str) -> Runtime:
    assert name == "sim"
    return SimRuntime(DEFAULT_PROFILE, settings.port, settings.provider, [settings.token],
                      token_delay=0.0)


async def test_a_taken_port_is_left_for_a_free_one_by_the_session_itself() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        settings = Settings(runtime="sim", port=taken, token=TOKEN)
        session = Session(settings, load_catalog(), sim_factory(settings, "sim"),
                          lambda event: None, runtime_factory=sim_factory)
        with pytest.raises(PortInUse):
            await session.start(lambda line: None)
        await session.restart_on_port(0, lambda line: None)
        try:
            assert session.started and session.settings.port == 0
            assert not session.runtime.gateway_url.endswith(f":{taken}")
            assert await session.gateway_healthy()
        finally:
            await session.close()


async def test_setup_is_missing_until_what_it_applies_exists() -> None:
    settings = Settings(runtime="sim", port=0, token=TOKEN)
    session = Session(settings, load_catalog(), sim_factory(settings, "sim"), lambda e: None)
    await session.start(lambda line: None)
    try:
        inline, setup = session.catalog.get("inline"), session.catalog.get("setup")
        assert await session.missing_prerequisite(inline) is setup
        assert await session.missing_prerequisite(setup) is None
        await session.run_current(setup)  # the explanation
        await session.run_current(setup)  # applies the Gateway
        assert await session.missing_prerequisite(inline) is None
    finally:
        await session.close()


LOWER_CASED_KEY = "sk-test-keyasnamespace7qz9x4m2w8"  # what `--namespace` takes of a pasted key


@pytest.mark.parametrize("key", ["sk-test-KeyAsNamespace7Qz9X4m2W8", LOWER_CASED_KEY])
async def test_the_key_as_the_namespace_is_masked_in_what_the_runtime_says_on_starting(
        key: str) -> None:
    """The app's Commands pane shows each line the runtime says as it starts: the key pasted
    as --namespace (which only takes it lower-cased) was shown there whole."""
    settings = Settings(runtime="sim", port=0, token=key, namespace=LOWER_CASED_KEY)
    runtime = SimRuntime(DEFAULT_PROFILE, 0, "mock", [key], token_delay=0.0,
                         namespace=LOWER_CASED_KEY)
    session = Session(settings, load_catalog(), runtime, lambda event: None)
    said: list[str] = []
    await session.start(said.append)
    try:
        assert any(line.startswith("simulated namespace sk-") for line in said), said
        assert not any("keyasnamespace" in line.lower() for line in said), said
    finally:
        await session.close()
