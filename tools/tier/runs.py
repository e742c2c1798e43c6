"""Running tiers on disk: one folder per kubeconfig path with the state file, certs, data and logs.

~/.cache/agw-sandbox/tier/run/<digest of the kubeconfig path>/
    state.json        what `up` started: PIDs, URLs, versions, files (read by down and status)
    harness.log       the harness's own messages (the stage that failed is named here)
    kube-apiserver.log, etcd.log, certs/, etcd/, ca.crt, ready.json
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .pins import cache_home
from .processes import Proc


@dataclass(frozen=True)
class TierInfo:
    """A tier started by `up`: how to reach it and what runs for it."""

    profile: str
    kubeconfig: Path
    context: str
    namespace: str
    run_dir: Path
    harness: Proc
    phase: str = "starting"  # "starting" until the API answers with the CRDs established
    server: str = ""
    etcd_url: str = ""
    kubernetes_version: str = ""
    etcd_version: str = ""
    apiserver: Proc | None = None
    etcd: Proc | None = None
    crds: tuple[str, ...] = ()
    objects: tuple[str, ...] = ()
    ports: tuple[int, ...] = ()
    kubeconfig_sha256: str = ""
    started: str = ""
    reused: bool = field(default=False, compare=False)

    @property
    def processes(self) -> list[Proc]:
        """Every process of this tier, harness last (it stops the others when asked to)."""
        return [p for p in (self.apiserver, self.etcd, self.harness) if p is not None]

    def alive(self) -> bool:
        """Whether every recorded process still runs."""
        return all(p.running() for p in self.processes)


def file_digest(path: Path) -> str:
    """SHA-256 of a file ("" when it does not exist): tells our kubeconfig from someone else's."""
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""


def run_root() -> Path:
    return cache_home() / "run"


def absolute(kubeconfig: Path) -> Path:
    """The kubeconfig's absolute path: the key of its state (the file need not exist)."""
    path = kubeconfig.expanduser()
    return path.parent.resolve() / path.name


def run_dir(kubeconfig: Path) -> Path:
    digest = hashlib.sha256(str(absolute(kubeconfig)).encode()).hexdigest()[:16]
    return run_root() / digest


def save(info: TierInfo) -> None:
    data = asdict(info)
    data.pop("reused")
    path = info.run_dir / "state.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    tmp.replace(path)


def load(kubeconfig: Path) -> TierInfo | None:
    return _read(run_dir(kubeconfig) / "state.json")


def every() -> list[TierInfo]:
    """Every tier with a state file, in kubeconfig order."""
    found = [_read(p) for p in sorted(run_root().glob("*/state.json"))]
    return sorted((i for i in found if i is not None), key=lambda i: str(i.kubeconfig))


def _read(path: Path) -> TierInfo | None:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    for name in ("harness", "apiserver", "etcd"):
        if data.get(name) is not None:
            data[name] = Proc(**data[name])
    for name in ("kubeconfig", "run_dir"):
        data[name] = Path(data[name])
    for name in ("crds", "objects", "ports"):
        data[name] = tuple(data.get(name, ()))
    return TierInfo(**data)


@contextmanager
def locked(kubeconfig: Path) -> Iterator[None]:
    """One up or down at a time per kubeconfig (the lock file goes away afterwards)."""
    run_root().mkdir(parents=True, exist_ok=True, mode=0o700)
    path = run_root() / f"{run_dir(kubeconfig).name}.lock"
    while True:
        with path.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            # A down may have removed the file while we waited: then lock the new one instead.
            if not path.exists() or path.stat().st_ino != os.fstat(lock.fileno()).st_ino:
                continue
            try:
                yield
            finally:
                path.unlink(missing_ok=True)
            return
