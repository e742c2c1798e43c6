"""The first screen's Start and Quit: pressed by Enter, Space or a click, as Textual's buttons
are; Start has the focus from the first frame; the key field comes with OpenAI."""

from __future__ import annotations

import pytest
from textual.widgets import Input

from sandbox.tui.app import SandboxApp
from sandbox.tui.screens.provider import ProviderScreen
from sandbox.tui.screens.walkthrough import WalkthroughScreen
from sandbox.tui.widgets.light_button import LightButton
from tests.ui.conftest import AppFactory, screen_text, settle

SIZE = (100, 40)


@pytest.mark.parametrize("key", ["enter", "space"])
async def test_start_has_the_focus_and_a_key_presses_it(make: AppFactory, key: str) -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.focused, LightButton) and app.focused.id == "start"
        await pilot.press(key)
        await settle(pilot)
        assert isinstance(app.screen, WalkthroughScreen)


async def test_start_has_the_focus_in_an_app_started_without_it(make: AppFactory) -> None:
    """A browser tab (serve) starts the app without the focus: Enter starts all the same."""
    app = make()
    app.set_reactive(SandboxApp.app_focus, False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.focused, LightButton) and app.focused.id == "start"
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, WalkthroughScreen)


async def test_a_click_on_quit_ends_the_app(make: AppFactory) -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.click("#quit")
        await pilot.pause()
        assert not app.is_running


async def test_quit_by_keys_shows_the_focus_moving_to_it(make: AppFactory) -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        start, quit_ = app.screen.query_one("#start"), app.screen.query_one("#quit")
        assert "reverse" in str(start.rich_style) and "reverse" not in str(quit_.rich_style)
        await pilot.press("tab")
        assert app.focused is quit_
        assert "reverse" in str(quit_.rich_style) and "reverse" not in str(start.rich_style)
        await pilot.press("enter")
        await pilot.pause()
        assert not app.is_running


async def test_the_key_field_is_added_when_openai_is_chosen_and_hidden_again(
        make: AppFactory) -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ProviderScreen)
        assert not screen.query("#key") and "OpenAI API key" not in screen_text(app)
        await pilot.press("o")
        await settle(pilot)
        assert isinstance(app.focused, Input) and app.focused.id == "key"
        assert "OpenAI API key" in screen_text(app)
        label, key = screen.query_one("#key-label"), screen.query_one("#key")
        assert label.region.y < key.region.y < screen.query_one("#key-source").region.y
        await pilot.click("#mock")  # "m" would be typed in the field
        await settle(pilot)
        assert "OpenAI API key" not in screen_text(app)
        await pilot.click("#openai")  # shown again, the same field: not a second one
        await settle(pilot)
        assert len(screen.query("#key")) == 1 and "OpenAI API key" in screen_text(app)
