"""Reading one scenario file into a validated, frozen Scenario (or a list of its problems)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sandbox.catalog.hidden_characters import hidden_characters
from sandbox.catalog.scenario_reader import Reader
from sandbox.catalog.scenario_steps import read_steps
from sandbox.catalog.scenarios import (
    ApplyStep,
    RequestStep,
    Scenario,
    Step,
    Variable,
)
from sandbox.catalog.served import unserved
from sandbox.catalog.textfiles import UnreadableFile, read_text_file
from sandbox.documents import DocumentError, LineDict, load_one
from sandbox.errors import Problem
from sandbox.profiles import DEFAULT_PROFILE, PROFILES
from sandbox.untrusted import quoted

PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
BUILTIN_VARIABLES = (
    Variable("token", "the provider API key (--token, AGW_SANDBOX_TOKEN)", secret=True),
)
# Each secret variable comes with its masked form, for text that shows which key was used.
MASKED_SUFFIX = "_masked"
# The names a scenario may not declare: the built-in variables would silently win over them.
BUILTIN_NAMES = tuple(name for v in BUILTIN_VARIABLES
                      for name in (v.name, *([v.name + MASKED_SUFFIX] if v.secret else [])))
RESERVED = (f"built-in: {', '.join(BUILTIN_NAMES)}; and NAME{MASKED_SUFFIX} for each secret "
            "variable NAME")
SCENARIO_KEYS = {"id", "title", "summary", "security", "order", "profile", "needs", "variables",
                 "steps"}
# Shown on one line (a list row, a heading, a status line): no tabs or line breaks either.
ONE_LINE_FIELDS = re.compile(r"title|steps\[\d+\]\.(id|title|(expect|expect_with_mock)\.model"
                             r"|wait\[\d+\]\.(resource|namespace)|delete\[\d+\])")
# Checked more strictly elsewhere: ids and names by their patterns, apply paths as paths,
# requests as HTTP (request_problems).
CHECKED_ELSEWHERE = re.compile(r"id|profile|needs"
                               r"|steps\[\d+\]\.(apply|request\.(method|path|headers))")


def load_file(path: Path, problems: list[Problem]) -> Scenario | None:
    """The scenario in ``path``, or None after adding each of its problems to ``problems``."""
    reader = Reader(path, problems)
    try:
        return _load(reader)
    finally:
        reader.in_line_order()


def _load(reader: Reader) -> Scenario | None:
    path = reader.path
    try:
        outside = not path.resolve().is_relative_to(path.parent.resolve())
    except (OSError, RuntimeError):  # a loop of symbolic links: reading it says so
        outside = False
    if outside:
        reader.problem(None, "is a link to a file outside its folder: copy the file into the "
                       "folder instead")
        return None
    try:
        text = read_text_file(path)
        reader.bytes_read = len(text)
        root = load_one(text)
    except UnreadableFile as exc:
        reader.problem(exc.line, f"the scenario file {exc.reason}")
        return None
    except DocumentError as exc:
        reader.problem(exc.line, exc.reason)
        return None
    node = reader.mapping(root, 1, "a scenario file")
    if node is None:
        return None
    if "apiVersion" in node and "kind" in node:
        reader.problem(1, "this is a Kubernetes manifest, not a scenario: keep manifest "
                       "templates in a subdirectory (such as manifests/) beside the scenarios")
        return None
    reader.unknown_keys(node, SCENARIO_KEYS, "the scenario")
    for line, reason in hidden_characters(node, node.line,
                                          lambda where: bool(ONE_LINE_FIELDS.fullmatch(where)),
                                          lambda where: bool(CHECKED_ELSEWHERE.fullmatch(where))):
        reader.problem(line, reason)
    scenario_id = reader.text(node, "id")
    if scenario_id and not re.fullmatch(r"[a-z0-9][a-z0-9-]*", scenario_id):
        reader.problem(node.line_of("id"), f"id {quoted(scenario_id)} must be lower-case letters, "
                       "digits and dashes")
    profile = reader.text(node, "profile", required=False, default=DEFAULT_PROFILE.name)
    if profile not in PROFILES:
        reader.problem(node.line_of("profile"),
                       f"unknown profile {quoted(profile)}; known: {', '.join(PROFILES)}")
    else:
        reader.namespace = PROFILES[profile].namespace
    order = node.get("order", 100)
    if not isinstance(order, int) or isinstance(order, bool):
        reader.problem(node.line_of("order"), "'order' must be a whole number")
        order = 100
    texts = {key: reader.text(node, key) for key in ("title", "summary", "security")}
    needs = _needs(reader, node, scenario_id)
    variables = _variables(reader, node)
    steps = read_steps(reader, node)
    if profile in PROFILES:
        documents = [doc for step in steps if isinstance(step, ApplyStep)
                     for manifest in step.manifests for doc in manifest.documents
                     if isinstance(doc, Mapping)]
        reader.problems.extend(unserved(reader.kind_uses, profile, documents))
    known = {v.name for v in variables}
    known |= {v.name + MASKED_SUFFIX for v in variables if v.secret}
    _check_placeholders(reader, node, steps, known)
    _check_masked_headers(reader, node, steps, {v.name + MASKED_SUFFIX for v in variables
                                                if v.secret})
    if not reader.ok:
        return None
    return Scenario(
        id=scenario_id, title=texts["title"], summary=texts["summary"],
        security=texts["security"], order=order, profile=profile,
        variables=variables, steps=steps, source=path, needs=needs,
    )


def _needs(reader: Reader, node: LineDict, scenario_id: str) -> tuple[str, ...]:
    """Scenario ids that must run first; whether they exist is checked once all are loaded."""
    needs = []
    for value in reader.listing(node, "needs"):
        if not isinstance(value, str) or not re.fullmatch(r"[a-z0-9][a-z0-9-]*", value):
            reader.problem(node.line_of("needs"), "'needs' lists scenario ids, not "
                           f"{quoted(value) if isinstance(value, str) else repr(value)}")
        elif value == scenario_id:
            reader.problem(node.line_of("needs"), "a scenario cannot need itself")
        else:
            needs.append(value)
    return tuple(dict.fromkeys(needs))


def _variables(reader: Reader, node: LineDict) -> tuple[Variable, ...]:
    variables = list(BUILTIN_VARIABLES)
    declared = node.get("variables") or LineDict()
    table = reader.mapping(declared, node.line_of("variables"), "'variables'")
    for name, spec in (table or {}).items():
        line = table.line_of(name) if table is not None else None
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            reader.problem(line, f"variable name {quoted(name)} must be a valid identifier")
        if name in BUILTIN_NAMES or _masked_form_of_a_secret(name, table):
            reader.problem(line, f"variable {quoted(name)} is a built-in name and cannot be "
                           f"declared ({RESERVED}): choose another name")
        spec_node = reader.mapping(spec, line or 0, f"variable {quoted(name)}")
        if spec_node is None:
            continue
        reader.unknown_keys(spec_node, {"description", "secret", "default"},
                            f"variable {quoted(name)}")
        secret = spec_node.get("secret", False)
        if not isinstance(secret, bool):
            reader.problem(spec_node.line_of("secret"), "'secret' must be true or false")
        default = spec_node.get("default")
        variables.append(Variable(
            name, reader.text(spec_node, "description"), secret is True,
            None if default is None else str(default),
        ))
    return tuple(variables)


def _masked_form_of_a_secret(name: str, table: LineDict | None) -> bool:
    """Whether ``name`` is NAME_masked for a variable NAME the same file declares secret."""
    if table is None or not name.endswith(MASKED_SUFFIX):
        return False
    spec = table.get(name.removesuffix(MASKED_SUFFIX))
    return isinstance(spec, dict) and spec.get("secret") is True


def placeholders(value: Any) -> set[str]:
    """Every ``${name}`` in the strings (and mapping keys) of a nested value."""
    if isinstance(value, str):
        return set(PLACEHOLDER.findall(value))
    if isinstance(value, dict):
        return set().union(*(placeholders(k) | placeholders(v) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return set().union(*(placeholders(v) for v in value))
    return set()


def _check_placeholders(reader: Reader, node: LineDict, steps: Sequence[Step],
                        known: set[str]) -> None:
    for step in steps:
        used: set[str] = set()
        if isinstance(step, ApplyStep):
            used = placeholders([m.documents for m in step.manifests])
        elif isinstance(step, RequestStep):
            used = placeholders([step.request.path, step.request.headers, step.request.body,
                                 step.expect.model, step.expect.contains, step.expect.lacks,
                                 step.expect_with_mock.model, step.expect_with_mock.contains,
                                 step.expect_with_mock.lacks])
        for name in sorted(used - known):
            reader.problem(node.line_of("steps"), f"step {quoted(step.id)} uses ${{{name}}}, "
                           f"which is not a declared variable (known: {', '.join(sorted(known))})")


def _check_masked_headers(reader: Reader, node: LineDict, steps: Sequence[Step],
                          masked: set[str]) -> None:
    """A masked key in a header: its "…" is no character a header can carry, which would
    otherwise be found only when the request is sent."""
    for step in steps:
        if not isinstance(step, RequestStep):
            continue
        for header, value in step.request.headers:
            for name in sorted(placeholders(value) & masked):
                reader.problem(node.line_of("steps"), f"step {quoted(step.id)} puts ${{{name}}} "
                               f"in the header {quoted(header)}: a masked key is written with "
                               "'…', which no header can carry: use the key itself, or put it "
                               "in the body")
