"""The terminal app driven with Textual's Pilot, as a keyboard-only user would."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, TextArea

from sandbox.catalog.loader import Catalog, load_catalog
from sandbox.errors import RuntimeUnavailable, SandboxError
from sandbox.profiles import DEFAULT_PROFILE
from sandbox.runtimes.runtime import Progress, ResourceRef, Runtime
from sandbox.runtimes.sim.runtime import SimRuntime
from sandbox.settings import DEMO_TOKEN, Settings, resolve_token
from sandbox.tui.app import SandboxApp, make_app
from sandbox.tui.screens.dialogs import (
    CustomRequestForm,
    ErrorDialog,
    ManifestEditor,
    QuestionDialog,
)
from sandbox.tui.screens.provider import ProviderScreen
from sandbox.tui.screens.walkthrough import WalkthroughScreen
from sandbox.tui.widgets.exchange_panes import ResponsePane
from sandbox.tui.widgets.status_bar import StatusBar
from sandbox.tui.widgets.status_table import StatusTable
from tests.conftest import OTHER_TOKEN, TOKEN
from tests.ui.conftest import AppFactory, notices, screen_text, settle

SIZE = (120, 40)


async def until_dialog(pilot: Pilot[None], kind: type[object]) -> None:
    """Pause until a dialog is up (its worker is waiting for the answer, so don't settle)."""
    for _ in range(200):
        if isinstance(pilot.app.screen, kind):
            return
        await pilot.pause(0.01)
    raise AssertionError(f"no {kind.__name__}; the screen shows:\n{screen_text(pilot.app)}")


async def start(pilot: Pilot[None]) -> WalkthroughScreen:
    await settle(pilot)
    assert isinstance(pilot.app.screen, ProviderScreen)
    await pilot.press("enter")  # Start is focused; the mock provider is the default
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, WalkthroughScreen)
    assert screen.session.started
    return screen


async def run_scenario(pilot: Pilot[None], screen: WalkthroughScreen, scenario_id: str,
                       statuses: list[int]) -> None:
    """Select the scenario with the arrow keys and press n until it is done."""
    ids = [s.id for s in screen.scenarios]
    while screen.selected.id != scenario_id:
        await pilot.press("down" if ids.index(scenario_id) > ids.index(screen.selected.id)
                          else "up")
    scenario = screen.selected
    while screen.session.current_step(scenario) is not None:
        before = screen.session.progress[scenario.id].index
        await pilot.press("n")
        await settle(pilot)
        response = screen.query_one(ResponsePane).response
        if response is not None and screen.session.progress[scenario.id].index != before and \
                type(scenario.steps[before]).__name__ == "RequestStep":
            statuses.append(response.status)
            assert "sk-…c5Ge" in response.content or response.status != 200
        assert screen.session.progress[scenario.id].index == before + 1, screen_text(pilot.app)


async def test_a_new_user_completes_every_scenario_with_the_keyboard(make: AppFactory) -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        screen = await start(pilot)
        bar = screen.query_one(StatusBar)
        assert bar.runtime == "simulated" and bar.cluster == "ready"
        seen: dict[str, list[int]] = {}
        for scenario_id in ("setup", "inline", "secret", "passthrough"):
            seen[scenario_id] = []
            await run_scenario(pilot, screen, scenario_id, seen[scenario_id])
        assert seen == {"setup": [404], "inline": [200, 200], "secret": [401, 200],
                        "passthrough": [401, 200]}
        text = screen_text(app)
        assert TOKEN not in text
        assert all(screen.session.progress[s].mark(len(screen.session.catalog.get(s).steps))
                   == "✓" for s in seen)
        assert "✓ Passthrough" in text


async def test_passthrough_fails_without_a_token_and_passes_with_one(make: AppFactory) -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        screen = await start(pilot)
        await run_scenario(pilot, screen, "setup", [])
        await run_scenario(pilot, screen, "passthrough", statuses := [])
        assert statuses == [401, 200]
        pane = screen.query_one(ResponsePane)
        assert pane.has_class("-ok") and "sk-…c5Ge" in pane.response.content  # type: ignore[union-attr]


async def test_a_failed_step_explains_itself_and_can_be_retried(make: AppFactory) -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        screen = await start(pilot)
        await pilot.press("down", "n")  # inline, before the setup created the Gateway
        await until_dialog(pilot, QuestionDialog)
        await pilot.click("#choice-anyway")
        await settle(pilot)
        for key in ("n", "n", "s", "n"):  # skip the wait; ask with no route in place
            await pilot.press(key)
            await settle(pilot)
        assert screen.session.progress["inline"].index == 4  # the request did not pass
        text = screen_text(app)
        assert "✗ expected status 200, got 404 Not Found" in text
        assert "no route matched the path" in text and "Traceback" not in text
        await run_scenario(pilot, screen, "setup", [])
        await pilot.press("down", "n")  # retry the same step now that the Gateway exists
        await settle(pilot)
        assert screen.session.progress["inline"].index == 5


