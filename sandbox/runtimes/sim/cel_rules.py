"""The ``x-kubernetes-validations`` CEL rules of a CRD schema, with Kubernetes' CEL extensions.

Evaluated with ``common-expression-language`` (see sandbox/runtimes/sim/admission.py for why this
library), imported on first use. Its optional standard library carries the cel-go string
extensions the CRDs use (``split``, ``indexOf``, ``lastIndexOf``); the Kubernetes-only functions
(``quantity`` and its comparisons, ``isURL``) are added here.
"""

from __future__ import annotations

import functools
import re
import sys
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from fractions import Fraction
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sandbox.runtimes.sim.structural import FieldError, nodes

if TYPE_CHECKING:
    import cel


def rule_errors(obj: Mapping[str, Any], schema: Mapping[str, Any],
                old: Mapping[str, Any] | None) -> list[FieldError]:
    """The refusals of every rule on a present value, as the API server words them."""
    errors: list[FieldError] = []
    for value, node, path, old_value in nodes(dict(obj), schema, "", old):
        for rule in node.get("x-kubernetes-validations") or ():
            found = check_rule(rule, value, old_value, node.get("type", ""), path)
            if found is not None:
                errors.append(found)
    return errors


def check_rule(rule: Mapping[str, Any], value: Any, old: Any, schema_type: str, path: str
               ) -> FieldError | None:
    """One rule on one value: None when it holds (or is a transition rule on a create)."""
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
        return FieldError(where, "Invalid value",
                          f'Invalid value: "{schema_type}": {_evaluation_error(exc, rule)}')
    if result is True:
        return None
    message = _message(rule, variables)
    reasons = {"FieldValueForbidden": "Forbidden", "FieldValueRequired": "Required value",
               "FieldValueDuplicate": "Duplicate value"}
    reason = reasons.get(str(rule.get("reason", "")))
    if reason:
        return FieldError(where, reason, f"{reason}: {message}")
    return FieldError(where, "Invalid value", f'Invalid value: "{schema_type}": {message}')


def _evaluation_error(exc: Exception, rule: Mapping[str, Any]) -> str:
    """cel-go's words for a rule that could not be evaluated (an absent key, a wrong type)."""
    named = str(rule.get("message") or rule["rule"]).strip()
    if isinstance(exc, KeyError):
        return f"no such key: {exc.args[0]} evaluating rule: {named}"
    if isinstance(exc, TypeError):  # the library says "no such overload" or "unsupported"
        return ("'no such overload': call arguments did not match a supported operator, "
                f"function or macro signature for rule: {named}")
    return f"{exc} evaluating rule: {named}"


def _message(rule: Mapping[str, Any], variables: dict[str, Any]) -> str:
    if rule.get("messageExpression"):
        try:
            text = compile_rule(rule["messageExpression"]).execute(_context(variables))
            if isinstance(text, str) and text.strip():
                return text
        except Exception:  # upstream falls back to message when messageExpression fails
            pass
    return str(rule.get("message") or f"failed rule: {rule['rule'].strip()}")


@functools.cache
def _cel() -> Any:
    """The library, imported on first use and without its command line.

    The package's ``__init__`` imports its interactive REPL (``cel.cli``: prompt_toolkit and
    typer, about 150 ms and several MiB) before the evaluator; the package gives no other way
    in. A stand-in for that one module lets the evaluator and its standard library load alone.
    """
    sys.modules.setdefault("cel.cli", types.ModuleType(
        "cel.cli", "not loaded: the sandbox evaluates CEL, it does not run the CEL REPL"))
    import cel

    return cel


@functools.lru_cache(maxsize=2048)
def compile_rule(source: str) -> cel.Program:
    program: cel.Program = _cel().compile(source)
    return program


def _context(variables: dict[str, Any]) -> cel.Context:
    context: cel.Context = _cel().Context(variables=variables, functions=_functions())
    return context


@functools.cache
def _functions() -> dict[str, Callable[..., Any]]:
    """The cel-go extension functions Kubernetes adds, beyond the library's own."""
    stdlib = _cel().stdlib  # loaded by the package's __init__
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


def unevaluable_rules(schemas: Iterable[tuple[str, Mapping[str, Any]]]) -> list[str]:
    """``name path: source: why`` for every rule (or messageExpression) in the named schemas
    that cannot be evaluated here."""
    found = []
    for name, schema in schemas:
        for path, rule in _rules_in(schema, ""):
            for source in (rule["rule"], rule.get("messageExpression")):
                why = unevaluable(source) if source else None
                if why:
                    found.append(f"{name} {path}: {source}: {why}")
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
