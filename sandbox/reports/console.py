"""Headless consumers of walkthrough events: readable text for people, one JSON document for CI."""

from __future__ import annotations

import codecs
import json
import sys
import textwrap
from dataclasses import asdict
from typing import Any, TextIO

from sandbox.untrusted import visible
from sandbox.walkthrough.events import (
    CommandLogged,
    Event,
    ManifestApplied,
    RequestSent,
    ResourceDeleted,
    ResponseChunk,
    ResponseReceived,
    ScenarioFinished,
    ScenarioStarted,
    StatusChanged,
    StepFinished,
    StepNote,
    StepStarted,
)

MARKS = {"passed": "✓", "failed": "✗", "skipped": "–"}


class TextReport:
    """Prints each step as it happens.

    Titles, explanations, responses and conditions come from scenario files, a provider or a
    cluster: every line goes out with its hidden characters made visible (``\\u001b``).
    """

    def __init__(self, out: TextIO = sys.stdout, verbose: bool = False) -> None:
        self.out = out
        self.verbose = verbose
        self._streaming = False

    def _line(self, text: str = "", indent: int = 0) -> None:
        if self._streaming:
            self.out.write("\n")
            self._streaming = False
        pad = " " * indent
        lines = visible(text).splitlines()
        self.out.write("\n".join(pad + line if line else "" for line in lines) + "\n"
                       if text else "\n")
        self.out.flush()

    def __call__(self, event: Event) -> None:
        match event:
            case ScenarioStarted():
                self._line()
                self._line(f"━━ {event.scenario_id}: {event.title}  [{event.runtime_label}]")
                self._line(textwrap.fill(event.summary, 96), 3)
                self._line(textwrap.fill("Security: " + event.security, 96), 3)
            case StepStarted():
                self._line()
                self._line(f"[{event.index}/{event.total}] {event.title}", 1)
                if event.explain:
                    self._line(event.explain.rstrip(), 5)
            case CommandLogged() if self.verbose:
                self._line("$ " + event.command)  # not indented: a heredoc's end must start a line
            case StepNote():
                self._line("… " + event.text, 5)
            case ManifestApplied():
                self._line(f"applied {event.ref}: {event.outcome}", 5)
                self._line(event.yaml.rstrip(), 9)
                if event.note:
                    self._line(textwrap.fill("note: " + event.note, 90), 9)
            case ResourceDeleted():
                self._line(f"deleted {event.ref}" if event.existed
                           else f"{event.ref} was already gone", 5)
            case StatusChanged():
                conditions = ", ".join(str(c) for c in event.conditions) or (
                    "no status yet" if event.exists else "does not exist")
                self._line(f"status {event.ref}: {conditions}", 5)
            case RequestSent():
                self._line("request:  " + event.request.curl, 5)
            case ResponseChunk():
                if not self._streaming:
                    self.out.write(" " * 5 + "stream:   ")
                    self._streaming = True
                self.out.write(visible(event.text))
                self.out.flush()
            case ResponseReceived():
                r = event.response
                self._line(f"response: {r.status} {r.reason} in {r.latency_ms:.0f} ms"
                           + (f" · model {r.model}" if r.model else ""), 5)
                for note in r.notes:
                    self._line(textwrap.fill("note: " + note, 88), 15)
                if r.content:
                    self._line(textwrap.fill(r.content, 88), 15)
                elif r.body:
                    self._line(r.body[:600], 15)
            case StepFinished():
                text = f"{MARKS[event.outcome]} {event.outcome}"
                if event.outcome == "failed":
                    self._line(f"{text}: {event.detail}", 3)
                    if event.hint:
                        self._line(f"hint: {event.hint}", 5)
                else:
                    self._line(text + (f" · {event.detail}" if event.detail and self.verbose
                                       else ""), 3)
            case ScenarioFinished():
                self._line()
                verdict = "PASSED" if event.passed else "FAILED"
                self._line(f"━━ {event.scenario_id}: {verdict}")

    def summary(self, results: list[ScenarioFinished]) -> None:
        self._line()
        passed = sum(r.passed for r in results)
        for result in results:
            self._line(f"{MARKS['passed' if result.passed else 'failed']} {result.scenario_id}", 1)
        self._line(f"{passed} passed, {len(results) - passed} failed")


class JsonReport:
    """Collects events into one machine-readable document."""

    def __init__(self, header: dict[str, Any]) -> None:
        self.document: dict[str, Any] = {**header, "passed": None, "scenarios": []}
        self._step: dict[str, Any] | None = None

    def __call__(self, event: Event) -> None:
        scenarios = self.document["scenarios"]
        match event:
            case ScenarioStarted():
                scenarios.append({"id": event.scenario_id, "title": event.title,
                                  "passed": None, "steps": []})
            case StepStarted():
                self._step = {"id": event.step_id, "title": event.title, "kind": event.kind,
                              "commands": [], "applied": [], "status": [], "deleted": []}
                scenarios[-1]["steps"].append(self._step)
            case CommandLogged() if self._step is not None:
                self._step["commands"].append(event.command)
            case ManifestApplied() if self._step is not None:
                self._step["applied"].append({"resource": str(event.ref),
                                              "outcome": event.outcome, "yaml": event.yaml})
            case StatusChanged() if self._step is not None:
                self._step["status"].append({"resource": str(event.ref), "exists": event.exists,
                                             "conditions": [asdict(c) for c in event.conditions]})
            case ResourceDeleted() if self._step is not None:
                self._step["deleted"].append({"resource": str(event.ref),
                                              "existed": event.existed})
            case RequestSent() if self._step is not None:
                self._step["request"] = asdict(event.request)
            case ResponseReceived() if self._step is not None:
                self._step["response"] = asdict(event.response)
            case StepFinished():
                step = next((s for s in scenarios[-1]["steps"] if s["id"] == event.step_id),
                            None)
                if step is None:  # skipped without starting
                    step = {"id": event.step_id, "title": event.title, "kind": event.kind}
                    scenarios[-1]["steps"].append(step)
                step.update(outcome=event.outcome, detail=event.detail, hint=event.hint,
                            seconds=round(event.seconds, 4))
            case ScenarioFinished():
                scenarios[-1]["passed"] = event.passed

    def dump(self, out: TextIO = sys.stdout) -> None:
        scenarios = self.document["scenarios"]
        # A stopped run did not pass, even if every scenario that finished before the stop did.
        self.document["passed"] = (bool(scenarios) and all(s["passed"] for s in scenarios)
                                   and "stopped_by" not in self.document)
        # Escapes keep the document valid JSON on a stream that cannot encode "…" or "✓". JSON
        # escapes C0 controls itself; C1 and bidirectional controls get the same \uXXXX escape.
        out.write(visible(json.dumps(self.document, indent=2, ensure_ascii=not _is_unicode(out))))
        out.write("\n")


def _is_unicode(out: TextIO) -> bool:
    encoding = getattr(out, "encoding", None) or "utf-8"
    return codecs.lookup(encoding).name.startswith("utf")
