"""Reading one scenario file into a validated, frozen Scenario (or a list of its problems)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from sandbox import checks
from sandbox.documents import DocumentError, LineDict, load_all, load_one
from sandbox.errors import Problem
from sandbox.profiles import DEFAULT_PROFILE, PROFILES
from sandbox.scenarios import (
    ApplyStep,
    CleanupStep,
    ConditionExpectation,
    DeleteStep,
    Expectation,
    ExplainStep,
    Manifest,
    RequestSpec,
    RequestStep,
    ResourceRef,
    Scenario,
    Step,
    Variable,
    WaitFor,
    WaitStep,
)
from sandbox.textfiles import MAX_FILE_BYTES, UnreadableFile, read_text_file

PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
BUILTIN_VARIABLES = (
    Variable("token", "the provider API key (--token, AGW_SANDBOX_TOKEN)", secret=True),
)
SCENARIO_KEYS = {"id", "title", "summary", "security", "order", "profile", "needs", "variables",
                 "steps"}
STEP_KEYS = {"id", "title", "explain", "expect", "expect_with_mock"}
ACTIONS = ("apply", "wait", "request", "delete", "cleanup")
REQUEST_KEYS = {"method", "path", "headers", "body", "stream"}
EXPECT_KEYS = {"status", "model", "contains", "lacks"}
WAIT_KEYS = {"resource", "namespace", "conditions", "timeout"}
DEFAULT_WAIT_TIMEOUT = 180.0
MAX_WAIT_TIMEOUT = 3600.0  # an hour: longer than any rollout, short enough to notice a typo
# What one scenario may read in all (its file and every template it applies, repeats counted):
# rendering copies each template per use, so many references to one large file add up.
MAX_SCENARIO_BYTES = 4 * MAX_FILE_BYTES


class _Reader:
    """Validates one scenario file, collecting problems instead of stopping at the first."""

    def __init__(self, path: Path, problems: list[Problem]) -> None:
        self.path = path
        self.problems = problems
        self.start = len(problems)
        self.bytes_read = 0
        self.templates: dict[Path, tuple[tuple[Any, ...], int] | None] = {}
        self.namespace = DEFAULT_PROFILE.namespace  # of a resource written Kind/name

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
            self.problem(line, f"{what} path {value!r} must be printable text")
            return None
        if Path(value).is_absolute():
            self.problem(line, f"{what} {value!r} is an absolute path: write it relative to "
                         f"the scenario file, inside {folder}")
            return None
        try:
            source = (folder / value).resolve()
        except (OSError, RuntimeError):  # a loop of symbolic links
            self.problem(line, f"{what} {value!r} cannot be read: it is a loop of symbolic links")
            return None
        if not source.is_relative_to(folder):
            self.problem(line, f"{what} {value!r} leads outside the scenario's folder {folder}: "
                         "keep templates in that folder or a subfolder of it")
            return None
        return source

    def unknown_keys(self, node: LineDict, allowed: Iterable[str], what: str) -> None:
        allowed = set(allowed)
        for key in node:
            if key not in allowed:
                self.problem(node.line_of(key), f"unknown key {key!r} in {what}; "
                             f"expected one of: {', '.join(sorted(allowed))}")

    def text(self, node: LineDict, key: str, required: bool = True, default: str = "") -> str:
        value = node.get(key)
        if value is None:
            if required:
                self.problem(node.line, f"missing required key {key!r}")
            return default
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            self.problem(node.line_of(key), f"{key!r} must be text, not {_kind(value)}")
            return default
        return str(value).strip()

    def mapping(self, value: Any, line: int, what: str) -> LineDict | None:
        if isinstance(value, LineDict):
            return value
        self.problem(line, f"{what} must be a mapping, not {_kind(value)}")
        return None

    def listing(self, node: LineDict, key: str) -> list[Any]:
        value = node.get(key)
        if isinstance(value, list):
            return value
        if value is None or isinstance(value, str | LineDict):
            return [] if value is None else [value]
        self.problem(node.line_of(key), f"{key!r} must be a list")
        return []


def _kind(value: Any) -> str:
    """What a YAML value is, in the words of someone who wrote the file."""
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true/false"
    kinds = ((dict, "a mapping"), (list, "a list"), (str, "text"), (int | float, "a number"))
    return next((name for kind, name in kinds if isinstance(value, kind)), type(value).__name__)


def load_file(path: Path, problems: list[Problem]) -> Scenario | None:
    """The scenario in ``path``, or None after adding each of its problems to ``problems``."""
    reader = _Reader(path, problems)
    try:
        return _load(reader)
    finally:
        reader.in_line_order()


def _load(reader: _Reader) -> Scenario | None:
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
    scenario_id = reader.text(node, "id")
    if scenario_id and not re.fullmatch(r"[a-z0-9][a-z0-9-]*", scenario_id):
        reader.problem(node.line_of("id"), f"id {scenario_id!r} must be lower-case letters, "
                       "digits and dashes")
    profile = reader.text(node, "profile", required=False, default=DEFAULT_PROFILE.name)
    if profile not in PROFILES:
        reader.problem(node.line_of("profile"),
                       f"unknown profile {profile!r}; known: {', '.join(PROFILES)}")
    else:
        reader.namespace = PROFILES[profile].namespace
    order = node.get("order", 100)
    if not isinstance(order, int) or isinstance(order, bool):
        reader.problem(node.line_of("order"), "'order' must be a whole number")
        order = 100
    texts = {key: reader.text(node, key) for key in ("title", "summary", "security")}
    needs = _needs(reader, node, scenario_id)
    variables = _variables(reader, node)
    steps = _steps(reader, node)
    known = {v.name for v in variables}
    known |= {f"{v.name}_masked" for v in variables if v.secret}
    _check_placeholders(reader, node, steps, known)
    if not reader.ok:
        return None
    return Scenario(
        id=scenario_id, title=texts["title"], summary=texts["summary"],
        security=texts["security"], order=order, profile=profile,
        variables=variables, steps=steps, source=path, needs=needs,
    )


def _needs(reader: _Reader, node: LineDict, scenario_id: str) -> tuple[str, ...]:
    """Scenario ids that must run first; whether they exist is checked once all are loaded."""
    needs = []
    for value in reader.listing(node, "needs"):
        if not isinstance(value, str) or not re.fullmatch(r"[a-z0-9][a-z0-9-]*", value):
            reader.problem(node.line_of("needs"), f"'needs' lists scenario ids, not {value!r}")
        elif value == scenario_id:
            reader.problem(node.line_of("needs"), "a scenario cannot need itself")
        else:
            needs.append(value)
    return tuple(dict.fromkeys(needs))


def _variables(reader: _Reader, node: LineDict) -> tuple[Variable, ...]:
    variables = list(BUILTIN_VARIABLES)
    declared = node.get("variables") or LineDict()
    table = reader.mapping(declared, node.line_of("variables"), "'variables'")
    for name, spec in (table or {}).items():
        line = table.line_of(name) if table is not None else None
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            reader.problem(line, f"variable name {name!r} must be a valid identifier")
        if any(v.name == name for v in BUILTIN_VARIABLES):
            reader.problem(line, f"variable {name!r} is built in and cannot be redeclared")
        spec_node = reader.mapping(spec, line or 0, f"variable {name!r}")
        if spec_node is None:
            continue
        reader.unknown_keys(spec_node, {"description", "secret", "default"}, f"variable {name!r}")
        secret = spec_node.get("secret", False)
        if not isinstance(secret, bool):
            reader.problem(spec_node.line_of("secret"), "'secret' must be true or false")
        default = spec_node.get("default")
        variables.append(Variable(
            name, reader.text(spec_node, "description"), secret is True,
            None if default is None else str(default),
        ))
    return tuple(variables)


def _steps(reader: _Reader, node: LineDict) -> tuple[Step, ...]:
    raw_steps = node.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        reader.problem(node.line_of("steps"), "'steps' must be a non-empty list of steps")
        return ()
    steps: list[Step] = []
    ids: set[str] = set()
    for index, raw in enumerate(raw_steps, start=1):
        step_node = reader.mapping(raw, node.line_of("steps"), f"step {index}")
        if step_node is None:
            continue
        step = _step(reader, step_node, index)
        if step is None:
            continue
        if step.id in ids:
            reader.problem(step_node.line, f"step id {step.id!r} is used twice")
        ids.add(step.id)
        steps.append(step)
    return tuple(steps)


def _step(reader: _Reader, node: LineDict, index: int) -> Step | None:
    reader.unknown_keys(node, STEP_KEYS | set(ACTIONS), f"step {index}")
    actions = [a for a in ACTIONS if a in node]
    if len(actions) > 1:
        reader.problem(node.line, f"step {index} has several actions ({', '.join(actions)}); "
                       "split it into one step per action")
        return None
    action = actions[0] if actions else "explain"
    base = {
        "id": reader.text(node, "id", required=False, default=f"{action}-{index}"),
        "title": reader.text(node, "title"),
        "explain": reader.text(node, "explain", required=False),
    }
    if action != "request":
        for key in ("expect", "expect_with_mock"):
            if key in node:
                reader.problem(node.line_of(key), f"{key!r} only belongs on a request step")
    if action == "apply":
        manifests = [_manifest(reader, p, node.line_of("apply")) for p in reader.listing(node,
                                                                                         "apply")]
        return ApplyStep(**base, manifests=tuple(m for m in manifests if m is not None))
    if action == "wait":
        waits = [_wait(reader, w, node.line_of("wait")) for w in reader.listing(node, "wait")]
        return WaitStep(**base, waits=tuple(w for w in waits if w is not None))
    if action == "request":
        return _request_step(reader, node, base)
    if action == "delete":
        refs = [_ref(reader, r, None, node.line_of("delete")) for r in reader.listing(node,
                                                                                       "delete")]
        return DeleteStep(**base, refs=tuple(r for r in refs if r is not None))
    if action == "cleanup":
        if node.get("cleanup") is not True:
            reader.problem(node.line_of("cleanup"), "'cleanup' takes the value true")
        return CleanupStep(**base)
    if not base["explain"]:
        reader.problem(node.line, f"step {index} has no action and nothing to explain; "
                       f"give it 'explain' or one of: {', '.join(ACTIONS)}")
    return ExplainStep(**base)


def _manifest(reader: _Reader, value: Any, line: int) -> Manifest | None:
    if not isinstance(value, str):
        reader.problem(line, "'apply' lists manifest template paths (text)")
        return None
    source = reader.inside_folder(value, line, "manifest template")
    if source is None or reader.bytes_read > MAX_SCENARIO_BYTES:  # the latter already reported
        return None
    if source not in reader.templates:  # a template used by several steps is read once
        reader.templates[source] = _template(reader, source, value, line)
    template = reader.templates[source]
    if template is None:
        return None
    documents, size = template
    reader.bytes_read += size
    if reader.bytes_read > MAX_SCENARIO_BYTES:
        reader.problem(line, f"the scenario and its manifest templates add up to more than "
                       f"{MAX_SCENARIO_BYTES // MAX_FILE_BYTES} MiB: apply fewer or smaller "
                       "templates")
        return None
    return Manifest(value, source, documents)


def _template(reader: _Reader, source: Path, value: str, line: int
              ) -> tuple[tuple[Any, ...], int] | None:
    """The template's documents and size, or None after reporting why it cannot be used."""
    try:
        text = read_text_file(source)
    except UnreadableFile as exc:
        looked = f" (looked for {source})" if exc.reason == "not found" else ""
        reader.problem(line, f"manifest template {value!r} {exc.reason}{looked}")
        return None
    try:
        documents = load_all(text)
    except DocumentError as exc:
        reader.problems.append(Problem(str(source), exc.line, exc.reason))
        return None
    if not documents:
        reader.problem(line, f"manifest template {value!r} holds no documents")
    for doc in documents:
        if not isinstance(doc, LineDict):
            reader.problems.append(Problem(str(source), None, "a manifest must be a mapping"))
            continue
        for message in checks.lint(doc):
            reader.problems.append(Problem(str(source), doc.line, message))
    return tuple(documents), len(text)


