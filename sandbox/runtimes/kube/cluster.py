"""kind and Helm, through their command-line tools: the cluster and the kgateway charts."""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sandbox.errors import CommandFailed, CommandTimedOut, RuntimeUnavailable, SandboxError
from sandbox.proc import Echo, run
from sandbox.profiles import Profile
from sandbox.records import record

CREATE_TIMEOUT = 600.0
HELM_TIMEOUT = 600.0
# Helm's refusal to install over another release's objects names their owner this way.
OWNERSHIP = re.compile(r'key "meta\.helm\.sh/(release-name|release-namespace)" must equal '
                       r'"[^"]*": current value is "([^"]*)"')


def context_for(cluster_name: str) -> str:
    return f"kind-{cluster_name}"


def kubeconfig_path(cluster_name: str) -> Path:
    """Where the sandbox keeps the cluster's kubeconfig (not the user's ~/.kube/config)."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "agw-sandbox" / f"kubeconfig-{cluster_name}"


def kind_kubeconfig(env: Mapping[str, str] | None = None) -> Path:
    """The kubeconfig file kind writes a new cluster's context into (and makes it current).

    kind follows kubectl: the first existing file of $KUBECONFIG, else its last one, else
    ~/.kube/config (kind's pkg/cluster/internal/kubeconfig/internal/kubeconfig/paths.go).
    """
    env = os.environ if env is None else env
    paths = list(dict.fromkeys(p for p in env.get("KUBECONFIG", "").split(os.pathsep) if p))
    if not paths:
        return Path(env.get("HOME") or Path.home()) / ".kube" / "config"
    return Path(next((p for p in paths if Path(p).is_file()), paths[-1]))


def has_context(kubeconfig: Path, context: str) -> bool:
    from sandbox.documents import load_one
    from sandbox.runtimes.kube.kubeconfig import file_problem

    if file_problem(kubeconfig) is not None:  # a FIFO would block; say nothing of it here
        return False
    try:
        config = load_one(kubeconfig.read_text())
    except (OSError, SandboxError):
        return False
    contexts = config.get("contexts") if isinstance(config, Mapping) else None
    return any(isinstance(c, Mapping) and c.get("name") == context for c in contexts or [])


async def kind_clusters() -> list[str]:
    result = await run(["kind", "get", "clusters"], timeout=30)
    return [line.strip() for line in result.stdout.splitlines()
            if line.strip() and not line.startswith("No kind clusters")]


async def create_cluster(name: str, profile: Profile, echo: Echo | None = None,
                         image: str | None = None) -> None:
    """``image``: the node image's reference when it is not the pin itself (a loaded bundle)."""
    try:
        await run(["kind", "create", "cluster", "--name", name, "--image",
                   image or profile.pins.node_image, "--wait", "120s"], timeout=CREATE_TIMEOUT,
                  echo=echo)
    except CommandFailed as exc:
        exc.hint = ("kind could not create the cluster: check that Docker has at least 4 GiB of "
                    f"memory and that the image {profile.pins.node_image.split('@')[0]} can be "
                    "pulled; `kind create cluster` prints more with -v 1")
        raise


async def load_image_archive(name: str, archive: Path, echo: Echo | None = None) -> None:
    """Put a `docker save` archive into the cluster's node, so no pod pulls that image."""
    try:
        await run(["kind", "load", "image-archive", str(archive), "--name", name],
                  timeout=CREATE_TIMEOUT, echo=echo)
    except CommandFailed as exc:
        exc.hint = (f"kind could not load {archive} into the cluster {name}: check that Docker "
                    "has room for it (`docker system df`)")
        raise


async def helm_pull(chart: str, version: str, destination: Path,
                    echo: Echo | None = None) -> None:
    """Download a chart's .tgz into ``destination`` (the offline bundle)."""
    try:
        await run(["helm", "pull", chart, "--version", version, "--destination",
                   str(destination)], timeout=HELM_TIMEOUT, echo=echo)
    except CommandFailed as exc:
        exc.hint = (f"Helm could not download {chart} {version}: check the network (the charts "
                    "are OCI artifacts) and `helm version`")
        raise


async def delete_cluster(name: str) -> list[str]:
    """Delete the kind cluster; return what went with it, as a user would list it."""
    user_config = kind_kubeconfig()
    had_context = has_context(user_config, context_for(name))
    await run(["kind", "delete", "cluster", "--name", name], timeout=300)
    removed = [f"kind cluster {name} (its node containers)"]
    if had_context:  # kind removes the context, cluster and user it wrote on create
        removed.append(f"context {context_for(name)} from {user_config}")
    copy = kubeconfig_path(name)
    try:
        if copy.exists():
            copy.unlink()
            removed.append(f"the sandbox's copy of its kubeconfig, {copy}")
    except OSError as exc:  # the cluster is gone all the same; a stale file is harmless
        removed.append(f"(not its kubeconfig copy {copy}: {exc.strerror or exc})")
    return removed


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


@record
class Release:
    """A Helm release as `helm list` reports it."""

    name: str
    version: str  # the chart's version, e.g. v2.1.3
    status: str  # deployed, failed, pending-install, pending-upgrade, ...

    @property
    def stuck(self) -> bool:
        """Helm holds a lock on a pending release: every install or upgrade is refused."""
        return self.status.startswith("pending-")


def same_chart_version(found: str, pinned: str) -> bool:
    """agentgateway pushes every chart as both ``1.4.1`` and ``v1.4.1`` (controller/Makefile,
    release-charts), rendering the same images: a leading ``v`` does not make another version."""
    return found.removeprefix("v") == pinned.removeprefix("v")


async def helm_release(release: str, profile: Profile, kubeconfig: Path | None,
                       context: str | None, namespace: str | None = None) -> Release | None:
    """The release in any state (a pending one included), or None when there is none.

    ``namespace``: where the release lives when not in the profile's namespace (each function
    below takes it too).
    """
    result = await run(["helm", "list", "--namespace", namespace or profile.namespace, "--filter",
                        f"^{release}$", "--all", "--output", "json",
                        *_helm_target(kubeconfig, context)], timeout=60)
    releases = _json(result.stdout, "helm list")
    for entry in releases if isinstance(releases, list) else []:
        if entry.get("name") == release:
            chart = str(entry.get("chart", ""))
            return Release(release, chart.rpartition("-")[2] or "?",
                           str(entry.get("status", "unknown")))
    return None


async def helm_release_version(release: str, profile: Profile, kubeconfig: Path | None,
                               context: str | None) -> str | None:
    """The chart version of a deployed release, or None when it is not installed."""
    found = await helm_release(release, profile, kubeconfig, context)
    return found.version if found is not None and found.status == "deployed" else None


async def helm_values(release: str, profile: Profile, kubeconfig: Path | None,
                      context: str | None, namespace: str | None = None) -> dict[str, Any]:
    """The values a release was rendered with (the chart's defaults included)."""
    result = await run(["helm", "get", "values", release, "--namespace",
                        namespace or profile.namespace,
                        "--all", "--output", "json", *_helm_target(kubeconfig, context)],
                       timeout=60)
    values = _json(result.stdout, "helm get values")
    return values if isinstance(values, dict) else {}


def value_at(values: Mapping[str, Any], dotted: str) -> Any:
    node: Any = values
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, Mapping) else None
    return node


