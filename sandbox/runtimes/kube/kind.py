"""The kind runtime: a kind cluster the sandbox creates (or reuses) and may delete, from the pinned
node image or from an offline bundle."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sandbox import stdio
from sandbox.errors import RuntimeUnavailable
from sandbox.profiles import Profile
from sandbox.runtimes.kube import cluster
from sandbox.runtimes.kube.bundle import Bundle
from sandbox.runtimes.kube.client import Kube
from sandbox.runtimes.kube.install import Fetch, gateway_api_crds
from sandbox.runtimes.kube.preflight import Check
from sandbox.runtimes.kube.runtime import KubeRuntime
from sandbox.runtimes.runtime import Progress
from sandbox.untrusted import shortened


class KindRuntime(KubeRuntime):
    """A kind cluster the sandbox creates (or reuses) with the pinned node image."""

    name = "kind"
    tools = ("kind", "helm", "kubectl")
    shares_cluster = False  # the sandbox created this cluster: all of it is ours

    def __init__(self, profile: Profile, port: int, provider: str, token: str,
                 cluster_name: str, fetch: Fetch | None = None, namespace: str | None = None,
                 gateway: str | None = None, bundle: Path | None = None,
                 keys: Sequence[str] = ()) -> None:
        super().__init__(profile, port, provider, token, cluster.kubeconfig_path(cluster_name),
                         cluster.context_for(cluster_name), fetch, consent=lambda q: True,
                         namespace=namespace, gateway=gateway, keys=keys)
        self.cluster_name = cluster_name
        self.bundle_dir = bundle  # an offline bundle: every image, chart and CRD from its files
        self.bundle: Bundle | None = None

    async def up(self, progress: Progress, forward: bool = True) -> None:
        if self.bundle_dir is not None:  # every sum is checked before anything is created
            await self._phase(progress, f"offline bundle {shortened(str(self.bundle_dir))}",
                              self._open_bundle)
        await super().up(progress, forward)

    async def _open_bundle(self) -> str:
        assert self.bundle_dir is not None
        bundle = await stdio.in_thread(Bundle.open, self.bundle_dir)
        detail = await stdio.in_thread(bundle.check, self.profile)
        self.bundle = bundle
        self.fetch = bundle.fetcher(self.profile)
        return detail

    async def _gateway_api_crds(self) -> str:
        if self.bundle is None:
            return await super()._gateway_api_crds()
        return await gateway_api_crds(self._kube, self.profile, self.fetch, self._agrees,
                                      self._progress, str(self.bundle.manifest(self.profile)))

    async def _kgateway_charts(self) -> str:
        if self.bundle is None:
            return await super()._kgateway_charts()
        return await self._install_charts(self.bundle.charts(self.profile))

    async def _create_cluster(self) -> None:
        """From the pinned node image, or from the bundle's archive of it (loaded first)."""
        if self.bundle is None:
            await cluster.create_cluster(self.cluster_name, self.profile, echo=self._progress)
            return
        from sandbox.runtimes.kube.containers import load_image

        (node, archive), *_ = self.bundle.of_kind(self.profile, "image")
        self._progress(f"loading {archive} into Docker")
        image = await stdio.in_thread(load_image, archive, node.ref)
        await cluster.create_cluster(self.cluster_name, self.profile, echo=self._progress,
                                     image=image)

    async def _load_images(self) -> str:
        """The other images go straight into the node: no pod pulls anything."""
        if self.bundle is None:
            return ""
        _, *others = self.bundle.of_kind(self.profile, "image")
        for _, archive in others:
            await cluster.load_image_archive(self.cluster_name, archive, echo=self._progress)
        return f"; {len(others)} images loaded from the bundle"

    @property
    def label(self) -> str:
        return "kind"

    async def _preflight(self, forward: bool) -> str:
        from sandbox.runtimes.kube.containers import probe_docker

        try:
            info = await stdio.in_thread(probe_docker)
        except RuntimeUnavailable as docker:
            try:
                await super()._preflight(forward)
            except RuntimeUnavailable as others:
                docker.message += "; " + others.message
            raise docker from None
        tools = await super()._preflight(forward)
        return f"Docker {info.version}, {tools}"

    async def _prepare_cluster(self) -> str:
        existing = await cluster.kind_clusters()
        context = cluster.context_for(self.cluster_name)
        if self.cluster_name in existing:
            outcome = f"kind cluster {self.cluster_name} reused (context {context})"
        else:
            await self._create_cluster()
            # kind's own default, worth saying: it changes what plain `kubectl` talks to.
            outcome = (f"kind cluster {self.cluster_name} created; kind wrote context {context} "
                       f"into {cluster.kind_kubeconfig()} and made it current")
        self.kubeconfig = await cluster.export_kubeconfig(self.cluster_name)
        return outcome + await self._load_images()

    async def connect(self) -> Kube:
        if self.kube is None:
            self.kubeconfig = await cluster.export_kubeconfig(self.cluster_name)
        return await super().connect()

    async def _cluster_checks(self) -> list[Check]:
        name = self.cluster_name
        if name not in await cluster.kind_clusters():
            return [Check(f"kind cluster {name}", False, "absent", "run `agw-sandbox up`")]
        return [Check(f"kind cluster {name}", True, "present")]

    async def remove(self, progress: Progress) -> list[str]:
        """Delete the kind cluster `up` created, and say what went with it ([] when there was
        none)."""
        if self.cluster_name not in await cluster.kind_clusters():
            progress(f"There is no kind cluster named {self.cluster_name}; nothing to delete.")
            return []
        progress(f"Deleting the kind cluster {self.cluster_name}…")
        return await cluster.delete_cluster(self.cluster_name)