def _ref(reader: _Reader, value: Any, namespace: str | None, line: int) -> ResourceRef | None:
    text = value if isinstance(value, str) else ""
    parts = text.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        reader.problem(line, f"resource {value!r} must be written Kind/name or Kind/namespace/name")
        return None
    if len(parts) == 3:
        return ResourceRef(parts[0], parts[2], parts[1])
    return ResourceRef(parts[0], parts[1], namespace or reader.namespace)


def _wait(reader: _Reader, value: Any, line: int) -> WaitFor | None:
    node = reader.mapping(value, line, "a wait entry")
    if node is None:
        return None
    reader.unknown_keys(node, WAIT_KEYS, "a wait entry")
    namespace = reader.text(node, "namespace", required=False) or None
    ref = _ref(reader, node.get("resource"), namespace, node.line_of("resource"))
    conditions: list[ConditionExpectation] = []
    table = reader.mapping(node.get("conditions"), node.line_of("conditions"), "'conditions'")
    for ctype, expected in (table or {}).items():
        cline = table.line_of(ctype) if table is not None else line
        if isinstance(expected, str) and expected in ("True", "False", "Unknown"):
            conditions.append(ConditionExpectation(ctype, expected))
        elif isinstance(expected, LineDict) and expected.get("status") in ("True", "False"):
            reason = expected.get("reason")
            conditions.append(ConditionExpectation(ctype, expected["status"],
                                                   None if reason is None else str(reason)))
        else:
            reader.problem(cline, f"condition {ctype!r} must be \"True\", \"False\" or "
                           "{status: ..., reason: ...} (quote True/False)")
    timeout = node.get("timeout", DEFAULT_WAIT_TIMEOUT)
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or \
            not math.isfinite(timeout) or not 0 < timeout <= MAX_WAIT_TIMEOUT:
        reader.problem(node.line_of("timeout"), "'timeout' must be a number of seconds above 0 "
                       f"and at most {MAX_WAIT_TIMEOUT:g}")
        timeout = DEFAULT_WAIT_TIMEOUT
    if ref is None or not conditions:
        if ref is not None:
            reader.problem(node.line, "a wait entry needs at least one condition")
        return None
    return WaitFor(ref, tuple(conditions), float(timeout))


