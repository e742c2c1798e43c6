"""The real runtimes: kgateway and agentgateway on a kind cluster, or on a cluster you bring.

`up` walks the readiness chain with a timed, named phase for each stage: cluster, Gateway API
CRDs, kgateway charts, controller, GatewayClass, Gateway, proxy, mock provider, port-forward.
(A little over 300 lines: the chain reads top to bottom in one place; what each stage installs
lives in install.py, where objects go in ../placement.py, the kind cluster in kind.py.)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sandbox import stdio
from sandbox.documents import load_all
from sandbox.errors import RuntimeUnavailable, SandboxError, WaitTimeout
from sandbox.polling import Deadline, poll_async
from sandbox.profiles import FIELD_MANAGER, PROFILES, Profile, builtin_dir
from sandbox.runtimes.kube.api_call import NoAnswer
from sandbox.runtimes.kube.client import Kube
from sandbox.runtimes.kube.install import Charts, Fetch, gateway_api_crds
from sandbox.runtimes.kube.installation import Installation, find_installation
from sandbox.runtimes.kube.mock_deployment import in_cluster_address, mock_provider_manifests
from sandbox.runtimes.kube.ownership import MANAGED_BY
from sandbox.runtimes.kube.portforward import PortForward
from sandbox.runtimes.kube.preflight import Check
from sandbox.runtimes.kube.secrets import Secrets
from sandbox.runtimes.placement import Placement
from sandbox.runtimes.runtime import Applied, Progress, ResourceRef, ResourceStatus

Consent = Callable[[str], bool]
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
                 namespace: str | None = None, gateway: str | None = None,
                 keys: Sequence[str] = ()) -> None:
        self.profile = profile
        self.placement = Placement.of(profile, namespace, gateway)
        self.confirm = confirm
        self.port = port
        self.provider = provider
        self.token = token
        self.keys = [token, *keys]  # every key the process holds: a tool or Docker may echo any
        self.kubeconfig = kubeconfig
        self.context = context
        self.fetch = fetch
        self.consent = consent
        self.kube: Kube | None = None
        self.forward: PortForward | None = None
        self.installation: Installation | None = None  # where the charts are, once looked
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
        await self._phase(progress, "cluster", self._prepare_and_connect)
        await self._phase(progress, "Kubernetes API", self._check_api)
        if self.shares_cluster:
            self._confirm_target()
        await self._phase(progress, f"Gateway API CRDs {self.profile.pins.gateway_api}",
                          self._gateway_api_crds)
        release = self.profile.releases[1]
        await self._phase(progress, f"{release} {self.profile.pins.chart_version} charts",
                          self._kgateway_charts)
        await self._phase(progress, f"{release} controller ready", self._controller_ready)
        await self._phase(progress, f"GatewayClass {self.profile.gateway_class} accepted",
                          self._gateway_class_accepted)
        if self.placement.namespace != self.profile.namespace or self._installed_elsewhere:
            await self._phase(progress, f"namespace {self.placement.namespace}",
                              self._own_namespace)
        await self._phase(progress, f"Gateway {self.placement.gateway} programmed",
                          self._gateway_programmed)
        await self._phase(progress, "agentgateway proxy rolled out", self._proxy_ready)
        if self.provider == "mock":
            await self._phase(progress, "mock provider running in the cluster",
                              self._mock_provider)
        if forward:
            where = f"127.0.0.1:{self.port}" if self.port else "a free local port"
            await self._phase(progress, f"port-forward to {where}",
                              self._port_forward)

    async def _phase(self, progress: Progress, name: str,
                     action: Callable[[], Awaitable[str | None]]) -> None:
        progress(f"… {name}")
        started = time.monotonic()
        try:
            with self._secrets.masking():  # a tool's or a Docker setting's words may hold one
                detail = await action()
        except SandboxError as exc:
            exc.message = f"stage “{name}” failed: {exc.message}"
            raise
        seconds = time.monotonic() - started
        self.timings.append((name, seconds))
        detail = detail and self._secrets(detail)  # Docker's or a bundle's words, say
        progress(f"✓ {name}" + (f": {detail}" if detail else "") + f" ({seconds:.1f}s)")

    @property
    def _secrets(self) -> Secrets:
        """The key, and once connected every credential of the kubeconfig (helm and kubectl
        read the same one, and may echo any of them when they fail)."""
        return self.kube.secrets if self.kube is not None else Secrets(self.keys)

    async def _preflight(self, forward: bool) -> str:
        """Everything that can be checked before minutes of setup: tools, versions, the port."""
        from sandbox.runtimes.kube.preflight import check_port, check_tool

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

    async def _prepare_and_connect(self) -> str | None:
        """The cluster stage ends only once its kubeconfig and context are known to be usable."""
        detail = await self._prepare_cluster()
        self.kube = await Kube.open(str(self.kubeconfig) if self.kubeconfig else None,
                                    self.context, self.profile.controller_name,
                                    self.shares_cluster, self.keys)
        return detail

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
                 f"{self.placement.namespace}, Gateway {self.placement.gateway}")
        self._progress(f"the sandbox will write to {where}")
        if self.confirm is None or not self.confirm(f"Apply the sandbox's resources to {where}?"):
            raise RuntimeUnavailable(
                f"not confirmed: nothing was applied to {where}",
                "answer y when asked, or pass --yes to agree in advance (for scripts)")

    @property
    def _installed_elsewhere(self) -> bool:
        """The charts live under other names: no chart created the guide's namespace."""
        return self.installation is not None and self.installation.moved(self.profile)

    async def _own_namespace(self) -> str:
        if self.placement.namespace == self.profile.namespace:  # the guide's: used if there
            found = await stdio.in_thread(self._kube.get, "Namespace", "",
                                          self.placement.namespace)
            if found is not None:
                return "present"
        applied = await stdio.in_thread(self._kube.apply, {
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": self.placement.namespace, "labels": {MANAGED_BY: FIELD_MANAGER}}})
        return applied.outcome

    @property
    def _kube(self) -> Kube:
        if self.kube is None:
            raise RuntimeUnavailable("the cluster is not connected yet", "run `agw-sandbox up`")
        return self.kube

    async def _check_api(self) -> str:
        version = await stdio.in_thread(self._kube.server_version)
        await self._check_gateway_class_owner()
        return f"Kubernetes {version}"

    async def _gateway_api_crds(self) -> str:
        return await gateway_api_crds(self._kube, self.profile, self.fetch, self._agrees,
                                      self._progress)

    def _agrees(self, question: str) -> bool:
        return self.consent is not None and self.consent(question)

    async def _kgateway_charts(self) -> str:
        return await self._install_charts({})

    async def _install_charts(self, local: Mapping[str, Path]) -> str:
        """Where the charts already are, under any names (installation.py), brought to the pin."""
        self.installation = await stdio.in_thread(find_installation, self._kube, self.profile)
        return await Charts(self.profile, self.kubeconfig, self.context, self._agrees,
                            self._progress, local, self.installation).ensure()

    async def _controller_ready(self) -> str:
        place = self.installation or Installation.guide(self.profile)
        return await stdio.in_thread(self._kube.wait_deployment, place.controller.namespace,
                                     place.deployment, READY_TIMEOUT)

    async def _gateway_class_accepted(self) -> str:
        ref = ResourceRef("GatewayClass", self.profile.gateway_class, "")
        return await self._wait_condition(ref, "Accepted", READY_TIMEOUT)

    async def _check_gateway_class_owner(self) -> None:
        """Both profiles' controllers claim the GatewayClass `agentgateway`: refuse to install
        one beside the other (before anything is changed)."""
        name = self.profile.gateway_class
        found = await stdio.in_thread(self._kube.get, "GatewayClass", "", name)
        owner = ((found or {}).get("spec") or {}).get("controllerName")
        if owner and owner != self.profile.controller_name:
            raise RuntimeUnavailable(
                f"GatewayClass {name} belongs to {owner}, not to "
                f"{self.profile.controller_name} ({self.profile.name})"
                + _owned_by_profile(owner),
                "use a separate cluster for each profile (kind: --cluster-name), or remove the "
                "other installation first")

    async def _wait_condition(self, ref: ResourceRef, ctype: str, timeout: float) -> str:
        seen: list[ResourceStatus] = []

        async def true_now() -> str | None:
            seen[:] = [await stdio.in_thread(self._kube.status, ref)]
            condition = seen[0].condition(ctype)
            return f"{ctype}=True" if condition is not None and condition.status == "True" \
                else None

        def timed_out() -> WaitTimeout:
            condition = seen[0].condition(ctype)
            shown = str(condition) if condition else ("absent" if not seen[0].exists
                                                      else "no status yet")
            return WaitTimeout(f"{ref} not {ctype} after {timeout:g}s ({shown})",
                               "look at the controller's logs: `kubectl -n "
                               f"{self.profile.namespace} logs deploy/"
                               f"{self.profile.controller_deployment}`")

        return await poll_async(true_now, Deadline(timeout, 1.0, ceiling=1.0), timed_out)

    async def _gateway_programmed(self) -> str:
        manifest = builtin_dir() / self.profile.scenario_dir / "manifests" / "gateway.yaml"
        for doc in load_all(manifest.read_text()):
            await stdio.in_thread(self._kube.apply, self.placement.doc(doc))
        ref = ResourceRef("Gateway", self.placement.gateway, self.placement.namespace)
        return await self._wait_condition(ref, "Programmed", READY_TIMEOUT)

    async def _proxy_ready(self) -> str:
        # Programmed can turn True before the proxy's pod runs: wait for the rollout too.
        return await stdio.in_thread(self._kube.wait_deployment, self.placement.namespace,
                                     self.placement.proxy_deployment, READY_TIMEOUT)

    async def _mock_provider(self) -> str:
        for doc in mock_provider_manifests(self.token, self.profile.namespace):
            await stdio.in_thread(self._kube.apply, self.placement.doc(doc))
        return await stdio.in_thread(self._kube.wait_deployment, self.placement.namespace,
                                     "mock-provider", READY_TIMEOUT)

    async def _port_forward(self) -> str:
        def state(value: str) -> None:
            self.forward_state = value

        self.forward = PortForward(f"deployment/{self.placement.proxy_deployment}",
                                   self.placement.namespace, self.port,
                                   self.profile.gateway_port, self.kubeconfig, self.context,
                                   state)
        await self.forward.start()
        return self.gateway_url

    # -- status and down ------------------------------------------------------------------------
    async def connect(self) -> Kube:
        """A client for the cluster, without writing anything (what `status` reads through).

        Unlike ``up`` it may read the kubeconfig's current context: reading changes nothing.
        """
        if self.kube is None:
            self.kube = await Kube.open(str(self.kubeconfig) if self.kubeconfig else None,
                                        self.context, self.profile.controller_name,
                                        self.shares_cluster, self.keys)
        return self.kube

    async def health(self) -> list[Check]:
        """What `status` shows: the API server, the controller and proxy Deployments and the
        Gateway; nothing written."""
        checks = await self._cluster_checks()
        if not all(check.ok for check in checks):
            return checks
        kube = await self.connect()
        checks.append(Check("Kubernetes API", True, await stdio.in_thread(kube.server_version)))
        place = self.placement
        try:
            installed = await stdio.in_thread(find_installation, kube, self.profile)
        except NoAnswer:  # the server stopped answering: nothing more will be read from it
            raise
        except SandboxError:  # CRDs Helm cannot own: `up` says so; status shows the guide's
            installed = Installation.guide(self.profile)
        for namespace, name in ((installed.controller.namespace, installed.deployment),
                                (place.namespace, place.proxy_deployment)):
            ready, detail = await stdio.in_thread(kube.deployment_ready, namespace, name)
            checks.append(Check(f"deployment {namespace}/{name}", ready, detail))
        gateway = await stdio.in_thread(
            kube.status, ResourceRef("Gateway", place.gateway, place.namespace))
        programmed = gateway.condition("Programmed")
        checks.append(Check(
            f"Gateway {place.namespace}/{place.gateway}",
            programmed is not None and programmed.status == "True",
            ", ".join(str(c) for c in gateway.conditions) or "absent",
            "" if gateway.exists else "run `agw-sandbox up` to create it"))
        return checks

    async def _cluster_checks(self) -> list[Check]:
        """What must hold before the API can be asked anything (kind: the cluster exists)."""
        return []

    async def remove(self, progress: Progress) -> list[str]:
        """What `down` does. A cluster you brought is never deleted: say how to remove only the
        sandbox's objects."""
        place, guide = self.placement, self.profile.namespace
        hint = "each scenario's last step removes what it applied"
        if place.namespace != guide:
            hint += (f"; `kubectl --context {self.context} delete namespace {place.namespace}` "
                     "removes everything the sandbox put in its own namespace")
        raise SandboxError(
            f"agw-sandbox never deletes a cluster you brought (context {self.context})", hint)

    # -- the Runtime seam -----------------------------------------------------------------------
    def placed(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        return self.placement.doc(doc)

    def placed_ref(self, ref: ResourceRef) -> ResourceRef:
        return self.placement.ref(ref)

    async def apply(self, doc: Mapping[str, Any]) -> Applied:
        return await stdio.in_thread(self._kube.apply, self.placement.doc(doc))

    async def status(self, ref: ResourceRef) -> ResourceStatus:
        return await stdio.in_thread(self._kube.status, self.placement.ref(ref))

    async def delete(self, ref: ResourceRef) -> bool:
        ref = self.placement.ref(ref)
        return await stdio.in_thread(self._kube.delete, ref.kind, ref.namespace, ref.name)

    async def down(self) -> None:
        """Stop what this process started (the port-forward); the cluster stays."""
        if self.forward is not None:
            await self.forward.stop()
            self.forward = None

    @property
    def gateway_url(self) -> str:
        # With --port 0 only the port-forward knows the port kubectl bound.
        port = self.forward.local_port if self.forward is not None else self.port
        return f"http://127.0.0.1:{port}"

    def mock_upstream(self) -> tuple[str, int] | None:
        if self.provider != "mock":
            return None
        return in_cluster_address(self.placement.namespace)


def _owned_by_profile(controller: str) -> str:
    other = next((p.name for p in PROFILES.values() if p.controller_name == controller), None)
    return f": the {other} profile is installed on this cluster" if other else ""


def _version(text: str) -> tuple[int, ...]:
    """``v3.16.2+g13654a5`` -> (3, 16, 2)."""
    numbers = text.lstrip("v").split("+")[0].split("-")[0].split(".")
    return tuple(int(n) for n in numbers if n.isdigit())
