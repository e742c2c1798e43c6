"""Typed events a walkthrough emits; the CLI and the terminal app both consume them.

Every text field is already masked: a consumer may print any of it as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import field, fields, is_dataclass, replace
from typing import Any, Literal, TypeVar, cast

from sandbox.records import record
from sandbox.runtimes.runtime import Condition, ResourceRef

Outcome = Literal["passed", "failed", "skipped"]


@record
class RequestView:
    """What was sent, as the request pane shows it: secrets masked, plus a keyless curl."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: str
    curl: str  # secrets as $ENV_NAME: runnable once the variable is exported


@record
class ResponseView:
    """What came back, as the response pane shows it: status, latency, headers, body."""

    status: int
    reason: str
    latency_ms: float
    headers: tuple[tuple[str, str], ...]
    body: str
    content: str  # the assistant's text, assembled from the stream when streaming
    model: str | None
    # What the sandbox says about the answer: cut at the size limit, not JSON after all,
    # stopped early (and why). Shown beside it.
    notes: tuple[str, ...] = ()


def part_of(text: str, chars: int, lines: int | None = None) -> str:
    """The beginning of ``text``: at most ``chars`` characters (and ``lines`` lines), with a
    last line saying how much was left out. What an answer's body may hold (a mebibyte of blank
    lines) is more than a pane can lay out or a reader wants to scroll."""
    cut = min(len(text), chars)
    if lines is not None:
        end = -1
        for _ in range(lines):
            end = text.find("\n", end + 1, cut)
            if end < 0:
                break
        else:
            cut = end
    if cut >= len(text):
        return text
    rest = text[cut:]
    more_lines = f", {rest.count(chr(10))} more lines" if lines is not None else ""
    return text[:cut] + f"\n… ({len(rest)} more characters{more_lines} left out)"


@record
class ScenarioStarted:
    """A scenario begins: its title, summary and security note, and where it runs."""

    scenario_id: str
    title: str
    summary: str
    security: str
    runtime_label: str


@record
class StepStarted:
    """A step begins, with its position, kind and explanation."""

    scenario_id: str
    step_id: str
    index: int
    total: int
    kind: str
    title: str
    explain: str


@record
class CommandLogged:
    """A command (or API call) the user could run by hand to do what the step just did."""

    command: str


@record
class ManifestApplied:
    """A manifest was applied (created, configured or unchanged), shown as YAML."""

    ref: ResourceRef
    outcome: str
    yaml: str
    note: str | None = None


@record
class ResourceDeleted:
    """A cleanup step deleted a resource (or found it already gone)."""

    ref: ResourceRef
    existed: bool


@record
class StatusChanged:
    """A watched resource's status conditions changed while a step waited."""

    ref: ResourceRef
    exists: bool
    conditions: tuple[Condition, ...]


@record
class RequestSent:
    """A request step sent its request (each retry sends it again)."""

    request: RequestView


@record
class ResponseChunk:
    """A piece of a streamed answer, as it arrives."""

    text: str


@record
class ResponseReceived:
    """The whole answer to a request."""

    response: ResponseView


@record
class StepNote:
    """Something a running step wants the user to know now (it is waiting, and why)."""

    scenario_id: str
    step_id: str
    text: str


@record
class StepFinished:
    """A step ended: passed, failed or skipped, with a detail and a hint on failure."""

    scenario_id: str
    step_id: str
    title: str
    kind: str
    outcome: Outcome
    detail: str = ""
    hint: str = ""
    seconds: float = 0.0


@record
class ScenarioFinished:
    """A scenario ended; ``passed`` is True only when every step passed."""

    scenario_id: str
    passed: bool
    steps: tuple[StepFinished, ...] = field(default=())


Event = (ScenarioStarted | StepStarted | CommandLogged | ManifestApplied | ResourceDeleted
         | StatusChanged | RequestSent | ResponseChunk | ResponseReceived | StepNote
         | StepFinished | ScenarioFinished)


_Shown = TypeVar("_Shown")


def masked_event(event: Event, mask: Callable[[str], str]) -> Event:
    """``event`` with ``mask`` applied to every text it holds (a resource's name, a command, a
    request, a manifest, a detail), however it was built: the one place a key written in any
    form the masker knows (lower-cased as a name, in look-alike letters) leaves the walkthrough
    masked. An answer (its pieces, and the whole) is left as it is: it was masked as it was
    read, over the whole answer, and masking a piece again alone could only lose text."""
    if isinstance(event, ResponseChunk | ResponseReceived):
        return event
    return _masked(event, mask)


def _masked(value: _Shown, mask: Callable[[str], str]) -> _Shown:
    shown: Any = value
    if isinstance(value, str):
        shown = mask(value)
    elif isinstance(value, tuple):
        shown = tuple(_masked(item, mask) for item in value)
    elif is_dataclass(value) and not isinstance(value, type):
        shown = replace(value, **{f.name: _masked(getattr(value, f.name), mask)
                                  for f in fields(value) if f.init})
    return cast(_Shown, shown)
