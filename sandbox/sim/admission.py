"""What the API server would refuse: admission from the upstream CRD schemas and their CEL rules.

The facts come from ``sandbox/sim/schemas``, generated from the upstream CRDs by
``tools/gen_admission_schemas.py``. Admission runs the API server's steps in its order:

1. server-side apply turns the manifest into a typed object: a field the schema does not declare
   is refused (``.spec.foo: field not declared in schema``);
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
(``split``, ``indexOf``, ``lastIndexOf``). The Kubernetes-only functions (``quantity``,
``isURL``) are added here.

Libraries are imported on first use: importing this module costs the app's start-up nothing.
"""

from __future__ import annotations

import base64
import binascii
import copy
import functools
import ipaddress
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sandbox.errors import ManifestRejected
from sandbox.profiles import DEFAULT_PROFILE

if TYPE_CHECKING:
    import cel

# The CRD sets each profile installs (the folder names under sandbox/sim/schemas).
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
BLOCKING = frozenset({"Required value", "Unsupported value", "Too long", "Too many",
                      "Invalid type"})
CEL_NOT_RUN = ('<nil>: Invalid value: "null": some validation rules were not checked because '
               "the object was invalid; correct the existing errors to complete validation")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS_SUBDOMAIN_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    r"for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")


@dataclass(frozen=True)
class Kind:
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
        return _schema(self.file) if self.file else CORE_SCHEMAS[self.kind]


@dataclass(frozen=True)
class Admitted:
    """An admitted manifest: its kind and the object as the API server would store it."""

    type: Kind
    object: dict[str, Any]

    @property
    def kind(self) -> str:
        return self.type.kind


@dataclass(frozen=True)
class FieldError:
    """One ``field.Error``: the path, its type (``Required value``...) and the rest."""

    path: str
    type: str
    body: str  # what follows the path, as the API server prints it

    def __str__(self) -> str:
        return f"{self.path}: {self.body}"


CORE_KINDS = (Kind("v1", "Secret", "secrets", True, None),
              Kind("v1", "ConfigMap", "configmaps", True, None))


@functools.cache
def _index() -> dict[str, list[dict[str, Any]]]:
    text = resources.files("sandbox.sim").joinpath("schemas", "index.json").read_text("utf-8")
    index: dict[str, list[dict[str, Any]]] = json.loads(text)
    return index


@functools.cache
def _schema(file: str) -> dict[str, Any]:
    text = resources.files("sandbox.sim").joinpath("schemas", file).read_text("utf-8")
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
    name = str(metadata.get("name", ""))
    schema = kind.schema
    obj = {k: copy.deepcopy(v) for k, v in doc.items() if k != "status"}
    undeclared = list(typed_object_errors(obj, schema))
    if undeclared:
        where = f"{metadata.get('namespace') or ''}/{name}" if kind.namespaced else f"/{name}"
        listed = (undeclared[0] if len(undeclared) == 1
                  else "errors:\n  " + "\n  ".join(undeclared))
        raise ManifestRejected(
            f"failed to create typed patch object ({where}; {kind.api_version}, "
            f"Kind={kind.kind}): {listed}",
            "a field name is misspelled or in the wrong place (names are case-sensitive)")
    drop_nulls(obj, schema)
    apply_defaults(obj, schema)
    old_obj = {k: v for k, v in old.items() if k != "status"} if old is not None else None
    errors = [str(e) for e in validate(obj, schema, old_obj)]
    if kind.kind == "Secret":
        errors += _secret_data_errors(obj)
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
    return errors + rule_errors(obj, schema, old)


