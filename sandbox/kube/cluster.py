"""kind and Helm, through their command-line tools: the cluster and the kgateway charts."""

from __future__ import annotations

import os
from pathlib import Path

from sandbox.errors import CommandFailed, RuntimeUnavailable
from sandbox.proc import Echo, run
from sandbox.profiles import Profile

CREATE_TIMEOUT = 600.0
HELM_TIMEOUT = 600.0


def context_for(cluster_name: str) -> str:
    return f"kind-{cluster_name}"


def kubeconfig_path(cluster_name: str) -> Path:
    """Where the sandbox keeps the cluster's kubeconfig (not the user's ~/.kube/config)."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "agw-sandbox" / f"kubeconfig-{cluster_name}"


async def kind_clusters() -> list[str]:
    result = await run(["kind", "get", "clusters"], timeout=30)
    return [line.strip() for line in result.stdout.splitlines()
            if line.strip() and not line.startswith("No kind clusters")]


async def create_cluster(name: str, profile: Profile, echo: Echo | None = None) -> None:
    try:
        await run(["kind", "create", "cluster", "--name", name, "--image",
                   profile.pins.node_image, "--wait", "120s"], timeout=CREATE_TIMEOUT,
                  echo=echo)
    except CommandFailed as exc:
        exc.hint = ("kind could not create the cluster: check that Docker has at least 4 GiB of "
                    f"memory and that the image {profile.pins.node_image.split('@')[0]} can be "
                    "pulled; `kind create cluster` prints more with -v 1")
        raise


async def delete_cluster(name: str) -> None:
    await run(["kind", "delete", "cluster", "--name", name], timeout=300)


async def export_kubeconfig(name: str) -> Path:
    result = await run(["kind", "get", "kubeconfig", "--name", name], timeout=30)
    path = kubeconfig_path(name)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(result.stdout)
    except OSError as exc:
        raise unwritable_cache(path, exc) from exc
    return path


def unwritable_cache(path: Path, exc: OSError) -> RuntimeUnavailable:
    """The sandbox's cache directory cannot be written (read-only HOME, a bad XDG_CACHE_HOME)."""
    return RuntimeUnavailable(
        f"cannot write {path}: {exc.strerror or exc}",
        "point XDG_CACHE_HOME at a writable directory (the sandbox keeps the cluster's "
        "kubeconfig there), e.g. `export XDG_CACHE_HOME=$(mktemp -d)`")


def _helm_target(kubeconfig: Path | None, context: str | None) -> list[str]:
    args = []
    if kubeconfig is not None:
        args += ["--kubeconfig", str(kubeconfig)]
    if context:
        args += ["--kube-context", context]
    return args


async def helm_release_version(release: str, profile: Profile, kubeconfig: Path | None,
                               context: str | None) -> str | None:
    """The chart version of a deployed release, or None when it is not installed."""
    result = await run(["helm", "list", "--namespace", profile.namespace, "--filter",
                        f"^{release}$", "--deployed", "--output", "json",
                        *_helm_target(kubeconfig, context)], timeout=60)
    import json

    try:
        releases = json.loads(result.stdout or "[]")
    except ValueError as exc:
        raise RuntimeUnavailable(f"`helm list` printed something unexpected: "
                                 f"{result.stdout[:120]}", "check `helm version`") from exc
    for entry in releases:
        if entry.get("name") == release:
            chart = str(entry.get("chart", ""))
            return chart.rpartition("-")[2] or "?"
    return None


async def helm_install(release: str, chart: str, profile: Profile, kubeconfig: Path | None,
                       context: str | None, values: tuple[tuple[str, str], ...] = (),
                       echo: Echo | None = None) -> None:
    args = ["helm", "upgrade", "--install", release, chart, "--version",
            profile.pins.chart_version, "--namespace", profile.namespace, "--create-namespace",
            *_helm_target(kubeconfig, context)]
    for key, value in values:
        args += ["--set", f"{key}={value}"]
    try:
        await run(args, timeout=HELM_TIMEOUT, echo=echo)
    except CommandFailed as exc:
        exc.hint = (f"Helm could not install {chart} {profile.pins.chart_version}: check the "
                    "network (the charts are OCI artifacts on cr.kgateway.dev) and Helm >= "
                    f"{profile.pins.helm_min}")
        raise
