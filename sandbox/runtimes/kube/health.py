"""What `status` and `down` report for the real runtimes, read through the runtime itself."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from sandbox.catalog.scenarios import ResourceRef
from sandbox.errors import SandboxError
from sandbox.runtimes.kube import cluster
from sandbox.runtimes.kube.preflight import Check
from sandbox.runtimes.runtime import Progress

if TYPE_CHECKING:
    from sandbox.runtimes.kube.runtime import KindRuntime, KubeRuntime


async def health(runtime: KubeRuntime) -> list[Check]:
    """The API server, the controller and proxy Deployments and the Gateway; nothing written."""
    checks: list[Check] = []
    if runtime.name == "kind":
        present = await kind_cluster_present(runtime)  # type: ignore[arg-type]
        checks.append(present)
        if not present.ok:
            return checks
    kube = await runtime.connect()
    checks.append(Check("Kubernetes API", True, await asyncio.to_thread(kube.server_version)))
    profile, place = runtime.profile, runtime.placement
    for namespace, name in ((profile.namespace, profile.controller_deployment),
                            (place.namespace, place.proxy_deployment)):
        ready, detail = await asyncio.to_thread(kube.deployment_ready, namespace, name)
        checks.append(Check(f"deployment {namespace}/{name}", ready, detail))
    gateway = await asyncio.to_thread(
        kube.status, ResourceRef("Gateway", place.gateway, place.namespace))
    programmed = gateway.condition("Programmed")
    checks.append(Check(
        f"Gateway {place.namespace}/{place.gateway}",
        programmed is not None and programmed.status == "True",
        ", ".join(str(c) for c in gateway.conditions) or "absent",
        "" if gateway.exists else "run `agw-sandbox up` to create it"))
    return checks


async def kind_cluster_present(runtime: KindRuntime) -> Check:
    name = runtime.cluster_name
    if name not in await cluster.kind_clusters():
        return Check(f"kind cluster {name}", False, "absent", "run `agw-sandbox up`")
    return Check(f"kind cluster {name}", True, "present")


async def remove_kind_cluster(runtime: KindRuntime, progress: Progress) -> list[str]:
    """Delete the cluster `up` created, and say what went with it ([] when there was none)."""
    if runtime.cluster_name not in await cluster.kind_clusters():
        progress(f"There is no kind cluster named {runtime.cluster_name}; nothing to delete.")
        return []
    progress(f"Deleting the kind cluster {runtime.cluster_name}…")
    return await cluster.delete_cluster(runtime.cluster_name)


def refuse_to_remove(runtime: KubeRuntime) -> SandboxError:
    """A cluster you brought is never deleted; say how to remove only the sandbox's objects."""
    place, guide = runtime.placement, runtime.profile.namespace
    hint = "each scenario's last step removes what it applied"
    if place.namespace != guide:
        hint += (f"; `kubectl --context {runtime.context} delete namespace {place.namespace}` "
                 "removes everything the sandbox put in its own namespace")
    return SandboxError(
        f"agw-sandbox never deletes a cluster you brought (context {runtime.context})", hint)
