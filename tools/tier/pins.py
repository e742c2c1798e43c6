"""The tier's pinned versions and profiles, read from pins.json beside this module."""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import TierError

TIER_DIR = Path(__file__).resolve().parent
REPO = TIER_DIR.parents[1]
PINS_FILE = TIER_DIR / "pins.json"
# The project's own derived CRD copies, one folder per bundle (another part of the project).
DEFAULT_CRDS = REPO / "sandbox" / "runtimes" / "sim" / "crds"


def cache_home() -> Path:
    """Where binaries and running tiers live: outside the repository, shared by its worktrees."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "agw-sandbox" / "tier"


@dataclass(frozen=True)
class Component:
    """One binary built from a Go wrapper module under go/."""

    name: str
    module: str
    version: str
    package: str
    wrapper: Path
    staging_version: str = ""
    godebug: str = ""


@dataclass(frozen=True)
class Profile:
    """What `up --profile NAME` installs: CRD bundles, a namespace, an optional admission probe."""

    name: str
    namespace: str
    kubernetes_range: tuple[str, str]
    bundles: tuple[tuple[str, tuple[str, ...]], ...]
    admission_probe: dict[str, Any] | None

    def manifest_files(self, crds_dir: Path) -> list[Path]:
        """The profile's files under crds_dir, in install order; a missing one is an error."""
        files = [crds_dir / bundle / name for bundle, names in self.bundles for name in names]
        missing = [str(f.relative_to(crds_dir)) for f in files if not f.is_file()]
        if missing:
            raise TierError(
                "crds",
                f"{crds_dir} lacks {len(missing)} file(s) of profile {self.name}: "
                + ", ".join(missing),
                "pass --crds DIR with one folder per bundle (" + ", ".join(
                    b for b, _ in self.bundles) + ")",
            )
        return files

    def supports(self, git_version: str) -> bool:
        """Whether a server's gitVersion (v1.34.3) lies in the profile's Kubernetes range."""
        minor = _minor(git_version.lstrip("v"))
        low, high = (_minor(v) for v in self.kubernetes_range)
        return low <= minor <= high


def _minor(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


@functools.cache
def _raw() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(PINS_FILE.read_text(encoding="utf-8"))
    return data


def components() -> dict[str, Component]:
    """Every binary the tier builds, by name (kube-apiserver, etcd, tier-harness)."""
    return {
        name: Component(
            name=name,
            module=c["module"],
            version=c["version"],
            package=c["package"],
            wrapper=TIER_DIR / c["wrapper"],
            staging_version=c.get("staging_version", ""),
            godebug=c.get("godebug", ""),
        )
        for name, c in _raw()["components"].items()
    }


def profiles() -> dict[str, Profile]:
    """The profiles `up` accepts, by name."""
    result = {}
    for name, p in _raw()["profiles"].items():
        low, high = p["kubernetes_range"].split("-")
        result[name] = Profile(
            name=name,
            namespace=p["namespace"],
            kubernetes_range=(low, high),
            bundles=tuple((b, tuple(files)) for b, files in p["bundles"].items()),
            admission_probe=p.get("admission_probe"),
        )
    return result


def profile(name: str) -> Profile:
    """The profile called name, or an error listing the known ones."""
    known = profiles()
    if name not in known:
        raise TierError("profile", f"unknown profile {name!r}",
                        "choose one of: " + ", ".join(known))
    return known[name]


def controllers() -> dict[str, dict[str, Any]]:
    """The controllers' modules (recorded for the probe; they cannot be built from modules)."""
    result: dict[str, dict[str, Any]] = _raw()["controllers"]
    return result
