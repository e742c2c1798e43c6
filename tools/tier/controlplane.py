"""up: start a tier for a kubeconfig in the background and return once its API answers."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import endpoints, gobuild, processes, runs, stopping
from .errors import TierError
from .pins import DEFAULT_CRDS, Profile, profile
from .processes import Proc
from .runs import TierInfo

Log = Callable[[str], None]
START_TIMEOUT = 240.0


def up(profile_name: str, kubeconfig: Path, crds_dir: Path | None = None, *,
       log: Log = print) -> TierInfo:
    """Start etcd and kube-apiserver for a profile; return once its CRDs are established.

    The processes keep running after this returns, until down(kubeconfig). An up on a kubeconfig
    that is already up with the same profile returns that tier (info.reused is True).
    """
    prof = profile(profile_name)
    kubeconfig = runs.absolute(kubeconfig)
    files = prof.manifest_files(_crds_folder(crds_dir))
    with runs.locked(kubeconfig):
        existing = _existing(kubeconfig, prof, log)
        if existing is not None:
            return existing
        built = {b.component: b.path for b in gobuild.build(prof.name, log=log)}
        return _start(prof, kubeconfig, files, built, log)


def _crds_folder(crds_dir: Path | None) -> Path:
    folder = (crds_dir or DEFAULT_CRDS).expanduser().resolve()
    if not folder.is_dir():
        raise TierError("crds", f"no CRD folder at {folder}",
                        "pass --crds DIR: a folder with one sub-folder per bundle "
                        "(gateway-api-v1.4.0/, kgateway-v2.1/, gateway-api-v1.6.0/, "
                        "agentgateway-v1.4.1/)")
    return folder


def _existing(kubeconfig: Path, prof: Profile, log: Log) -> TierInfo | None:
    info = runs.load(kubeconfig)
    if info is not None and info.phase == "running" and info.alive():
        if info.profile != prof.name:
            raise TierError("up", f"{kubeconfig} is already up with profile {info.profile}",
                            f"stop it first: tools/upstream-tier down --kubeconfig {kubeconfig}")
        log(f"{kubeconfig} is already up with profile {prof.name}: reusing it")
        return replace(info, reused=True)
    if info is not None:
        log(f"cleaning up a tier for {kubeconfig} that no longer runs")
        for line in stopping.teardown(info):
            log(f"  {line}")
    if kubeconfig.exists():
        raise TierError("up", f"{kubeconfig} exists and was not written by the tier",
                        "choose another --kubeconfig path, or remove that file")
    return None


def _start(prof: Profile, kubeconfig: Path, files: list[Path], built: dict[str, Path],
           log: Log) -> TierInfo:
    folder = runs.run_dir(kubeconfig)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, mode=0o700)
    argv = _harness_argv(prof, kubeconfig, files, built, folder)
    log(f"starting etcd and kube-apiserver for profile {prof.name} …")
    # envtest makes temporary folders (webhook certificates) that an abort would leave behind:
    # inside the run folder, down removes them with the rest.
    (folder / "tmp").mkdir()
    env = {**os.environ, "TMPDIR": str(folder / "tmp")}
    pid = processes.spawn_detached(argv, folder / "harness.log", env)
    harness = Proc.of("tier-harness", pid) or Proc("tier-harness", pid, 0)
    info = TierInfo(profile=prof.name, kubeconfig=kubeconfig, context=_context(prof),
                    namespace=prof.namespace, run_dir=folder, harness=harness)
    runs.save(info)
    try:
        info = _running(info, _wait_ready(info), prof)
    except BaseException:
        _keep_logs(info)
        stopping.teardown(info)
        raise
    runs.save(info)
    return info


def _context(prof: Profile) -> str:
    return f"agw-tier-{prof.name}"


def _harness_argv(prof: Profile, kubeconfig: Path, files: list[Path], built: dict[str, Path],
                  folder: Path) -> list[str]:
    argv = [str(built[gobuild.HARNESS]), "-dir", str(folder),
            "-apiserver", str(built["kube-apiserver"]), "-etcd", str(built["etcd"]),
            "-kubeconfig", str(kubeconfig), "-context", _context(prof),
            "-namespace", prof.namespace, "-ready", str(folder / "ready.json")]
    if prof.admission_probe is not None:
        probe = folder / "admission-probe.json"
        probe.write_text(json.dumps(prof.admission_probe))
        argv += ["-admission-probe", str(probe)]
    for f in files:
        argv += ["-manifest", str(f)]
    return argv


def _wait_ready(info: TierInfo) -> dict[str, Any]:
    ready = info.run_dir / "ready.json"
    deadline = time.monotonic() + START_TIMEOUT
    while not ready.is_file():
        if not info.harness.running():
            raise TierError("start", _failure(info))
        if time.monotonic() > deadline:
            raise TierError("start", f"not ready after {START_TIMEOUT:.0f} s",
                            f"see the logs in {_failed_logs(info)}")
        time.sleep(0.2)
    data: dict[str, Any] = json.loads(ready.read_text())
    return data


def _failure(info: TierInfo) -> str:
    log = info.run_dir / "harness.log"
    lines = log.read_text(errors="replace").splitlines() if log.is_file() else []
    failed = [line for line in lines if "failed at" in line]
    reason = failed[-1].split("failed at ", 1)[1] if failed else "\n".join(lines[-15:])
    return f"the harness stopped: {reason}\n  (logs: {_failed_logs(info)})"


def _failed_logs(info: TierInfo) -> Path:
    return runs.run_root().parent / "failed" / info.run_dir.name


def _keep_logs(info: TierInfo) -> None:
    """Copy the logs of a failed start out of the run folder, which is removed."""
    kept = _failed_logs(info)
    shutil.rmtree(kept, ignore_errors=True)
    kept.mkdir(parents=True, exist_ok=True)
    for log in info.run_dir.glob("*.log"):
        shutil.copy2(log, kept / log.name)


def _running(info: TierInfo, ready: dict[str, Any], prof: Profile) -> TierInfo:
    api, etcd = ready["apiserver"], ready["etcd"]
    info = replace(
        info, phase="running", server=api["url"].rstrip("/"), etcd_url=etcd["url"],
        apiserver=Proc.of("kube-apiserver", api["pid"]), etcd=Proc.of("etcd", etcd["pid"]),
        crds=tuple(ready.get("crds") or ()), objects=tuple(ready.get("objects") or ()),
        kubeconfig_sha256=runs.file_digest(info.kubeconfig),
        started=datetime.now(UTC).isoformat(timespec="seconds"))
    version = endpoints.kubernetes_version(info.server, info.run_dir / "ca.crt")
    if not prof.supports(version):
        low, high = prof.kubernetes_range
        raise TierError("versions", f"the API server is {version}, outside profile "
                        f"{prof.name}'s Kubernetes {low}–{high}", "fix the pin in pins.json")
    ports = tuple(port for p in (info.apiserver, info.etcd) if p is not None
                  for _, port in processes.listening_ports(p.pid))
    return replace(info, kubernetes_version=version, ports=ports,
                   etcd_version=endpoints.etcd_version(info.etcd_url))
