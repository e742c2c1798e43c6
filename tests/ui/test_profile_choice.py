"""The first screen offers the API profile; the walkthrough then teaches that profile's API."""

from __future__ import annotations

from sandbox.catalog.loader import load_catalog
from sandbox.runtimes.runtime import Runtime
from sandbox.runtimes.sim.runtime import SimRuntime
from sandbox.settings import Settings
from sandbox.tui.app import make_app
from sandbox.tui.screens.provider import ProviderScreen
from sandbox.tui.screens.walkthrough import WalkthroughScreen
from sandbox.tui.widgets.status_bar import StatusBar
from tests.conftest import TOKEN
from tests.ui.conftest import screen_text, settle
from tests.ui.test_app import SIZE, run_scenario


async def test_choosing_agentgateway_v1_4_walks_its_scenarios_and_shows_it() -> None:
    chosen: list[str] = []

    def runtime_factory(settings: Settings, name: str) -> Runtime:
        chosen.append(settings.profile)
        return SimRuntime(settings.api_profile, settings.port, settings.provider,
                          [settings.token], token_delay=0.0)

    app = make_app(Settings(runtime="sim", port=0, token=TOKEN), load_catalog, runtime_factory,
                   lambda requested: ("sim", None))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, ProviderScreen)
        assert "kgateway v2.1 control plane" in screen_text(app)  # the default, said so
        await pilot.click("#agentgateway-v1_4")
        await settle(pilot)
        assert "agentgateway v1.4 control plane" in screen_text(app)
        await pilot.click("#start")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, WalkthroughScreen)
        assert chosen == ["agentgateway-v1.4"]
        assert screen.session.catalog.profile == "agentgateway-v1.4"
        assert screen.query_one(StatusBar).profile == "agentgateway-v1.4"
        assert "agentgateway-v1.4" in screen_text(app)
        await run_scenario(pilot, screen, "setup", [])
        await run_scenario(pilot, screen, "secret", statuses := [])
        assert statuses == [500, 200]  # service not found, then the key from the Secret


async def test_d_shows_what_changed_for_the_selected_scenario_with_keys_masked() -> None:
    from sandbox.tui.screens.dialogs import DiffViewer

    def runtime_factory(settings: Settings, name: str) -> Runtime:
        return SimRuntime(settings.api_profile, settings.port, settings.provider,
                          [settings.token], token_delay=0.0)

    app = make_app(Settings(runtime="sim", port=0, token=TOKEN), load_catalog, runtime_factory,
                   lambda requested: ("sim", None))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.click("#start")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, WalkthroughScreen)
        while screen.selected.id != "secret":
            await pilot.press("down")
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, DiffViewer)
        shown = screen_text(app)
        assert "What changed: secret from kgateway-v2.1 to agentgateway-v1.4" in shown
        assert "+kind: AgentgatewayBackend" in shown and "-kind: Backend" in shown
        assert TOKEN not in shown and TOKEN not in app.screen.diff
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen
