"""Derive the project's own copies of the upstream CRDs, and the admission facts, from them.

Reads the CustomResourceDefinitions in ``../shared/crds`` (or the directory given) and writes two
things the project then works from, so that a fresh clone needs nothing outside the repository:

- ``sandbox/runtimes/sim/crds/<bundle>/``: every CRD of each upstream release the profiles use
  (the ones the scenarios apply and the rest a real controller needs installed), with the
  ``description`` prose left out (an API server accepts them as they are), plus anything else
  the release installs beside them (Gateway API v1.6.0's admission policy), and a README naming
  each upstream file, its tag or commit and its sha256;
- ``sandbox/runtimes/sim/schemas/``: for each CRD set, group, version and kind the sim admits,
  what the simulated API server needs to admit an object exactly as a real one would: the
  structural schema (types, required, enums, patterns, formats, limits, defaults,
  ``x-kubernetes-*`` markers) and every ``x-kubernetes-validations`` rule with its message,
  messageExpression, reason and fieldPath.

    python tools/gen_admission_schemas.py [CRD_DIR] [--out SCHEMAS] [--crds-out CRDS] [--check]

``--check`` writes nothing and exits 1 when the committed files differ from the CRDs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CRDS = REPO.parent / "shared" / "crds"
DEFAULT_OUT = REPO / "sandbox" / "runtimes" / "sim" / "schemas"
DEFAULT_CRDS_OUT = REPO / "sandbox" / "runtimes" / "sim" / "crds"


@dataclass(frozen=True)
class Release:
    """One upstream release's CRDs: where the input holds them, where upstream keeps them."""

    sources: tuple[tuple[str, str], ...]  # (folder in the input, glob)
    repository: str
    ref: str  # the tag or branch, and the commit
    upstream_dir: str


# The derived copies, a folder per release (see ../shared/crds/README.md for the input's layout:
# the top-level files are Gateway API v1.4.0 and kgateway v2.1.x; more/ holds the rest).
RELEASES: dict[str, Release] = {
    "gateway-api-v1.4.0": Release(
        ((".", "gateway.networking.k8s.io_*.yaml"), ("more/gateway-api-v1.4.0", "*.yaml")),
        "kubernetes-sigs/gateway-api", "tag v1.4.0 (commit 5e5891a5)", "config/crd/standard"),
    "gateway-api-v1.6.0": Release(
        (("gateway-api-v1.6.0", "gateway.networking.k8s.io_*.yaml"),
         ("more/gateway-api-v1.6.0", "*.yaml")),
        "kubernetes-sigs/gateway-api", "tag v1.6.0 (commit 89b3b0c3)", "config/crd/standard"),
    "kgateway-v2.1": Release(
        ((".", "gateway.kgateway.dev_*.yaml"), ("more/kgateway-v2.1", "*.yaml")),
        "kgateway-dev/kgateway", "branch v2.1.x (commit 0d040525)",
        "install/helm/kgateway-crds/templates"),
    "agentgateway-v1.4.1": Release(
        (("agentgateway-v1.4.1", "agentgateway.dev_*.yaml"),
         ("more/agentgateway-v1.4.1", "*.yaml")),
        "agentgateway/agentgateway", "tag v1.4.1 (commit 163ea214)",
        "controller/install/helm/agentgateway-crds/templates"),
}

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


def without_prose(node: Any, schema: bool = False) -> Any:
    """``node`` with every ``description`` left out: a schema's, and a printer column's. In a
    schema, ``properties`` maps field names to schemas: a field may be called description."""
    if isinstance(node, list):
        return [without_prose(item, schema) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "description" and not isinstance(value, dict):
            continue
        if key == "openAPIV3Schema":
            out[key] = without_prose(value, schema=True)
        elif schema and key in SCHEMA_MAPS | {"patternProperties", "definitions"}:
            out[key] = {name: without_prose(child, True) for name, child in value.items()}
        else:
            out[key] = without_prose(value, schema)
    return out


def derived_crds(crd_dir: Path) -> dict[str, str]:
    """Relative file name -> content of every derived CRD file, their README included."""
    files: dict[str, str] = {}
    rows: list[str] = []
    for bundle, release in RELEASES.items():
        for folder, pattern in release.sources:
            for path in sorted((crd_dir / folder).glob(pattern)):
                data = path.read_bytes()
                docs = [doc for doc in yaml.safe_load_all(data) if doc]
                files[f"{bundle}/{path.name}"] = "".join(
                    "---\n" + yaml.safe_dump(without_prose(doc), sort_keys=False, width=100)
                    for doc in docs)
                kinds = ", ".join(str(doc.get("kind") if doc.get("kind") !=
                                      "CustomResourceDefinition" else
                                      doc["spec"]["names"]["kind"]) for doc in docs)
                rows.append(f"| `{bundle}/{path.name}` | {kinds} | {release.repository} "
                            f"{release.ref}, `{release.upstream_dir}/{path.name}` | "
                            f"`{hashlib.sha256(data).hexdigest()}` |")
    files["README.md"] = CRDS_README + "\n".join(rows) + "\n"
    return files


CRDS_README = """# The upstream CRDs, as the project uses them

Derived by `python tools/gen_admission_schemas.py` from unmodified upstream files (Apache-2.0):
every document as upstream wrote it, with the `description` prose left out (an API server accepts
them as they are; the files stay small). Do not edit them: change the generator or its input and
run it again; a test says when they are out of date.

A folder per upstream release. The scenarios apply only some of these kinds; a real controller
needs all of its release's CRDs installed before it writes any status (`tools/upstream-tier`
installs them). `gateway-api-v1.6.0/gateway.networking.k8s.io_vap_safeupgrades.yaml` is not a
CRD: it is the ValidatingAdmissionPolicy and binding that Gateway API v1.6.0's
`standard-install.yaml` carries, which refuses older Gateway API CRDs afterwards.

| file | what | upstream file | sha256 of the upstream file |
|---|---|---|---|
"""


def dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"


def differences(files: dict[str, str], out: Path) -> list[str]:
    """Generated files that are missing, different or extra in ``out``."""
    found = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    wrong = [name for name, text in files.items()
             if not (out / name).is_file() or (out / name).read_text(encoding="utf-8") != text]
    return sorted(wrong + [name for name in found - files.keys()])


def write(files: dict[str, str], out: Path) -> None:
    for stale in [p for p in out.rglob("*") if p.is_file()]:
        if stale.relative_to(out).as_posix() not in files:
            stale.unlink()
    for name, text in files.items():
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("crds", nargs="?", type=Path, default=DEFAULT_CRDS)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="where the admission facts go")
    parser.add_argument("--crds-out", type=Path, default=DEFAULT_CRDS_OUT,
                        help="where the derived CRDs go")
    parser.add_argument("--check", action="store_true",
                        help="compare with the committed files instead of writing")
    args = parser.parse_args(argv)
    if not args.crds.is_dir():
        print(f"no CRD directory at {args.crds}", file=sys.stderr)
        return 2
    outputs = {args.out: generate(args.crds), args.crds_out: derived_crds(args.crds)}
    if args.check:
        stale = [out / name for out, files in outputs.items()
                 for name in differences(files, out)]
        for path in stale:
            print(f"out of date: {path}", file=sys.stderr)
        return 1 if stale else 0
    for out, files in outputs.items():
        write(files, out)
        print(f"wrote {len(files)} files to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