# -- server-side apply: the typed object ----------------------------------------------------
def typed_object_errors(value: Any, schema: Mapping[str, Any], path: str = "") -> Iterator[str]:
    """Fields the schema does not declare and duplicate keys in a list-type=map list, as
    structured-merge-diff reports them: both stop server-side apply before validation."""
    if isinstance(value, dict):
        if schema.get("x-kubernetes-embedded-resource") or path == "":
            meta = value.get("metadata")
            if isinstance(meta, dict):
                yield from (f"{path}.metadata.{k}: {UNDECLARED}" for k in meta
                            if k not in OBJECT_META)
        props: Mapping[str, Any] = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        open_ = schema.get("x-kubernetes-preserve-unknown-fields") or extra is True
        for key, item in value.items():
            if path == "" and key == "metadata":
                continue
            if key in props:
                yield from typed_object_errors(item, props[key], f"{path}.{key}")
            elif isinstance(extra, dict):
                yield from typed_object_errors(item, extra, f"{path}.{key}")
            elif not open_:
                yield f"{path}.{key}: {UNDECLARED}"
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        keys = schema.get("x-kubernetes-list-map-keys")
        seen: set[str] = set()
        for index, item in enumerate(value):
            element = _smd_element(item, keys, index)
            if keys and element in seen:
                yield f"{path}: duplicate entries for key {element}"
            seen.add(element)
            yield from typed_object_errors(item, schema["items"], path + element)


def _smd_element(item: Any, keys: list[str] | None, index: int) -> str:
    if keys and isinstance(item, dict) and all(k in item for k in keys):
        return "[" + ",".join(f"{k}={json.dumps(item[k])}" for k in keys) + "]"
    return f"[{index}]"


def drop_nulls(value: Any, schema: Mapping[str, Any]) -> None:
    """Remove ``field: null`` where the schema is not nullable: in an apply configuration a
    null means "not set" (an empty YAML value, ``port:``, is one)."""
    if isinstance(value, dict):
        props: Mapping[str, Any] = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for key in list(value):
            child = props.get(key) or (extra if isinstance(extra, dict) else {})
            if value[key] is None and not child.get("nullable"):
                del value[key]
            else:
                drop_nulls(value[key], child)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            drop_nulls(item, schema["items"])


def apply_defaults(value: Any, schema: Mapping[str, Any]) -> None:
    """Fill in the schema's defaults where a field is absent, as the API server does on decode."""
    if isinstance(value, dict):
        props: Mapping[str, Any] = schema.get("properties") or {}
        for key, child in props.items():
            if key not in value and "default" in child:
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


# -- ObjectMeta -----------------------------------------------------------------------------
def meta_errors(metadata: Any) -> list[FieldError]:
    if not isinstance(metadata, Mapping):
        return [FieldError("metadata.name", "Required value",
                           "Required value: name or generateName is required")]
    name = metadata.get("name")
    if not name and not metadata.get("generateName"):
        return [FieldError("metadata.name", "Required value",
                           "Required value: name or generateName is required")]
    if not isinstance(name, str):
        return []
    problems = []
    if len(name) > 253:
        problems.append("must be no more than 253 characters")
    if not DNS_SUBDOMAIN.match(name):
        problems.append(DNS_SUBDOMAIN_MESSAGE)
    return [FieldError("metadata.name", "Invalid value", f"Invalid value: {_go(name)}: {p}")
            for p in problems]


# -- structural schema (jsonschema) ---------------------------------------------------------
def structural_errors(obj: Mapping[str, Any], schema: Mapping[str, Any]) -> list[FieldError]:
    errors: list[FieldError] = []
    seen: set[str] = set()
    for error in _validator(schema).iter_errors(obj):
        for found in _field_errors(error):
            if str(found) not in seen:
                seen.add(str(found))
                errors.append(found)
    return sorted(errors, key=lambda e: e.path)


# Validators by schema identity; the schema is kept so that its id is not reused.
_VALIDATORS: dict[int, tuple[Mapping[str, Any], Any]] = {}


def _validator(schema: Mapping[str, Any]) -> Any:
    cached = _VALIDATORS.get(id(schema))
    if cached is None or cached[0] is not schema:
        cached = _VALIDATORS[id(schema)] = (schema, _validator_class()(schema,
                                                                      format_checker=_formats()))
    return cached[1]


def _jsonschema() -> Any:
    """The library, imported on first use (start-up does not pay for it)."""
    import jsonschema  # type: ignore[import-untyped]

    return jsonschema


def _formats() -> Any:
    checker = _jsonschema().FormatChecker(())
    for name, check in FORMATS.items():
        checker.checks(name)(check)
    return checker


