"""`o` then more keys in one burst (a paste right after it, a `serve` tab on slow Wi-Fi): the
keys after `o` go to the key field it focused, in order, and an Enter after them starts with what
they typed. None of them acts as a letter of the first screen or of the walkthrough."""

from __future__ import annotations

from textual.widgets import Input

from sandbox.tui.screens.provider import ProviderScreen
from sandbox.tui.screens.walkthrough import WalkthroughScreen
from tests.ui.conftest import AppFactory, notices, settle
from tests.ui.test_key_bursts import burst, on_welcome, stack

SIZE = (120, 40)
# Every letter that means something on the first screen (m, o) or in the walkthrough (s skips,
# t opens a request, d a diff, v reveals keys, n runs a step, x resets).
TYPED_KEY = "sk-test-mostdvnx7Q2w9E4r8T1y"


def key_field(screen: ProviderScreen) -> Input:
    return screen.query_one("#key", Input)


async def test_letters_after_o_are_typed_into_the_key_field(make: AppFactory) -> None:
    app = make(token="")
    async with app.run_test(size=SIZE) as pilot:
        await on_welcome(pilot)
        burst(pilot, "o", "m", "o", "x")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ProviderScreen)
        assert screen.provider == "openai"
        assert app.focused is key_field(screen) and key_field(screen).value == "mox"


async def test_o_a_pasted_key_and_enter_start_with_that_key_and_nothing_else(
        make: AppFactory) -> None:
    app = make(token="")
    async with app.run_test(size=SIZE) as pilot:
        await on_welcome(pilot)
        burst(pilot, "o", *TYPED_KEY, "enter", "s", "t")
        await settle(pilot)
        assert [type(screen) for screen in app.screen_stack][1:] == [WalkthroughScreen], \
            stack(pilot)
        walkthrough = app.screen
        assert isinstance(walkthrough, WalkthroughScreen)
        assert walkthrough.session.settings.provider == "openai"
        assert walkthrough.session.settings.token == TYPED_KEY
        assert "revealed" not in notices(app).lower()


async def test_o_then_enter_asks_for_the_key_rather_than_starting_with_the_mock(
        make: AppFactory) -> None:
    app = make(token="")
    async with app.run_test(size=SIZE) as pilot:
        await on_welcome(pilot)
        burst(pilot, "o", "enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ProviderScreen), stack(pilot)
        assert screen.provider == "openai" and "A key is needed" in notices(app)
        assert app.focused is key_field(screen)


async def test_m_and_o_still_pick_when_the_key_field_is_not_focused(make: AppFactory) -> None:
    app = make(provider="openai")
    async with app.run_test(size=SIZE) as pilot:
        await on_welcome(pilot)
        screen = app.screen
        assert isinstance(screen, ProviderScreen)
        screen.query_one("#start").focus()
        await settle(pilot)
        burst(pilot, "m")
        await settle(pilot)
        assert screen.provider == "mock"
        burst(pilot, "o", "escape", "m")  # Esc leaves the field: m picks again
        await settle(pilot)
        assert screen.provider == "mock" and not isinstance(app.focused, Input)
