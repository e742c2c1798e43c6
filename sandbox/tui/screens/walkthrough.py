"""The main screen: scenarios, the current step, status, request/response and commands."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.events import Resize
from textual.message import Message
from textual.widgets import Footer, Header, TabbedContent, TabPane

from sandbox.catalog.scenarios import Scenario, step_kind
from sandbox.errors import SandboxError
from sandbox.tui.presenter import (
    WalkthroughPresenter,
    setup_question,
    start_failure_choices,
    start_failure_hint,
)
from sandbox.tui.screens import ASSETS
from sandbox.tui.screens.dialogs import ErrorDialog, QuestionDialog
from sandbox.tui.screens.experiments import ExperimentActions
from sandbox.tui.session import Session
from sandbox.tui.widgets.command_log import CommandLog
from sandbox.tui.widgets.exchange_panes import RequestPane, ResponsePane
from sandbox.tui.widgets.scenario_list import ScenarioList
from sandbox.tui.widgets.status_bar import StatusBar
from sandbox.tui.widgets.status_table import StatusTable
from sandbox.tui.widgets.step_panel import StepPanel
from sandbox.walkthrough.events import (
    CommandLogged,
    Event,
    ManifestApplied,
    RequestSent,
    ResourceDeleted,
    ResponseChunk,
    ResponseReceived,
    StatusChanged,
    StepFinished,
    StepNote,
)

NARROW = 110
HEALTH_EVERY = 5.0  # seconds between gateway health checks: soon enough to notice, cheap idle


class SessionEvent(Message):
    """A :mod:`sandbox.walkthrough.events` event from the session, delivered on the UI's thread."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event