def _request_step(reader: _Reader, node: LineDict, base: dict[str, str]) -> RequestStep | None:
    spec = reader.mapping(node.get("request"), node.line_of("request"), "'request'")
    if spec is None:
        return None
    reader.unknown_keys(spec, REQUEST_KEYS, "'request'")
    method = reader.text(spec, "method", required=False, default="POST").upper()
    path = reader.text(spec, "path")
    headers = spec.get("headers") or {}
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        reader.problem(spec.line_of("headers"), "'headers' must map header names to text")
        headers = {}
    for where, message in checks.request_problems(method, path, tuple(headers.items())):
        if where in ("method", "path"):
            reader.problem(spec.line_of(where), message)
        else:
            reader.problem(headers.line_of(where) if isinstance(headers, LineDict)
                           else spec.line_of("headers"), message)
    stream = spec.get("stream", False)
    if not isinstance(stream, bool):
        reader.problem(spec.line_of("stream"), "'stream' must be true or false")
    request = RequestSpec(method, path, tuple(headers.items()), spec.get("body"), stream is True)
    expect = _expectation(reader, node, "expect")
    if "expect" not in node:
        reader.problem(node.line, "a request step needs 'expect' (at least a status)")
    return RequestStep(**base, request=request, expect=expect,
                       expect_with_mock=_expectation(reader, node, "expect_with_mock"))


