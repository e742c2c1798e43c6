"""The ``x-kubernetes-validations`` CEL rules of a CRD schema, evaluated as kube-apiserver does.

Evaluated with ``common-expression-language`` (see sandbox/runtimes/sim/admission.py for why this
library), imported on first use. Its optional standard library carries cel-go's string, list,
math and sets extensions; Kubernetes' own functions (quantity, URLs, IPs, lists, regex, the
global form of ``matches``) and Go's parsing of durations come from ``cel_library.py``. An
evaluation error is reported in cel-go's words, and where the API server reports it (at the
rule's node, not at its fieldPath).
"""

from __future__ import annotations

import functools
import re
import sys
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from sandbox.runtimes.sim import cel_addresses as addresses
from sandbox.runtimes.sim import cel_library as library
from sandbox.runtimes.sim.cel_library import cel_text
from sandbox.runtimes.sim.structural import FieldError, nodes

if TYPE_CHECKING:
    import cel


def rule_errors(obj: Mapping[str, Any], schema: Mapping[str, Any],
                old: Mapping[str, Any] | None) -> list[FieldError]:
    """The refusals of every rule on a present value, as the API server words them."""
    errors: list[FieldError] = []
    for value, node, path, old_value in nodes(dict(obj), schema, "", old):
        rules = node.get("x-kubernetes-validations") or ()
        if rules:
            value, old_value = escaped(value, node), escaped(old_value, node)
        for rule in rules:
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
    try:
        result = program.execute(_context(rule["rule"], variables))
    except Exception as exc:  # the library raises plain KeyError/TypeError/RuntimeError
        if isinstance(exc, KeyError):
            exc = KeyError(_first_missing(rule["rule"], value, str(exc.args[0])))
        # the root has no path, which Go prints as <nil>
        return FieldError(path or "<nil>", "Invalid value",
                          f'Invalid value: "{schema_type}": {_evaluation_error(exc, rule)}')
    if result is True:
        return None
    # fieldPath is relative (".x.y"): a refusal, and only a refusal, is reported there
    where = (path + str(rule.get("fieldPath") or "")).lstrip(".") or "<nil>"
    message = _message(rule, variables)
    reason = str(rule.get("reason", ""))
    if reason == "FieldValueForbidden":
        return FieldError(where, "Forbidden", f"Forbidden: {message}")
    if reason == "FieldValueRequired":
        return FieldError(where, "Required value", f"Required value: {message}")
    if reason == "FieldValueDuplicate":  # field.Duplicate shows the value: the schema's type
        return FieldError(where, "Duplicate value", f'Duplicate value: "{schema_type}"')
    return FieldError(where, "Invalid value", f'Invalid value: "{schema_type}": {message}')


def _evaluation_error(exc: Exception, rule: Mapping[str, Any]) -> str:
    """cel-go's words for a rule that could not be evaluated, as apiextensions wraps them."""
    named = str(rule.get("message") or rule["rule"]).strip()
    words = cel_text(str(exc)) or _library_words(exc)
    if words.startswith("no such overload"):
        return (f"'{words}': call arguments did not match a supported operator, function or "
                f"macro signature for rule: {named}")
    return f"{words} evaluating rule: {named}"


def _library_words(exc: Exception) -> str:
    """cel-go's words for what the library raised natively."""
    text = str(exc)
    undefined = re.search(r"Undefined variable or function: '(\w+)'", text)
    if undefined:  # a function called on a value of a type it has no overload for
        return f"no such overload: {undefined.group(1)}"
    if isinstance(exc, KeyError):
        return f"no such key: {exc.args[0]}"
    if isinstance(exc, TypeError) or "no such overload" in text.lower():
        return "no such overload"
    if isinstance(exc, IndexError):
        return "index out of bounds: " + text.rpartition(": ")[2]
    if isinstance(exc, ZeroDivisionError):
        return "division by zero"
    if isinstance(exc, OverflowError):
        return "integer overflow"
    return text


# -- values as Kubernetes hands them to CEL ----------------------------------------------------
# Property names CEL cannot spell are escaped (k8s.io/apiserver/pkg/cel/escaping.go).
RESERVED = frozenset({"true", "false", "null", "in", "as", "break", "const", "continue", "else",
                      "for", "function", "if", "import", "let", "loop", "package", "namespace",
                      "return", "var", "void", "while"})
_ESCAPES = {"__": "__underscores__", ".": "__dot__", "-": "__dash__", "/": "__slash__"}


def escape_name(name: str) -> str:
    if name in RESERVED:
        return f"__{name}__"
    return re.sub(r"__|[-./]", lambda m: _ESCAPES[m.group(0)], name)


def escaped(value: Any, schema: Mapping[str, Any]) -> Any:
    """``value`` with its declared property names escaped (map keys are left as they are)."""
    if not _escapes(schema):
        return value
    if isinstance(value, dict):
        props: Mapping[str, Any] = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        if props:
            return {escape_name(k) if k in props else k:
                    escaped(v, props.get(k) or {}) for k, v in value.items()}
        if isinstance(extra, dict):
            return {k: escaped(v, extra) for k, v in value.items()}
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [escaped(item, schema["items"]) for item in value]
    return value


# Whether a schema (by identity; the schema is kept so that its id is not reused) has a
# property name to escape anywhere below it.
_ESCAPABLE: dict[int, tuple[Mapping[str, Any], bool]] = {}


