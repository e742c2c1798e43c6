"""Ask the Go module proxy which of the tier's pins it serves: `tools/upstream-tier probe`.

Every download goes to a fresh, temporary module cache, so a verdict is the proxy's answer today
and never a copy left in ~/go/pkg/mod by an earlier run. It covers the tier's own modules
(k8s.io/kubernetes, every staging module read from its go.mod, etcd, controller-runtime), the
controllers' modules, and every requirement of agentgateway v1.4.1's go.mod.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import goenv, gomod, processes
from .pins import components, controllers

Log = Callable[[str], None]
_REQUIRE = re.compile(r"^\s*(?:require\s+)?([a-z0-9][^\s(]*)\s+(v\S+)(?:\s*//.*)?$", re.MULTILINE)
_REPLACE = re.compile(r"^\s*(?:replace\s+)?(\S+)\s*=>\s*(\S+)(?:\s+(v\S+))?\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Verdict:
    """The proxy's answer for one module version."""

    group: str
    module: str
    version: str
    served: bool
    detail: str

    def row(self) -> str:
        word = "served" if self.served else "REFUSED"
        return "\t".join((self.group, self.module, self.version, word, self.detail))


def main(out: Path | None, log: Log) -> int:
    with tempfile.TemporaryDirectory(prefix="tier-probe-") as tmp:
        env = {**goenv.environment(), "GOMODCACHE": f"{tmp}/mod",
               "GOFLAGS": f"{os.environ.get('GOFLAGS', '')} -modcacherw".strip()}
        verdicts = list(_probe_all(env))
        size = _tree_size(Path(tmp) / "mod")
    refused = [v for v in verdicts if not v.served]
    for v in verdicts:
        if not v.served or v.group in ("tier", "controller"):
            at = f"/{v.version}" if v.version.startswith("@") else f"@{v.version}"
            log(f"{'served ' if v.served else 'REFUSED'} {v.module}{at}  [{v.group}]"
                + (f"  {v.detail}" if not v.served else ""))
    log(f"{len(verdicts)} module versions asked, {len(refused)} refused; "
        f"{size / 2**20:.0f} MiB downloaded to a temporary cache")
    if out is not None:
        out.write_text("group\tmodule\tversion\tverdict\tdetail\n"
                       + "".join(v.row() + "\n" for v in verdicts))
        log(f"wrote {out}")
    return 0


def _probe_all(env: dict[str, str]) -> Iterator[Verdict]:
    comps = components()
    kube = comps["kube-apiserver"]
    tier = [(c.module, c.version) for c in comps.values()]
    verdicts = _download("tier", tier, env)
    yield from verdicts
    kube_mod = _gomod_of(verdicts, kube.module, env)
    staging = [(m, kube.staging_version) for m in gomod.staging_modules(kube_mod)]
    yield from _download("tier", staging, env)
    for name, c in controllers().items():
        asked = [(c["module"], c["version"])] + [_pair(n) for n in c.get("needs", [])]
        found = _download("controller", asked, env)
        yield from found
        yield from _listing(c["module"], env)
        yield from _download(f"{name} pins", [_pair(d) for d in c.get("also_probe", [])], env)
        text = _gomod_of(found, c["module"], env)
        if text:
            yield from _download(f"{name} requires", _requirements(text), env)
            yield from _download(f"{name} replaces", _replacements(text), env)
    yield from _listing("github.com/agentgateway/agentgateway/api", env)


def _pair(module_at_version: str) -> tuple[str, str]:
    module, _, version = module_at_version.partition("@")
    return module, version


def _download(group: str, asked: list[tuple[str, str]], env: dict[str, str]) -> list[Verdict]:
    if not asked:
        return []
    done = processes.run([goenv.go_binary(), "mod", "download", "-json",
                          *(f"{m}@{v}" for m, v in asked)], env=env)
    answers = {(a["Path"], a["Version"]): a for a in _json_stream(done.stdout)}
    result = []
    for module, version in asked:
        a = answers.get((module, version), {"Error": "no answer"})
        served = "Error" not in a
        detail = a.get("Sum", "") if served else _short(a["Error"])
        result.append(Verdict(group, module, version, served, detail))
    return result


def _listing(module: str, env: dict[str, str]) -> list[Verdict]:
    done = processes.run([goenv.go_binary(), "list", "-m", "-versions", "-json", module], env=env)
    answers = list(_json_stream(done.stdout))
    a = answers[0] if answers else {"Error": {"Err": done.stderr.strip()}}
    if "Error" in a:
        err = a["Error"]
        return [Verdict("listing", module, "@v/list", False,
                        _short(err.get("Err", "") if isinstance(err, dict) else str(err)))]
    versions = " ".join(a.get("Versions") or []) or "(no tagged versions)"
    return [Verdict("listing", module, "@v/list", True, versions)]


def _gomod_of(verdicts: list[Verdict], module: str, env: dict[str, str]) -> str:
    """The go.mod of a module the proxy served (already in the temporary cache)."""
    for v in verdicts:
        if v.module == module and v.served:
            cache = Path(env["GOMODCACHE"])
            return (goenv.download_dir(cache, module) / f"{v.version}.mod").read_text()
    return ""


def _requirements(gomod_text: str) -> list[tuple[str, str]]:
    body = re.sub(r"(?ms)^replace\s*\(.*?^\)|^replace .*?$|^module .*?$|^go .*?$", "", gomod_text)
    return [(m, v) for m, v in _REQUIRE.findall(body) if v != "v0.0.0"]


def _replacements(gomod_text: str) -> list[tuple[str, str]]:
    return [(new, ver) for _, new, ver in _REPLACE.findall(gomod_text) if ver]


def _json_stream(text: str) -> Iterator[dict[str, Any]]:
    decoder, pos = json.JSONDecoder(), 0
    while pos < len(text.rstrip()):
        obj, end = decoder.raw_decode(text, pos)
        yield obj
        pos = end
        while pos < len(text) and text[pos].isspace():
            pos += 1


def _short(error: str) -> str:
    found = re.search(r"(\d{3} [A-Za-z ]+)\n?\s*(?:server response: (.*))?", error)
    if found:
        return found.group(1).strip() + (f": {found.group(2).strip()}" if found.group(2) else "")
    return error.strip().splitlines()[0] if error.strip() else "unknown error"


def _tree_size(path: Path) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += (Path(root) / name).stat().st_size
    return total
