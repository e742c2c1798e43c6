"""What the API server would refuse: admission from the upstream CRD schemas and their CEL rules.

The facts come from ``sandbox/runtimes/sim/schemas``, generated from the upstream CRDs by
``tools/gen_admission_schemas.py``. Admission runs the API server's steps in its order:

1. server-side apply turns the manifest into a typed object: a field the schema does not declare
   (``.spec.foo: field not declared in schema``), a value of the wrong JSON type and a duplicate
   key in a list-type=map list are refused there, in structured-merge-diff's words;
2. the schema's defaults are applied, so the stored object shows them;
3. ObjectMeta, the structural schema (``jsonschema``) and the ``x-kubernetes-list-type``
   invariants are checked;
4. unless step 3 found a blocking error, every ``x-kubernetes-validations`` CEL rule on a present
   value is evaluated; transition rules (``oldSelf``) only on an update that has the old value.

Errors are worded as the API server words them (``Kind.group "name" is invalid: ...``).

CEL library: ``common-expression-language`` (the Rust ``cel`` crate behind a Python module) rather
than ``cel-python``. Tried on every rule in these CRDs, both compile all of them, but the Rust
one evaluates a Gateway API rule in about 20 µs against about 550 µs for ``cel-python`` (this
budget is 5 ms per manifest, with dozens of rules), it has the cross-type numeric equality
Kubernetes' cel-go has (``1 == 1.0``; ``cel-python`` raises), it ships typed stubs, and its
optional standard library already carries the Kubernetes string extensions the CRDs use
(``split``, ``indexOf``, ``lastIndexOf``). Kubernetes' own functions and cel-go's conversions
(Go's durations, ``string()``, ``size()`` in characters) are in ``cel_library.py`` and
``cel_addresses.py``; tests/tier/test_cel_rules.py holds every rule to the real API server.
``benchmarks/admission_cel_libraries.py`` repeats the comparison.

The structural checks live in ``structural.py``, the API server's compiled-in checks (ObjectMeta,
Secrets, ConfigMaps) in ``core_checks.py`` and the rules in ``cel_rules.py``; the libraries load
on first use, so importing this module costs the app's start-up nothing. What is left here
(about 350 lines) is the pipeline itself, read top to bottom in the API server's order.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from sandbox.errors import ManifestRejected
from sandbox.profiles import DEFAULT_PROFILE
from sandbox.records import record
from sandbox.runtimes.sim import cel_rules
from sandbox.runtimes.sim.core_checks import CORE_CHECKS, base64_error_offset, meta_errors
from sandbox.runtimes.sim.scope import WORKLOAD_KINDS
from sandbox.runtimes.sim.structural import (
    BLOCKING,
    FieldError,
    go_value,
    list_type_errors,
    structural_errors,
)

# The CRD sets each profile installs (the folder names under sandbox/runtimes/sim/schemas).
CRD_SETS: dict[str, tuple[str, ...]] = {
    "kgateway-v2.1": ("gateway-api-v1.4.0", "kgateway-v2.1"),
    "agentgateway-v1.4": ("gateway-api-v1.6.0", "agentgateway-v1.4.1"),
}

_STRING: dict[str, Any] = {"type": "string"}
_STRING_MAP: dict[str, Any] = {"type": "object", "additionalProperties": _STRING}
# Core kinds are compiled into the API server, not described by a CRD: these are the fields
# of their Go types that a manifest sets.
CORE_SCHEMAS: dict[str, dict[str, Any]] = {
    "Secret": {"type": "object", "properties": {
        "apiVersion": _STRING, "kind": _STRING, "metadata": {"type": "object"},
        "type": _STRING, "immutable": {"type": "boolean"}, "data": _STRING_MAP,
        "stringData": _STRING_MAP}},
    "ConfigMap": {"type": "object", "properties": {
        "apiVersion": _STRING, "kind": _STRING, "metadata": {"type": "object"},
        "immutable": {"type": "boolean"}, "data": _STRING_MAP, "binaryData": _STRING_MAP}},
}
# metav1.ObjectMeta's JSON fields: metadata is typed by the API server, not by the CRD.
OBJECT_META = frozenset({
    "name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation",
    "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels",
    "annotations", "ownerReferences", "finalizers", "managedFields"})
UNDECLARED = "field not declared in schema"
CEL_NOT_RUN = ("<nil>: Invalid value: null: some validation rules were not checked because "
               "the object was invalid; correct the existing errors to complete validation")


@record
class Kind:
    """A kind the simulated cluster serves, and where its schema comes from."""

    api_version: str
    kind: str
    plural: str
    namespaced: bool
    file: str | None  # None: a core kind, checked against CORE_SCHEMAS

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def qualified(self) -> str:
        return f"{self.kind}.{self.group}" if self.group else self.kind

    @property
    def schema(self) -> dict[str, Any]:
        return _schema(self.file) if self.file else CORE_SCHEMAS.get(self.kind, UNCHECKED)


@record
class Admitted:
    """An admitted manifest: its kind and the object as the API server would store it."""

    type: Kind
    object: dict[str, Any]

    @property
    def kind(self) -> str:
        return self.type.kind


# Built-in kinds the simulated cluster does not keep are still known to it (a real API server
# knows them): admitted unchecked here, then refused in the sim's own words (sim/scope.py).
UNCHECKED: dict[str, Any] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
CORE_KINDS = (Kind("v1", "Secret", "secrets", True, None),
              Kind("v1", "ConfigMap", "configmaps", True, None),
              *(Kind(version, kind, kind.lower() + "s", kind != "Namespace", None)
                for version, kind in sorted(WORKLOAD_KINDS)))


# The package's data, beside this module (importlib.resources costs each run a few ms more).
_SCHEMAS = Path(__file__).with_name("schemas")


@functools.cache
def _index() -> dict[str, list[dict[str, Any]]]:
    text = (_SCHEMAS / "index.json").read_text("utf-8")
    index: dict[str, list[dict[str, Any]]] = json.loads(text)
    return index


@functools.cache
def _schema(file: str) -> dict[str, Any]:
    text = (_SCHEMAS / file).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@functools.cache
def kinds(profile: str | None = None) -> dict[tuple[str, str], Kind]:
    """Every (apiVersion, kind) the profile's cluster serves."""
    # A profile without its own CRD sets gets the default profile's.
    sets = CRD_SETS.get(profile or DEFAULT_PROFILE.name) or CRD_SETS[DEFAULT_PROFILE.name]
    found = {(k.api_version, k.kind): k for k in CORE_KINDS}
    for set_name in sets:
        for entry in _index()[set_name]:
            found[(entry["apiVersion"], entry["kind"])] = Kind(
                entry["apiVersion"], entry["kind"], entry["plural"], entry["namespaced"],
                entry["file"])
    return found


