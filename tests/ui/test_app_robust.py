"""The app when the machine around it misbehaves: an unwritable cache directory."""

from __future__ import annotations

import pytest

from sandbox.tui.screens.walkthrough import WalkthroughScreen
from tests.ui.conftest import AppFactory, notices
from tests.ui.test_app import SIZE, run_scenario, start


async def test_copy_with_an_unwritable_cache_warns_and_keeps_the_session(
        make: AppFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", "/proc/agw-sandbox-cache")  # cannot be created
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        screen = await start(pilot)
        await run_scenario(pilot, screen, "setup", [])
        await run_scenario(pilot, screen, "passthrough", [])
        await pilot.press("y")
        await pilot.pause()
        assert app.is_running and isinstance(app.screen, WalkthroughScreen)
        assert app.clipboard.startswith("curl -sS ")  # the clipboard copy still happened
        shown = notices(app)
        assert "/proc/agw-sandbox-cache/agw-sandbox/last-request.sh could not be written" in shown
        assert "XDG_CACHE_HOME" in shown
