"""The structural part of a CRD schema, checked with jsonschema, in the API server's words.

kube-openapi's messages (``spec.x in body should match '...'``) mapped to ``field.Error`` types, so
a refusal reads as ``kubectl apply`` prints it. jsonschema is imported on first use.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from sandbox.records import record

# field.Error types after which the API server does not run the CEL rules (hasBlockingErr).
BLOCKING = frozenset({"Required value", "Unsupported value", "Too long", "Too many",
                      "Invalid type"})


@record
class FieldError:
    """One ``field.Error``: the path, its type (``Required value``...) and the rest."""

    path: str
    type: str
    body: str  # what follows the path, as the API server prints it

    def __str__(self) -> str:
        return f"{self.path}: {self.body}"


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
    # int32 and int64 are not checked: kube-openapi's type validator accepts any integer
    "ipv4": _ip(4), "ipv6": _ip(6),
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


def go_value(value: Any) -> str:
    """A value as Go's field.Error prints it: strings quoted, numbers bare."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


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
    if word in COMPOSITE:
        yield from _composite_errors(error, path)
        return
    if word == "enum":
        # non-string values are shown as their JSON, quoted like the strings
        supported = ", ".join(json.dumps(v if isinstance(v, str) else json.dumps(v))
                              for v in limit)
        yield FieldError(path, "Unsupported value",
                         f"Unsupported value: {go_value(value)}: supported values: {supported}")
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
        "minimum": f"{path} in body should be greater than"
                   f"{'' if error.schema.get('exclusiveMinimum') else ' or equal to'} {limit}",
        "maximum": f"{path} in body should be less than"
                   f"{'' if error.schema.get('exclusiveMaximum') else ' or equal to'} {limit}",
        "multipleOf": f"{path} in body should be a multiple of {limit}",
        "minItems": f"{path} in body should have at least {limit} items",
        "minProperties": f"{path} in body should have at least {limit} properties",
        "uniqueItems": f"{path} in body shouldn't contain duplicates",
        "format": f"{path} in body must be of type {limit}: {go_value(value)}",
    }
    # kube-openapi's error carries the value, the count of items or properties, or nothing
    shown: Any = value
    if word in ("minItems", "minProperties"):
        shown = len(value)
    elif word == "uniqueItems" or not isinstance(value, str | int | float):
        shown = ""
    # a format error is kube-openapi's InvalidType: it blocks the CEL rules as a type error does
    kind = "Invalid type" if word == "format" else "Invalid value"
    yield FieldError(path, kind,
                     f"Invalid value: {go_value(shown)}: {details.get(word, error.message)}")


# kube-openapi's words for the composite keywords (schema_messages.go); reported at the root
COMPOSITE = {"oneOf": '"{}" must validate one and only one schema (oneOf). Found none valid',
             "anyOf": '"{}" must validate at least one schema (anyOf)',
             "not": '"{}" must not validate the schema (not)'}


def _composite_errors(error: Any, path: str) -> Iterator[FieldError]:
    """oneOf, anyOf and not, as kube-openapi's schemaPropsValidator reports them: its own
    message, then the failures of the alternative it found best (here: the one with the fewest
    failures, the first among equals)."""
    yield FieldError("<nil>", "Invalid value",
                     'Invalid value: "": ' + COMPOSITE[error.validator].format(path))
    branches: dict[int, list[Any]] = {}
    for sub in error.context or ():
        branches.setdefault(int(sub.schema_path[0]), []).append(sub)
    if branches:
        best = min(branches.items(), key=lambda item: (len(item[1]), item[0]))[1]
        for sub in best:
            yield from _field_errors(sub)


# -- x-kubernetes-list-type -----------------------------------------------------------------
def list_type_errors(value: Any, schema: Mapping[str, Any], path: str = "") -> list[FieldError]:
    errors: list[FieldError] = []
    for item, item_schema, item_path, _ in nodes(value, schema, path, None):
        if not isinstance(item, list):
            continue
        list_type = item_schema.get("x-kubernetes-list-type")
        keys = item_schema.get("x-kubernetes-list-map-keys") or []
        seen: list[Any] = []
        reported: list[Any] = []
        for index, element in enumerate(item):
            key = ({k: element[k] for k in keys if k in element} if list_type == "map"
                   and isinstance(element, dict) else element)
            # each repeated key once, at its second occurrence (listtype.validateListSet)
            if list_type in ("map", "set") and key in seen and key not in reported:
                reported.append(key)
                errors.append(FieldError(f"{item_path}[{index}]", "Duplicate value",
                                         f"Duplicate value: {go_value(key)}"))
            seen.append(key)
    return errors


def nodes(value: Any, schema: Mapping[str, Any], path: str, old: Any
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
                yield from nodes(item, child, where.lstrip("."), olds.get(key))
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        keys = schema.get("x-kubernetes-list-map-keys")
        for index, item in enumerate(value):
            yield from nodes(item, schema["items"], f"{path}[{index}]",
                              _correlate(item, old, keys))


def _correlate(item: Any, old: Any, keys: list[str] | None) -> Any:
    """The old element of a list-type=map list with the same keys (other lists: none)."""
    if not keys or not isinstance(old, list) or not isinstance(item, dict):
        return None
    return next((o for o in old if isinstance(o, dict)
                 and all(o.get(k) == item.get(k) for k in keys)), None)

