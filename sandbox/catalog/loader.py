"""Loading scenario directories: every problem reported with file, line and reason, none skipped."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

from sandbox.catalog.scenario_file import load_file
from sandbox.catalog.scenarios import Scenario, texts_read, with_texts
from sandbox.errors import Problem, ScenarioError
from sandbox.profiles import DEFAULT_PROFILE, PROFILES, builtin_dir
from sandbox.records import record
from sandbox.untrusted import quoted


@record
class Catalog:
    """The scenarios written for one API profile; ``others`` are those of the other profiles."""

    scenarios: tuple[Scenario, ...]
    profile: str = DEFAULT_PROFILE.name
    others: tuple[Scenario, ...] = ()

    def get(self, scenario_id: str) -> Scenario:
        for scenario in self.scenarios:
            if scenario.id == scenario_id:
                return scenario
        known = ", ".join(s.id for s in self.scenarios)
        raise KeyError(f"no scenario named {quoted(scenario_id)}; known scenarios: {known}")

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.scenarios)

    def for_profile(self, profile: str) -> Catalog:
        """The same scenarios, seen from another profile."""
        return _split((*self.scenarios, *self.others), profile)

    def masked(self, mask_each: Callable[[Sequence[str]], list[str]]) -> Catalog:
        """The same catalog with the text of every scenario passed through ``mask_each`` (the
        keys the process holds; every text read as one, in one pass), before anything shows
        it. Itself when that finds nothing (the usual case)."""
        every = (*self.scenarios, *self.others)
        texts = [text for s in every for text in texts_read(s)]
        shown = mask_each(texts)
        if shown == texts:
            return self
        masked = iter(shown)
        return Catalog(tuple(with_texts(s, masked) for s in self.scenarios), self.profile,
                       tuple(with_texts(s, masked) for s in self.others))

    def prerequisites(self, scenario: Scenario) -> list[Scenario]:
        """What ``scenario`` needs, transitively, in the order to run it (itself left out)."""
        order: list[Scenario] = []

        def visit(current: Scenario, path: tuple[str, ...]) -> None:
            for need in current.needs:
                if need in path:  # a cycle (refused when loading): never loop on one
                    continue
                needed = self.get(need)
                visit(needed, (*path, need))
                if needed not in order:
                    order.append(needed)

        visit(scenario, (scenario.id,))
        return [s for s in order if s.id != scenario.id]

    @property
    def missing(self) -> tuple[tuple[Scenario, tuple[str, ...]], ...]:
        """Scenarios with no version for this profile, each with the profiles that have one."""
        mine = set(self.ids)
        found: dict[str, list[Scenario]] = {}
        for scenario in self.others:
            if scenario.id not in mine:
                found.setdefault(scenario.id, []).append(scenario)
        return tuple((versions[0], tuple(s.profile for s in versions))
                     for versions in found.values())


def load_catalog(extra_dirs: Sequence[Path] = (), include_builtin: bool = True,
                 profile: str = DEFAULT_PROFILE.name, *, other_builtins: bool = True) -> Catalog:
    """Load the built-in scenarios plus each extra directory; raise with every problem found.

    Every profile's scenarios are loaded (and checked); the catalog shows ``profile``'s.
    Without ``other_builtins``, the built-in scenarios of the other profiles are left out (a
    walkthrough runs one profile's, and the built-in ones are checked by the test suite):
    ``others`` and ``missing`` then know only what the extra directories hold.
    """
    problems: list[Problem] = []
    scenarios: list[Scenario] = []
    builtin = [builtin_dir()] if include_builtin else []
    dirs = list(builtin)
    for directory in extra_dirs:
        if not directory.is_dir():
            problems.append(Problem(str(directory), None, "not a directory of scenario files"))
            continue
        dirs.append(directory)
    dirs += [sub for directory in dirs for sub in _profile_dirs(directory)]
    if not other_builtins:
        dirs = [d for d in dirs if not _another_profiles_builtins(d, builtin, profile)]
    dirs = _each_once(dirs)
    seen: dict[tuple[str, str], Path] = {}
    for directory in dirs:
        paths = _scenario_files(directory, problems)
        if paths == [] and directory not in builtin and not _profile_dirs(directory):
            problems.append(Problem(str(directory), None, "contains no *.yaml scenario files"))
        for path in paths or ():
            scenario = load_file(path, problems)
            if scenario is None:
                continue
            if directory.name in PROFILES and scenario.profile != directory.name:
                problems.append(Problem(str(path), None, _wrong_folder(scenario, directory)))
                continue
            key = (scenario.profile, scenario.id)  # the same id once per profile
            if key in seen:
                problems.append(Problem(str(path), None,
                    f"scenario id {quoted(scenario.id)} is already used by {seen[key]}"))
                continue
            seen[key] = path
            scenarios.append(scenario)
    for scenario in scenarios:  # a need is met within the scenario's own profile
        if not other_builtins and scenario.profile != profile:
            continue  # which may be in the built-in scenarios left out
        problems.extend(Problem(str(scenario.source), None,
                                f"'needs' names {quoted(need)}, which no scenario has as its id")
                        for need in scenario.needs if (scenario.profile, need) not in seen)
    problems.extend(_cycles(scenarios))
    if problems:
        raise ScenarioError(problems)
    return _split(scenarios, profile)


def _cycles(scenarios: Sequence[Scenario]) -> list[Problem]:
    """A problem for each cycle of needs (in one profile), named from its first id: such
    scenarios could never run in the order they declare."""
    by_key = {(s.profile, s.id): s for s in scenarios}
    found: dict[tuple[str, ...], Scenario] = {}
    done: set[tuple[str, str]] = set()
    for start in sorted(by_key):
        path: dict[tuple[str, str], int] = {}  # the walk from start (depth first, no recursion)
        pending = [start]
        while pending:
            key = pending.pop()
            if key == _LEFT:  # every need of the last step of the path walked
                done.add(path.popitem()[0])
                continue
            if key in done:
                continue
            if key in path:  # back where the walk has been: the needs since then are a cycle
                ids = [k[1] for k in list(path)[path[key]:]]
                first = ids.index(min(ids))
                cycle = (*ids[first:], *ids[:first])
                found.setdefault(cycle, by_key[(key[0], cycle[0])])
                continue
            path[key] = len(path)
            pending.append(_LEFT)
            pending.extend((key[0], need) for need in reversed(by_key[key].needs)
                           if (key[0], need) in by_key)
    return [Problem(str(scenario.source), None,
                    f"'needs' form a cycle: {' → '.join((*cycle, cycle[0]))}: remove one of "
                    "these needs") for cycle, scenario in found.items()]


_LEFT = ("", "")  # on the walk's stack, below a step's needs: they have all been walked


def _each_once(dirs: Sequence[Path]) -> list[Path]:
    """The directories without repeats (``--scenarios D --scenarios D``, a link to D, the
    built-in folder named again): a folder read twice would clash with itself."""
    found: dict[Path, Path] = {}
    for directory in dirs:
        try:
            found.setdefault(directory.resolve(), directory)
        except (OSError, RuntimeError):  # a loop of links: listing it says what is wrong
            found.setdefault(directory, directory)
    return list(found.values())


def _another_profiles_builtins(directory: Path, builtin: Sequence[Path], profile: str) -> bool:
    """A built-in folder of scenarios written for a profile other than ``profile`` (the
    default profile's are at the top, each other profile's in a folder named after it)."""
    if directory in builtin:
        return profile != DEFAULT_PROFILE.name
    return directory.parent in builtin and directory.name != profile


def _profile_dirs(directory: Path) -> list[Path]:
    """A scenario directory's subdirectories named after a profile: its versions for that
    profile, beside (or instead of) the default profile's files at the top."""
    return [directory / name for name in PROFILES if _is_dir(directory / name)]


def _is_dir(path: Path) -> bool:
    """False for what cannot be looked at: an unreadable folder is named by the listing."""
    try:
        return path.is_dir()
    except OSError:
        return False


def _wrong_folder(scenario: Scenario, directory: Path) -> str:
    return (f"this file is in the folder for the {directory.name} profile but is written for "
            f"{scenario.profile}" + (" (the default, as it names no profile)"
                                     if scenario.profile == DEFAULT_PROFILE.name else "")
            + f": add `profile: {directory.name}`, or move it")


def _split(scenarios: Sequence[Scenario], profile: str) -> Catalog:
    def order(scenario: Scenario) -> tuple[int, str]:
        return scenario.order, scenario.id

    return Catalog(tuple(sorted((s for s in scenarios if s.profile == profile), key=order)),
                   profile,
                   tuple(sorted((s for s in scenarios if s.profile != profile), key=order)))


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
