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


def drawn_now(target: Any, drawn: list[str]) -> list[str]:
    """What ``target`` draws when drawn again now (each of its lines, as the recorder saw)."""
    drawn.clear()
    target.refresh()
    return drawn


# AG5: a key written over several lines (or cut in two, or in pieces) is drawn as dots wherever
# the request pane's masker would mask it, every other character drawn as typed.
@pytest.mark.parametrize(("lines", "dots"), [
    ([f"X-A: {TOKEN[:13]}", f"X-B: {TOKEN[13:26]}", f"X-C: {TOKEN[26:]}"], [13, 13, 14]),
    ([f"X-A: {TOKEN[:20]}", f"X-B: {TOKEN[20:]}"], [20, 20]),
    ([f"X-B: {TOKEN[3:20]}", "X-Tenant: blue", f"X-Rest: {TOKEN[20:]}"], [17, 0, 20]),
], ids=["three-lines", "two-halves", "halves-apart"])
async def test_a_key_typed_over_several_header_lines_is_dots(
        make: AppFactory, monkeypatch: pytest.MonkeyPatch, lines: list[str],
        dots: list[int]) -> None:
    drawn: list[str] = []
    monkeypatch.setattr(TextArea, "render_line", recording(TextArea.render_line, drawn))
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot)
        headers = form.query_one("#headers", TextArea)
        headers.text = ""
        headers.focus()
        for number, line in enumerate(lines):
            await pilot.press(*(["enter"] if number else []), *line)
        await settle(pilot)
        assert headers.text == "\n".join(lines)  # kept as typed: it is what is sent
        assert headers.cursor_location == (len(lines) - 1, len(lines[-1]))
        for row in range(len(lines)):  # each line in turn where the box shows it
            headers.scroll_to(y=row, animate=False)
            shown = drawn_now(headers, drawn)
            await settle(pilot)
            line, count = lines[row], dots[row]
            expected = line[:len(line) - count] + "•" * count
            assert any(text.rstrip() == expected for text in shown), (expected, shown)
            assert not any(TOKEN[at:at + 6] in text for text in shown for at in range(3, 35))
        assert not any(TOKEN[at:at + 6] in screen_text(app) for at in range(3, 35))


async def test_a_key_cut_in_two_in_the_path_and_body_is_dots(make: AppFactory) -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot)
        path = form.query_one("#path", Input)
        path.value = f"/openai/{TOKEN[3:20]}/x/{TOKEN[20:]}"
        body = form.query_one("#body", TextArea)
        body.text = f'{{"model": "{TOKEN[3:20]} {TOKEN[20:]}", "n": 1}}'
        await settle(pilot)
        shown = screen_text(app)
        assert "•" * 20 in shown and not any(TOKEN[at:at + 6] in shown for at in range(3, 35))
        assert path.password and path.value.endswith(TOKEN[20:])  # kept: it is what is sent
        drawn = body.get_line(0).plain  # what the body's line is drawn from
        assert drawn == f'{{"model": "{"•" * 38}", "n": 1}}', drawn  # the blank too
        assert TOKEN[20:] in body.text