def _expectation(reader: _Reader, node: LineDict, key: str) -> Expectation:
    if key not in node:
        return Expectation()
    spec = reader.mapping(node.get(key), node.line_of(key), repr(key))
    if spec is None:
        return Expectation()
    reader.unknown_keys(spec, EXPECT_KEYS, repr(key))
    status = spec.get("status")
    if status is not None and (not isinstance(status, int) or not 100 <= status <= 599):
        reader.problem(spec.line_of("status"), "'status' must be an HTTP status code (100-599)")
        status = None
    texts = {name: tuple(str(t) for t in reader.listing(spec, name)) for name in ("contains",
                                                                                   "lacks")}
    model = reader.text(spec, "model", required=False) or None
    return Expectation(status, model, texts["contains"], texts["lacks"])


def placeholders(value: Any) -> set[str]:
    """Every ``${name}`` in the strings (and mapping keys) of a nested value."""
    if isinstance(value, str):
        return set(PLACEHOLDER.findall(value))
    if isinstance(value, dict):
        return set().union(*(placeholders(k) | placeholders(v) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return set().union(*(placeholders(v) for v in value))
    return set()


def _check_placeholders(reader: _Reader, node: LineDict, steps: Sequence[Step],
                        known: set[str]) -> None:
    for step in steps:
        used: set[str] = set()
        if isinstance(step, ApplyStep):
            used = placeholders([m.documents for m in step.manifests])
        elif isinstance(step, RequestStep):
            used = placeholders([step.request.path, step.request.headers, step.request.body,
                                 step.expect.contains, step.expect.lacks,
                                 step.expect_with_mock.contains, step.expect_with_mock.lacks])
        for name in sorted(used - known):
            reader.problem(node.line_of("steps"), f"step {step.id!r} uses ${{{name}}}, which is "
                           f"not a declared variable (known: {', '.join(sorted(known))})")
