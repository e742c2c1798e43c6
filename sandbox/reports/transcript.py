"""A Markdown transcript of a walkthrough, built from its events: to keep or to paste into a PR.

Every event's text is already masked (see :mod:`sandbox.walkthrough.events`); this module only
decides what is written, :mod:`sandbox.reports.markdown` how untrusted text is made safe in
Markdown, and :mod:`sandbox.reports.transcript_file` how the file is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sandbox import __version__
from sandbox.reports.markdown import code, escape, fenced, one_line
from sandbox.reports.transcript_file import write_atomically
from sandbox.walkthrough.events import (
    CommandLogged,
    Event,
    ManifestApplied,
    RequestSent,
    RequestView,
    ResourceDeleted,
    ResponseReceived,
    ResponseView,
    ScenarioFinished,
    ScenarioStarted,
    StatusChanged,
    StepFinished,
    StepStarted,
    part_of,
)

# The response headers worth keeping: who answered, what it sent, why it refused or throttled.
HEADERS_THAT_MATTER = frozenset({"content-type", "server", "www-authenticate", "retry-after",
                                 "location", "x-request-id"})
HEADER_PREFIXES = ("x-ratelimit-",)
BODY_LIMIT = 8000  # characters of a body kept; GitHub takes 65,536 in a pull request's text
MARKS = {"passed": "✓", "failed": "✗", "skipped": "–"}


def _limited(body: str) -> str:
    return part_of(body, BODY_LIMIT)


# -- what happened ---------------------------------------------------------------------------------
@dataclass
class _Exchange:
    request: RequestView
    response: ResponseView | None = None


@dataclass
class _Step:
    title: str
    step_id: str = ""
    kind: str = ""
    position: str = ""
    explain: str = ""
    commands: list[str] = field(default_factory=list)
    applied: list[ManifestApplied] = field(default_factory=list)
    deleted: list[ResourceDeleted] = field(default_factory=list)
    statuses: list[StatusChanged] = field(default_factory=list)
    exchanges: list[_Exchange] = field(default_factory=list)
    finished: StepFinished | None = None

    @property
    def happened(self) -> bool:
        """False for an entry that saw nothing (a status check of a scenario not yet run)."""
        return bool(self.position or self.commands or self.applied or self.deleted
                    or self.statuses or self.exchanges or self.finished)


@dataclass
class _Scenario:
    scenario_id: str
    title: str
    summary: str = ""
    security: str = ""
    steps: list[_Step] = field(default_factory=list)
    total: int = 0  # steps in the scenario, once one has started
    passed: bool | None = None  # known when the whole scenario ran (the CLI)
    reset: bool = False


class Transcript:
    """Collects a walkthrough's events; :meth:`markdown` writes them up, :meth:`write` saves."""

    def __init__(self) -> None:
        self._scenarios: list[_Scenario] = []
        self._open: _Step | None = None
        self.runtime_label = ""

    @property
    def empty(self) -> bool:
        return not any(step.happened for s in self._scenarios for step in s.steps)

    def __call__(self, event: Event) -> None:
        match event:
            case ScenarioStarted():
                self.runtime_label = event.runtime_label
                self._scenarios.append(_Scenario(event.scenario_id, event.title, event.summary,
                                                 event.security))
                self._open = None
            case StepStarted():
                self._open = _Step(event.title, event.step_id, event.kind,
                                   f"{event.index} of {event.total}", event.explain)
                section = self._section(event.scenario_id, event.scenario_id)
                section.steps.append(self._open)
                section.total = event.total
            case CommandLogged():
                self._step().commands.append(event.command)
            case ManifestApplied():
                self._step().applied.append(event)
            case ResourceDeleted():
                self._step().deleted.append(event)
            case StatusChanged():
                self._step().statuses.append(event)
            case RequestSent():
                step = self._step()
                # The runner logs the curl as a command too; it is shown once, as the request.
                if step.commands and step.commands[-1] == event.request.curl:
                    step.commands.pop()
                step.exchanges.append(_Exchange(event.request))
            case ResponseReceived():
                step = self._step()
                if step.exchanges and step.exchanges[-1].response is None:
                    step.exchanges[-1].response = event.response
            case StepFinished():
                self._finish(event)
            case ScenarioFinished():
                self._section(event.scenario_id, event.scenario_id).passed = event.passed

    def activity(self, scenario_id: str, scenario_title: str, what: str) -> None:
        """Start an entry for something done outside the steps (a custom request, a check)."""
        self._open = _Step(what)
        self._section(scenario_id, scenario_title).steps.append(self._open)

    def reset(self, scenario_id: str) -> None:
        """The scenario was reset by its cleanup, which just ran: its next run is a new section."""
        section = self._section(scenario_id, scenario_id)
        section.reset = True
        if section.steps and section.steps[-1].kind == "cleanup":
            section.steps[-1].position = section.steps[-1].step_id = ""  # not one of its steps

    def _section(self, scenario_id: str, title: str) -> _Scenario:
        for scenario in reversed(self._scenarios):
            if scenario.scenario_id == scenario_id:
                return scenario
        self._scenarios.append(_Scenario(scenario_id, title))
        return self._scenarios[-1]

    def _step(self) -> _Step:
        if self._open is None:  # an event outside any step: kept, under the latest scenario
            if not self._scenarios:
                self._scenarios.append(_Scenario("", "Outside the scenarios"))
            self._open = _Step("Outside the steps")
            self._scenarios[-1].steps.append(self._open)
        return self._open

    def _finish(self, event: StepFinished) -> None:
        step = self._open
        if step is None or step.step_id != event.step_id:  # skipped: it never started
            step = _Step(event.title, event.step_id, event.kind)
            self._section(event.scenario_id, event.scenario_id).steps.append(step)
        step.finished = event
        self._open = None

    # -- writing it up -----------------------------------------------------------------------------
    def markdown(self, details: Sequence[tuple[str, str]] = (),
                 now: datetime | None = None, stopped: str = "") -> str:
        """The whole record; ``stopped`` says why the run ended before it was done."""
        when = (now or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
        facts = [("runtime", self.runtime_label), *details]
        lines = ["# agw-sandbox transcript", "",
                 f"Recorded {when} with agw-sandbox {__version__}"
                 + "".join(f" · {name}: {code(value)}" for name, value in facts if value), "",
                 "Keys are masked (`sk-…abcd`). The commands read the key from "
                 "`$AGW_SANDBOX_TOKEN` (`$OPENAI_API_KEY` with OpenAI): export it before "
                 "pasting them.", ""]
        if stopped:
            lines += [f"**Stopped before the end** ({one_line(stopped)}): this is what ran until "
                      "then.", ""]
        if self.empty:
            return "\n".join([*lines, "Nothing has run yet.", ""])
        lines += ["## Summary", ""]
        shown = [s for s in self._scenarios if any(step.happened for step in s.steps)]
        lines += [f"- {one_line(s.title)} ({code(s.scenario_id) or 'other'}): {_verdict(s)}"
                  for s in shown]
        for number, scenario in enumerate(shown, 1):
            lines += [*([""] if lines[-1] else []), *_scenario_lines(number, scenario)]
        return "\n".join(lines).rstrip("\n") + "\n"

    def write(self, path: Path, details: Sequence[tuple[str, str]] = (),
              now: datetime | None = None, stopped: str = "") -> Path:
        """Write the transcript to ``path`` atomically; return the file written."""
        return write_atomically(path, self.markdown(details, now, stopped))


def _verdict(scenario: _Scenario) -> str:
    if scenario.passed is not None:
        return "✓ passed" if scenario.passed else "✗ failed"
    if scenario.reset:
        return "↺ reset"
    # Step by step (the app): each step's latest outcome counts, a retried one included.
    latest = {s.step_id: s.finished.outcome for s in scenario.steps if s.finished and s.step_id}
    if not latest:
        return "– no step run"
    if "failed" in latest.values():
        return "✗ a step failed"
    if scenario.total and len(latest) >= scenario.total:
        return "✓ passed"
    return f"▶ {len(latest)} of {scenario.total or '?'} steps run"


def _scenario_lines(number: int, scenario: _Scenario) -> list[str]:
    heading = f"## {number}. {one_line(scenario.title)}"
    if scenario.scenario_id:
        heading += f" ({code(scenario.scenario_id)})"
    lines = [heading, "", f"**Result:** {_verdict(scenario)}", ""]
    if scenario.summary:
        lines += [escape(scenario.summary), ""]
    if scenario.security:
        lines += [f"**Security:** {escape(scenario.security)}", ""]
    for step in scenario.steps:
        lines += _step_lines(step) if step.happened else []
    return lines


def _step_lines(step: _Step) -> list[str]:
    heading = "### " + (f"Step {step.position} · " if step.position else "")
    heading += (f"{step.kind} · " if step.kind else "") + one_line(step.title)
    lines = [heading, ""]
    if step.explain:
        lines += [escape(step.explain), ""]
    for applied in step.applied:
        lines += [f"**Applied** {code(str(applied.ref))}: {one_line(applied.outcome)}", "",
                  fenced(applied.yaml, "yaml"), ""]
        if applied.note:
            lines += [f"> {one_line(applied.note)}", ""]
    for deleted in step.deleted:
        lines += [f"- {code(str(deleted.ref))} "
                  + ("deleted" if deleted.existed else "was already gone")]
    if step.deleted:
        lines.append("")
    if step.commands:
        lines += ["**Equivalent commands:**", "", fenced("\n\n".join(step.commands), "sh"), ""]
    for exchange in step.exchanges:
        lines += _exchange_lines(exchange)
    if step.statuses:
        lines += ["**Conditions seen:**", ""]
        lines += [f"- {code(str(s.ref))}: {one_line(_conditions(s))}" for s in step.statuses]
        lines.append("")
    if step.finished is not None:
        lines += _outcome_lines(step.finished)
    return lines


def _conditions(status: StatusChanged) -> str:
    if not status.exists:
        return "does not exist"
    return ", ".join(str(c) for c in status.conditions) or "no status yet"


def _exchange_lines(exchange: _Exchange) -> list[str]:
    request = exchange.request
    lines = [f"**Request:** {code(f'{request.method} {request.url}')}", "",
             fenced(request.curl, "sh"), ""]
    response = exchange.response
    if response is None:
        return [*lines, "No response.", ""]
    lines += [f"**Response:** {code(f'{response.status} {response.reason}')} in "
              f"{response.latency_ms:.0f} ms"
              + (f" · model {code(response.model)}" if response.model else ""), ""]
    lines += [line for note in response.notes for line in (f"> Note: {one_line(note)}", "")]
    head = [f"HTTP {response.status} {response.reason}".rstrip()]
    head += [f"{name}: {value}" for name, value in _headers(response.headers)]
    lines += [fenced("\n".join(head), "http"), ""]
    if response.body:
        is_json = response.body.lstrip().startswith(("{", "["))
        lines += [fenced(_limited(response.body), "json" if is_json else "text"), ""]
    if response.content and response.content not in response.body:  # assembled from a stream
        lines += ["**Answer, assembled from the stream:**", "",
                  fenced(_limited(response.content), "text"), ""]
    return lines


def _headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(name, value) for name, value in headers
            if name.lower() in HEADERS_THAT_MATTER or name.lower().startswith(HEADER_PREFIXES)]


def _outcome_lines(finished: StepFinished) -> list[str]:
    text = f"**Outcome:** {MARKS[finished.outcome]} {finished.outcome}"
    if finished.seconds >= 0.05:
        text += f" in {finished.seconds:.1f} s"
    if finished.detail:
        text += f" · {one_line(finished.detail)}"
    lines = [text, ""]
    if finished.hint:
        lines += [f"**Hint:** {one_line(finished.hint)}", ""]
    return lines
