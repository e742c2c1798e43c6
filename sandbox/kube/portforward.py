"""A supervised `kubectl port-forward` to the gateway: health-checked, restarted, never orphaned."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path

from sandbox.errors import PortInUse, RuntimeUnavailable

READY_TIMEOUT = 30.0


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the child gets SIGTERM if agw-sandbox dies, so no port-forward outlives it."""
    import ctypes

    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class PortForward:
    """Keeps ``kubectl port-forward TARGET LOCAL:REMOTE`` running until stopped."""

    def __init__(self, target: str, namespace: str, local_port: int, remote_port: int,
                 kubeconfig: Path | None, context: str | None,
                 on_state: Callable[[str], None] = lambda state: None) -> None:
        self.target, self.namespace = target, namespace
        self.local_port, self.remote_port = local_port, remote_port
        self.kubeconfig, self.context = kubeconfig, context
        self.on_state = on_state
        self.restarts = 0
        self._process: asyncio.subprocess.Process | None = None
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
        if not _port_free(self.local_port):
            raise PortInUse(f"port {self.local_port} on 127.0.0.1 is already in use",
                            "stop whatever holds it, or pass --port with a free port")
        await self._launch()
        self._supervisor = asyncio.create_task(self._supervise(), name="port-forward")

    async def _launch(self) -> None:
        try:
            self._process = await asyncio.create_subprocess_exec(
                *self.argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None)
        except FileNotFoundError as exc:
            raise RuntimeUnavailable("`kubectl` is not installed (needed for the port-forward)",
                                     "install kubectl: https://kubernetes.io/docs/tasks/tools/"
                                     ) from exc
        assert self._process.stdout is not None
        try:
            line = await asyncio.wait_for(self._process.stdout.readline(), READY_TIMEOUT)
        except TimeoutError:
            line = b""
        if not line.startswith(b"Forwarding from"):
            stderr = b""
            if self._process.returncode is not None or not line:
                await self._terminate()
                assert self._process.stderr is not None
                stderr = await self._process.stderr.read()
            raise RuntimeUnavailable(
                f"`{' '.join(self.argv)}` did not start: "
                f"{(stderr or line).decode(errors='replace').strip()[:300] or 'no output'}",
                f"check that {self.target} exists in namespace {self.namespace} and its pod "
                "is running")
        self._drain = asyncio.create_task(self._discard_output(self._process))
        self.on_state("healthy")

    @staticmethod
    async def _discard_output(process: asyncio.subprocess.Process) -> None:
        """kubectl logs every connection; an unread pipe would fill up and stall it."""
        assert process.stdout is not None
        while await process.stdout.readline():
            pass

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
        process = self._process
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 5)
        except TimeoutError:
            process.kill()
            await process.wait()

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