async def test_reveal_shows_the_key_only_while_toggled(make: AppFactory) -> None:
    app = make()
    async with app.run_test(size=(120, 60)) as pilot:
        await start(pilot)
        await pilot.press("down", "n")  # inline: past the explanation, at the Backend
        await until_dialog(pilot, QuestionDialog)  # no setup yet: run it anyway
        await pilot.click("#choice-anyway")
        await settle(pilot)
        assert "inline: sk-…c5Ge" in screen_text(app)
        await pilot.press("v")
        await pilot.pause()
        assert f"inline: {TOKEN}" in screen_text(app)
        assert "Keys revealed" in notices(app)
        await pilot.press("v")
        await pilot.pause()
        assert TOKEN not in screen_text(app)


async def test_edit_validate_reapply_and_see_the_next_response_change(make: AppFactory) -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        screen = await start(pilot)
        await run_scenario(pilot, screen, "setup", [])
        await pilot.press("down")
        for _ in range(4):  # up to the first request: Backend and route applied and accepted
            await pilot.press("n")
            await settle(pilot)
        await pilot.press("e")  # the latest manifest: the HTTPRoute
        await settle(pilot)
        editor = app.screen
        assert isinstance(editor, ManifestEditor)
        area = editor.query_one(TextArea)
        assert "${token}" not in area.text and TOKEN not in area.text
        area.text = area.text.replace("type: PathPrefix", "type: Prefix")
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert 'Unsupported value: "Prefix"' in screen_text(app)
        area.text = area.text.replace("type: Prefix", "type: PathPrefix").replace(
            "value: /openai", "value: /llm")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, WalkthroughScreen)
        await pilot.press("t")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, CustomRequestForm)
        form.query_one("#path", Input).value = "/openai"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert screen.query_one(ResponsePane).response.status == 404  # type: ignore[union-attr]
        await pilot.press("t")
        await settle(pilot)
        app.screen.query_one("#path", Input).value = "/llm"
        await pilot.press("ctrl+s")
        await settle(pilot)
        response = screen.query_one(ResponsePane).response
        assert response is not None and response.status == 200
        assert "route: /llm" not in screen_text(app) and TOKEN not in screen_text(app)


async def test_an_inline_backend_edited_to_a_wrong_key_fails_the_next_request(
        make: AppFactory) -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        screen = await start(pilot)
        await run_scenario(pilot, screen, "setup", [])
        await pilot.press("down", "n")
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
        area = app.screen.query_one(TextArea)
        assert "inline: ${token}" in area.text
        area.text = area.text.replace("inline: ${token}", "inline: sk-test-wrong-key-0000000")
        await pilot.press("ctrl+s")
        await settle(pilot)
        for _ in range(3):
            await pilot.press("n")
            await settle(pilot)
        response = screen.query_one(ResponsePane).response
        assert response is not None and response.status == 401
        assert "rejected the key" in screen_text(app)


async def test_copy_as_curl_uses_the_clipboard_and_a_keyless_file(
        make: AppFactory, tmp_path: Path) -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        screen = await start(pilot)
        await run_scenario(pilot, screen, "setup", [])
        await run_scenario(pilot, screen, "passthrough", [])
        await pilot.press("y")
        await pilot.pause()
        assert app.clipboard.startswith("curl -sS http://127.0.0.1:")
        assert "'Authorization: Bearer '\"$AGW_SANDBOX_TOKEN\"" in app.clipboard
        saved = tmp_path / "cache" / "agw-sandbox" / "last-request.sh"
        assert app.clipboard in saved.read_text() and TOKEN not in saved.read_text()
        assert str(saved) in notices(app)


async def test_f1_toggles_help_for_the_focused_pane(make: AppFactory) -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        await pilot.press("f1")
        await pilot.pause()
        assert "Each line is one walkthrough" in screen_text(app)
        await pilot.press("f1")
        await pilot.pause()
        assert not app.screen.query("HelpPanel")


async def test_command_palette_offers_the_main_actions(make: AppFactory) -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        screen = await start(pilot)
        titles = [c.title for c in app.get_system_commands(screen)]
        for title in ("Run step", "Skip step", "Check status", "Edit manifest",
                      "Send a custom request", "Copy request as curl", "Reset scenario"):
            assert title in titles
        run_step = next(c for c in app.get_system_commands(screen) if c.title == "Run step")
        run_step.callback()
        await settle(pilot)
        assert screen.session.progress["setup"].index == 1