def kind_of(doc: Mapping[str, Any], profile: str | None = None) -> Kind:
    api_version, kind = str(doc.get("apiVersion", "")), str(doc.get("kind", ""))
    known = kinds(profile)
    found = known.get((api_version, kind))
    if found is None:
        raise ManifestRejected(
            f'no matches for kind "{kind}" in version "{api_version}"',
            "check apiVersion and kind (they are case-sensitive); this cluster knows: "
            + ", ".join(f"{k.kind} ({k.api_version})" for k in known.values()),
        )
    return found


def admit(doc: Mapping[str, Any], old: Mapping[str, Any] | None = None,
          profile: str | None = None) -> Admitted:
    """Raise :class:`ManifestRejected` as the API server would; return what it would store."""
    kind = kind_of(doc, profile)
    metadata = doc.get("metadata") if isinstance(doc.get("metadata"), Mapping) else {}
    assert isinstance(metadata, Mapping)
    name = str(metadata.get("name") or "")
    if not name:  # server-side apply addresses the object by name: nothing else is read
        raise ManifestRejected("name must be provided",
                               "give the manifest a metadata.name (apply cannot generate one)")
    schema = kind.schema
    obj = {k: copy.deepcopy(v) for k, v in doc.items() if k != "status"}
    where = f"{metadata.get('namespace') or ''}/{name}" if kind.namespaced else f"/{name}"
    gvk = f"{kind.group}/{kind.api_version.rpartition('/')[2]}, Kind={kind.kind}"
    undeclared = list(typed_object_errors(obj, schema))
    if undeclared:
        listed = (undeclared[0] if len(undeclared) == 1
                  else "errors:\n  " + "\n  ".join(undeclared))
        raise ManifestRejected(
            f"failed to create typed patch object ({where}; {gvk}): {listed}",
            "a field name is misspelled or in the wrong place (names are case-sensitive)")
    _check_conversion(obj, kind, where, gvk)
    apply_defaults(obj, schema)
    old_obj = {k: v for k, v in old.items() if k != "status"} if old is not None else None
    found = validate(obj, schema, old_obj)
    if kind.file is None and kind.kind in CORE_CHECKS:
        found += CORE_CHECKS[kind.kind](obj)
    errors = [str(e) for e in found]
    if errors:
        joined = errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]"
        raise ManifestRejected(f'{kind.qualified} "{name}" is invalid: {joined}',
                               "fix the fields named above and apply again")
    return Admitted(kind, obj)


