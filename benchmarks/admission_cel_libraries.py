"""The two CEL libraries on PyPI side by side, on every rule in the CRDs the sandbox ships.

Run by hand after `pip install cel-python` (``common-expression-language`` is a dependency):
`python benchmarks/admission_cel_libraries.py`. For each library: how many of the rules compile,
how long compiling all of them takes, how long one Gateway API rule takes to evaluate, and
whether ``1 == 1.0`` holds as in Kubernetes' cel-go. This is how the admission's library was chosen.
"""

from __future__ import annotations

import importlib
import json
import statistics
import time
from collections.abc import Callable, Iterator
from importlib import resources
from typing import Any

RULE = ("(has(self.filters) && self.filters.exists_one(f, has(f.urlRewrite) && "
        "has(f.urlRewrite.path) && f.urlRewrite.path.type == 'ReplacePrefixMatch' && "
        "has(f.urlRewrite.path.replacePrefixMatch))) ? ((size(self.matches) != 1 || "
        "!has(self.matches[0].path) || self.matches[0].path.type != 'PathPrefix') ? false : "
        "true) : true")
VALUE = {"filters": [{"type": "URLRewrite", "urlRewrite": {"path": {
    "type": "ReplaceFullPath", "replaceFullPath": "/v1"}}}],
    "matches": [{"path": {"type": "PathPrefix", "value": "/"}}]}


def rules() -> list[str]:
    found: set[str] = set()
    root = resources.files("sandbox.runtimes.sim").joinpath("schemas")
    for folder in root.iterdir():
        if folder.is_dir():
            for file in folder.iterdir():
                found.update(_rules(json.loads(file.read_text("utf-8"))))
    return sorted(found)


def _rules(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        yield from (r["rule"] for r in node.get("x-kubernetes-validations") or ())
        for key, value in node.items():
            if key != "x-kubernetes-validations":
                yield from _rules(value)
    elif isinstance(node, list):
        for value in node:
            yield from _rules(value)


def rust_cel() -> tuple[Callable[[str], Any], Callable[[Any, Any], Any]]:
    import cel

    return cel.compile, lambda program, value: program.execute({"self": value})


def cel_python() -> tuple[Callable[[str], Any], Callable[[Any, Any], Any]]:
    celpy: Any = importlib.import_module("celpy")  # optional: not a dependency
    env = celpy.Environment()
    return (lambda source: env.program(env.compile(source)),
            lambda program, value: program.evaluate({"self": celpy.json_to_cel(value)}))


def report(name: str, library: Callable[[], tuple[Callable[[str], Any], Callable[[Any, Any], Any]]],
           sources: list[str]) -> None:
    try:
        compile_, run = library()
    except ImportError:
        print(f"{name}: not installed")
        return
    started = time.perf_counter()
    failed = 0
    for source in sources:
        try:
            compile_(source)
        except Exception:  # any compile failure counts
            failed += 1
    compiled = time.perf_counter() - started
    program = compile_(RULE)
    times = []
    for _ in range(200):
        started = time.perf_counter()
        run(program, VALUE)
        times.append(time.perf_counter() - started)
    try:
        mixed = run(compile_("self == 1.0"), 1)
    except Exception as exc:  # a library without heterogeneous equality raises
        mixed = type(exc).__name__
    print(f"{name}: {len(sources) - failed}/{len(sources)} rules compile in {compiled:.2f} s; "
          f"one rule evaluates in {statistics.median(times) * 1e6:.0f} µs (median); "
          f"1 == 1.0 -> {mixed}")


def main() -> None:
    sources = rules()
    report("common-expression-language", rust_cel, sources)
    report("cel-python", cel_python, sources)


if __name__ == "__main__":
    main()