async def test_skip_check_and_reset(make: AppFactory) -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        screen = await start(pilot)
        await run_scenario(pilot, screen, "setup", [])
        await pilot.press("down", "s", "n")
        await settle(pilot)
        assert screen.session.progress["inline"].outcomes["intro"] == "skipped"
        await pilot.press("c")
        await settle(pilot)
        table = screen.query_one(StatusTable)
        assert any(str(key.value).startswith("Backend/openai|Accepted") for key in table.rows)
        await pilot.press("x")
        await settle(pilot)
        assert screen.session.progress["inline"].index == 0
        backend = ResourceRef("Backend", "openai", "kgateway-system")
        assert not (await screen.session.runtime.status(backend)).exists
        assert "back to step 1" in notices(app)


async def test_a_taken_port_shows_a_dialog_and_recovers(make: AppFactory) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        app = make(port=holder.getsockname()[1])
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, ErrorDialog)
            text = screen_text(app)
            assert "already in use" in text and "Traceback" not in text
            await pilot.press("enter")  # "Retry on a free port"
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, WalkthroughScreen) and screen.session.started


async def test_quitting_stops_the_gateway_and_the_mock(make: AppFactory) -> None:
    runtime = SimRuntime(DEFAULT_PROFILE, 0, "mock", [TOKEN], token_delay=0.0)
    app = make(runtime=runtime)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        assert runtime.gateway is not None
        port = runtime.gateway.port
        await pilot.press("ctrl+q")
        await settle(pilot)
    assert runtime.gateway is None and runtime.mock is None
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))  # free again


async def test_openai_key_is_typed_masked_and_never_shown(make: AppFactory) -> None:
    app = make(provider="openai", token=DEMO_TOKEN)  # no --token, no key in the environment
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ProviderScreen)
        key = screen.query_one("#key", Input)
        assert key.password
        await pilot.press("enter")  # no key yet: refused with a message
        await pilot.pause()
        assert isinstance(app.screen, ProviderScreen) and "A key is needed" in notices(app)
        key.value = TOKEN
        assert TOKEN not in screen_text(app)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, WalkthroughScreen)
        assert app.settings.token == TOKEN and app.settings.provider == "openai"
        assert TOKEN not in screen_text(app)


def test_no_color_is_honoured(make: AppFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app: SandboxApp = make()
    assert app.no_color


async def test_run_rest_before_setup_offers_the_setup_and_then_finishes(
        make: AppFactory) -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        screen = await start(pilot)
        await pilot.press("down", "g")  # inline; the Gateway does not exist yet
        await until_dialog(pilot, QuestionDialog)
        text = screen_text(app)
        assert "needs what “Set up the gateway” creates" in text and "Run setup first" in text
        await pilot.press("enter")  # the first choice: run setup first
        await settle(pilot)
        for scenario_id in ("setup", "inline"):
            scenario = screen.session.catalog.get(scenario_id)
            assert screen.session.progress[scenario_id].index == len(scenario.steps)


async def test_a_route_wait_without_its_gateway_fails_at_once_saying_why(
        make: AppFactory) -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        screen = await start(pilot)
        await pilot.press("down", "g")
        await until_dialog(pilot, QuestionDialog)
        await pilot.click("#choice-anyway")
        await settle(pilot)  # returns: the wait fails now instead of after its 180 s timeout
        assert screen.session.progress["inline"].outcomes["ready"] == "failed"
        text = screen_text(app)
        assert "does not exist" in text and "run the setup scenario first" in text


async def test_enter_on_a_finished_scenario_moves_to_the_next(make: AppFactory) -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        screen = await start(pilot)
        await run_scenario(pilot, screen, "setup", [])
        assert "Press Enter for the next one: Key inline in the" in screen_text(app)
        await pilot.press("enter")
        await pilot.pause()
        assert screen.selected.id == "inline"
        assert "Step 1 of 7" in screen_text(app)


class BrokenRuntime(SimRuntime):
    """Fails the way kind does when Docker is missing: not a port problem."""

    async def up(self, progress: Progress) -> None:
        raise RuntimeUnavailable("the Docker daemon is not reachable", "start Docker")


async def test_a_start_failure_that_is_not_the_port_offers_no_free_port_and_exits_2(
        make: AppFactory) -> None:
    app = make(runtime=BrokenRuntime(DEFAULT_PROFILE, 0, "mock", [TOKEN]))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ErrorDialog)
        text = screen_text(app)
        assert "Docker daemon is not reachable" in text and "free port" not in text
        await pilot.press("enter")  # Quit, the first choice
        await settle(pilot)
    assert app.return_code == 2


