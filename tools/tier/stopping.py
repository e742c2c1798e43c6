"""down: stop what up started for a kubeconfig, by PID, and remove its files."""

from __future__ import annotations

import shutil
from pathlib import Path

from . import gobuild, processes, runs
from .processes import Proc
from .runs import TierInfo


def down(kubeconfig: Path) -> list[str]:
    """Stop what up started for kubeconfig and remove its files; say what was done."""
    kubeconfig = runs.absolute(kubeconfig)
    with runs.locked(kubeconfig):
        info = runs.load(kubeconfig)
        if info is None:
            return [f"nothing runs for {kubeconfig}"]
        return teardown(info)


def teardown(info: TierInfo) -> list[str]:
    """Stop every process of a tier (SIGTERM, then SIGKILL) and remove its files."""
    running = [p for p in _all_processes(info) if p.running()]
    # The harness stops kube-apiserver, then etcd, cleanly; the others get SIGTERM only when it
    # is gone already, and everything left after the grace period gets SIGKILL.
    first = [p for p in running if p.name == "tier-harness"] or running
    killed = processes.stop(running, first=first, grace=20.0)
    for _ in range(3):  # a process started while the harness was being stopped
        late = [p for p in _all_processes(info) if p.running()]
        if not late:
            break
        running += late
        killed += processes.stop(late, grace=2.0)
    lines = []
    if running:
        lines.append("stopped " + ", ".join(f"{p.name} (pid {p.pid})" for p in running))
    if killed:
        lines.append("had to SIGKILL " + ", ".join(f"{p.name} (pid {p.pid})" for p in killed))
    if not running:
        lines.append(f"nothing was running for {info.kubeconfig}")
    busy = [port for port in info.ports if processes.listening(port)]
    if busy:
        lines.append(f"note: port(s) {busy} have a listener again, not one of these processes")
    removed = [str(info.run_dir)]
    # The kubeconfig goes only if it is still the one the harness wrote (before the first save
    # of a running tier no digest is known, but up refused to start over an existing file).
    ours = runs.file_digest(info.kubeconfig) in (info.kubeconfig_sha256, "")
    if info.kubeconfig.is_file() and ours:
        info.kubeconfig.unlink()
        removed.append(str(info.kubeconfig))
    shutil.rmtree(info.run_dir, ignore_errors=True)
    lines.append("removed " + " and ".join(removed))
    return lines


def _all_processes(info: TierInfo) -> list[Proc]:
    """The recorded processes plus any other of our binaries that names the tier's run folder
    (one started after the last save, or orphaned by a harness that was killed)."""
    procs = list(info.processes)
    known = {p.pid for p in procs}
    for pid in processes.started_from(gobuild.bin_dir(), info.run_dir):
        found = Proc.of(Path((processes.cmdline(pid) or ["child"])[0]).name, pid)
        if pid not in known and found is not None:
            procs.insert(0, found)
    return procs
