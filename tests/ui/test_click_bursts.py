"""Clicks arriving in one burst (a double-click that drifts, a person who changes their mind, a
`serve` tab delivering two frames at once): Start then Quit quits cleanly, never as a bug."""

from __future__ import annotations

import pytest
from textual.events import MouseDown, MouseUp
from textual.geometry import Offset
from textual.pilot import Pilot

from sandbox.tui.screens.dialogs import ErrorDialog
from sandbox.tui.screens.provider import ProviderScreen
from sandbox.tui.screens.walkthrough import WalkthroughScreen
from tests.ui.conftest import AppFactory, settle

SIZE = (120, 40)


def centre(pilot: Pilot[None], selector: str) -> Offset:
    """Where a person would click the widget: the middle of its region on the screen."""
    region = pilot.app.screen.query_one(selector).region
    return Offset(region.x + region.width // 2, region.y)


def click_burst(pilot: Pilot[None], *selectors: str) -> None:
    """Post a click on each widget as the driver does when they come in one read: every press
    and release before any is handled (Pilot's own ``click`` waits for the app after each)."""
    driver = pilot.app._driver
    assert driver is not None
    spots = [centre(pilot, selector) for selector in selectors]  # before anything moves
    for spot in spots:
        for event in (MouseDown, MouseUp):
            driver.send_message(event(None, spot.x, spot.y, 0, 0, 1, False, False, False,
                                      screen_x=spot.x, screen_y=spot.y))


async def on_welcome(pilot: Pilot[None]) -> None:
    await settle(pilot)
    assert isinstance(pilot.app.screen, ProviderScreen)
    assert pilot.app.screen.runtime is not None  # detected: Start starts at once


async def test_a_click_on_start_then_on_quit_quits_cleanly(make: AppFactory) -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await on_welcome(pilot)
        click_burst(pilot, "#start", "#quit")
        await settle(pilot)
    assert app.crashed is None, repr(app.crashed)
    assert app.return_code == 0
    assert not app.is_running


async def test_start_twice_then_quit_quits_cleanly(make: AppFactory) -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await on_welcome(pilot)
        click_burst(pilot, "#start", "#start", "#quit")
        await settle(pilot)
    assert app.crashed is None, repr(app.crashed)
    assert app.return_code == 0


async def test_quit_then_start_quits_cleanly(make: AppFactory) -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await on_welcome(pilot)
        click_burst(pilot, "#quit", "#start")
        await settle(pilot)
    assert app.crashed is None, repr(app.crashed)
    assert app.return_code == 0



@pytest.mark.parametrize("quit_first", [False, True])
async def test_a_dialog_opened_as_the_app_quits_quits_cleanly(make: AppFactory,
                                                               quit_first: bool) -> None:
    """A dialog pushed by one handler and a quit by the next, in either order (a runtime that
    failed as Ctrl+Q arrives): the app quits, never as a bug; the dialog's ``on_mount`` looks
    for its buttons."""
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await on_welcome(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, WalkthroughScreen)
        if quit_first:
            app.exit()
        app.push_screen(ErrorDialog("The runtime could not start", "it failed", "try again"))
        app.exit()
        await settle(pilot)
    assert app.crashed is None, repr(app.crashed)
    assert app.return_code == 0
