"""A browser tab's app whose gateway port is taken (``serve --gateway-port N`` gives every tab the
same one) tells the learner what a tab can do, not to "pass --port", an option no tab has."""

from __future__ import annotations

import socket

import pytest
from textual.app import App

from sandbox.tui.screens.dialogs import ErrorDialog
from sandbox.tui.screens.walkthrough import WalkthroughScreen
from tests.ui.conftest import AppFactory, screen_text, settle

SIZE = (120, 40)


@pytest.mark.parametrize("in_browser", [True, False], ids=["browser-tab", "terminal"])
async def test_a_taken_gateway_port_is_explained_for_where_the_app_runs(
        make: AppFactory, monkeypatch: pytest.MonkeyPatch, in_browser: bool) -> None:
    monkeypatch.setattr(App, "is_web", property(lambda self: in_browser))
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        app = make(port=port)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press("enter")
            await settle(pilot)
            dialog = app.screen
            assert isinstance(dialog, ErrorDialog)
            assert f"port {port} on 127.0.0.1 is already in use" in dialog.message
            if in_browser:
                assert "pass --port" not in dialog.hint, dialog.hint
                assert f"(serve --gateway-port {port})" in dialog.hint, dialog.hint
                assert "“Retry on a free port”" in dialog.hint, dialog.hint
            else:
                assert "pass --port with a free port" in dialog.hint, dialog.hint
            text = screen_text(app)
            assert "pass --port" not in text if in_browser else "pass --port" in text
            await pilot.press("enter")  # "Retry on a free port"
            await settle(pilot)
            assert isinstance(app.screen, WalkthroughScreen) and app.screen.session.started
