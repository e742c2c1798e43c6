"""Esc in the first screen's key field (a person clearing what they typed) leaves the field,
with the key kept and the focus back on Start; a second Esc quits as before."""

from __future__ import annotations

import pytest
from textual.widgets import Input

from sandbox.tui.screens.provider import ProviderScreen
from sandbox.tui.widgets.light_button import LightButton
from tests.ui.conftest import AppFactory, notices, screen_text, settle

SIZE = (110, 40)


@pytest.mark.parametrize("provider", ["mock", "openai"])
async def test_esc_in_the_key_field_leaves_it_and_a_second_quits(
        make: AppFactory, provider: str) -> None:
    app = make(provider=provider, token="")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("o")  # OpenAI: its key field takes the focus
        field = app.screen.query_one("#key", Input)
        assert app.focused is field
        await pilot.press(*"sk-test-typo")
        await pilot.press("escape")
        await settle(pilot)
        assert app.is_running and isinstance(app.screen, ProviderScreen)
        assert isinstance(app.focused, LightButton) and app.focused.id == "start"
        assert field.value == "sk-test-typo"  # what was typed stays
        assert "Esc again to quit" in notices(app) + screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert not app.is_running
    assert app.return_code == 0


async def test_the_hint_line_says_what_esc_does_in_the_key_field(make: AppFactory) -> None:
    app = make(provider="openai")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "o OpenAI · Enter start · Esc quit" in screen_text(app)  # Start has the focus
        app.screen.query_one("#key", Input).focus()
        await settle(pilot)
        assert "Enter start · Esc leave the key field" in screen_text(app)
        assert "m mock" not in screen_text(app)  # typed in the field, not a key of the screen
        await pilot.press("escape")
        await settle(pilot)
        assert "Esc quit" in screen_text(app) and app.is_running
