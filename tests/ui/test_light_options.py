"""The first screen's option sets: arrows move the highlight (wrapping), Enter or Space picks
the highlighted option, a click or `m`/`o` picks one; exactly one is picked, and a change is
said once. They look like a compact RadioSet (the snapshots are RadioSet's, unchanged)."""

from __future__ import annotations

from textual.app import App, ComposeResult

from sandbox.tui.screens.provider import ProviderScreen
from sandbox.tui.widgets.light_options import LightOption, LightOptions
from tests.ui.conftest import AppFactory, settle

SIZE = (100, 40)


class Options(App[None]):
    """Three options, the second picked, and every change they say."""

    AUTO_FOCUS = None

    def __init__(self) -> None:
        super().__init__()
        self.said: list[str | None] = []

    def compose(self) -> ComposeResult:
        yield LightOptions(LightOption("One", id="one"), LightOption("Two", value=True, id="two"),
                           LightOption("Three", id="three"), id="set")

    def on_light_options_changed(self, event: LightOptions.Changed) -> None:
        self.said.append(event.pressed.id)

    @property
    def options(self) -> LightOptions:
        return self.query_one(LightOptions)


def picked(app: Options) -> list[str | None]:
    return [option.id for option in app.query(LightOption) if option.value]


def highlighted(app: Options) -> list[str | None]:
    return [option.id for option in app.query(LightOption) if option.has_class("-selected")]


async def test_the_highlight_starts_on_the_picked_option_and_arrows_wrap_around() -> None:
    app = Options()
    async with app.run_test() as pilot:
        app.options.focus()
        await pilot.pause()
        assert highlighted(app) == ["two"] and picked(app) == ["two"]
        await pilot.press("down", "down")
        assert highlighted(app) == ["one"]  # past the last: the first
        await pilot.press("up")
        assert highlighted(app) == ["three"]
        await pilot.press("left", "right")
        assert highlighted(app) == ["three"] and picked(app) == ["two"] and app.said == []


async def test_enter_or_space_picks_the_highlighted_option_and_says_it_once() -> None:
    app = Options()
    async with app.run_test() as pilot:
        app.options.focus()
        await pilot.press("down", "enter")
        await pilot.pause()
        assert picked(app) == ["three"] and app.said == ["three"]
        await pilot.press("space")  # already picked: nothing changes, nothing said
        await pilot.press("up", "up", "space")
        await pilot.pause()
        assert picked(app) == ["one"] and app.said == ["three", "one"]
        assert app.options.pressed_button is app.query_one("#one")


async def test_a_click_focuses_the_set_and_picks_the_option_under_it() -> None:
    app = Options()
    async with app.run_test() as pilot:
        assert app.focused is not app.options
        await pilot.click("#three")
        await pilot.pause()
        assert app.focused is app.options
        assert picked(app) == ["three"] == highlighted(app) and app.said == ["three"]


async def test_setting_a_value_picks_that_option_alone() -> None:
    app = Options()
    async with app.run_test() as pilot:
        app.query_one("#one", LightOption).value = True
        await pilot.pause()
        assert picked(app) == ["one"] == highlighted(app) and app.said == ["one"]


async def test_the_first_screen_picks_by_arrows_clicks_and_letters(make: AppFactory) -> None:
    app = make(provider="openai")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ProviderScreen) and screen.provider == "openai"
        screen.query_one("#provider").focus()
        await pilot.press("down", "enter")  # from OpenAI, the highlighted one: wraps to mock
        await settle(pilot)
        assert screen.provider == "mock"
        await pilot.press("o")
        await settle(pilot)
        assert screen.provider == "openai" and app.focused is screen.query_one("#key")
        await pilot.click("#agentgateway-v1_4")
        await settle(pilot)
        assert screen.profile == "agentgateway-v1.4"
        assert app.focused is screen.query_one("#profile")
