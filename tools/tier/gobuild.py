"""Build the tier's binaries from their wrapper modules and cache them by version.

Binaries go to ~/.cache/agw-sandbox/tier/bin/ (outside the repository, shared by worktrees):
kube-apiserver-v1.34.3, etcd-v3.6.14 and tier-harness-<hash of its source>, each with a .json
stamp saying which wrapper built it. A binary whose stamp matches its wrapper is not rebuilt.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from . import goenv, gomod
from .errors import TierError
from .pins import Component, cache_home, components

Log = Callable[[str], None]
HARNESS = "tier-harness"
NOT_BUILT = "the upstream tier is not built: run tools/upstream-tier build (needs go)"


@dataclass(frozen=True)
class Built:
    """One binary after build(): where it is, and whether this call compiled it."""

    component: str
    version: str
    path: Path
    seconds: float
    size: int
    cached: bool


@dataclass(frozen=True)
class Readiness:
    """Whether up() can start without building; falsy with a reason tests can skip with."""

    ready: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.ready


def bin_dir() -> Path:
    return cache_home() / "bin"


def ldflags(component: Component) -> str:
    """Strip symbols; give kube-apiserver the version its /version must report."""
    flags = ["-s", "-w"]
    if component.name == "kube-apiserver":
        major, minor = component.version.lstrip("v").split(".")[:2]
        for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
            flags += [f"-X {pkg}.gitVersion={component.version}",
                      f"-X {pkg}.gitMajor={major}", f"-X {pkg}.gitMinor={minor}"]
    return " ".join(flags)


def wrapper_hash(component: Component) -> str:
    """A digest of everything that decides the binary: the wrapper's files and the flags."""
    fields = (component.name, component.module, component.version, component.package,
              component.staging_version, component.godebug, ldflags(component))
    digest = hashlib.sha256("\n".join(fields).encode())
    for path in sorted(component.wrapper.iterdir()):
        if path.suffix in (".mod", ".sum", ".go"):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def binary_path(component: Component) -> Path:
    """Where the component's binary is cached (our own harness is named by its source digest)."""
    tag = wrapper_hash(component) if component.name == HARNESS else component.version
    return bin_dir() / f"{component.name}-{tag}"


def _stamp_path(binary: Path) -> Path:
    return binary.with_name(binary.name + ".json")


def _stamp(path: Path) -> dict[str, object]:
    try:
        data: dict[str, object] = json.loads(_stamp_path(path).read_text())
    except (OSError, ValueError):
        return {}
    return data


def is_built(component: Component) -> bool:
    path = binary_path(component)
    return path.is_file() and _stamp(path).get("wrapper") == wrapper_hash(component)


def binaries_ready() -> Readiness:
    """Whether every binary is built and current (both profiles use the same three)."""
    missing = [c.name for c in components().values() if not is_built(c)]
    if missing:
        return Readiness(False, f"{NOT_BUILT}; missing: {', '.join(missing)}")
    return Readiness(True)


def paths() -> dict[str, Path]:
    """Each component's cached binary, by component name."""
    return {name: binary_path(c) for name, c in components().items()}


def build(profile: str | None = None, *, only: str | None = None, log: Log = print) -> list[Built]:
    """Build whatever is missing (profile is accepted for symmetry: both need the same binaries)."""
    del profile
    chosen = [c for c in components().values() if only in (None, c.name)]
    if not chosen:
        raise TierError("build", f"unknown component {only!r}",
                        "one of: " + ", ".join(components()))
    results = [_cached(c) for c in chosen if is_built(c)]
    todo = [c for c in chosen if not is_built(c)]
    if todo:
        goenv.go_binary()
        with _build_lock(log):
            for c in todo:
                results.append(_cached(c) if is_built(c) else _compile(c, log))
    return results


def _cached(component: Component) -> Built:
    path = binary_path(component)
    return Built(component.name, component.version, path, 0.0, path.stat().st_size, cached=True)


def _compile(component: Component, log: Log) -> Built:
    gomod.check(component)
    _check_go_version(component)
    path = binary_path(component)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    log(f"building {component.name} {component.version} from {component.module} …")
    started = time.monotonic()
    try:
        goenv.go(["build", "-trimpath", "-buildvcs=false", f"-ldflags={ldflags(component)}",
                  "-o", str(tmp), component.package], cwd=component.wrapper, stage="build")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    seconds = time.monotonic() - started
    size = path.stat().st_size
    stamp = {"wrapper": wrapper_hash(component), "module": component.module,
             "version": component.version, "go": goenv.version(), "seconds": round(seconds, 1),
             "bytes": size, "built": datetime.now(UTC).isoformat(timespec="seconds")}
    _stamp_path(path).write_text(json.dumps(stamp, indent=2) + "\n")
    log(f"built {path} ({size / 2**20:.1f} MiB) in {_duration(seconds)}")
    return Built(component.name, component.version, path, seconds, size, cached=False)


def _check_go_version(component: Component) -> None:
    needed = gomod.go_line(component.wrapper)
    have = goenv.version().removeprefix("go")
    if _numbers(have) < _numbers(needed):
        raise TierError("go", f"{component.name} needs Go {needed} or newer, found {have}",
                        goenv.GO_HINT)


def _numbers(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("-")[0].split(".") if part.isdigit())


@contextmanager
def _build_lock(log: Log) -> Iterator[None]:
    bin_dir().mkdir(parents=True, exist_ok=True)
    with (bin_dir() / ".lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log("waiting for another build of the tier to finish …")
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs} s" if minutes else f"{seconds:.1f} s"
