"""A key pasted into the command palette's search by mistake is hidden as it is typed (a
presenter's screen is projected); ordinary searches show as typed."""

from __future__ import annotations

import pytest
from textual.command import CommandPalette

from tests.conftest import TOKEN
from tests.ui.conftest import AppFactory, screen_text, settle

SIZE = (120, 40)
# Not the app's key: any text shaped like a provider key is hidden too.
OTHER_KEY = "sk-proj-Zq81xKeyNotHeld0042abcd"


@pytest.mark.parametrize("pasted", [TOKEN, f"run {TOKEN} now", OTHER_KEY])
async def test_a_key_typed_in_the_palette_is_shown_as_dots(make: AppFactory,
                                                           pasted: str) -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*pasted)
        await settle(pilot)
        shown = screen_text(app)
        assert pasted not in shown and pasted[-6:] not in shown, shown
        assert "•" * 6 in shown
        await pilot.press(*["backspace"] * len(pasted), *"help")
        await settle(pilot)
        assert "help" in screen_text(app) and "•" * 4 not in screen_text(app)
