"""The real runtimes: kgateway and agentgateway on a kind cluster, or on a cluster you bring.

`up` walks the readiness chain with a timed, named phase for each stage: cluster, Gateway API
CRDs, kgateway charts, controller, GatewayClass, Gateway, proxy, mock provider, port-forward.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import time
from collections.abc import Awaitable, Callable, Mapping
from importlib.resources import files
from pathlib import Path
from typing import Any

from sandbox.catalog import builtin_dir
from sandbox.documents import load_all
from sandbox.errors import RuntimeUnavailable, SandboxError, WaitTimeout
from sandbox.kube import cluster
from sandbox.kube.client import MANAGED_BY, Kube
from sandbox.kube.portforward import PortForward
from sandbox.profiles import FIELD_MANAGER, Profile
from sandbox.runtime import Applied, Progress, ResourceStatus
from sandbox.scenarios import ResourceRef

Fetch = Callable[[str], Awaitable[str]]
Consent = Callable[[str], bool]
BUNDLE_VERSION = "gateway.networking.k8s.io/bundle-version"
MOCK_PORT = 8000
CHECKSUM = "agw-sandbox/checksum"
READY_TIMEOUT = 300.0


class KubeRuntime:
    """A cluster reached through a kubeconfig context (the cluster runtime).

    Someone else may use the same cluster: the runtime needs an explicit context, shows the API
    server and asks before applying anything (``confirm``), and never overwrites or deletes an
    object it did not create. ``namespace`` and ``gateway`` give the sandbox names of its own;
    the scenarios' documents are then moved there from the guide's names as they are applied.
    """

    name = "cluster"
    shares_cluster = True

    def __init__(self, profile: Profile, port: int, provider: str, token: str,
                 kubeconfig: Path | None, context: str | None, fetch: Fetch | None = None,
                 consent: Consent | None = None, confirm: Consent | None = None,
                 namespace: str | None = None, gateway: str | None = None) -> None:
        self.profile = profile
        self.namespace = namespace or profile.namespace
        self.gateway = gateway or profile.gateway_name
        self.confirm = confirm
        self.port = port
        self.provider = provider
        self.token = token
        self.kubeconfig = kubeconfig
        self.context = context
        self.fetch = fetch
        self.consent = consent
        self.kube: Kube | None = None
        self.forward: PortForward | None = None
        self.forward_state = "not started"
        self.timings: list[tuple[str, float]] = []
        self._progress: Progress = lambda line: None

    @property
    def label(self) -> str:
        return f"cluster {self.context}" if self.context else "cluster"

    # -- bring up -------------------------------------------------------------------------------
    tools: tuple[str, ...] = ("helm", "kubectl")

    async def up(self, progress: Progress, forward: bool = True) -> None:
        self._progress = progress  # commands that change something are echoed through it
        self._require_context()
        await self._phase(progress, "preflight", lambda: self._preflight(forward))
        await self._phase(progress, "cluster", self._prepare_cluster)
        self.kube = await asyncio.to_thread(Kube.connect, str(self.kubeconfig) if
                                            self.kubeconfig else None, self.context,
                                            self.profile.controller_name, self.shares_cluster)
        await self._phase(progress, "Kubernetes API", self._check_api)
        if self.shares_cluster:
            self._confirm_target()
        await self._phase(progress, f"Gateway API CRDs {self.profile.pins.gateway_api}",
                          self._gateway_api_crds)
        await self._phase(progress, f"kgateway {self.profile.pins.chart_version} charts",
                          self._kgateway_charts)
        await self._phase(progress, "kgateway controller ready", self._controller_ready)
        await self._phase(progress, f"GatewayClass {self.profile.gateway_class} accepted",
                          self._gateway_class_accepted)
        if self.namespace != self.profile.namespace:
            await self._phase(progress, f"namespace {self.namespace}", self._own_namespace)
        await self._phase(progress, f"Gateway {self.gateway} programmed",
                          self._gateway_programmed)
        await self._phase(progress, "agentgateway proxy rolled out", self._proxy_ready)
        if self.provider == "mock":
            await self._phase(progress, "mock provider running in the cluster",
                              self._mock_provider)
        if forward:
            await self._phase(progress, f"port-forward to localhost:{self.port}",
                              self._port_forward)

    async def _phase(self, progress: Progress, name: str,
                     action: Callable[[], Awaitable[str | None]]) -> None:
        progress(f"… {name}")
        started = time.monotonic()
        try:
            detail = await action()
        except SandboxError as exc:
            exc.message = f"stage “{name}” failed: {exc.message}"
            raise
        seconds = time.monotonic() - started
        self.timings.append((name, seconds))
        progress(f"✓ {name}" + (f": {detail}" if detail else "") + f" ({seconds:.1f}s)")

    async def _preflight(self, forward: bool) -> str:
        """Everything that can be checked before minutes of setup: tools, versions, the port."""
        from sandbox.kube.preflight import check_port, check_tool

        checks = list(await asyncio.gather(*(check_tool(tool) for tool in self.tools)))
        if forward:
            checks.append(check_port(self.port))
        problems = [f"{c.name}: {c.detail}" + (f" ({c.hint})" if c.hint else "")
                    for c in checks if not c.ok]
        helm = next((c for c in checks if c.name == "helm" and c.ok), None)
        if helm is not None and _version(helm.detail) < _version(self.profile.pins.helm_min):
            problems.append(f"helm: {helm.detail} is too old (install Helm "
                            f"{self.profile.pins.helm_min} or newer)")
        if problems:
            raise RuntimeUnavailable("; ".join(problems),
                                     "`agw-sandbox doctor` checks all of this again")
        return ", ".join(f"{c.name} {c.detail}" for c in checks if c.name != "port")

    async def _prepare_cluster(self) -> str | None:
        return f"context {self.context}"

    def _require_context(self) -> None:
        if not self.context:
            raise RuntimeUnavailable(
                "--runtime cluster needs --context NAME: the sandbox never picks the current "
                "context on its own, so it cannot change a cluster you did not name",
                "list yours with `kubectl config get-contexts`, then pass --context NAME")

    def _confirm_target(self) -> None:
        """Ask once, before the first write, showing where the writes would go."""
        assert self.kube is not None
        where = (f"context {self.context} (API server {self.kube.host}), namespace "
                 f"{self.namespace}, Gateway {self.gateway}")
        self._progress(f"the sandbox will write to {where}")
        if self.confirm is None or not self.confirm(f"Apply the sandbox's resources to {where}?"):
            raise RuntimeUnavailable(
                f"not confirmed: nothing was applied to {where}",
                "answer y when asked, or pass --yes to agree in advance (for scripts)")

    def _place(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        """A scenario document moved from the guide's namespace and Gateway to the sandbox's."""
        return place(doc, self.profile, self.namespace, self.gateway)

    def _placed(self, ref: ResourceRef) -> ResourceRef:
        if ref.namespace != self.profile.namespace:
            return ref
        name = self.gateway if (ref.kind == "Gateway" and ref.name == self.profile.gateway_name) \
            else ref.name
        return ResourceRef(ref.kind, name, self.namespace)

    async def _own_namespace(self) -> str:
        applied = await asyncio.to_thread(self._kube.apply, {
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": self.namespace, "labels": {MANAGED_BY: FIELD_MANAGER}}})
        return applied.outcome

    @property
    def _kube(self) -> Kube:
        if self.kube is None:
            raise RuntimeUnavailable("the cluster is not connected yet", "run `agw-sandbox up`")
        return self.kube

    async def _check_api(self) -> str:
        return f"Kubernetes {await asyncio.to_thread(self._kube.server_version)}"

    async def _gateway_api_crds(self) -> str:
        crd = await asyncio.to_thread(self._kube.get, "CustomResourceDefinition", "",
                                      "gateways.gateway.networking.k8s.io")
        wanted = self.profile.pins.gateway_api
        found = ((crd or {}).get("metadata") or {}).get("annotations", {}).get(BUNDLE_VERSION)
        if found == wanted:
            return "already installed"
        if found and not self._agrees(f"Upgrade the Gateway API CRDs from {found} to {wanted}?"):
            raise RuntimeUnavailable(f"the cluster has Gateway API {found}, not {wanted}",
                                     "rerun with consent to upgrade, or use a cluster with "
                                     f"Gateway API {wanted}")
        if self.fetch is not None:
            text = await self.fetch(self.profile.pins.gateway_api_crds_url)
        else:
            from sandbox.exchange import fetch_text

            text = await fetch_text(self.profile.pins.gateway_api_crds_url)
        documents = load_all(text)
        self._progress(f"$ kubectl apply --server-side -f {self.profile.pins.gateway_api_crds_url}")
        for doc in documents:  # cluster-wide and shared: changed only with consent (above)
            await asyncio.to_thread(self._kube.apply, doc, False)
        return f"applied {len(documents)} objects"

    def _agrees(self, question: str) -> bool:
        return self.consent is not None and self.consent(question)

    async def _kgateway_charts(self) -> str:
        pins = self.profile.pins
        results = []
        for release, chart, values in (("kgateway-crds", pins.crd_chart, ()),
                                       ("kgateway", pins.chart, pins.helm_values)):
            found = await cluster.helm_release(release, self.profile, self.kubeconfig,
                                               self.context)
            if found is not None and found.stuck:
                raise RuntimeUnavailable(
                    f"the Helm release {release} in {self.profile.namespace} is stuck in "
                    f"{found.status} (an earlier install or upgrade was interrupted), so Helm "
                    "refuses to touch it",
                    f"repair it with `{self._repair(found)}`, then run `agw-sandbox up` again")
            version = found.version if found is not None and found.status == "deployed" \
                else None
            if version == pins.chart_version:
                results.append(f"{release} present" + await self._check_values(release, chart,
                                                                              values))
                continue
            if not self._may_install(release, version):
                raise RuntimeUnavailable(
                    f"{release} {pins.chart_version} is not installed in context "
                    f"{self.context}" + (f" (found {version})" if version else ""),
                    "rerun `agw-sandbox up --context ... --install-kgateway` to let the sandbox "
                    "install it, or install it yourself")
            await cluster.helm_install(release, chart, self.profile, self.kubeconfig,
                                       self.context, values, echo=self._progress)
            results.append(f"{release} installed")
        return ", ".join(results)

    def _repair(self, release: cluster.Release) -> str:
        return cluster.repair_command(release, self.profile, self.kubeconfig, self.context)

    async def _check_values(self, release: str, chart: str,
                            wanted: tuple[tuple[str, str], ...]) -> str:
        """A release installed without our values (kgateway without agentgateway) is named now,
        not after minutes of waiting for a GatewayClass that never comes."""
        if not wanted:
            return ""
        values = await cluster.helm_values(release, self.profile, self.kubeconfig, self.context)
        missing = tuple((key, value) for key, value in wanted
                        if str(cluster.value_at(values, key)).lower() != value.lower())
        if not missing:
            return ""
        settings = ", ".join(f"{key}={value}" for key, value in missing)
        command = cluster.helm_command(
            "upgrade", release, chart, "--version", self.profile.pins.chart_version,
            "--reuse-values", *[a for k, v in missing for a in ("--set", f"{k}={v}")],
            profile=self.profile, kubeconfig=self.kubeconfig, context=self.context)
        if not self._agrees(f"The {release} release lacks {settings} (agentgateway is off). "
                            f"Run `{command}`?"):
            raise RuntimeUnavailable(
                f"{release} {self.profile.pins.chart_version} is installed in context "
                f"{self.context} without {settings}: it runs only the Envoy gateway, so there "
                f"is no GatewayClass {self.profile.gateway_class} and nothing would serve the "
                "sandbox's Gateway",
                f"enable it with `{command}` (or rerun with --install-kgateway to let the "
                "sandbox do it)")
        await cluster.helm_install(release, chart, self.profile, self.kubeconfig, self.context,
                                   missing, echo=self._progress, reuse_values=True)
        return f" ({settings} turned on)"

    def _may_install(self, release: str, found: str | None) -> bool:
        verb = f"Upgrade {release} from {found} to" if found else f"Install {release}"
        return self._agrees(f"{verb} {self.profile.pins.chart_version} into context "
                            f"{self.context}?")

    async def _controller_ready(self) -> str:
        return await asyncio.to_thread(self._kube.wait_deployment, self.profile.namespace,
                                       self.profile.controller_deployment, READY_TIMEOUT)

    async def _gateway_class_accepted(self) -> str:
        ref = ResourceRef("GatewayClass", self.profile.gateway_class, "")
        return await self._wait_condition(ref, "Accepted", READY_TIMEOUT)

    async def _wait_condition(self, ref: ResourceRef, ctype: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while True:
            status = await asyncio.to_thread(self._kube.status, ref)
            condition = status.condition(ctype)
            if condition is not None and condition.status == "True":
                return f"{ctype}=True"
            if time.monotonic() >= deadline:
                seen = str(condition) if condition else ("absent" if not status.exists
                                                         else "no status yet")
                raise WaitTimeout(f"{ref} not {ctype} after {timeout:g}s ({seen})",
                                  "look at the controller's logs: `kubectl -n "
                                  f"{self.profile.namespace} logs deploy/"
                                  f"{self.profile.controller_deployment}`")
            await asyncio.sleep(1.0)

    async def _gateway_programmed(self) -> str:
        manifest = builtin_dir() / "manifests" / "gateway.yaml"
        for doc in load_all(manifest.read_text()):
            await asyncio.to_thread(self._kube.apply, self._place(doc))
        ref = ResourceRef("Gateway", self.gateway, self.namespace)
        return await self._wait_condition(ref, "Programmed", READY_TIMEOUT)

    @property
    def _proxy_deployment(self) -> str:
        # The controller names the proxy's Deployment after its Gateway, in its namespace.
        if self.gateway == self.profile.gateway_name:
            return self.profile.proxy_deployment
        return self.gateway

    async def _proxy_ready(self) -> str:
        # Programmed can turn True before the proxy's pod runs: wait for the rollout too.
        return await asyncio.to_thread(self._kube.wait_deployment, self.namespace,
                                       self._proxy_deployment, READY_TIMEOUT)

    async def _mock_provider(self) -> str:
        for doc in mock_provider_manifests(self.token):
            await asyncio.to_thread(self._kube.apply, self._place(doc))
        return await asyncio.to_thread(self._kube.wait_deployment, self.namespace,
                                       "mock-provider", READY_TIMEOUT)

    async def _port_forward(self) -> str:
        def state(value: str) -> None:
            self.forward_state = value

        self.forward = PortForward(f"deployment/{self._proxy_deployment}",
                                   self.namespace, self.port,
                                   self.profile.gateway_port, self.kubeconfig, self.context,
                                   state)
        await self.forward.start()
        return self.gateway_url

    # -- the Runtime seam -----------------------------------------------------------------------
    async def apply(self, doc: Mapping[str, Any]) -> Applied:
        return await asyncio.to_thread(self._kube.apply, self._place(doc))

    async def status(self, ref: ResourceRef) -> ResourceStatus:
        return await asyncio.to_thread(self._kube.status, self._placed(ref))

    async def delete(self, ref: ResourceRef) -> bool:
        ref = self._placed(ref)
        return await asyncio.to_thread(self._kube.delete, ref.kind, ref.namespace, ref.name)

    async def down(self) -> None:
        """Stop what this process started (the port-forward); the cluster stays."""
        if self.forward is not None:
            await self.forward.stop()
            self.forward = None

    @property
    def gateway_url(self) -> str:
        # With --port 0 only the port-forward knows the port kubectl bound.
        port = self.forward.local_port if self.forward is not None else self.port
        return f"http://localhost:{port}"

    def mock_upstream(self) -> tuple[str, int] | None:
        if self.provider != "mock":
            return None
        return f"mock-provider.{self.namespace}.svc.cluster.local", MOCK_PORT


class KindRuntime(KubeRuntime):
    """A kind cluster the sandbox creates (or reuses) with the pinned node image."""

    name = "kind"
    tools = ("kind", "helm", "kubectl")
    shares_cluster = False  # the sandbox created this cluster: all of it is ours

    def __init__(self, profile: Profile, port: int, provider: str, token: str,
                 cluster_name: str, fetch: Fetch | None = None, namespace: str | None = None,
                 gateway: str | None = None) -> None:
        super().__init__(profile, port, provider, token, cluster.kubeconfig_path(cluster_name),
                         cluster.context_for(cluster_name), fetch, consent=lambda q: True,
                         namespace=namespace, gateway=gateway)
        self.cluster_name = cluster_name

    @property
    def label(self) -> str:
        return "kind"

    async def _preflight(self, forward: bool) -> str:
        from sandbox.kube.containers import probe_docker

        try:
            info = await asyncio.to_thread(probe_docker)
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
            await cluster.create_cluster(self.cluster_name, self.profile, echo=self._progress)
            # kind's own default, worth saying: it changes what plain `kubectl` talks to.
            outcome = (f"kind cluster {self.cluster_name} created; kind wrote context {context} "
                       f"into {cluster.kind_kubeconfig()} and made it current")
        self.kubeconfig = await cluster.export_kubeconfig(self.cluster_name)
        return outcome


def place(doc: Mapping[str, Any], profile: Profile, namespace: str,
          gateway: str) -> dict[str, Any]:
    """``doc`` with the guide's namespace and Gateway name replaced by the sandbox's own.

    Only references into the guide's namespace move: the object itself, a route's parents
    and backends, and the Gateway's own name. Anything else is left as written.
    """
    moved = copy.deepcopy(dict(doc))
    if namespace == profile.namespace and gateway == profile.gateway_name:
        return moved
    metadata = moved.get("metadata") or {}
    home = metadata.get("namespace")  # where an unqualified reference points
    if metadata.get("namespace") == profile.namespace:
        metadata["namespace"] = namespace
        if moved.get("kind") == "Gateway" and metadata.get("name") == profile.gateway_name:
            metadata["name"] = gateway
    spec = moved.get("spec") or {}
    for parent in spec.get("parentRefs") or []:
        if parent.get("namespace", home) == profile.namespace:
            if parent.get("name") == profile.gateway_name:
                parent["name"] = gateway
            if "namespace" in parent:
                parent["namespace"] = namespace
    for rule in spec.get("rules") or []:
        for ref in rule.get("backendRefs") or []:
            if ref.get("namespace") == profile.namespace:
                ref["namespace"] = namespace
    return moved


def _version(text: str) -> tuple[int, ...]:
    """``v3.16.2+g13654a5`` -> (3, 16, 2)."""
    numbers = text.lstrip("v").split("+")[0].split("-")[0].split(".")
    return tuple(int(n) for n in numbers if n.isdigit())


def mock_provider_manifests(token: str) -> list[dict[str, Any]]:
    """The in-cluster mock provider: its stdlib-only source in a ConfigMap, run by python."""
    from sandbox import mock_provider

    docs = load_all((Path(str(files("sandbox.assets"))) / "mock-provider.yaml").read_text())
    source = Path(mock_provider.__file__).read_text()
    # The pod reads both only when it starts: a checksum on its template makes a new key or new
    # code roll the pod, as Helm charts do with checksum/config.
    checksum = hashlib.sha256(b"\0".join([source.encode(), token.encode()])).hexdigest()
    for doc in docs:
        if doc["kind"] == "ConfigMap":
            doc["data"] = {"mock_provider.py": source}
        elif doc["kind"] == "Secret":
            doc["stringData"] = {"keys": token}
        elif doc["kind"] == "Deployment":
            template = doc["spec"]["template"].setdefault("metadata", {})
            template.setdefault("annotations", {})[CHECKSUM] = checksum
    return [dict(doc) for doc in docs]
