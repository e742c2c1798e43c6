"""`ctrl+q` quits and stops everything, whatever dialog is open (README: the app's keys)."""

from __future__ import annotations

import pytest

from sandbox.catalog.loader import Catalog
from sandbox.settings import Settings
from sandbox.tui.app import make_app
from sandbox.tui.screens.dialogs import CustomRequestForm, ErrorDialog, ManifestEditor
from tests.conftest import TOKEN
from tests.ui.conftest import AppFactory, settle
from tests.ui.test_app import SIZE, start


@pytest.mark.parametrize(("key", "dialog"), [("t", CustomRequestForm), ("e", ManifestEditor)])
async def test_ctrl_q_quits_from_a_dialog_of_the_walkthrough(
        make: AppFactory, key: str, dialog: type) -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        screen = await start(pilot)
        await pilot.press("n")  # the first step, so that there is a manifest to edit
        await settle(pilot)
        await pilot.press(key)
        await pilot.pause()
        assert isinstance(app.screen, dialog)
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert not app.is_running
    assert not screen.session.started  # its runtime was stopped on the way out


async def test_ctrl_q_quits_from_the_cannot_start_dialog() -> None:
    def broken_catalog() -> Catalog:
        raise OSError("disk on fire")

    app = make_app(Settings(runtime="sim", token=TOKEN), broken_catalog,
                   lambda settings, name: None,  # type: ignore[arg-type,return-value]
                   lambda requested: ("sim", None))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, ErrorDialog)
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert not app.is_running
