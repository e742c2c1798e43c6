"""The line-aware reader of scenario files: it collects every problem with its line."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sandbox.catalog.served import KindUse
from sandbox.catalog.textfiles import MAX_FILE_BYTES
from sandbox.documents import LineDict
from sandbox.errors import Problem
from sandbox.profiles import DEFAULT_PROFILE
from sandbox.untrusted import quoted

# A scenario's or a step's title is one line of a list, a heading or a status line.
TITLE_LONGEST = 200

# What one scenario may read in all (its file and every template it applies, repeats counted):
# rendering copies each template per use, so many references to one large file add up.
MAX_SCENARIO_BYTES = 4 * MAX_FILE_BYTES


class Reader:
    """Validates one scenario file, collecting problems instead of stopping at the first."""

    def __init__(self, path: Path, problems: list[Problem]) -> None:
        self.path = path
        self.problems = problems
        self.start = len(problems)
        self.bytes_read = 0
        self.templates: dict[Path, tuple[tuple[Any, ...], int] | None] = {}
        self.namespace = DEFAULT_PROFILE.namespace  # of a resource written Kind/name
        self.kind_uses: list[KindUse] = []  # checked once the whole scenario is read

    @property
    def ok(self) -> bool:
        return len(self.problems) == self.start

    def problem(self, line: int | None, reason: str) -> None:
        self.problems.append(Problem(str(self.path), line, reason))

    def in_line_order(self) -> None:
        """This file's problems by line (file-wide ones first), each template's after them."""
        mine = self.problems[self.start:]
        paths = list(dict.fromkeys(p.path for p in mine))
        mine.sort(key=lambda p: (paths.index(p.path), p.line or 0))
        self.problems[self.start:] = mine

    def inside_folder(self, value: str, line: int, what: str) -> Path | None:
        """``value`` resolved inside the scenario's folder, or None after saying why not.

        The reason never depends on what exists outside the folder, so a scenario cannot be
        used to learn which files are on the machine.
        """
        folder = self.path.parent.resolve()
        if not value.strip() or not value.isprintable():
            self.problem(line, f"{what} path {quoted(value)} must be printable text")
            return None
        if Path(value).is_absolute():
            self.problem(line, f"{what} {quoted(value)} is an absolute path: write it relative to "
                         f"the scenario file, inside {folder}")
            return None
        try:
            source = (folder / value).resolve()
        except (OSError, RuntimeError):  # a loop of symbolic links
            self.problem(line, f"{what} {quoted(value)} cannot be read: it is a loop of symbolic "
                         "links")
            return None
        if not source.is_relative_to(folder):
            self.problem(line, f"{what} {quoted(value)} leads outside the scenario's folder "
                         f"{folder}: keep templates in that folder or a subfolder of it")
            return None
        return source

    def unknown_keys(self, node: LineDict, allowed: Iterable[str], what: str) -> None:
        allowed = set(allowed)
        for key in node:
            if key not in allowed:
                self.problem(node.line_of(key), f"unknown key {quoted(key)} in {what}; "
                             f"expected one of: {', '.join(sorted(allowed))}")

    def text(self, node: LineDict, key: str, required: bool = True, default: str = "") -> str:
        value = node.get(key)
        if value is None:
            if required and key in node:  # `title:` or `title: ~`: there, but empty
                self.problem(node.line_of(key), f"{key!r} is empty: write what it should say")
            elif required:
                self.problem(node.line, f"missing required key {key!r}")
            return default
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            self.problem(node.line_of(key), f"{key!r} must be text, not {kind_of(value)}")
            return default
        text = str(value).strip()
        if required and not text:  # shown as a heading or a list row: an empty one says nothing
            self.problem(node.line_of(key), f"{key!r} is blank: write what it should say")
        if key == "title" and len(text) > TITLE_LONGEST:
            self.problem(node.line_of(key), (
                f"'title' is {len(text)} characters long: a title is shown on one line (a list "
                f"row, a heading, a status line), so keep it to {TITLE_LONGEST} and say the rest "
                "in 'summary' or 'explain'"))
        return text

    def mapping(self, value: Any, line: int, what: str) -> LineDict | None:
        if isinstance(value, LineDict):
            return value
        self.problem(line, f"{what} must be a mapping, not {kind_of(value)}")
        return None

    def listing(self, node: LineDict, key: str) -> list[Any]:
        value = node.get(key)
        if isinstance(value, list):
            return value
        if value is None or isinstance(value, str | LineDict):
            return [] if value is None else [value]
        self.problem(node.line_of(key), f"{key!r} must be a list")
        return []


def kind_of(value: Any) -> str:
    """What a YAML value is, in the words of someone who wrote the file."""
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true/false"
    kinds = ((dict, "a mapping"), (list, "a list"), (str, "text"), (int | float, "a number"))
    return next((name for kind, name in kinds if isinstance(value, kind)), type(value).__name__)
