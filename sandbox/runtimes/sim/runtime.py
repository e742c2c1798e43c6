"""The offline runtime: simulated control plane, loopback gateway and mock provider in-process."""

from __future__ import annotations

import asyncio
import errno
from collections.abc import Iterable, Mapping
from typing import Any

from sandbox.errors import PortInUse, RuntimeUnavailable
from sandbox.mock.provider import MockProvider
from sandbox.profiles import Profile
from sandbox.runtimes.placement import Placement
from sandbox.runtimes.runtime import Applied, Progress, ResourceRef, ResourceStatus, conditions_of
from sandbox.runtimes.sim.control import SimCluster
from sandbox.runtimes.sim.gateway import OPENAI_ADDRESS, SimGateway, unreachable

LOOPBACK = "127.0.0.1"


class SimRuntime:
    """Implements :class:`sandbox.runtimes.runtime.Runtime` without Docker, a cluster or the
    internet."""

    name = "sim"
    label = "simulated"

    def __init__(self, profile: Profile, port: int, provider: str,
                 accepted_keys: Iterable[str] = (), token_delay: float = 0.02,
                 mock_port: int = 0, openai_address: tuple[str, int] | None = None,
                 preflight: bool = True, namespace: str | None = None,
                 gateway: str | None = None) -> None:
        self.profile = profile
        self.placement = Placement.of(profile, namespace, gateway)
        self.provider = provider
        self.requested_port = port
        self.cluster = SimCluster(profile)
        self.mock: MockProvider | None = None
        self._accepted = tuple(accepted_keys)
        self._token_delay = token_delay
        self._mock_port = mock_port
        self._openai_address = openai_address or OPENAI_ADDRESS
        self._preflight = preflight
        self.gateway: SimGateway | None = None

    async def up(self, progress: Progress) -> None:
        if self.provider == "openai" and self._preflight:
            await self._check_openai_reachable(progress)
        gateway = SimGateway(lambda: self.cluster.routes, LOOPBACK, self.requested_port,
                             self._openai_address,
                             api=self.profile.backend_api)
        try:
            gateway.bind()
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                raise PortInUse(
                    f"port {self.requested_port} on {LOOPBACK} is already in use (another "
                    "gateway, port-forward or sandbox may be running)",
                    "stop whatever holds it, or pass --port with a free port (--port 0 picks "
                    "one for you)",
                ) from exc
            raise
        self.gateway = gateway
        gateway.start()
        progress(f"simulated gateway listening on {self.gateway_url}")
        if self.provider == "mock":
            try:
                self.mock = MockProvider(self._accepted, LOOPBACK, self._mock_port,
                                         self._token_delay).start()
            except OSError:
                await asyncio.to_thread(gateway.stop)
                self.gateway = None
                raise
            progress(f"mock provider listening on {self.mock.url}")
        if self.placement.namespace not in self.cluster.namespaces:  # as `up` does on a cluster
            self.cluster.namespaces.add(self.placement.namespace)
            progress(f"simulated namespace {self.placement.namespace} created")
        progress(f"simulated control plane ready (GatewayClass {self.profile.gateway_class} "
                 "Accepted)")

    async def _check_openai_reachable(self, progress: Progress) -> None:
        """Fail in seconds, not a minute per request, when api.openai.com is out of reach."""
        host, port = self._openai_address
        progress(f"checking that {host}:{port} answers (--provider openai)")
        problem = await asyncio.to_thread(unreachable, self._openai_address)
        if problem is not None:
            raise RuntimeUnavailable(
                f"api.openai.com is not reachable from this machine ({host}:{port}: {problem}); "
                "--provider openai sends every request there",
                "check the internet connection (the simulated gateway connects directly and "
                "does not use an HTTPS proxy), or use --provider mock to stay offline")

    def placed(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        return self.placement.doc(doc)

    def placed_ref(self, ref: ResourceRef) -> ResourceRef:
        return self.placement.ref(ref)

    async def apply(self, doc: Mapping[str, Any]) -> Applied:
        (kind, namespace, name), outcome = self.cluster.apply(self.placement.doc(doc))
        return Applied(ResourceRef(kind, name, namespace), outcome)

    async def status(self, ref: ResourceRef) -> ResourceStatus:
        ref = self.placement.ref(ref)
        obj = self.cluster.get(ref.kind, ref.namespace, ref.name)
        if obj is None:
            return ResourceStatus(ref, exists=False)
        return ResourceStatus(ref, True, conditions_of(obj, self.profile.controller_name))

    async def delete(self, ref: ResourceRef) -> bool:
        ref = self.placement.ref(ref)
        return self.cluster.delete(ref.kind, ref.namespace, ref.name)

    async def down(self) -> None:
        # shutdown() blocks until the serve loop notices; keep the event loop free meanwhile.
        if self.gateway is not None:
            await asyncio.to_thread(self.gateway.stop)
            self.gateway = None
        if self.mock is not None:
            await asyncio.to_thread(self.mock.stop)
            self.mock = None

    @property
    def gateway_url(self) -> str:
        port = self.gateway.port if self.gateway is not None else self.requested_port
        return f"http://{LOOPBACK}:{port}"

    def mock_upstream(self) -> tuple[str, int] | None:
        return (LOOPBACK, self.mock.port) if self.mock is not None else None
