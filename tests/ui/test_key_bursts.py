"""Keys arriving in one burst (a quick typist, a `serve` tab on slow Wi-Fi) act on the screen that
was on top when each arrived: Enter, Ctrl+P starts, then opens the palette over the walkthrough."""

from __future__ import annotations

import time

from textual.command import CommandPalette
from textual.events import Key
from textual.pilot import Pilot

from sandbox.tui.screens.provider import ProviderScreen
from sandbox.tui.screens.walkthrough import WalkthroughScreen
from tests.ui.conftest import AppFactory, notices, screen_text, settle

SIZE = (120, 40)
KEYS: dict[str, str | None] = {"enter": "\r", "ctrl+p": "\x10", "escape": "\x1b", "tab": "\t",
                              "down": None, "space": " "}


def burst(pilot: Pilot[None], *keys: str) -> None:
    """Post the keys as the driver does when they come in one read: all before any is handled
    (Pilot's own ``press`` waits for the app to be idle after each key)."""
    driver = pilot.app._driver
    assert driver is not None
    for key in keys:
        driver.send_message(Key(key, KEYS.get(key, key)))


async def on_welcome(pilot: Pilot[None]) -> None:
    await settle(pilot)
    assert isinstance(pilot.app.screen, ProviderScreen)
    assert pilot.app.screen.runtime is not None  # detected: Start starts at once


def stack(pilot: Pilot[None]) -> list[str]:
    return [type(screen).__name__ for screen in pilot.app.screen_stack]


async def test_enter_then_ctrl_p_starts_then_opens_the_palette_over_the_walkthrough(
        make: AppFactory) -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await on_welcome(pilot)
        burst(pilot, "enter", "ctrl+p")
        await settle(pilot)
        assert isinstance(app.screen, CommandPalette), stack(pilot)
        assert isinstance(app.screen_stack[-2], WalkthroughScreen), stack(pilot)
        burst(pilot, "escape")
        await settle(pilot)
        assert isinstance(app.screen, WalkthroughScreen), stack(pilot)
        assert app.is_running
        assert app.screen.session.started


async def test_enter_ctrl_p_enter_leaves_the_walkthrough_shown(make: AppFactory) -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await on_welcome(pilot)
        burst(pilot, "enter", "ctrl+p", "enter")
        await settle(pilot)
        assert WalkthroughScreen in map(type, app.screen_stack), stack(pilot)
        assert not isinstance(app.screen, ProviderScreen), screen_text(app)
        burst(pilot, "escape", "escape")
        await settle(pilot)
        assert app.is_running
        assert isinstance(app.screen, WalkthroughScreen), stack(pilot)


async def test_enter_on_quit_then_ctrl_p_quits_rather_than_opening_the_palette(
        make: AppFactory) -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await on_welcome(pilot)
        await pilot.press("tab")  # from Start to Quit
        assert getattr(app.focused, "id", None) == "quit"
        burst(pilot, "enter", "ctrl+p")
        await settle(pilot)
        assert not any(isinstance(screen, CommandPalette) for screen in app.screen_stack)
        assert not app.is_running


async def test_enter_in_the_key_field_then_ctrl_p_starts_with_openai(make: AppFactory) -> None:
    app = make(provider="openai")
    async with app.run_test(size=SIZE) as pilot:
        await on_welcome(pilot)
        await pilot.press("o")  # the masked key field, holding the key given
        assert getattr(app.focused, "id", None) == "key"
        burst(pilot, "enter", "ctrl+p")
        await settle(pilot)
        assert [type(screen) for screen in app.screen_stack][1:] == \
            [WalkthroughScreen, type(app.screen)], stack(pilot)
        walkthrough = app.screen_stack[1]
        assert isinstance(walkthrough, WalkthroughScreen)
        assert walkthrough.session.settings.provider == "openai"


async def test_esc_meant_for_the_palette_does_not_quit_from_the_welcome(
        make: AppFactory) -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await on_welcome(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        assert isinstance(app.screen, CommandPalette)
        burst(pilot, "escape", "escape")  # one to close the palette, one more in the same burst
        await settle(pilot)
        assert app.is_running
        assert isinstance(app.screen, ProviderScreen), stack(pilot)


async def test_esc_right_after_the_palette_closed_asks_for_another(make: AppFactory) -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await on_welcome(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press("escape")  # closes the palette
        await pilot.pause(0.1)
        await pilot.press("escape")  # a quick second press: not yet a quit
        await settle(pilot)
        assert app.is_running
        assert "press Esc again to quit" in notices(app)
        await pilot.pause(0.6)
        await pilot.press("escape")  # with nothing closed just before, Esc quits as always
        await settle(pilot)
        assert not app.is_running


async def test_ctrl_p_while_start_waits_for_the_runtime_opens_over_the_walkthrough(
        make: AppFactory) -> None:
    app = make()
    detected = app.detect

    def slow_detect(requested: str) -> tuple[str, str | None]:
        time.sleep(1.0)  # a Docker daemon slow to answer
        return detected(requested)

    app.detect = slow_detect
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        assert isinstance(app.screen, ProviderScreen) and app.screen.runtime is None
        burst(pilot, "enter", "ctrl+p")
        await settle(pilot)  # the detection ends, Start goes on
        assert [type(screen) for screen in app.screen_stack][:2] == \
            [ProviderScreen, WalkthroughScreen], stack(pilot)
        assert isinstance(app.screen, CommandPalette), stack(pilot)
        burst(pilot, "escape")
        await settle(pilot)
        assert isinstance(app.screen, WalkthroughScreen), stack(pilot)
        assert app.is_running


async def test_an_arrow_then_enter_on_a_set_of_options_picks_in_order(make: AppFactory) -> None:
    """Down then Enter in one burst picks the option Down moved to (Enter acts as it arrives on
    the buttons and the key field, not on an option set, whose arrows are not priorities)."""
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await on_welcome(pilot)
        screen = app.screen
        assert isinstance(screen, ProviderScreen)
        screen.query_one("#profile").focus()
        await settle(pilot)
        burst(pilot, "down", "enter")
        await settle(pilot)
        assert screen.profile == "agentgateway-v1.4"
        screen.query_one("#provider").focus()
        await settle(pilot)
        burst(pilot, "down", "space")
        await settle(pilot)
        assert screen.provider == "openai"
