"""YAML documents that remember the line each mapping came from, for precise error reports, and
JSON read bounded in nesting."""

from __future__ import annotations

import functools
import json
import math
import sys
from collections.abc import Iterator
from typing import Any

import yaml

from sandbox.untrusted import quoted

# Far deeper than any real manifest (upstream CRDs nest about 40 levels), far shallower than
# the interpreter's recursion limit: deeper input is refused with a line, not a RecursionError.
MAX_DEPTH = 100


class LineDict(dict[str, Any]):
    """A mapping loaded from YAML, with the 1-based line of itself and of each of its keys."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class _LineLoader(yaml.SafeLoader):
    """Refuses anchors and aliases (an alias bomb expands to billions of nodes) and deep nesting."""

    depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        line = event.start_mark.line + 1 if event.start_mark else None
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise DocumentError("YAML anchors and aliases (&name, *name, <<: *name) are not "
                                "accepted here: write each value out in full", line)
        if self.depth >= MAX_DEPTH:
            raise DocumentError(f"nested more than {MAX_DEPTH} levels deep: flatten the "
                                "structure", line)
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


_MERGE_TAG = "tag:yaml.org,2002:merge"


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    for key_node, _ in node.value:  # without an alias, ``<<`` would be read as a repeated key
        if key_node.tag == _MERGE_TAG:
            raise DocumentError("YAML merge keys (<<) are not accepted here: write each key "
                                "out in full", key_node.start_mark.line + 1)
    loader.flatten_mapping(node)
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if str(key) in result:  # YAML forbids it, PyYAML keeps the last; kubectl refuses it
            raise DocumentError(f"the key {quoted(str(key))} appears twice in one mapping (first "
                                f"on line {result.key_lines[str(key)]}): keep one",
                                key_node.start_mark.line + 1)
        result[str(key)] = loader.construct_object(value_node, deep=True)
        result.key_lines[str(key)] = key_node.start_mark.line + 1
    return result


def _construct_object(loader: yaml.constructor.BaseConstructor, node: yaml.Node,
                      deep: bool = False) -> Any:
    """PyYAML's construction, with a value Python cannot make (an integer of more digits than
    ``int()`` reads, a date that does not exist) refused with its line, not a ValueError."""
    try:
        value = yaml.constructor.BaseConstructor.construct_object(loader, node, deep)
    except DocumentError:
        raise
    except ValueError as exc:
        raise DocumentError(_unmakeable(node, exc), node.start_mark.line + 1) from exc
    if type(value) is int and not writable_number(value):
        raise DocumentError(_unwritable(value), node.start_mark.line + 1)
    if node.tag == _TIMESTAMP_TAG:  # Kubernetes' YAML reader keeps a date as the text it is
        return str(node.value)
    if node.tag in _REFUSED_TAGS:
        raise DocumentError(_REFUSED_TAGS[node.tag], node.start_mark.line + 1)
    return value


_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
# What PyYAML would build that no JSON (hence no manifest) can hold.
_REFUSED_TAGS = {
    "tag:yaml.org,2002:binary": "YAML's !!binary is not accepted here: write the base64 text as "
                                "a plain string (a Secret's data holds it so)",
    "tag:yaml.org,2002:set": "YAML's !!set is not accepted here: write a list instead",
}


def writable_number(value: int) -> bool:
    """Whether ``str(value)`` works: hexadecimal, octal, binary and base-60 integers are built
    without Python's digit limit, which strikes only when the number is written out (as JSON in a
    request body, as YAML in a manifest), so the loader checks the value, not its notation."""
    limit = sys.get_int_max_str_digits()
    return not limit or abs(value) < _power_of_ten(limit)


@functools.cache
def _power_of_ten(digits: int) -> int:
    power: int = 10 ** digits
    return power


def decimal_digits(value: int) -> int:
    """About how many digits ``value`` has in decimal, without writing it out."""
    return int(abs(value).bit_length() * math.log10(2)) + 1


def _unwritable(value: int) -> str:
    return (f"the number on this line has about {decimal_digits(value)} digits in decimal, "
            "more than the "
            f"{sys.get_int_max_str_digits()} digits a number may have here: write it in "
            "quotes, as text")


def _unmakeable(node: yaml.Node, exc: ValueError) -> str:
    text = str(node.value)
    if node.tag == "tag:yaml.org,2002:int":  # the only ValueError of int(): too many digits
        digits = sum(char.isdigit() for char in text)
        return (f"the number on this line has {digits} digits, more than the "
                f"{sys.get_int_max_str_digits()} a number may have here: write it in quotes, "
                "as text")
    if node.tag == _TIMESTAMP_TAG:
        return (f"{quoted(text)} reads as a date (YAML's timestamp) but is not one ({exc}): "
                "write it in quotes, as text")
    return f"{quoted(text)} cannot be read ({exc}): write it in quotes, as text"


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.construct_object = _construct_object  # type: ignore[method-assign,assignment]


class _FastLineLoader(yaml.CSafeLoader):
    """The same documents parsed by libyaml (about ten times faster): its composer is C, so
    :func:`_refuse_anchors_and_depth` checks what ``_LineLoader.compose_node`` checks, from the
    parser's events, before anything is built."""


_FastLineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                                _construct_mapping)
_FastLineLoader.construct_object = _construct_object  # type: ignore[method-assign,assignment]
_OPENS = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSES = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
_NODES = (yaml.ScalarEvent, *_OPENS)


def _refuse_anchors_and_depth(text: str) -> None:
    depth = 0
    for event in yaml.parse(text, Loader=yaml.CSafeLoader):
        line = event.start_mark.line + 1 if event.start_mark else None
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise DocumentError("YAML anchors and aliases (&name, *name, <<: *name) are not "
                                "accepted here: write each value out in full", line)
        if isinstance(event, _NODES) and depth >= MAX_DEPTH:
            raise DocumentError(f"nested more than {MAX_DEPTH} levels deep: flatten the "
                                "structure", line)
        depth += isinstance(event, _OPENS) - isinstance(event, _CLOSES)


class DocumentError(ValueError):
    """The text is not valid YAML, or uses what we refuse; ``line`` is where it went wrong."""

    def __init__(self, reason: str, line: int | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


def load_all(text: str) -> list[Any]:
    """Every document in ``text`` (empty ones dropped), mappings as :class:`LineDict`."""
    if getattr(yaml, "__with_libyaml__", False):
        try:
            _refuse_anchors_and_depth(text)
            return [doc for doc in yaml.load_all(text, Loader=_FastLineLoader)
                    if doc is not None]
        except yaml.YAMLError:
            pass  # not valid YAML: the pure-Python parser below says why, in its usual words
    return _load_all_slowly(text)


def _load_all_slowly(text: str) -> list[Any]:
    try:
        return [doc for doc in yaml.load_all(text, Loader=_LineLoader) if doc is not None]
    except yaml.reader.ReaderError as exc:  # a control character: say which, and where
        line = text.count("\n", 0, exc.position) + 1
        raise DocumentError(f"not valid YAML: the control character "
                            f"{quoted(chr(exc.character))} is not allowed (is this a text "
                            "file?)", line) from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        reason = f"not valid YAML: {exc.problem or exc}"
        raise DocumentError(reason, mark.line + 1 if mark else None) from exc
    except yaml.YAMLError as exc:
        raise DocumentError(f"not valid YAML: {exc}", None) from exc


def load_one(text: str) -> Any:
    docs = load_all(text)
    if len(docs) != 1:
        raise DocumentError(f"expected one YAML document, found {len(docs)}", None)
    return docs[0]


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class BlockText(str):
    """Text that :func:`dump` writes as a literal block (``|-``), so that whatever later takes its
    place (``envsubst`` filling in a key) is read back as text: never as a number, a boolean,
    null, an alias or a tag, whatever its first character."""


class _Dumper(yaml.SafeDumper):
    pass


class _FastDumper(yaml.CSafeDumper):
    """The same text written by libyaml's emitter: several times faster."""


def _represent_int(dumper: Any, value: int) -> yaml.ScalarNode:
    """Decimal as usual; hexadecimal (which YAML reads back as the same number) where decimal
    would pass Python's digit limit and fail with a ValueError."""
    text = str(value) if writable_number(value) else f"{'-' if value < 0 else ''}{abs(value):#x}"
    node: yaml.ScalarNode = dumper.represent_scalar("tag:yaml.org,2002:int", text)
    return node


for _dumper in (_Dumper, _FastDumper):
    _dumper.add_representer(BlockText, lambda dumper, text: dumper.represent_scalar(
        "tag:yaml.org,2002:str", str(text), style="|"))
    _dumper.add_representer(int, _represent_int)


def dump(value: Any) -> str:
    """Block-style YAML, keys in the order given, as a person would write it (``…`` as is)."""
    return _dump(value, _FastDumper if getattr(yaml, "__with_libyaml__", False) else _Dumper)


def _dump(value: Any, dumper: type[yaml.SafeDumper] | type[yaml.CSafeDumper]) -> str:
    text: str = yaml.dump(_plain(value), Dumper=dumper, sort_keys=False,
                          default_flow_style=False, width=100, allow_unicode=True)
    return text


def dump_all(values: Iterator[Any] | list[Any]) -> str:
    return "---\n".join(dump(v) for v in values)


class TooDeep(ValueError):
    """JSON nested deeper than the parser goes, or than the caller allows."""


def load_json(text: str | bytes, max_depth: int | None = None, **options: Any) -> Any:
    """``json.loads(text, **options)`` bounded in nesting: :class:`TooDeep` (a ValueError) for
    JSON nested too deeply to read (json raises RecursionError for it) or, with ``max_depth``,
    deeper than the document it should be: such a value would break whatever walks it next."""
    try:
        document = json.loads(text, **options)
    except RecursionError as exc:
        raise TooDeep("nested too deeply to read") from exc
    if max_depth is not None and depth(document) > max_depth:
        raise TooDeep(f"nested more than {max_depth} levels deep")
    return document


def depth(document: Any) -> int:
    """How deep lists and objects nest, without recursion."""
    deepest, pending = 0, [(document, 1)]
    while pending:
        node, level = pending.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, level)
            children = node.values() if isinstance(node, dict) else node
            pending.extend((child, level + 1) for child in children)
    return deepest