@functools.cache
def _validator_class() -> Any:
    """Draft 4 (OpenAPI v3.0 is based on it) with Kubernetes' keywords."""
    jsonschema = _jsonschema()

    def int_or_string(validator: Any, enabled: Any, instance: Any, schema: Any) -> Iterator[Any]:
        if enabled and not (isinstance(instance, str) or _is_int(instance)):
            yield jsonschema.ValidationError("int-or-string", validator="type",
                                             validator_value="integer,string")

    def typed(validator: Any, types: Any, instance: Any, schema: Any) -> Iterator[Any]:
        if instance is None and schema.get("nullable"):
            return
        names = [types] if isinstance(types, str) else list(types)
        if not any(validator.is_type(instance, name) for name in names):
            yield jsonschema.ValidationError(f"{instance!r} is not of type {types}")

    return jsonschema.validators.extend(
        jsonschema.Draft4Validator,
        {"x-kubernetes-int-or-string": int_or_string, "type": typed})


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _in_range(bits: int) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        return not _is_int(value) or -(2 ** (bits - 1)) <= value < 2 ** (bits - 1)
    return check


def _ip(version: int) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        if not isinstance(value, str):
            return True
        try:
            return ipaddress.ip_address(value).version == version
        except ValueError:
            return False
    return check


