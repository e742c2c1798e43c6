"""Derive the admission facts (structural schema and CEL rules) from the upstream CRDs.

Reads the CustomResourceDefinitions in ``../shared/crds`` (or the directory given) and writes,
for each CRD set, group, version and kind, what the simulated API server needs to admit an object
exactly as a real one would: the structural schema (types, required, enums, patterns, formats,
limits, defaults, ``x-kubernetes-*`` markers) and every ``x-kubernetes-validations`` rule with
its message, messageExpression, reason and fieldPath. Description prose is left out.

    python tools/gen_admission_schemas.py [CRD_DIR] [--out sandbox/runtimes/sim/schemas] [--check]

``--check`` writes nothing and exits 1 when the committed files differ from the CRDs.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CRDS = REPO.parent / "shared" / "crds"
DEFAULT_OUT = REPO / "sandbox" / "runtimes" / "sim" / "schemas"

# Which CRD files form which set. The top-level files are Gateway API v1.4.0 and kgateway v2.1.x
# (see ../shared/crds/README.md); the folders are named after what they hold.
SETS: dict[str, tuple[str, str]] = {
    "gateway-api-v1.4.0": (".", "gateway.networking.k8s.io_*.yaml"),
    "kgateway-v2.1": (".", "gateway.kgateway.dev_*.yaml"),
    "gateway-api-v1.6.0": ("gateway-api-v1.6.0", "gateway.networking.k8s.io_*.yaml"),
    "agentgateway-v1.4.1": ("agentgateway-v1.4.1", "agentgateway.dev_*.yaml"),
}

# The schema keywords admission evaluates; everything else (description, example, title,
# externalDocs) is prose for people and is dropped.
KEYWORDS = frozenset({
    "type", "format", "properties", "additionalProperties", "items", "required", "enum",
    "pattern", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
    "minLength", "maxLength", "minItems", "maxItems", "uniqueItems", "minProperties",
    "maxProperties", "default", "nullable", "allOf", "anyOf", "oneOf", "not",
})
RULE_KEYS = ("rule", "message", "messageExpression", "reason", "fieldPath", "optionalOldSelf")
# Keywords whose value is a map of name -> schema, or a schema, or a list of schemas.
SCHEMA_MAPS = frozenset({"properties"})
SCHEMA_ONE = frozenset({"additionalProperties", "items", "not"})
SCHEMA_LIST = frozenset({"allOf", "anyOf", "oneOf"})


def strip(schema: Any) -> Any:
    """The schema with only what admission evaluates, in a stable order."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "x-kubernetes-validations":
            out[key] = [{k: rule[k] for k in RULE_KEYS if k in rule} for rule in value]
        elif key.startswith("x-kubernetes-"):
            out[key] = value
        elif key not in KEYWORDS:
            continue
        elif key in SCHEMA_MAPS:
            out[key] = {name: strip(child) for name, child in value.items()}
        elif key in SCHEMA_ONE and isinstance(value, dict):
            out[key] = strip(value)
        elif key in SCHEMA_LIST:
            out[key] = [strip(child) for child in value]
        else:
            out[key] = value
    return out


def crds(crd_dir: Path, folder: str, pattern: str) -> Iterator[dict[str, Any]]:
    for path in sorted((crd_dir / folder).glob(pattern)):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                yield doc


def generate(crd_dir: Path) -> dict[str, str]:
    """Relative file name -> content for every generated file, the index included."""
    files: dict[str, str] = {}
    index: dict[str, list[dict[str, Any]]] = {}
    for set_name, (folder, pattern) in SETS.items():
        entries = index.setdefault(set_name, [])
        for crd in crds(crd_dir, folder, pattern):
            spec = crd["spec"]
            group, names = spec["group"], spec["names"]
            for version in spec["versions"]:
                if not version.get("served", True):
                    continue
                name = f"{set_name}/{names['kind']}.{group}.{version['name']}.json"
                files[name] = dump(strip(version["schema"]["openAPIV3Schema"]))
                entries.append({
                    "apiVersion": f"{group}/{version['name']}", "kind": names["kind"],
                    "plural": names["plural"], "namespaced": spec["scope"] == "Namespaced",
                    "storage": bool(version.get("storage")), "file": name,
                })
    files["index.json"] = json.dumps(index, indent=1, sort_keys=True) + "\n"
    return files


def dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"


def differences(files: dict[str, str], out: Path) -> list[str]:
    """Generated files that are missing, different or extra in ``out``."""
    found = {p.relative_to(out).as_posix() for p in out.rglob("*.json")}
    wrong = [name for name, text in files.items()
             if not (out / name).is_file() or (out / name).read_text(encoding="utf-8") != text]
    return sorted(wrong + [name for name in found - files.keys()])


def write(files: dict[str, str], out: Path) -> None:
    for stale in out.rglob("*.json"):
        if stale.relative_to(out).as_posix() not in files:
            stale.unlink()
    for name, text in files.items():
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("crds", nargs="?", type=Path, default=DEFAULT_CRDS)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--check", action="store_true",
                        help="compare with the committed files instead of writing")
    args = parser.parse_args(argv)
    if not args.crds.is_dir():
        print(f"no CRD directory at {args.crds}", file=sys.stderr)
        return 2
    files = generate(args.crds)
    if args.check:
        stale = differences(files, args.out)
        for name in stale:
            print(f"out of date: {name}", file=sys.stderr)
        return 1 if stale else 0
    write(files, args.out)
    print(f"wrote {len(files)} files to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
