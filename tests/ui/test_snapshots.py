"""Snapshots of the main states at 80x24 and 120x40 (update with --snapshot-update)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.pilot import Pilot

from tests.ui.conftest import AppFactory, settle

# Fixed ports: the gateway URL and the mock's host/port are part of what is shown.
GATEWAY_PORT, MOCK_PORT = 38181, 38182
SIZES = [(80, 24), (120, 40)]
SnapCompare = Callable[..., bool]


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
def test_provider_screen(snap_compare: SnapCompare, make: AppFactory,
                         size: tuple[int, int]) -> None:
    assert snap_compare(make(port=GATEWAY_PORT, mock_port=MOCK_PORT), terminal_size=size,
                        run_before=settle)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_walkthrough_at_the_masked_backend_manifest(snap_compare: SnapCompare,
                                                    make: AppFactory,
                                                    size: tuple[int, int]) -> None:
    assert snap_compare(make(port=GATEWAY_PORT, mock_port=MOCK_PORT), terminal_size=size,
                        run_before=_at_inline_backend)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_walkthrough_with_status_conditions(snap_compare: SnapCompare, make: AppFactory,
                                            size: tuple[int, int]) -> None:
    assert snap_compare(make(port=GATEWAY_PORT, mock_port=MOCK_PORT), terminal_size=size,
                        run_before=_wait_step_done)