def _escapes(schema: Mapping[str, Any]) -> bool:
    cached = _ESCAPABLE.get(id(schema))
    if cached is None or cached[0] is not schema:
        props: Mapping[str, Any] = schema.get("properties") or {}
        children = [*props.values(), *(schema.get(k) for k in ("items", "additionalProperties"))]
        found = any(escape_name(k) != k for k in props) or any(
            _escapes(c) for c in children if isinstance(c, Mapping))
        cached = _ESCAPABLE[id(schema)] = (schema, found)
    return cached[1]


def _first_missing(source: str, value: Any, raised: str) -> str:
    """cel-go evaluates ``a || b`` (and ``&&``) left to right and keeps the left error; the
    library keeps the right one. Of the fields the rule reads from ``self`` without has(),
    the first one missing is the one cel-go names."""
    if not isinstance(value, dict):
        return raised
    read = re.findall(r"(?<!has\()\bself\.(\w+)", source)
    return next((name for name in read if name not in value), raised)


# The longest text a messageExpression may give (celconfig.MaxEvaluatedMessageExpression...).
MESSAGE_LIMIT = 5 * 1024


def _message(rule: Mapping[str, Any], variables: dict[str, Any]) -> str:
    """The messageExpression's text, trimmed; the rule's message when that fails, is empty,
    has a line break or is too long (as upstream's evalMessageExpression)."""
    if rule.get("messageExpression"):
        try:
            text = compile_rule(rule["messageExpression"]).execute(
                _context(rule["messageExpression"], variables))
        except Exception:  # upstream falls back to message when messageExpression fails
            text = None
        if isinstance(text, str):
            text = text.strip()
            if text and "\n" not in text and "\r" not in text \
                    and len(text.encode()) <= MESSAGE_LIMIT:
                return text
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
    program: cel.Program = _cel().compile(go_parsing(source))
    return program


# The string literals of a CEL expression (raw and triple-quoted ones too): left untouched.
_LITERAL = re.compile(r"""[rR]?(?:'\'\'[\s\S]*?'\'\'|"\"\"[\s\S]*?"\"\"|'(?:\\.|[^'\\\n])*'"""
                      r"""|"(?:\\.|[^"\\\n])*")""")
_GO_CALLS = re.compile(r"(?<![\w.])(duration|string|size)\(|\.(size)\(\)")


def go_parsing(source: str) -> str:
    """The expression with ``duration()``, ``string()`` and ``size()`` as cel-go has them
    (cel_library.go_duration, go_string, go_size): the library parses other durations than
    Go, has no string(bool) and counts a string's bytes, not its characters."""
    def swap(text: str) -> str:
        return _GO_CALLS.sub(lambda m: f"go{m.group(1).capitalize()}(" if m.group(1)
                             else ".goSize()", text)

    out, last = [], 0
    for literal in _LITERAL.finditer(source):
        out += [swap(source[last:literal.start()]), literal.group(0)]
        last = literal.end()
    return "".join([*out, swap(source[last:])])


def _context(source: str, variables: dict[str, Any]) -> cel.Context:
    context: cel.Context = _cel().Context(variables=variables, functions=_functions_of(source))
    return context


@functools.lru_cache(maxsize=2048)
def _functions_of(source: str) -> dict[str, Callable[..., Any]]:
    """Those of :func:`_functions` the expression calls: a context holding only them is built
    three times faster than one with all 72, and a run builds one per rule and value."""
    called = set(compile_rule(source).functions())  # `strings.quote` is called `quote` here
    return {name: function for name, function in _functions().items()
            if name.rpartition(".")[2] in called}


@functools.cache
def _functions() -> dict[str, Callable[..., Any]]:
    """cel-go's extensions (the library's standard library), then Kubernetes' own."""
    stdlib = _cel().stdlib  # loaded by the package's __init__
    return {**stdlib.STDLIB_FUNCTIONS, **KUBERNETES_FUNCTIONS, "matches": _matches}


def _matches(text: Any, pattern: Any) -> bool:
    """The global form ``matches(s, re)``: the library has only the member form, which this
    calls, so both forms use the same (RE2-like) regular expressions."""
    result: bool = compile_rule("text.matches(pattern)").execute(
        {"text": text, "pattern": pattern})
    return result


# Kubernetes' functions and cel-go's conversions, beyond the library's standard library.
KUBERNETES_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "goDuration": library.go_duration,
    "goString": library.go_string,
    "goSize": library.go_size,
    "quantity": library.quantity,
    "isQuantity": library.is_quantity,
    "isLessThan": lambda a, b: a < b,
    "isGreaterThan": lambda a, b: a > b,
    "compareTo": lambda a, b: (a > b) - (a < b),
    "asApproximateFloat": float,
    "isInteger": lambda q: float(q).is_integer(),
    "asInteger": int,
    "isURL": addresses.is_url,
    "url": addresses.url,
    **{f"get{name}": addresses.url_part(part) for name, part in (
        ("Scheme", "scheme"), ("Host", "host"), ("Hostname", "hostname"), ("Port", "port"),
        ("EscapedPath", "path"))},
    "isIP": addresses.is_ip,
    "ip": lambda text: str(addresses.parse_ip(text)),
    "isCIDR": addresses.is_cidr,
    "isSorted": library.is_sorted,
    "min": library.extreme("min", min),
    "max": library.extreme("max", max),
    "indexOf": library.index_of,
    "lastIndexOf": library.last_index_of,
    "charAt": library.char_at,
    "substring": library.substring,
    "find": library.regex_find,
    "findAll": library.regex_find_all,
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