class WalkthroughScreen(ExperimentActions):
    """The walkthrough: starts the session's runtime, runs steps, shows what they did.

    What to show comes from a :class:`~sandbox.tui.presenter.WalkthroughPresenter`; the widgets
    post their own messages (``StepPanel.RunStep``, ``ScenarioList.Chosen`` …) handled here.
    """

    CSS_PATH = ASSETS / "walkthrough.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "run_step", "Run step"),
        Binding("s", "skip", "Skip"),
        Binding("c", "check", "Check"),
        Binding("e", "edit", "Edit"),
        Binding("t", "custom_request", "Request"),
        Binding("y", "copy_curl", "Copy curl"),
        Binding("w", "write_transcript", "Transcript", show=False),
        Binding("v", "reveal", "Reveal keys", show=False),
        Binding("d", "compare_profiles", "What changed", show=False),
        Binding("z", "zoom", "Zoom pane", show=False),
        Binding("x", "reset", "Reset", show=False),
        Binding("g", "run_rest", "Run rest", show=False),
        Binding("enter", "next_scenario", "Next scenario", show=False),
        Binding("1", "tab('exchange')", "Request/Response", show=False),
        Binding("2", "tab('status')", "Status", show=False),
        Binding("3", "tab('commands')", "Commands", show=False),
    ]

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.presenter = WalkthroughPresenter(session)
        self.scenarios = session.catalog.scenarios
        self.selected: Scenario = self.scenarios[0]
        self._without_setup: set[str] = set()  # scenarios the user chose to run without setup

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="top"):
            yield ScenarioList(id="scenarios")
            yield StepPanel(id="step")
        with TabbedContent(id="bottom", initial="exchange"):
            with TabPane("Request ⇄ Response", id="exchange"), \
                    Horizontal(id="exchange-panes"):
                yield RequestPane(id="request")
                yield ResponsePane(id="response")
            with TabPane("Status", id="status"):
                yield StatusTable(id="status-table")
            with TabPane("Commands", id="commands"):
                yield CommandLog(id="command-log")
        yield StatusBar(id="status-bar")
        yield Footer()

    # -- start and stop -------------------------------------------------------------------------
    def on_mount(self) -> None:
        for selector, title in (("#scenarios", "Scenarios"), ("#step", "Step"),
                                ("#request", "Request"), ("#response", "Response")):
            self.query_one(selector).border_title = title
        bar = self.query_one(StatusBar)
        bar.runtime = self.session.runtime.label
        bar.provider = self.session.settings.provider
        bar.profile = self.session.settings.profile
        self._refresh()
        self.query_one(ScenarioList).focus()
        self.start_runtime()

    def _progress(self, line: str) -> None:
        command = line.removeprefix("$ ")
        self.query_one(CommandLog).add(command if command != line else f"# {line}")
        if line.startswith("…"):
            self.query_one(StatusBar).busy = line.removeprefix("… ")[:60]

    @work(exclusive=True, group="runtime", exit_on_error=False)
    async def start_runtime(self, port: int | None = None) -> None:
        """Start the runtime; with ``port`` the session restarts it there (0: a free one)."""
        bar = self.query_one(StatusBar)
        bar.busy = "starting the runtime…"
        bar.cluster = "starting"
        try:
            if port is None:
                await self.session.start(self._progress)
            else:
                await self.session.restart_on_port(port, self._progress)
        except SandboxError as exc:
            bar.cluster = "failed"
            hint = start_failure_hint(exc, self.app.is_web, self.session.settings.port)
            self.app.push_screen(ErrorDialog("The runtime could not start", exc.message,
                                             hint, start_failure_choices(exc)),
                                 self._start_failed)
            return
        finally:
            bar.busy = ""
        bar.cluster = "ready"
        self._refresh()
        if self.session.runtime.name != "sim":  # the sim's gateway lives and dies with the app
            self.set_interval(HEALTH_EVERY, self.check_gateway)
        self.check_gateway()

    def _start_failed(self, choice: str | None) -> None:
        if choice in ("free-port", "retry"):  # a free port, or the same one again
            self.start_runtime(port=0 if choice == "free-port" else self.session.settings.port)
        else:
            self.app.exit(return_code=2)  # the session never started: say so to the shell

    @work(exclusive=True, group="health", exit_on_error=False)
    async def check_gateway(self) -> None:
        healthy = await self.session.gateway_healthy()
        url = self.session.runtime.gateway_url
        self.query_one(StatusBar).gateway = f"healthy {url}" if healthy else f"down {url}"

    async def on_unmount(self) -> None:
        await self.session.close()

    # -- events from the session ----------------------------------------------------------------
    def emit(self, event: Event) -> None:
        self.post_message(SessionEvent(event))

    def on_session_event(self, message: SessionEvent) -> None:
        event = message.event
        if isinstance(event, CommandLogged):
            self.query_one(CommandLog).add(event.command)
        elif isinstance(event, StatusChanged):
            self.query_one(StatusTable).update_resource(event.ref, event.exists, event.conditions)
            self.action_tab("status")
        elif isinstance(event, ManifestApplied):
            self.query_one(StatusTable).update_resource(event.ref, True, ())
        elif isinstance(event, ResourceDeleted):
            self.query_one(StatusTable).forget(event.ref)
        elif isinstance(event, RequestSent):
            self.query_one(RequestPane).request = event.request
            self.query_one(ResponsePane).waiting()
            self.action_tab("exchange")
        elif isinstance(event, ResponseChunk):
            self.query_one(ResponsePane).chunk(event.text)
        elif isinstance(event, ResponseReceived):
            self.query_one(ResponsePane).response = event.response
        elif isinstance(event, StepNote):
            self.query_one(ResponsePane).note(event.text)
        elif isinstance(event, StepFinished):
            if event.kind == "request" and event.outcome == "failed":
                self.query_one(ResponsePane).no_answer(event.detail)
            self.presenter.step_finished(event)
            self._refresh()

    # -- what is shown --------------------------------------------------------------------------
    def _refresh(self) -> None:
        self.query_one(ScenarioList).show(self.presenter.rows())
        self.query_one(StepPanel).show(self.presenter.step_view(self.selected))

    @on(ScenarioList.Highlighted)
    def _scenario_highlighted(self, message: ScenarioList.Highlighted) -> None:
        self.selected = self.session.catalog.get(message.scenario_id)
        self.query_one(StepPanel).show(self.presenter.step_view(self.selected))

    @on(ScenarioList.Chosen)
    def action_next_scenario(self) -> None:
        """Enter on a finished scenario moves on to the next unfinished one."""
        following = self.presenter.next_scenario(self.selected)
        if self.presenter.is_done(self.selected) and following is not None:
            self.query_one(ScenarioList).select_id(following.id)

    def on_resize(self, event: Resize) -> None:
        self.set_class(event.size.width < NARROW, "-narrow")

    # -- actions --------------------------------------------------------------------------------
    @on(StepPanel.RunStep)
    def action_run_step(self) -> None:
        if self._ready():
            self._run(self.selected, rest=False)

    def action_run_rest(self) -> None:
        if self._ready():
            self._run(self.selected, rest=True)

    @work(exclusive=True, group="step", exit_on_error=False)
    async def _run(self, scenario: Scenario, rest: bool) -> None:
        setup = await self.session.missing_prerequisite(scenario)
        if setup is not None and scenario.id not in self._without_setup:
            choice = await self.app.push_screen_wait(
                QuestionDialog(*setup_question(scenario, setup)))
            if choice == "anyway":
                self._without_setup.add(scenario.id)
            elif choice != "setup" or await self._steps(setup, rest=True) == "failed":
                return
        await self._steps(scenario, rest)

    async def _steps(self, scenario: Scenario, rest: bool) -> str:
        """Run the current step (``rest``: every remaining one until a failure)."""
        panel, bar = self.query_one(StepPanel), self.query_one(StatusBar)
        panel.set_running(True)
        outcome = "done"
        try:
            while (step := self.session.current_step(scenario)) is not None:
                bar.busy = f"{scenario.id} · {step_kind(step)}: {step.title}…"
                outcome = await self.session.run_current(scenario)
                if not rest or outcome == "failed":
                    break
        finally:
            bar.busy = ""
            panel.set_running(False)
            self._refresh()
        return outcome

    @on(StepPanel.SkipStep)
    def action_skip(self) -> None:
        if self._ready():
            self.session.skip_current(self.selected)
            self._refresh()

    @on(StepPanel.CheckStatus)
    def action_check(self) -> None:
        if self._ready():
            self._check()

    @work(exclusive=True, group="check", exit_on_error=False)
    async def _check(self) -> None:
        statuses = await self.session.check(self.selected)
        if not statuses:
            self.notify("This scenario has no resources to check yet.", markup=False)
        self.action_tab("status")

    @on(StepPanel.ResetScenario)
    def action_reset(self) -> None:
        if self._ready():
            self._reset(self.selected)

    @work(exclusive=True, group="step", exit_on_error=False)
    async def _reset(self, scenario: Scenario) -> None:
        self.query_one(StatusBar).busy = f"resetting {scenario.id}…"
        try:
            await self.session.reset(scenario)
        finally:
            self.query_one(StatusBar).busy = ""
        self.presenter.forget(scenario.id)
        self._refresh()
        self.notify(f"{scenario.title}: resources deleted, back to step 1.", markup=False)

    def action_zoom(self) -> None:
        """Maximize the focused pane (the response pane when nothing zoomable has focus)."""
        if self.maximized is not None:
            self.minimize()
            return
        target = self.focused
        while target is not None and not isinstance(
                target, RequestPane | ResponsePane | StepPanel | StatusTable | CommandLog):
            target = target.parent  # type: ignore[assignment]
        self.maximize(target or self.query_one(ResponsePane))

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
