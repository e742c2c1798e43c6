"""A key pasted or typed into the `t` dialog (send your own request) is drawn as dots in every
field, from the first frame, as the command palette's search draws one: the value is kept and
sent; `${token}` and ordinary text show as typed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.events import Paste
from textual.pilot import Pilot
from textual.strip import Strip
from textual.widgets import Input, TextArea

from sandbox.tui.screens.dialogs import CustomRequestForm
from tests.conftest import TOKEN
from tests.ui.conftest import AppFactory, screen_text, settle
from tests.ui.test_app import SIZE, start, until_dialog

# Not the app's key: any text shaped like a provider key is hidden too.
OTHER_KEY = "sk-proj-Lw7rQe2TfNotHeld9931xyzw"


async def open_form(pilot: Pilot[None]) -> CustomRequestForm:
    await start(pilot)
    await pilot.press("t")
    await until_dialog(pilot, CustomRequestForm)
    await settle(pilot)
    form = pilot.app.screen
    assert isinstance(form, CustomRequestForm)
    return form


def recording(render_line: Callable[[Any, int], Strip], drawn: list[str]
              ) -> Callable[[Any, int], Strip]:
    def record(self: Any, y: int) -> Strip:
        strip = render_line(self, y)
        drawn.append(strip.text)
        return strip
    return record


@pytest.mark.parametrize(("field", "key"), [("#headers", TOKEN), ("#headers", OTHER_KEY),
                                            ("#body", OTHER_KEY), ("#path", TOKEN)])
async def test_a_key_pasted_in_the_request_form_is_never_drawn(
        make: AppFactory, monkeypatch: pytest.MonkeyPatch, field: str, key: str) -> None:
    drawn: list[str] = []  # every line either kind of field draws
    for widget in (TextArea, Input):
        monkeypatch.setattr(widget, "render_line", recording(widget.render_line, drawn))
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot)
        target = form.query_one(field)
        target.focus()
        await settle(pilot)
        written = f"Authorization: Bearer {key}" if field == "#headers" else key
        if isinstance(target, TextArea):
            target.text = ""
        else:
            target.value = ""
        target.post_message(Paste(written))
        await settle(pilot)
        value = target.text if isinstance(target, TextArea) else target.value
        assert written in value  # kept as pasted: it is what is sent
        shown = screen_text(app)
        assert "•" * 12 in shown, shown
        if field == "#headers":
            assert "Authorization: Bearer" in shown, shown  # only the key is hidden
    assert drawn and not any(key[-8:] in text or key[8:16] in text for text in drawn)


async def test_a_key_typed_in_the_request_form_is_dots_and_a_placeholder_is_not(
        make: AppFactory) -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot)
        headers = form.query_one("#headers", TextArea)
        headers.text = ""
        headers.focus()
        await pilot.press(*"X-Key: ", *TOKEN, "enter", *"X-Token: ${token}")
        await settle(pilot)
        shown = screen_text(app)
        assert TOKEN[-6:] not in shown and "•" * 12 in shown, shown
        assert "X-Key:" in shown and "X-Token: ${token}" in shown, shown
        assert headers.text == f"X-Key: {TOKEN}\nX-Token: ${{token}}"
