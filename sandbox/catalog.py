"""Loading scenario directories: every problem reported with file, line and reason, none skipped."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from sandbox.errors import Problem, ScenarioError
from sandbox.scenario_file import load_file
from sandbox.scenarios import Scenario


def builtin_dir() -> Path:
    return Path(str(files("sandbox.builtin_scenarios")))


@dataclass(frozen=True)
class Catalog:
    scenarios: tuple[Scenario, ...]

    def get(self, scenario_id: str) -> Scenario:
        for scenario in self.scenarios:
            if scenario.id == scenario_id:
                return scenario
        known = ", ".join(s.id for s in self.scenarios)
        raise KeyError(f"no scenario named {scenario_id!r}; known scenarios: {known}")

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.scenarios)

    def prerequisites(self, scenario: Scenario) -> list[Scenario]:
        """What ``scenario`` needs, transitively, in the order to run it (itself left out)."""
        order: list[Scenario] = []

        def visit(current: Scenario, path: tuple[str, ...]) -> None:
            for need in current.needs:
                if need in path:  # a cycle: say nothing more of it, running once is enough
                    continue
                needed = self.get(need)
                visit(needed, (*path, need))
                if needed not in order:
                    order.append(needed)

        visit(scenario, (scenario.id,))
        return [s for s in order if s.id != scenario.id]


def load_catalog(extra_dirs: Sequence[Path] = (), include_builtin: bool = True) -> Catalog:
    """Load the built-in scenarios plus each extra directory; raise with every problem found."""
    problems: list[Problem] = []
    scenarios: list[Scenario] = []
    dirs = [builtin_dir()] if include_builtin else []
    for directory in extra_dirs:
        if not directory.is_dir():
            problems.append(Problem(str(directory), None, "not a directory of scenario files"))
            continue
        dirs.append(directory)
    seen: dict[str, Path] = {}
    for directory in dirs:
        paths = _scenario_files(directory, problems)
        if paths == [] and directory not in dirs[:1]:
            problems.append(Problem(str(directory), None, "contains no *.yaml scenario files"))
        for path in paths or ():
            scenario = load_file(path, problems)
            if scenario is None:
                continue
            if scenario.id in seen:
                problems.append(Problem(str(path), None,
                    f"scenario id {scenario.id!r} is already used by {seen[scenario.id]}"))
                continue
            seen[scenario.id] = path
            scenarios.append(scenario)
    for scenario in scenarios:
        problems.extend(Problem(str(scenario.source), None,
                                f"'needs' names {need!r}, which no scenario has as its id")
                        for need in scenario.needs if need not in seen)
    if problems:
        raise ScenarioError(problems)
    return Catalog(tuple(sorted(scenarios, key=lambda s: (s.order, s.id))))


def _scenario_files(directory: Path, problems: list[Problem]) -> list[Path] | None:
    """The directory's *.yaml and *.yml files by name, or None after saying why it is unreadable."""
    try:
        names = [entry.name for entry in os.scandir(directory)]
    except OSError as exc:
        reason = "permission denied" if isinstance(exc, PermissionError) else \
            (exc.strerror or str(exc))
        problems.append(Problem(str(directory), None, f"cannot list the directory: {reason}"))
        return None
    return [directory / name for suffix in (".yaml", ".yml")
            for name in sorted(names) if name.endswith(suffix)]