def _date_time(value: Any) -> bool:
    return not isinstance(value, str) or bool(re.match(
        r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$", value))


FORMATS: dict[str, Callable[[Any], bool]] = {
    "int32": _in_range(32), "int64": _in_range(64), "ipv4": _ip(4), "ipv6": _ip(6),
    "date-time": _date_time,
}


def _path(parts: Any) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _go(value: Any) -> str:
    """A value as Go's field.Error prints it: strings quoted, numbers bare."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, sort_keys=True)


def _field_errors(error: Any) -> Iterator[FieldError]:
    """The API server's ``field.Error`` for one jsonschema error (kube-openapi's wording)."""
    path = _path(error.absolute_path)
    value, limit = error.instance, error.validator_value
    word = error.validator
    if word == "required":
        prefix = f"{path}." if path else ""
        for key in limit:
            if isinstance(value, dict) and key not in value:
                yield FieldError(f"{prefix}{key}", "Required value", "Required value")
        return
    if word == "enum":
        # non-string values are shown as their JSON, quoted like the strings
        supported = ", ".join(json.dumps(v if isinstance(v, str) else json.dumps(v))
                              for v in limit)
        yield FieldError(path, "Unsupported value",
                         f"Unsupported value: {_go(value)}: supported values: {supported}")
        return
    if word in ("type", "x-kubernetes-int-or-string"):
        got = _json_type(value)
        yield FieldError(path, "Invalid type", f'Invalid value: "{got}": {path} in body must '
                         f'be of type {limit if isinstance(limit, str) else ",".join(limit)}: '
                         f'"{got}"')
        return
    if word == "maxLength":
        yield FieldError(path, "Too long", f"Too long: may not be more than {limit} bytes")
        return
    if word in ("maxItems", "maxProperties"):
        yield FieldError(path, "Too many",
                         f"Too many: {len(value)}: must have at most {limit} items")
        return
    details = {
        "pattern": f"{path} in body should match '{limit}'",
        "minLength": f"{path} in body should be at least {limit} chars long",
        "minimum": f"{path} in body should be greater than or equal to {limit}",
        "maximum": f"{path} in body should be less than or equal to {limit}",
        "minItems": f"{path} in body should have at least {limit} items",
        "minProperties": f"{path} in body should have at least {limit} properties",
        "uniqueItems": f"{path} in body shouldn't contain duplicates",
        "format": f"{path} in body must be of type {limit}: {_go(value)}",
    }
    shown = _go(value) if isinstance(value, str | int | float) else '"' + _json_type(value) + '"'
    yield FieldError(path, "Invalid value",
                     f"Invalid value: {shown}: {details.get(word, error.message)}")


# -- x-kubernetes-list-type -----------------------------------------------------------------
def list_type_errors(value: Any, schema: Mapping[str, Any], path: str = "") -> list[FieldError]:
    errors: list[FieldError] = []
    for item, item_schema, item_path, _ in _nodes(value, schema, path, None):
        if not isinstance(item, list):
            continue
        list_type = item_schema.get("x-kubernetes-list-type")
        keys = item_schema.get("x-kubernetes-list-map-keys") or []
        seen: list[Any] = []
        for index, element in enumerate(item):
            key = ({k: element.get(k) for k in keys} if list_type == "map"
                   and isinstance(element, dict) else element)
            if list_type in ("map", "set") and key in seen:
                errors.append(FieldError(f"{item_path}[{index}]", "Duplicate value",
                                         f"Duplicate value: {_go(key)}"))
            seen.append(key)
    return errors


def _nodes(value: Any, schema: Mapping[str, Any], path: str, old: Any
           ) -> Iterator[tuple[Any, Mapping[str, Any], str, Any]]:
    """Every value with its schema, field path and correlated old value (None if none)."""
    yield value, schema, path, old
    if isinstance(value, dict):
        props: Mapping[str, Any] = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        olds = old if isinstance(old, dict) else {}
        for key, item in value.items():
            child = props.get(key) or (extra if isinstance(extra, dict) else None)
            if child is not None:
                where = f"{path}.{key}" if key in props else f"{path}[{key}]"
                yield from _nodes(item, child, where.lstrip("."), olds.get(key))
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        keys = schema.get("x-kubernetes-list-map-keys")
        for index, item in enumerate(value):
            yield from _nodes(item, schema["items"], f"{path}[{index}]",
                              _correlate(item, old, keys))


def _correlate(item: Any, old: Any, keys: list[str] | None) -> Any:
    """The old element of a list-type=map list with the same keys (other lists: none)."""
    if not keys or not isinstance(old, list) or not isinstance(item, dict):
        return None
    return next((o for o in old if isinstance(o, dict)
                 and all(o.get(k) == item.get(k) for k in keys)), None)


# -- CEL rules ------------------------------------------------------------------------------
def rule_errors(obj: Mapping[str, Any], schema: Mapping[str, Any],
                old: Mapping[str, Any] | None) -> list[FieldError]:
    errors: list[FieldError] = []
    for value, node, path, old_value in _nodes(dict(obj), schema, "", old):
        for rule in node.get("x-kubernetes-validations") or ():
            found = _check_rule(rule, value, old_value, node.get("type", ""), path)
            if found is not None:
                errors.append(found)
    return errors


def _check_rule(rule: Mapping[str, Any], value: Any, old: Any, schema_type: str, path: str
                ) -> FieldError | None:
    program = compile_rule(rule["rule"])
    transition = "oldSelf" in program.variables()
    if transition and old is None:
        return None  # a transition rule runs only on an update that has the old value
    variables = {"self": value, **({"oldSelf": old} if transition else {})}
    # fieldPath is relative (".x.y"); the root has no path, which Go prints as <nil>
    where = (path + str(rule.get("fieldPath") or "")).lstrip(".") or "<nil>"
    try:
        result = program.execute(_context(variables))
    except Exception as exc:  # the library raises plain KeyError/TypeError/RuntimeError
        return FieldError(where, "Invalid value", f'Invalid value: "{schema_type}": '
                          f"{exc} evaluating rule: {rule['rule']}")
    if result is True:
        return None
    message = _message(rule, variables)
    reasons = {"FieldValueForbidden": "Forbidden", "FieldValueRequired": "Required value",
               "FieldValueDuplicate": "Duplicate value"}
    reason = reasons.get(str(rule.get("reason", "")))
    if reason:
        return FieldError(where, reason, f"{reason}: {message}")
    return FieldError(where, "Invalid value", f'Invalid value: "{schema_type}": {message}')


def _message(rule: Mapping[str, Any], variables: dict[str, Any]) -> str:
    if rule.get("messageExpression"):
        try:
            text = compile_rule(rule["messageExpression"]).execute(_context(variables))
            if isinstance(text, str) and text.strip():
                return text
        except Exception:  # upstream falls back to message when messageExpression fails
            pass
    return str(rule.get("message") or f"failed rule: {rule['rule'].strip()}")


@functools.lru_cache(maxsize=2048)
def compile_rule(source: str) -> cel.Program:
    import cel

    return cel.compile(source)


def _context(variables: dict[str, Any]) -> cel.Context:
    import cel

    return cel.Context(variables=variables, functions=_functions())


@functools.cache
def _functions() -> dict[str, Callable[..., Any]]:
    """The cel-go extension functions Kubernetes adds, beyond the library's own."""
    from cel import stdlib

    return {**stdlib.STDLIB_FUNCTIONS, **KUBERNETES_FUNCTIONS}


# Kubernetes quantities ("100m", "1Gi", "2e3") as exact fractions, compared as numbers.
_SUFFIXES: dict[str, Fraction] = {
    "": Fraction(1), "n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000),
    **{s: Fraction(10 ** (3 * (i + 1))) for i, s in enumerate("kMGTPE")},
    **{s + "i": Fraction(2 ** (10 * (i + 1))) for i, s in enumerate("KMGTPE")}}
_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|([a-zA-Z]*))$")


