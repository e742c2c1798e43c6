"""status: what runs for each tier (or one), with PIDs, listening ports and versions."""

from __future__ import annotations

from pathlib import Path

from . import processes, runs
from .runs import TierInfo


def status(kubeconfig: Path | None = None) -> list[str]:
    """A few lines per tier with a state file: profile, PIDs, ports, versions."""
    if kubeconfig is not None:
        info = runs.load(runs.absolute(kubeconfig))
        tiers = [info] if info is not None else []
    else:
        tiers = runs.every()
    lines: list[str] = []
    for info in tiers:
        lines += describe(info, heading=f"{info.kubeconfig}: profile {info.profile}")
    return lines


def describe(info: TierInfo, heading: str = "") -> list[str]:
    """What runs for a tier, with the ports each process listens on right now."""
    state = "running" if info.alive() else "NOT running (stale: run down to clean up)"
    if info.phase != "running":
        state = "starting" if info.harness.running() else state
    lines = [f"{heading or 'upstream tier up: profile ' + info.profile} — {state}"]
    for proc, what in ((info.apiserver, f"kube-apiserver {info.kubernetes_version} {info.server}"),
                       (info.etcd, f"etcd {info.etcd_version} {info.etcd_url}"),
                       (info.harness, f"tier-harness, files in {info.run_dir}")):
        if proc is not None:
            ports = ", ".join(f"{a}:{p}" for a, p in processes.listening_ports(proc.pid))
            alive = "" if proc.running() else " (gone)"
            lines.append(f"  pid {proc.pid:<7} {what}{alive}"
                         + (f" — listening on {ports}" if ports else ""))
    lines.append(f"  {len(info.crds)} CRDs established, {len(info.objects)} other objects, "
                 f"namespace {info.namespace}")
    lines.append(f"  kubeconfig {info.kubeconfig} (context {info.context}); "
                 f"stop: tools/upstream-tier down --kubeconfig {info.kubeconfig}")
    return lines
