"""--compare-sim: run the scenarios on the simulation beside a real runtime, report what differs.

For every step the two runs are reduced to what a learner would notice: the step's outcome, the
conditions (type, status, reason) of each resource it waited on, the HTTP status, the key the
mock provider says it received (already masked), and the gateway's own error body.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from sandbox.catalog.scenarios import Scenario
from sandbox.errors import SandboxError
from sandbox.records import record
from sandbox.settings import Settings
from sandbox.untrusted import quoted
from sandbox.walkthrough.events import (
    Event,
    ResponseReceived,
    ResponseView,
    StatusChanged,
    StepFinished,
    StepStarted,
)

# The mock provider's own words for the key it received (sandbox/mock/openai.py).
_KEY_SEEN = (re.compile(r"with the API key (\S+) in its Authorization header"),
             re.compile(r"Incorrect API key provided: (\S+?)\. "))
_NO_KEY = "didn't provide an API key"


@dataclass
class StepRecord:
    """What one step showed, in comparable form."""

    scenario: str
    step: str
    outcome: str = ""
    conditions: dict[str, tuple[tuple[str, str, str], ...]] = field(default_factory=dict)
    http_status: int | None = None
    key_seen: str | None = None
    error_body: str | None = None

    def values(self) -> dict[str, Any]:
        """Field name -> comparable value; conditions are one field per resource."""
        values: dict[str, Any] = {"outcome": self.outcome}
        for ref, found in sorted(self.conditions.items()):
            values[f"conditions of {ref}"] = (", ".join(f"{t}={s} ({r})" for t, s, r in found)
                                              or "none")
        key = "(no key)" if self.key_seen == "" else self.key_seen
        values.update({"HTTP status": self.http_status, "key the mock saw": key,
                       "gateway error body": self.error_body})
        return values


@record
class Disagreement:
    scenario: str
    step: str
    field: str
    real: Any
    sim: Any

    def __str__(self) -> str:
        return (f"{self.scenario}/{self.step}: {self.field}: real {_show(self.real)}, "
                f"simulated {_show(self.sim)}")


class Recorder:
    """An event consumer that keeps one :class:`StepRecord` per step, in order."""

    def __init__(self) -> None:
        self.steps: list[StepRecord] = []
        self._current: StepRecord | None = None

    def __call__(self, event: Event) -> None:
        match event:
            case StepStarted():
                self._current = StepRecord(event.scenario_id, event.step_id)
                self.steps.append(self._current)
            case StatusChanged() if self._current is not None:
                self._current.conditions[str(event.ref)] = tuple(
                    (c.type, c.status, c.reason) for c in event.conditions)
            case ResponseReceived() if self._current is not None:
                self._current.http_status = event.response.status
                self._current.key_seen = key_seen(event.response)
                self._current.error_body = gateway_error(event.response)
            case StepFinished():
                if self._current is None or self._current.step != event.step_id:
                    # Skipped without starting: a record of its own.
                    self._current = StepRecord(event.scenario_id, event.step_id)
                    self.steps.append(self._current)
                self._current.outcome = event.outcome
                self._current = None
            case _:
                pass


def key_seen(response: ResponseView) -> str | None:
    """The masked key the mock provider reports, "" for none, None when it cannot tell."""
    text = response.content + "\n" + response.body
    for pattern in _KEY_SEEN:
        found = pattern.search(text)
        if found:
            return found.group(1)
    return "" if _NO_KEY in text else None


def gateway_error(response: ResponseView) -> str | None:
    """An error answer the gateway wrote itself (not a provider's JSON), with its Content-Type."""
    if response.status < 400 or response.body.lstrip().startswith("{"):
        return None
    content_type = next((v for k, v in response.headers if k.lower() == "content-type"), None)
    return f"{quoted(response.body)} ({content_type or 'no Content-Type'})"


def diff(real: Sequence[StepRecord], sim: Sequence[StepRecord]) -> list[Disagreement]:
    """Every field of every step where the two runs disagree (missing steps included)."""
    found = []
    sim_steps = {(s.scenario, s.step): s for s in sim}
    for step in real:
        other = sim_steps.pop((step.scenario, step.step), None)
        if other is None:
            found.append(Disagreement(step.scenario, step.step, "step", "ran", "did not run"))
            continue
        mine, theirs = step.values(), other.values()
        for name in [*mine, *(k for k in theirs if k not in mine)]:
            if mine.get(name) != theirs.get(name):
                found.append(Disagreement(step.scenario, step.step, name, mine.get(name),
                                          theirs.get(name)))
    found += [Disagreement(s.scenario, s.step, "step", "did not run", "ran")
              for s in sim_steps.values()]
    return found


def check_usable(runtime_name: str, provider: str) -> None:
    if runtime_name == "sim":
        raise SandboxError("--compare-sim compares a real runtime with the simulation, and this "
                           "run is already the simulation",
                           "use it with --runtime kind or --runtime cluster")
    if provider != "mock":
        raise SandboxError("--compare-sim needs --provider mock: the simulation would otherwise "
                           "send every request to the real provider a second time",
                           "drop --provider openai")


async def run_on_sim(settings: Settings, scenarios: Sequence[Scenario]) -> list[StepRecord]:
    """The same scenarios on a private simulation (a free port), recorded step by step."""
    from sandbox.runtimes.factory import make_runtime
    from sandbox.walkthrough.exchange import new_client
    from sandbox.walkthrough.runner import Walkthrough

    sim = make_runtime(replace(settings, port=0), "sim")
    recorder = Recorder()
    await sim.up(lambda line: None)
    try:
        async with new_client() as client:
            walkthrough = Walkthrough(sim, client, recorder, settings.token, settings.provider,
                                      settings.overrides)
            for scenario in scenarios:
                await walkthrough.run(scenario)
    finally:
        await sim.down()
    return recorder.steps


@record
class Comparison:
    steps: int
    disagreements: tuple[Disagreement, ...]

    def as_json(self) -> dict[str, Any]:
        return {"steps": self.steps, "agree": not self.disagreements,
                "disagreements": [asdict(d) for d in self.disagreements]}

    def lines(self) -> list[str]:
        if not self.disagreements:
            return [f"Compared with the simulation: all {self.steps} steps agree."]
        return [f"Compared with the simulation: {len(self.disagreements)} "
                f"disagreement{'s' if len(self.disagreements) != 1 else ''} in {self.steps} "
                "steps (the simulation is wrong here, or the cluster is):",
                *(f"  ≠ {d}" for d in self.disagreements)]


async def compare(settings: Settings, scenarios: Sequence[Scenario],
                  real: Sequence[StepRecord]) -> Comparison:
    sim = await run_on_sim(settings, scenarios)
    return Comparison(len(real), tuple(diff(real, sim)))


def _show(value: Any) -> str:
    return ("nothing" if value is None else quoted(value) if isinstance(value, str)
            else repr(value))