def helm_command(*args: str, profile: Profile, kubeconfig: Path | None,
                 context: str | None, namespace: str | None = None) -> str:
    """A helm command line to paste, aimed at the same cluster the sandbox uses."""
    return shlex.join(["helm", *args, "--namespace", namespace or profile.namespace,
                       *_helm_target(kubeconfig, context)])


def repair_command(release: Release, profile: Profile, kubeconfig: Path | None,
                   context: str | None, namespace: str | None = None) -> str:
    """What clears a pending release: an interrupted install is removed, an upgrade rolled back."""
    verb = "uninstall" if release.status == "pending-install" else "rollback"
    return helm_command(verb, release.name, profile=profile, kubeconfig=kubeconfig,
                        context=context, namespace=namespace)


def _json(text: str, what: str) -> Any:
    try:
        return json.loads(text or "null")
    except ValueError as exc:
        raise RuntimeUnavailable(f"`{what}` printed something unexpected: {text[:120]}",
                                 "check `helm version`") from exc


async def helm_install(release: str, chart: str, profile: Profile, kubeconfig: Path | None,
                       context: str | None, values: tuple[tuple[str, str], ...] = (),
                       echo: Echo | None = None, reuse_values: bool = False,
                       namespace: str | None = None) -> None:
    namespace = namespace or profile.namespace
    args = ["helm", "upgrade", "--install", release, chart, "--version",
            profile.pins.chart_version, "--namespace", namespace, "--create-namespace",
            *_helm_target(kubeconfig, context)]
    if reuse_values:
        args.append("--reuse-values")
    for key, value in values:
        args += ["--set", f"{key}={value}"]
    try:
        await run(args, timeout=HELM_TIMEOUT, echo=echo)
    except CommandTimedOut:
        raise
    except CommandFailed as exc:
        exc.hint = _install_hint(exc.stderr, release, chart, profile, namespace)
        raise


def _install_hint(stderr: str, release: str, chart: str, profile: Profile,
                  namespace: str) -> str:
    if "another operation" in stderr:  # a pending release holds Helm's lock
        return (f"an earlier install or upgrade of {release} was interrupted and left it "
                f"pending; `helm list --all --namespace {namespace}` shows it, `helm uninstall "
                f"{release}` (after an install) or `helm rollback {release}` (after an upgrade) "
                "repairs it")
    if "invalid ownership metadata" in stderr:  # pkg/action/validate.go
        owners = dict(OWNERSHIP.findall(stderr))
        name, home = owners.get("release-name"), owners.get("release-namespace")
        owner = (f"already belong to the Helm release {name} in namespace {home}"
                 if name and home else "were not installed by Helm")
        return (f"what the chart installs (its CRDs) {owner}: another installation of "
                f"{profile.title} is on this cluster. Use that one (`helm list -A` shows it), "
                "or a cluster of the sandbox's own (--runtime kind)")
    if not chart.startswith("oci://"):  # a bundle's .tgz
        return (f"Helm could not install {chart}: check that the file is the chart `agw-sandbox "
                f"prepare` saved, and Helm >= {profile.pins.helm_min}")
    registry = chart.removeprefix("oci://").split("/")[0]
    return (f"Helm could not install {chart} {profile.pins.chart_version}: check the network "
            f"(the charts are OCI artifacts on {registry}) and Helm >= {profile.pins.helm_min}")
