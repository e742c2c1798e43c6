"""Scenario models: frozen, validated descriptions of a walkthrough and its steps."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import field, replace
from pathlib import Path
from typing import Any

from sandbox.records import record
from sandbox.runtimes.runtime import ResourceRef, WaitFor


@record
class Variable:
    """A value a scenario's manifests and requests refer to as ``${name}``."""

    name: str
    description: str
    secret: bool = False
    default: str | None = None


@record
class RequestSpec:
    method: str
    path: str
    headers: tuple[tuple[str, str], ...] = ()
    body: Any = None
    stream: bool = False


@record
class Expectation:
    """What the response must show. ``model`` matches as a prefix (providers add a date)."""

    status: int | None = None
    model: str | None = None
    contains: tuple[str, ...] = ()
    lacks: tuple[str, ...] = ()

    def merged(self, other: Expectation) -> Expectation:
        return Expectation(
            status=other.status if other.status is not None else self.status,
            model=other.model or self.model,
            contains=self.contains + other.contains,
            lacks=self.lacks + other.lacks,
        )


@record
class Manifest:
    """A manifest template: one or more documents, ``${var}`` placeholders in string values."""

    path: str  # as written in the scenario, relative to the scenario file
    source: Path
    documents: tuple[Any, ...]


@record
class StepBase:
    id: str
    title: str
    explain: str


@record
class ExplainStep(StepBase):
    pass


@record
class ApplyStep(StepBase):
    manifests: tuple[Manifest, ...] = ()


@record
class WaitStep(StepBase):
    waits: tuple[WaitFor, ...] = ()


@record
class RequestStep(StepBase):
    request: RequestSpec = field(default_factory=lambda: RequestSpec("GET", "/"))
    expect: Expectation = field(default_factory=Expectation)
    # Extra checks that only hold with the mock provider (it reveals the masked key).
    expect_with_mock: Expectation = field(default_factory=Expectation)


@record
class DeleteStep(StepBase):
    refs: tuple[ResourceRef, ...] = ()


@record
class CleanupStep(StepBase):
    """Deletes everything the scenario applied, newest first."""


Step = ExplainStep | ApplyStep | WaitStep | RequestStep | DeleteStep | CleanupStep


@record
class Scenario:
    id: str
    title: str
    summary: str
    security: str
    order: int
    profile: str
    variables: tuple[Variable, ...]
    steps: tuple[Step, ...]
    source: Path
    # Scenarios that must have run first (``setup`` creates the Gateway the others attach to).
    needs: tuple[str, ...] = ()

    @property
    def secret_variables(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.variables if v.secret)


def texts_read(scenario: Scenario) -> list[str]:
    """Every text of ``scenario`` a person reads (its file's path, titles, summary, security,
    explanations, variable descriptions), in the order :func:`with_texts` takes them."""
    return [str(scenario.source), scenario.title, scenario.summary, scenario.security,
            *(v.description for v in scenario.variables),
            *(text for step in scenario.steps for text in (step.title, step.explain))]


def with_texts(scenario: Scenario, texts: Iterator[str]) -> Scenario:
    """``scenario`` with the texts :func:`texts_read` gives in their place, taken from
    ``texts`` in that order (the same texts masked: a key pasted into them, or naming the file
    or its folder, is never shown). Its manifests were read on load: the path is only shown
    from then on."""
    source, title, summary, security = (next(texts) for _ in range(4))
    return replace(
        scenario, source=Path(source), title=title, summary=summary, security=security,
        variables=tuple(replace(v, description=next(texts)) for v in scenario.variables),
        steps=tuple(replace(step, title=next(texts), explain=next(texts))
                    for step in scenario.steps))


def step_kind(step: Step) -> str:
    return type(step).__name__.removesuffix("Step").lower()