async def test_the_scenario_errors_dialog_keeps_its_hint_and_quit_at_80x24(
        make: AppFactory) -> None:
    app = make()
    problems = "\n".join(f"  bad.yaml:{n}: problem number {n}" for n in range(1, 40))

    def broken() -> Catalog:
        raise SandboxError(f"39 problems in scenario files:\n{problems}",
                           "fix the files listed above and start again")

    app.load_catalog = broken
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, ErrorDialog)
        text = screen_text(app)
        assert "problem number 1" in text and "problem number 39" not in text  # it scrolls
        assert "fix the files listed above" in text and "Quit" in text
        await pilot.press("enter")
        await settle(pilot)
    assert app.return_code == 2


@pytest.mark.parametrize(("env", "flag", "source"), [
    ({"AGW_SANDBOX_TOKEN": TOKEN}, None, "from AGW_SANDBOX_TOKEN"),
    ({"OPENAI_API_KEY": OTHER_TOKEN}, TOKEN, "from --token"),  # the flag beats the variable
])
async def test_the_first_screen_names_the_key_masked_and_its_source(
        make: AppFactory, monkeypatch: pytest.MonkeyPatch, env: dict[str, str],
        flag: str | None, source: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    app = make(provider="openai", token=resolve_token("openai", flag, os.environ))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert f"your key sk-…c5Ge, {source}" in text and "demo key" not in text
        assert TOKEN not in text and OTHER_TOKEN not in text
        assert app.screen.query_one("#key", Input).value == TOKEN  # prefilled, shown masked
        await pilot.press("enter")
        await settle(pilot)
        assert app.settings.token == TOKEN


async def test_the_custom_request_body_has_room_at_80x24(make: AppFactory) -> None:
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await start(pilot)
        await pilot.press("t")
        await settle(pilot)
        assert isinstance(app.screen, CustomRequestForm)
        assert app.screen.query_one("#body", TextArea).size.height >= 5
        assert "Send (ctrl+s)" in screen_text(app)


async def test_the_step_buttons_fit_at_80x24(make: AppFactory) -> None:
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await start(pilot)
        await settle(pilot)
        row = next(line for line in screen_text(app).splitlines() if "Run" in line
                   and "Skip" in line)
        assert "Reset x" in row and "Re…" not in row


async def test_the_main_screen_sits_still_when_nothing_happens(make: AppFactory) -> None:
    """Idle after setup, the app uses (almost) no CPU: nothing animates, polls stay rare."""
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        screen = await start(pilot)
        await run_scenario(pilot, screen, "setup", [])
        await pilot.pause(0.5)  # the last refreshes of the run pass
        before = time.process_time()
        await asyncio.sleep(2.0)
        used = time.process_time() - before
    assert used < 0.06, f"{used:.3f} CPU-seconds in 2 s of idling"


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
async def test_each_progress_counter_stays_on_its_title_line(
        make: AppFactory, size: tuple[int, int]) -> None:
    app = make()
    async with app.run_test(size=size) as pilot:
        screen = await start(pilot)
        lines = screen_text(app).splitlines()
        for scenario in screen.scenarios:
            start_of_title = " ".join(scenario.title.split()[:2])
            row = next(line for line in lines if f"  {start_of_title} " in line.split("││")[0])
            assert f"0/{len(scenario.steps)}" in row, row


async def test_enter_moves_on_wherever_the_focus_is(make: AppFactory) -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        screen = await start(pilot)
        await run_scenario(pilot, screen, "setup", [])
        screen.query_one(ResponsePane).focus()
        await pilot.press("enter")
        await pilot.pause()
        assert screen.selected.id == "inline"
        await pilot.press("enter")  # inline is not finished: Enter does nothing more
        await pilot.pause()
        assert screen.selected.id == "inline"


async def test_enter_before_the_runtime_is_detected_starts_once_it_is() -> None:
    """A quick Enter on the first screen must start the tour, never press Quit."""
    import threading

    detected = threading.Event()

    def slow_detect(requested: str) -> tuple[str, str | None]:
        detected.wait(10)
        return "sim", None

    def runtime_factory(chosen: Settings, name: str) -> Runtime:
        return SimRuntime(DEFAULT_PROFILE, chosen.port, chosen.provider, [chosen.token],
                          token_delay=0.0, preflight=False)

    app = make_app(Settings(runtime="sim", provider="mock", port=0, token=TOKEN),
                   load_catalog, runtime_factory, slow_detect)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ProviderScreen)
        await pilot.press("enter")  # before detection has ended
        await pilot.pause()
        assert app.is_running and isinstance(app.screen, ProviderScreen)
        assert "detecting… then starting" in screen_text(app)
        detected.set()
        await settle(pilot)
        assert isinstance(app.screen, WalkthroughScreen)
        # one walkthrough, one runtime: the Start handed over during detection starts it once
        assert sum(isinstance(screen, WalkthroughScreen) for screen in app.screen_stack) == 1
