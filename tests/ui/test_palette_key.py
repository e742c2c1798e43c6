"""A key pasted into the command palette's search by mistake is hidden as it is typed (a
presenter's screen is projected); ordinary searches show as typed."""

from __future__ import annotations

import pytest
from textual.command import CommandInput, CommandPalette
from textual.events import Paste
from textual.strip import Strip

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


async def test_a_key_pasted_in_the_palette_is_never_drawn(make: AppFactory,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Pasted in one piece, the key is dots from the first frame: the search is hidden as its
    value changes, not once the change has been told (a frame would show it meanwhile)."""
    drawn: list[str] = []
    render_line = CommandInput.render_line

    def recording(self: CommandInput, y: int) -> Strip:
        strip = render_line(self, y)
        drawn.append(strip.text)
        return strip

    monkeypatch.setattr(CommandInput, "render_line", recording)
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        search = app.screen.query_one(CommandInput)
        search.post_message(Paste(OTHER_KEY))
        await settle(pilot)
        assert search.value == OTHER_KEY and search.password
    assert drawn and not any(OTHER_KEY[-8:] in text for text in drawn)
