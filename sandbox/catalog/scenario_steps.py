"""Reading a scenario's steps: apply, wait, request with its expectations, delete, cleanup."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sandbox.catalog import checks
from sandbox.catalog.hidden_characters import hidden_characters
from sandbox.catalog.scenario_reader import MAX_SCENARIO_BYTES, Reader, kind_of
from sandbox.catalog.scenarios import (
    ApplyStep,
    CleanupStep,
    DeleteStep,
    Expectation,
    ExplainStep,
    Manifest,
    RequestSpec,
    RequestStep,
    Step,
    WaitStep,
)
from sandbox.catalog.served import KindUse
from sandbox.catalog.textfiles import MAX_FILE_BYTES, UnreadableFile, read_text_file
from sandbox.documents import DocumentError, LineDict, load_all
from sandbox.errors import Problem
from sandbox.runtimes.runtime import ConditionExpectation, ResourceRef, WaitFor
from sandbox.untrusted import quoted

STEP_KEYS = {"id", "title", "explain", "expect", "expect_with_mock"}
ACTIONS = ("apply", "wait", "request", "delete", "cleanup")
REQUEST_KEYS = {"method", "path", "headers", "body", "stream"}
EXPECT_KEYS = {"status", "model", "contains", "lacks"}
WAIT_KEYS = {"resource", "namespace", "conditions", "timeout"}
DEFAULT_WAIT_TIMEOUT = 180.0
MAX_WAIT_TIMEOUT = 3600.0  # an hour: longer than any rollout, short enough to notice a typo


def read_steps(reader: Reader, node: LineDict) -> tuple[Step, ...]:
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
            reader.problem(step_node.line, f"step id {quoted(step.id)} is used twice")
        ids.add(step.id)
        steps.append(step)
    return tuple(steps)


def _step(reader: Reader, node: LineDict, index: int) -> Step | None:
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


def _manifest(reader: Reader, value: Any, line: int) -> Manifest | None:
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


def _template(reader: Reader, source: Path, value: str, line: int
              ) -> tuple[tuple[Any, ...], int] | None:
    """The template's documents and size, or None after reporting why it cannot be used."""
    try:
        text = read_text_file(source)
    except UnreadableFile as exc:
        looked = f" (looked for {source})" if exc.reason == "not found" else ""
        reader.problem(line, f"manifest template {quoted(value)} {exc.reason}{looked}")
        return None
    try:
        documents = load_all(text)
    except DocumentError as exc:
        reader.problems.append(Problem(str(source), exc.line, exc.reason))
        return None
    if not documents:
        reader.problem(line, f"manifest template {quoted(value)} holds no documents")
    listed, known = documents, len(reader.problems)
    documents = list_items(documents, lambda at, reason: reader.problems.append(
        Problem(str(source), at, reason)))
    # Lists, all empty: kubectl stops at such a file. Items of the wrong shape were said to be
    # the problem just now: they are why nothing is left, and the one thing to fix.
    if listed and not documents and len(reader.problems) == known:
        reader.problems.append(Problem(
            str(source), getattr(listed[0], "line", None), "the List holds no manifests, so "
            "nothing would be applied (kubectl: \"no objects passed to apply\"): add the "
            "manifests, or remove the file from the step"))
    for doc in documents:
        if not isinstance(doc, LineDict):
            reader.problems.append(Problem(str(source), None, "a manifest must be a mapping"))
            continue
        for at, reason in hidden_characters(doc, doc.line):
            reader.problems.append(Problem(str(source), at, reason))
        for message in checks.lint(doc):
            reader.problems.append(Problem(str(source), doc.line, message))
        if isinstance(doc.get("kind"), str) and isinstance(doc.get("apiVersion"), str):
            reader.kind_uses.append(KindUse(doc["kind"], doc["apiVersion"], str(source),
                                            doc.line))
    return tuple(documents), len(text)


def list_items(documents: Sequence[Any], problem: Callable[[int, str], None]) -> list[Any]:
    """The documents with each List (``apiVersion: v1``, ``kind: List``, or a typed list such as
    ``ConfigMapList``) replaced by its items, Lists inside Lists too, as ``kubectl apply``
    applies them; ``problem(line, reason)`` is told of an item that is not a manifest, or items
    that are not a list."""
    found: list[Any] = []
    pending = list(reversed(documents))
    while pending:
        doc = pending.pop()
        if not _is_list(doc):
            found.append(doc)
            continue
        items = doc.get("items") or []
        if not isinstance(items, list):
            problem(doc.line_of("items"), "the items of a List must be a list of manifests")
            continue
        for number, item in enumerate(items, start=1):
            if not isinstance(item, LineDict):
                problem(doc.line, f"item {number} of a List is {kind_of(item)}, not a manifest "
                        "(a mapping)")
        pending.extend(reversed([item for item in items if isinstance(item, LineDict)]))
    return found


def _is_list(doc: Any) -> bool:
    """A List (``v1``), or a typed list (``ConfigMapList``) with its items: kubectl reads any
    object with ``items`` as a list, whatever its kind."""
    if not isinstance(doc, LineDict):
        return False
    kind = doc.get("kind")
    return (kind == "List" and doc.get("apiVersion") == "v1") or (
        isinstance(kind, str) and kind.endswith("List") and "items" in doc)


def _ref(reader: Reader, value: Any, namespace: str | None, line: int) -> ResourceRef | None:
    text = value if isinstance(value, str) else ""
    parts = text.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        shown = quoted(value) if isinstance(value, str) else repr(value)
        reader.problem(line, f"resource {shown} must be written Kind/name or Kind/namespace/name")
        return None
    reader.kind_uses.append(KindUse(parts[0], None, str(reader.path), line))
    if len(parts) == 3:
        return ResourceRef(parts[0], parts[2], parts[1])
    return ResourceRef(parts[0], parts[1], namespace or reader.namespace)


def _wait(reader: Reader, value: Any, line: int) -> WaitFor | None:
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
            reader.problem(cline, f"condition {quoted(ctype)} must be \"True\", \"False\" or "
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


def _request_step(reader: Reader, node: LineDict, base: dict[str, str]) -> RequestStep | None:
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


def _expectation(reader: Reader, node: LineDict, key: str) -> Expectation:
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