def validate(obj: Mapping[str, Any], schema: Mapping[str, Any],
             old: Mapping[str, Any] | None = None) -> list[FieldError]:
    """Every error the API server reports for ``obj`` (already defaulted) against ``schema``."""
    errors = meta_errors(obj.get("metadata"))
    errors += structural_errors(obj, schema)
    errors += list_type_errors(obj, schema)
    if any(e.type in BLOCKING for e in errors):
        return [*errors, FieldError("<nil>", "Invalid value", CEL_NOT_RUN.partition(": ")[2])]
    return errors + cel_rules.rule_errors(obj, schema, old)


# -- server-side apply: the typed object ----------------------------------------------------
def typed_object_errors(value: Any, schema: Mapping[str, Any], path: str = "") -> Iterator[str]:
    """Fields the schema does not declare, values of the wrong JSON type and duplicate keys in
    a list-type=map list, as structured-merge-diff reports them: they stop server-side apply
    before validation."""
    mismatch = _type_mismatch(value, schema)
    if mismatch:
        yield f"{path}: {mismatch}"
    elif isinstance(value, dict):
        props: Mapping[str, Any] = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        open_ = schema.get("x-kubernetes-preserve-unknown-fields") or extra is True
        typed_meta = schema.get("x-kubernetes-embedded-resource") or path == ""
        for key, item in value.items():
            if key == "metadata" and typed_meta:
                yield from _meta_fields(item, path)
            elif key in props:
                yield from typed_object_errors(item, props[key], f"{path}.{key}")
            elif isinstance(extra, dict):
                yield from typed_object_errors(item, extra, f"{path}.{key}")
            elif not open_:
                # structured-merge-diff stops walking a map at its first undeclared field (in
                # Go's random map order; here in the document's, one of the orders it may take)
                yield f"{path}.{key}: {UNDECLARED}"
                return
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        keys = schema.get("x-kubernetes-list-map-keys")
        seen: set[str] = set()
        for index, item in enumerate(value):
            element = _smd_element(item, keys, index)
            if keys and element in seen:
                yield f"{path}: duplicate entries for key {element}"
            seen.add(element)
            yield from typed_object_errors(item, schema["items"], path + element)


def _meta_fields(metadata: Any, path: str) -> Iterator[str]:
    """ObjectMeta is typed by the API server: the first field it does not have."""
    if isinstance(metadata, dict):
        unknown = next((k for k in metadata if k not in OBJECT_META), None)
        if unknown is not None:
            yield f"{path}.metadata.{unknown}: {UNDECLARED}"


