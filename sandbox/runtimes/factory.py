"""Builds the Runtime a Settings object asks for."""

from __future__ import annotations

import os
from collections.abc import Callable

from sandbox.errors import RuntimeUnavailable
from sandbox.profiles import Profile
from sandbox.runtimes.runtime import Runtime
from sandbox.settings import Settings, known_keys

CLUSTER_TOOLS = ("kind", "helm", "kubectl")


def make_runtime(settings: Settings, name: str, profile: Profile | None = None,
                 ask: Callable[[str], bool] | None = None) -> Runtime:
    """``ask`` is how a cluster runtime asks before installing into a cluster you brought.

    The profile is the settings' unless one is given.
    """
    profile = profile or settings.api_profile
    if name == "sim":
        from sandbox.runtimes.sim.runtime import SimRuntime

        return SimRuntime(profile, settings.port, settings.provider, [settings.token],
                          namespace=settings.namespace, gateway=settings.gateway)
    if name == "kind":
        from sandbox.runtimes.kube.kind import KindRuntime

        return KindRuntime(profile, settings.port, settings.provider, settings.token,
                           settings.cluster_name, namespace=settings.namespace,
                           gateway=settings.gateway, bundle=settings.bundle,
                           keys=known_keys(settings.token, os.environ))
    if name == "cluster":
        from sandbox.runtimes.kube.runtime import KubeRuntime

        def consent(question: str) -> bool:
            return settings.install_kgateway or (ask is not None and ask(question))

        def confirm(question: str) -> bool:
            return settings.assume_yes or (ask is not None and ask(question))

        return KubeRuntime(profile, settings.port, settings.provider, settings.token, None,
                           settings.context, consent=consent, confirm=confirm,
                           namespace=settings.namespace, gateway=settings.gateway,
                           keys=known_keys(settings.token, os.environ))
    raise RuntimeUnavailable(f"unknown runtime {name!r}", "use kind, cluster or sim")


def choose_runtime(requested: str, context: str | None = None) -> tuple[str, str | None]:
    """The runtime to use and, for ``auto``, a notice saying why it was chosen."""
    if requested == "auto" and context:
        return "cluster", None
    if requested != "auto":  # argparse allows only RUNTIMES
        return requested, None
    from sandbox.runtimes.kube.containers import probe_docker

    try:
        docker = probe_docker(timeout=2.0)
    except RuntimeUnavailable as exc:
        return "sim", f"{exc.message}; using the simulated runtime (offline, in-process)"
    import shutil

    missing = [tool for tool in CLUSTER_TOOLS if shutil.which(tool) is None]
    if missing:
        return "sim", (f"Docker answers at {docker.endpoint}, but {', '.join(missing)} "
                       f"{'is' if len(missing) == 1 else 'are'} not installed (see "
                       "`agw-sandbox doctor`); using the simulated runtime")
    return "kind", f"Docker answers at {docker.endpoint}; using the kind runtime"
