"""What the walkthrough screen shows, computed without Textual: scenario rows and the step panel.

The screen feeds it the session's events and asks for views; the widgets only lay them out.
Tested without a terminal (tests/unit/test_presenter.py).
"""

from __future__ import annotations

from dataclasses import replace

from sandbox.catalog.scenarios import (
    ApplyStep,
    CleanupStep,
    RequestStep,
    Scenario,
    Step,
    WaitStep,
    step_kind,
)
from sandbox.errors import PortInUse, SandboxError
from sandbox.records import record
from sandbox.tui.session import Session
from sandbox.walkthrough.events import StepFinished
from sandbox.walkthrough.render import Context, upstream_note


@record
class ScenarioRow:
    """One line of the scenario list: ``✓ Key inline in the Backend 7/7``."""

    id: str
    mark: str  # ✓ done, ▶ in progress, ✗ failed, blank: not started
    title: str
    progress: str  # "3/7"


@record
class StepView:
    """Everything the step panel shows (attributes go down)."""

    scenario_title: str
    summary: str
    security: str
    heading: str  # "Step 2 of 7 · apply"
    title: str
    explain: str = ""
    manifest: str | None = None  # masked unless revealed
    revealed: bool = False
    description: str = ""
    note: str | None = None
    outcome: str | None = None  # only "failed" is shown
    detail: str = ""
    hint: str = ""
    can_edit: bool = False
    done: bool = False
    first: bool = False
    previous: str = ""  # how the step before this one went
    next_title: str = ""  # the scenario Enter moves to once this one is done

    @property
    def show_overview(self) -> bool:
        """The summary and security note matter at the start and at the end."""
        return self.first or self.done

    @property
    def closing(self) -> str:
        """The line under a finished scenario."""
        if self.next_title:
            return (f"Scenario complete. Press Enter for the next one: {self.next_title} "
                    "(x resets this one).")
        return "Every scenario is complete. Press x to reset this one and run it again."


class WalkthroughPresenter:
    """Turns the session's progress and the step results it has seen into views."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.revealed = False
        self._failures: dict[str, StepFinished] = {}
        self._last: dict[str, StepFinished] = {}

    @property
    def scenarios(self) -> tuple[Scenario, ...]:
        return tuple(self.session.catalog.scenarios)

    def step_finished(self, event: StepFinished) -> None:
        if event.outcome == "failed":
            self._failures[event.scenario_id] = event
        else:
            self._failures.pop(event.scenario_id, None)
        self._last[event.scenario_id] = event

    def forget(self, scenario_id: str) -> None:
        """After a reset: the scenario starts fresh."""
        self._failures.pop(scenario_id, None)
        self._last.pop(scenario_id, None)

    def is_done(self, scenario: Scenario) -> bool:
        return self.session.current_step(scenario) is None

    def rows(self) -> list[ScenarioRow]:
        rows = []
        for scenario in self.scenarios:
            progress = self.session.progress[scenario.id]
            total = len(scenario.steps)
            rows.append(ScenarioRow(scenario.id, progress.mark(total), scenario.title,
                                    f"{min(progress.index, total)}/{total}"))
        return rows

    def next_scenario(self, scenario: Scenario) -> Scenario | None:
        """The first unfinished scenario after this one (wrapping round), if any."""
        order = list(self.scenarios)
        start = order.index(scenario) + 1
        for candidate in order[start:] + order[:start]:
            if candidate is not scenario and not self.is_done(candidate):
                return candidate
        return None

    def editable_step(self, scenario: Scenario) -> ApplyStep | None:
        """The current step if it applies manifests, else the latest apply step before it."""
        index = self.session.progress[scenario.id].index
        candidates = [s for s in scenario.steps[:index + 1] if isinstance(s, ApplyStep)]
        return candidates[-1] if candidates else None

    def step_view(self, scenario: Scenario) -> StepView:
        progress = self.session.progress[scenario.id]
        step = self.session.current_step(scenario)
        total = len(scenario.steps)
        view = StepView(scenario_title=scenario.title, summary=scenario.summary,
                        security=scenario.security, revealed=self.revealed,
                        can_edit=self.editable_step(scenario) is not None,
                        heading=f"{total} of {total} steps", title="Done",
                        previous=self._previous(scenario))
        if step is None:
            following = self.next_scenario(scenario)
            return replace(view, done=True, next_title=following.title if following else "")
        ctx = self.session.context(scenario)
        manifest = note = None
        if isinstance(step, ApplyStep):
            manifest = self.session.manifest_text(scenario, step, self.revealed)
            note = upstream_note(ctx, self.session.documents(scenario, step))
            note = note and ctx.masker(note)  # --namespace may hold a key, lower-cased
        failure = self._failures.get(scenario.id)
        if failure is not None and failure.step_id != step.id:
            failure = None
        return replace(
            view, heading=f"Step {progress.index + 1} of {total} · {step_kind(step)}",
            title=step.title, explain=step.explain, manifest=manifest,
            first=progress.index == 0, description=ctx.masker(describe_step(step, ctx)),
            note=note,
            outcome="failed" if failure else None,
            detail=failure.detail if failure else "", hint=failure.hint if failure else "")

    def _previous(self, scenario: Scenario) -> str:
        last = self._last.get(scenario.id)
        if last is None or last.outcome == "failed":
            return ""
        short = last.detail if len(last.detail) <= 60 else ""
        return f"{last.title}: {last.outcome}" + (f" ({short})" if short else "")


def describe_step(step: Step, ctx: Context) -> str:
    """A one-paragraph plain description of what the step will do (for the step panel)."""
    if isinstance(step, WaitStep):
        return "\n".join(f"wait for {w.ref}: " + ", ".join(str(c) for c in w.conditions)
                         + f" (up to {w.timeout:g}s)" for w in step.waits)
    if isinstance(step, CleanupStep):
        return "delete everything this scenario applied, newest first"
    if isinstance(step, RequestStep):
        expect = step.expect.status
        return f"send {step.request.method} {step.request.path}" + (
            f" and expect {expect}" if expect else "")
    return ""


Choices = tuple[tuple[str, str], ...]  # (id, button label), the first is the default


def setup_question(scenario: Scenario, setup: Scenario) -> tuple[str, str, str, Choices]:
    """Title, message, hint and choices when a scenario is started before what it needs."""
    return (f"Run “{setup.title}” first?",
            f"“{scenario.title}” needs what “{setup.title}” creates, and that does not exist "
            "yet: its waits could never succeed.",
            f"Run “{setup.title}” first, then this scenario; or run it anyway to see what fails.",
            (("setup", f"Run {setup.id} first"), ("anyway", "Run anyway"), ("cancel", "Cancel")))


def start_failure_choices(error: SandboxError) -> Choices:
    """Only a taken port is fixed by another port; anything else would fail the same way."""
    if isinstance(error, PortInUse):
        return (("free-port", "Retry on a free port"), ("quit", "Quit"))
    return (("quit", "Quit"), ("retry", "Try again"))


def start_failure_hint(error: SandboxError, in_browser: bool, port: int) -> str:
    """What to do about a failed start. In a browser tab the gateway port is serve's
    ``--gateway-port``, the same for every tab, and no option of the tab's own changes it."""
    if in_browser and isinstance(error, PortInUse):
        return (f"every tab of this serve gets the gateway port {port} (serve --gateway-port "
                f"{port}) and something holds it, another tab perhaps: choose “Retry on a free "
                "port”; whoever runs serve can leave --gateway-port out to give each tab a free "
                "one")
    return error.hint
