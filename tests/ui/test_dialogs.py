"""The dialogs on their own: the manifest editor validates off the UI thread."""

from __future__ import annotations

import threading

from textual.app import App

from sandbox.tui.screens.dialogs import ManifestEditor
from tests.ui.conftest import screen_text, settle


async def test_validation_runs_off_the_ui_thread_and_the_screen_stays_live() -> None:
    release = threading.Event()
    threads: list[threading.Thread] = []

    def slow_validate(text: str) -> str | None:  # like a YAML bomb: takes its time
        threads.append(threading.current_thread())
        release.wait(10)
        return "unknown field 'spec.nope'"

    class Host(App[None]):
        def on_mount(self) -> None:
            self.push_screen(ManifestEditor("Backend", "kind: Backend\n", slow_validate))

    app = Host()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+t")
        for _ in range(100):
            await pilot.pause(0.01)
            if threads:
                break
        assert "validating…" in screen_text(app)  # drawn while the validator still runs
        assert threads and threads[0] is not threading.main_thread()
        release.set()
        await settle(pilot)
        assert "✗ unknown field 'spec.nope'" in screen_text(app)


async def test_a_validator_that_fails_says_so_rather_than_validating_for_ever() -> None:
    def broken_validate(text: str) -> str | None:
        raise TypeError("Object of type date is not JSON serializable")

    class Host(App[None]):
        def on_mount(self) -> None:
            self.push_screen(ManifestEditor("Backend", "kind: Backend\n", broken_validate))

    app = Host()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+s")
        await settle(pilot)
        shown = screen_text(app)
        assert "validating…" not in shown
        assert "could not validate this (TypeError)" in shown
        assert isinstance(app.screen, ManifestEditor)  # not applied: still there to edit