def _type_mismatch(value: Any, schema: Mapping[str, Any]) -> str | None:
    """structured-merge-diff's words for a value that is not of the schema's type."""
    kind = schema.get("type")
    if value is None or schema.get("x-kubernetes-int-or-string") or not kind:
        return None
    if kind in ("integer", "number"):
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        return None if numeric else f"expected numeric (int or float), got {_go_type(value)}"
    if kind == "string" and not isinstance(value, str):
        return f"expected string, got &value.valueUnstructured{{Value:{_go_sharp(value)}}}"
    expected = {"boolean": ("boolean", bool), "object": ("map", dict), "array": ("list", list)}
    if kind in expected and not isinstance(value, expected[kind][1]):
        return f"expected {expected[kind][0]}, got &{{{_go_plain(value)}}}"
    return None


def _go_type(value: Any) -> str:
    """Go's %T of a decoded JSON value."""
    for python, go in ((bool, "bool"), (int, "int64"), (float, "float64"), (str, "string"),
                       (list, "[]interface {}"), (dict, "map[string]interface {}")):
        if isinstance(value, python):
            return go
    return "<nil>"


def _go_sharp(value: Any) -> str:
    """Go's %#v of a decoded JSON value."""
    if isinstance(value, list):
        return "[]interface {}{" + ", ".join(_go_sharp(v) for v in value) + "}"
    if isinstance(value, dict):
        return "map[string]interface {}{" + ", ".join(
            f"{json.dumps(k)}:{_go_sharp(v)}" for k, v in sorted(value.items())) + "}"
    return go_value(value)


def _go_plain(value: Any) -> str:
    """Go's %v of a decoded JSON value."""
    if isinstance(value, list):
        return "[" + " ".join(_go_plain(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{_go_plain(v)}" for k, v in sorted(value.items())) + "]"
    return value if isinstance(value, str) else go_value(value)


def _smd_element(item: Any, keys: list[str] | None, index: int) -> str:
    if keys and isinstance(item, dict) and all(k in item for k in keys):
        return "[" + ",".join(f"{k}={json.dumps(item[k])}" for k in keys) + "]"
    return f"[{index}]"


def apply_defaults(value: Any, schema: Mapping[str, Any]) -> None:
    """Fill in the schema's defaults where a field is absent or null (and not nullable), as the
    API server does. Other nulls stay: server-side apply keeps them, and validation refuses
    them where the schema does not allow null."""
    if isinstance(value, dict):
        props: Mapping[str, Any] = schema.get("properties") or {}
        for key, child in props.items():
            unset = key not in value or (value[key] is None and not child.get("nullable"))
            if unset and "default" in child:
                value[key] = copy.deepcopy(child["default"])
            if key in value:
                apply_defaults(value[key], child)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for item in value.values():
                apply_defaults(item, extra)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            apply_defaults(item, schema["items"])


def unevaluable_rules() -> list[str]:
    """Rules in the package data the CEL library cannot evaluate here. Admission refuses an
    object whose rule fails to evaluate, as the API server does, so a test holds this list."""
    return cel_rules.unevaluable_rules(
        (entry["file"], _schema(entry["file"])) for entries in _index().values()
        for entry in entries)


# The fields of core kinds that hold bytes: JSON carries them as base64 text.
BYTES_FIELDS = {"Secret": "data", "ConfigMap": "binaryData"}


def _check_conversion(obj: Mapping[str, Any], kind: Kind, where: str, gvk: str) -> None:
    """A core kind's bytes must be base64: the API server decodes them (keys in sorted order,
    as Go marshals a map) when it converts the applied object to its Go type."""
    field = BYTES_FIELDS.get(kind.kind) if kind.file is None else None
    values = obj.get(field) if field else None
    if not isinstance(values, Mapping):
        return
    for key in sorted(values):
        offset = base64_error_offset(str(values[key]))
        if offset is not None:
            raise ManifestRejected(
                f"failed to convert new object ({where}; {gvk}) to proper version: unable to "
                f"convert unstructured object to {gvk}: error decoding from json: illegal "
                f"base64 data at input byte {offset}",
                f"{field}.{key} must be base64; put plain text under stringData instead")
