"""A `run --json` document stopped by a signal never says the run passed, even when every
scenario that finished before the stop passed."""

from __future__ import annotations

import io
import json

from sandbox.reports.console import JsonReport
from sandbox.walkthrough.events import ScenarioFinished, ScenarioStarted


def _document(stopped_by: str | None) -> dict[str, object]:
    report = JsonReport({"profile": "p"})
    for scenario_id in ("setup", "inline"):
        report(ScenarioStarted(scenario_id, "T", "S", "none", "sim"))
        report(ScenarioFinished(scenario_id, True))
    if stopped_by is not None:  # between two scenarios: every one so far passed
        report.document.update(stopped_by=stopped_by)
    out = io.StringIO()
    report.dump(out)
    return dict(json.loads(out.getvalue()))


def test_a_run_stopped_between_scenarios_did_not_pass() -> None:
    assert _document("Ctrl+C")["passed"] is False
    assert _document("SIGTERM")["passed"] is False


def test_a_run_that_was_not_stopped_passes_when_its_scenarios_did() -> None:
    assert _document(None)["passed"] is True
