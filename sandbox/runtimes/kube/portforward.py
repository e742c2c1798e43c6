"""A supervised `kubectl port-forward` to the gateway: health-checked, restarted, never orphaned."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
from collections.abc import Callable
from pathlib import Path

from sandbox import proc
from sandbox.errors import PortInUse, RuntimeUnavailable

READY_TIMEOUT = 30.0
# kubectl's first line names the port it bound, which is how `--port 0` learns its port.
FORWARDING = re.compile(rb"^Forwarding from [^\s]*:(\d+) ->")


class PortForward:
    """Keeps ``kubectl port-forward TARGET LOCAL:REMOTE`` running until stopped.

    A ``local_port`` of 0 lets kubectl pick a free port; ``local_port`` is then the one it
    bound, and a restart asks for that same port again so the gateway's URL stays put.
    """

    def __init__(self, target: str, namespace: str, local_port: int, remote_port: int,
                 kubeconfig: Path | None, context: str | None,
                 on_state: Callable[[str], None] = lambda state: None) -> None:
        self.target, self.namespace = target, namespace
        self.local_port, self.remote_port = local_port, remote_port
        self.kubeconfig, self.context = kubeconfig, context
        self.on_state = on_state
        self.restarts = 0
        self._process: proc.Process | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._drain: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def argv(self) -> list[str]:
        args = ["kubectl", "port-forward", "--namespace", self.namespace, self.target,
                f"{self.local_port}:{self.remote_port}", "--address", "127.0.0.1"]
        if self.kubeconfig is not None:
            args += ["--kubeconfig", str(self.kubeconfig)]
        if self.context:
            args += ["--context", self.context]
        return args

    async def start(self) -> None:
        if self.local_port and not _port_free(self.local_port):
            raise PortInUse(f"port {self.local_port} on 127.0.0.1 is already in use",
                            "stop whatever holds it, or pass --port with a free port")
        await self._launch()
        self._supervisor = asyncio.create_task(self._supervise(), name="port-forward")

    async def _launch(self) -> None:
        self._process = await proc.spawn(
            self.argv, hint="install kubectl (the port-forward needs it): "
                            "https://kubernetes.io/docs/tasks/tools/")
        assert self._process.stdout is not None
        try:
            line = await asyncio.wait_for(self._process.stdout.readline(), READY_TIMEOUT)
        except TimeoutError:
            line = b""
        bound = FORWARDING.match(line)
        if bound is None:
            await self._terminate()
            assert self._process.stderr is not None
            stderr = b""
            with contextlib.suppress(TimeoutError):
                stderr = await asyncio.wait_for(self._process.stderr.read(), 5.0)
            raise RuntimeUnavailable(
                f"`{' '.join(self.argv)}` did not start: "
                f"{(stderr or line).decode(errors='replace').strip()[:300] or 'no output'}",
                f"check that {self.target} exists in namespace {self.namespace} and its pod "
                "is running")
        self.local_port = int(bound.group(1))
        self._drain = asyncio.create_task(self._discard_output(self._process))
        self.on_state("healthy")

    @staticmethod
    async def _discard_output(process: proc.Process) -> None:
        """kubectl logs every connection (and each broken one); a full pipe would stall it."""
        async def drain(stream: asyncio.StreamReader | None) -> None:
            while stream is not None and await stream.read(65536):
                pass

        await asyncio.gather(drain(process.stdout), drain(process.stderr))

    async def _supervise(self) -> None:
        """Restart the forward when kubectl exits (the pod restarted, the connection broke)."""
        delay = 0.5
        while not self._stopping:
            assert self._process is not None
            await self._process.wait()
            if self._stopping:
                return
            self.on_state("reconnecting")
            await asyncio.sleep(delay)
            try:
                await self._launch()
                self.restarts += 1
                delay = 0.5
            except RuntimeUnavailable:
                self.on_state("down")
                delay = min(delay * 2, 10.0)

    async def healthy(self) -> bool:
        """Something answers TCP on the local port (any HTTP status counts)."""
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", self.local_port), 2.0)
        except (OSError, TimeoutError):
            return False
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return True

    async def _terminate(self) -> None:
        if self._process is not None:
            await proc.stop(self._process)

    async def stop(self) -> None:
        self._stopping = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        await self._terminate()
        self.on_state("stopped")


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        # Only a listener makes the port unusable; connections in TIME_WAIT do not.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
