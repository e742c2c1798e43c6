"""Snapshots of the main states at 80x24 and 120x40 (update with --snapshot-update).

The app runs on free ports, as it would for a user; the ports it shows (gateway URL, the mock's
port in the Backend) are written as ##### in the stored SVG, so any free port compares equal.
Linux hands out free ports from 32768-60999: always five digits, so the layout is the same.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from pytest_textual_snapshot import SVGImageExtension
from syrupy.assertion import SnapshotAssertion
from textual.pilot import Pilot

from sandbox.tui.app import SandboxApp
from sandbox.tui.screens.walkthrough import WalkthroughScreen
from tests.ui.conftest import AppFactory, settle

SIZES = [(80, 24), (120, 40)]
Compare = Callable[[SandboxApp, tuple[int, int], Callable[[Pilot[None]], Awaitable[None]]],
                   Awaitable[bool]]


def shown_ports(app: SandboxApp) -> list[int]:
    """The free ports the running app is using, hence showing."""
    ports = []
    for screen in app.screen_stack:
        if isinstance(screen, WalkthroughScreen):
            runtime = screen.session.runtime
            ports.append(int(runtime.gateway_url.rpartition(":")[2]))
            upstream = runtime.mock_upstream()
            if upstream is not None:
                ports.append(upstream[1])
    return ports


def normalise_ports(svg: str, ports: list[int]) -> str:
    for port in ports:
        assert len(str(port)) == 5, f"port {port} would change the layout"
        svg = re.sub(rf"(?<!\d){port}(?!\d)", "#####", svg)
    return svg


@pytest.fixture
def snap(snapshot: SnapshotAssertion) -> Compare:
    stored = snapshot.use_extension(SVGImageExtension)

    async def compare(app: SandboxApp, size: tuple[int, int],
                      run_before: Callable[[Pilot[None]], Awaitable[None]]) -> bool:
        async with app.run_test(size=size) as pilot:
            await run_before(pilot)
            svg = app.export_screenshot()
            ports = shown_ports(app)
        result: Any = stored == normalise_ports(svg, ports)
        return bool(result)
    return compare


async def _to_walkthrough(pilot: Pilot[None]) -> None:
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)


async def _at_inline_backend(pilot: Pilot[None]) -> None:
    await _to_walkthrough(pilot)
    for key in ("n", "n", "n", "s"):  # the setup, without its request (its latency varies)
        await pilot.press(key)
        await settle(pilot)
    await pilot.press("down", "n")
    await settle(pilot)


async def _wait_step_done(pilot: Pilot[None]) -> None:
    await _to_walkthrough(pilot)
    for key in ("n", "n", "n"):
        await pilot.press(key)
        await settle(pilot)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_provider_screen(snap: Compare, make: AppFactory, size: tuple[int, int]) -> None:
    assert await snap(make(), size, settle)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_walkthrough_at_the_masked_backend_manifest(snap: Compare, make: AppFactory,
                                                          size: tuple[int, int]) -> None:
    assert await snap(make(), size, _at_inline_backend)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_walkthrough_with_status_conditions(snap: Compare, make: AppFactory,
                                                  size: tuple[int, int]) -> None:
    assert await snap(make(), size, _wait_step_done)
