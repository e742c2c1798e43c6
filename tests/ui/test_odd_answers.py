"""A provider's answer holding lone surrogates, line separators and invisible text: the app
shows each as an escape and writes its transcript (``w``) as for any other answer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import TextArea

from sandbox.catalog.loader import load_catalog
from sandbox.profiles import DEFAULT_PROFILE
from sandbox.runtimes.runtime import Runtime
from sandbox.runtimes.sim.runtime import SimRuntime
from sandbox.settings import Settings
from sandbox.tui.app import make_app
from sandbox.tui.screens.dialogs import CustomRequestForm, ManifestEditor
from sandbox.tui.widgets.exchange_panes import ResponsePane
from tests.conftest import TOKEN
from tests.ui.conftest import notices, record_notifications, screen_text, settle
from tests.ui.test_app import run_scenario, start, until_dialog
from tests.ui.test_untrusted_text import app_with, select
from tests.untrusted_text import (
    ODD_MODEL,
    ODD_TEXT,
    echo_scenario,
    odd_provider,
    odd_provider_scenario,
)


async def test_the_answer_is_shown_with_escapes_and_the_transcript_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with odd_provider() as address:
        folder = odd_provider_scenario(tmp_path / "odd", address[1])
        settings = Settings(runtime="sim", provider="openai", port=0, token=TOKEN,
                            scenario_dirs=(folder,))

        def runtime_factory(chosen: Settings, name: str) -> Runtime:
            return SimRuntime(DEFAULT_PROFILE, chosen.port, "openai", [chosen.token],
                              token_delay=0.0, openai_address=address)

        app = make_app(settings, lambda: load_catalog([folder]), runtime_factory,
                       lambda requested: ("sim", "Docker is not reachable (test)"))
        record_notifications(app)
        async with app.run_test(size=(200, 50)) as pilot:
            screen = await start(pilot)  # OpenAI is chosen, its key given
            await pilot.press("g")  # setup
            await settle(pilot)
            await select(pilot, screen, "odd")
            for _ in range(4):
                await pilot.press("n")
                await settle(pilot)
            response = screen.query_one(ResponsePane).response
            assert response is not None and response.model == ODD_MODEL  # what came
            assert ODD_TEXT in response.content
            text = screen_text(app)
            assert "model gpt-4o\\ud800" in text
            for piece in ("A \\ud800 B \\udfff C\\u2028D\\u2029E", "F\\u200bG",  # wrapped
                          "\\udb40\\udc73\\udb40\\udc61\\udb40\\udc79\\udb40\\udc20"):
                assert piece in text, piece
            assert "\U000e0073" not in text and "\u200b" not in text
            await pilot.press("w")
            await pilot.pause()
            [written] = tmp_path.glob("agw-sandbox-transcript-*.md")
            assert f"in Markdown: {written}" in notices(app)
            assert "gpt-4o\\ud800" in written.read_text(encoding="utf-8")
            assert app.is_running


async def test_a_request_holding_a_lone_surrogate_is_copied_as_curl(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """JSON may write ``"\\ud800"`` in a request body of one's own: the answer shows it, and
    ``y`` copies a curl that sends the same JSON (the escape, not a character no UTF-8 holds)."""
    monkeypatch.chdir(tmp_path)
    app = app_with(echo_scenario(tmp_path / "echo"))  # the mock answers as the asked model
    async with app.run_test(size=(200, 50)) as pilot:
        screen = await start(pilot)
        await run_scenario(pilot, screen, "setup", [])
        await select(pilot, screen, "echo")
        for _ in range(2):  # the Backend and the route, then the wait
            await pilot.press("n")
            await settle(pilot)
        await pilot.press("t")
        await until_dialog(pilot, CustomRequestForm)
        app.screen.query_one("#body", TextArea).text = (
            '{"model": "gpt-4o\\ud800", "messages": [{"role": "user", "content": "hi"}]}')
        await pilot.press("ctrl+s")
        await settle(pilot)
        response = screen.query_one(ResponsePane).response
        assert response is not None and response.status == 200
        assert response.model == "gpt-4o\ud800"
        assert "model gpt-4o\\ud800" in screen_text(app)
        await pilot.press("y")
        await settle(pilot)
        saved = (tmp_path / "cache" / "agw-sandbox" / "last-request.sh").read_text()
        assert """-d '{"model": "gpt-4o\\ud800", "messages": """ in saved
        assert app.is_running


@pytest.mark.parametrize(("written", "said"), [
    ('"gpt-4o\\ud800"', "holds a lone surrogate U+D800 (half of a UTF-16 pair) at position 7"),
    ('"gpt\u200b-4o"', "holds the invisible character U+200B (ZERO WIDTH SPACE) at position 4"),
    (f'"gpt-4o{chr(0xE0041)}"', "holds the invisible character U+E0041 (TAG LATIN CAPITAL "
                                "LETTER A) at position 7"),
])
async def test_the_editor_refuses_what_a_scenario_file_may_not_hold(
        make: Any, written: str, said: str) -> None:
    """A manifest pasted into the editor is loaded as a scenario's template is."""
    app = make()
    async with app.run_test(size=(200, 50)) as pilot:
        screen = await start(pilot)
        await run_scenario(pilot, screen, "setup", [])
        await pilot.press("down", "n")  # inline: past the explanation, at the Backend
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
        area = app.screen.query_one(TextArea)
        area.text = area.text.replace("model: gpt-3.5-turbo", f"model: {written}")
        assert f"model: {written}" in area.text
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ManifestEditor)  # not applied
        text = screen_text(app)
        assert f"'spec.ai.llm.openai.model' {said}" in " ".join(text.split())
        assert app.is_running