def quantity(text: str) -> float:
    found = _QUANTITY.match(text)
    if not found or (found.group(3) or "") not in _SUFFIXES:
        raise ValueError(f"invalid quantity: {text}")
    number = Fraction(found.group(1))
    if found.group(2):
        number *= Fraction(10) ** int(found.group(2)[1:])
    return float(number * _SUFFIXES[found.group(3) or ""])


def is_url(text: str) -> bool:
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return bool(parts.scheme and (parts.netloc or parts.path))


KUBERNETES_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "quantity": quantity,
    "isQuantity": lambda text: bool(_QUANTITY.match(text)),
    "isLessThan": lambda a, b: a < b,
    "isGreaterThan": lambda a, b: a > b,
    "compareTo": lambda a, b: (a > b) - (a < b),
    "asApproximateFloat": float,
    "isURL": is_url,
}
# Functions the library evaluates natively (CEL's standard definitions and macros).
NATIVE = frozenset({"has", "size", "all", "exists", "exists_one", "map", "filter", "matches",
                    "contains", "startsWith", "endsWith", "duration", "timestamp", "int",
                    "uint", "double", "string", "bytes", "type", "dyn"})


def unevaluable(source: str) -> str | None:
    """Why a rule cannot be evaluated here (None: it can)."""
    try:
        program = compile_rule(source)
    except Exception as exc:  # a compile error names the unsupported syntax
        return f"does not compile: {exc}"
    missing = [f for f in program.functions() if f[0] not in "_@!"
               and f not in NATIVE and f not in _functions()]
    return f"unknown functions: {', '.join(missing)}" if missing else None


def unevaluable_rules() -> list[str]:
    """``file path: rule: why`` for every rule (or messageExpression) in the package data that
    cannot be evaluated here. Admission refuses an object whose rule fails to evaluate, as the
    API server does, so this list is held at a known length by a test."""
    found = []
    for entries in _index().values():
        for entry in entries:
            for path, rule in _rules_in(_schema(entry["file"]), ""):
                for source in (rule["rule"], rule.get("messageExpression")):
                    why = unevaluable(source) if source else None
                    if why:
                        found.append(f"{entry['file']} {path}: {source}: {why}")
    return found


def _rules_in(schema: Any, path: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    if not isinstance(schema, dict):
        return
    for rule in schema.get("x-kubernetes-validations") or ():
        yield path or "<root>", rule
    for key, child in (schema.get("properties") or {}).items():
        yield from _rules_in(child, f"{path}.{key}")
    for key in ("items", "additionalProperties"):
        yield from _rules_in(schema.get(key), f"{path}[*]")


def _secret_data_errors(doc: Mapping[str, Any]) -> list[str]:
    errors = []
    for key, value in (doc.get("data") or {}).items():
        try:
            base64.b64decode(str(value), validate=True)
        except (binascii.Error, ValueError):
            errors.append(f"data[{key}]: Invalid value: illegal base64 data (use stringData "
                          "for plain text)")
    return errors
