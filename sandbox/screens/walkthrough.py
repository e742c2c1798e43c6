"""The main screen: scenarios, the current step, status, request/response and commands."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.events import Resize
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, OptionList, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from sandbox.errors import SandboxError
from sandbox.events import (
    CommandLogged,
    Event,
    ManifestApplied,
    RequestSent,
    ResourceDeleted,
    ResponseChunk,
    ResponseReceived,
    StatusChanged,
    StepFinished,
)
from sandbox.render import upstream_note
from sandbox.scenarios import ApplyStep, RequestStep, Scenario, step_kind
from sandbox.screens.dialogs import CustomRequest, CustomRequestForm, ErrorDialog, ManifestEditor
from sandbox.session import Session, describe_step, parse_headers
from sandbox.widgets.command_log import CommandLog
from sandbox.widgets.exchange_panes import RequestPane, ResponsePane
from sandbox.widgets.scenario_list import ScenarioList
from sandbox.widgets.status_bar import StatusBar
from sandbox.widgets.status_table import StatusTable
from sandbox.widgets.step_panel import StepPanel, StepView

NARROW = 110
DEFAULT_BODY = ('{\n  "model": "",\n  "messages": [\n    {"role": "user", "content": '
                '"Write a short haiku about cloud computing."}\n  ]\n}')


class SessionEvent(Message):
    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event


class WalkthroughScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "run_step", "Run step"),
        Binding("s", "skip", "Skip"),
        Binding("c", "check", "Check"),
        Binding("e", "edit", "Edit"),
        Binding("t", "custom_request", "Request"),
        Binding("y", "copy_curl", "Copy curl"),
        Binding("v", "reveal", "Reveal keys", show=False),
        Binding("z", "zoom", "Zoom pane", show=False),
        Binding("x", "reset", "Reset", show=False),
        Binding("g", "run_rest", "Run rest", show=False),
        Binding("1", "tab('exchange')", "Request/Response", show=False),
        Binding("2", "tab('status')", "Status", show=False),
        Binding("3", "tab('commands')", "Commands", show=False),
    ]

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.scenarios = session.catalog.scenarios
        self.selected: Scenario = self.scenarios[0]
        self.revealed = False
        self._failures: dict[str, StepFinished] = {}
        self._last: dict[str, StepFinished] = {}

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
        self._refresh()
        self.query_one(ScenarioList).focus()
        self.start_runtime()

    @work(exclusive=True, group="runtime", exit_on_error=False)
    async def start_runtime(self) -> None:
        bar = self.query_one(StatusBar)
        bar.busy = "starting the runtime…"
        bar.cluster = "starting"
        def progress(line: str) -> None:
            command = line.removeprefix("$ ")
            self.query_one(CommandLog).add(command if command != line else f"# {line}")
            bar.busy = line.removeprefix("… ")[:60] if line.startswith("…") else bar.busy

        try:
            await self.session.start(progress)
        except SandboxError as exc:
            bar.cluster = "failed"
            self.app.push_screen(ErrorDialog(
                "The runtime could not start", exc.message, exc.hint,
                (("free-port", "Retry on a free port"), ("quit", "Quit"))), self._start_failed)
            return
        finally:
            bar.busy = ""
        bar.cluster = "ready"
        self._refresh()
        self.set_interval(3.0, self.check_gateway)
        self.check_gateway()

    def _start_failed(self, choice: str | None) -> None:
        if choice == "free-port":
            from sandbox.factory import make_runtime

            settings = replace(self.session.settings, port=0)
            self.session.settings = settings
            self.session.runtime = make_runtime(settings, self.session.runtime.name)
            self.start_runtime()
        else:
            self.app.exit()

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
        elif isinstance(event, StepFinished):
            if event.outcome == "failed":
                self._failures[event.scenario_id] = event
            else:
                self._failures.pop(event.scenario_id, None)
            self._last[event.scenario_id] = event
            self._refresh()

    # -- what is shown --------------------------------------------------------------------------
    def _refresh(self) -> None:
        rows = []
        for scenario in self.scenarios:
            progress = self.session.progress[scenario.id]
            total = len(scenario.steps)
            detail = f"{min(progress.index, total)}/{total}"
            rows.append((scenario.id, progress.mark(total), scenario.title, detail))
        self.query_one(ScenarioList).show(rows)
        self.query_one(StepPanel).show(self._step_view(self.selected))

    def _step_view(self, scenario: Scenario) -> StepView:
        progress = self.session.progress[scenario.id]
        step = self.session.current_step(scenario)
        total = len(scenario.steps)
        last = self._last.get(scenario.id)
        previous = ""
        if last is not None and last.outcome != "failed":
            short = last.detail if len(last.detail) <= 60 else ""
            previous = f"{last.title}: {last.outcome}" + (f" ({short})" if short else "")
        view = StepView(scenario_title=scenario.title, summary=scenario.summary,
                        security=scenario.security, revealed=self.revealed,
                        can_edit=self._editable_step() is not None,
                        heading=f"{total} of {total} steps", title="Done", previous=previous)
        if step is None:
            return replace(view, done=True)
        ctx = self.session.context(scenario)
        manifest = note = None
        if isinstance(step, ApplyStep):
            manifest = self.session.manifest_text(scenario, step, self.revealed)
            documents = self.session.documents(scenario, step)
            if any(d.get("kind") == ctx.profile.backend_kind for d in documents):
                note = upstream_note(ctx)
        failure = self._failures.get(scenario.id)
        if failure is not None and failure.step_id != step.id:
            failure = None
        return replace(
            view, heading=f"Step {progress.index + 1} of {total} · {step_kind(step)}",
            title=step.title, explain=step.explain, manifest=manifest,
            first=progress.index == 0,
            description=describe_step(step, ctx), note=note,
            outcome="failed" if failure else None,
            detail=failure.detail if failure else "", hint=failure.hint if failure else "")

    def _editable_step(self) -> ApplyStep | None:
        """The current step if it applies manifests, else the latest apply step before it."""
        index = self.session.progress[self.selected.id].index
        candidates = [s for s in self.selected.steps[:index + 1] if isinstance(s, ApplyStep)]
        return candidates[-1] if candidates else None

    @on(OptionList.OptionHighlighted, "#scenarios")
    def _scenario_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.selected = next(s for s in self.scenarios if s.id == event.option.id)
        self.query_one(StepPanel).show(self._step_view(self.selected))

    def on_resize(self, event: Resize) -> None:
        self.set_class(event.size.width < NARROW, "-narrow")

    # -- actions --------------------------------------------------------------------------------
    @on(Button.Pressed, "#run")
    def action_run_step(self) -> None:
        if not self._ready():
            return
        if self.selected.id != "setup" and self.session.progress["setup"].index == 0 \
                and "setup" in self.session.catalog.ids:
            self.notify("The setup scenario creates the Gateway the others attach to; run it "
                        "first if requests answer 'connection refused' or 404.",
                        title="Setup not run yet", severity="warning")
        self._run(self.selected, rest=False)

    def action_run_rest(self) -> None:
        if self._ready():
            self._run(self.selected, rest=True)

    @work(exclusive=True, group="step", exit_on_error=False)
    async def _run(self, scenario: Scenario, rest: bool) -> None:
        panel, bar = self.query_one(StepPanel), self.query_one(StatusBar)
        panel.set_running(True)
        try:
            while self.session.current_step(scenario) is not None:
                step = self.session.current_step(scenario)
                bar.busy = f"{step_kind(step)}: {step.title}…" if step else ""
                outcome = await self.session.run_current(scenario)
                if not rest or outcome == "failed":
                    break
        finally:
            bar.busy = ""
            panel.set_running(False)
            self._refresh()

    @on(Button.Pressed, "#skip")
    def action_skip(self) -> None:
        if self._ready():
            self.session.skip_current(self.selected)
            self._refresh()

    @on(Button.Pressed, "#check")
    def action_check(self) -> None:
        if self._ready():
            self._check()

    @work(exclusive=True, group="check", exit_on_error=False)
    async def _check(self) -> None:
        statuses = await self.session.check(self.selected)
        if not statuses:
            self.notify("This scenario has no resources to check yet.")
        self.action_tab("status")

    @on(Button.Pressed, "#reset")
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
        self._failures.pop(scenario.id, None)
        self._last.pop(scenario.id, None)
        self._refresh()
        self.notify(f"{scenario.title}: resources deleted, back to step 1.")

    def action_reveal(self) -> None:
        if self.app.is_web:  # `serve`: whoever reaches the page must not read the key
            self.notify("Keys stay masked in a browser session.", title="Keys masked")
            return
        self.revealed = not self.revealed
        self._refresh()
        if self.revealed:
            self.notify("Keys are visible in the manifest. Press v again to hide them.",
                        title="Keys revealed", severity="warning")

    @on(Button.Pressed, "#edit")
    def action_edit(self) -> None:
        step = self._editable_step()
        if step is None or not self._ready():
            self.notify("This scenario has no manifest to edit at this point.")
            return
        scenario = self.selected

        def validate(text: str) -> str | None:
            try:
                self.session.parse_edit(scenario, text)
            except SandboxError as exc:
                return f"{exc.message}" + (f"\n→ {exc.hint}" if exc.hint else "")
            return None

        def applied(text: str | None) -> None:
            if text is not None:
                self._apply_edit(scenario, step, text)

        self.app.push_screen(ManifestEditor(step.title, self.session.editable_text(
            scenario, step), validate), applied)

    @work(exclusive=True, group="step", exit_on_error=False)
    async def _apply_edit(self, scenario: Scenario, step: ApplyStep, text: str) -> None:
        docs = self.session.parse_edit(scenario, text)
        self.session.save_edit(scenario, step, docs)
        outcome = await self.session.apply_edit(scenario, step)
        self._refresh()
        if outcome != "failed":
            self.notify("Applied. Watch the status; the next request uses the new manifest.",
                        title="Manifest applied")

    def action_custom_request(self) -> None:
        if not self._ready():
            return
        spec = next((s.request for s in self.selected.steps if isinstance(s, RequestStep)
                     and s.request.path != "/"), None)
        headers = "\n".join(f"{k}: {v}" for k, v in spec.headers) if spec else ""
        initial = CustomRequest("POST", spec.path if spec else "/openai", headers,
                                DEFAULT_BODY, False)

        def send(request: CustomRequest | None) -> None:
            if request is not None:
                self._send(request)

        self.app.push_screen(CustomRequestForm(initial), send)

    @work(exclusive=True, group="request", exit_on_error=False)
    async def _send(self, request: CustomRequest) -> None:
        headers = parse_headers(request.headers)
        bar = self.query_one(StatusBar)
        bar.busy = f"{request.method} {request.path}…"
        try:
            await self.session.send_custom(self.selected, request.method, request.path,
                                           headers, request.body, request.stream)
        finally:
            bar.busy = ""

    def action_copy_curl(self) -> None:
        request = self.session.last_request
        if request is None:
            self.notify("Nothing sent yet: run a request step or press t.")
            return
        self.app.copy_to_clipboard(request.curl)
        try:
            saved = save_last_curl(request.curl)
        except OSError as exc:  # a read-only or full cache: the clipboard copy still happened
            self.notify(f"Copied as curl (terminal clipboard), but the fallback file "
                        f"{last_curl_path()} could not be written: {exc.strerror or exc}. "
                        "Check that $XDG_CACHE_HOME (or ~/.cache) is writable.",
                        title="Copied", severity="warning")
            return
        self.notify(f"Copied as curl (terminal clipboard). Also saved to {saved} in case your "
                    "terminal has no clipboard support.", title="Copied")

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

    def _ready(self) -> bool:
        if not self.session.started:
            self.notify("The runtime is still starting…", severity="warning")
        return self.session.started

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        masker = self.session.context(self.selected).masker
        if isinstance(error, SandboxError):
            self.notify(masker(error.hint or "see the step panel"), title=masker(error.message),
                        severity="error", timeout=10)
        else:
            self.app.push_screen(ErrorDialog(
                "Something went wrong", masker(f"{type(error).__name__}: {error}"),
                "this is a bug in agw-sandbox; the session is still usable"))


def last_curl_path() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "agw-sandbox" / "last-request.sh"


def save_last_curl(command: str) -> Path:
    """The clipboard fallback: a keyless script file the user can open or run."""
    path = last_curl_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n# export AGW_SANDBOX_TOKEN first (or OPENAI_API_KEY)\n"
                    f"{command}\n")
    return path
