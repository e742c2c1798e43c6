"""`run --all --runtime cluster`, end to end without Docker.

The CLI runs as a user runs it. The cluster is the API emulator; a controller double writes
status shaped as kgateway v2.1.x writes it; helm and kubectl are the fakes, and the fake
port-forward relays to a loopback data plane (the sim's gateway, configured from what the
emulator holds, and the mock provider).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import kmock
import pytest

from sandbox.errors import SandboxError
from sandbox.mock.provider import MockProvider
from sandbox.profiles import DEFAULT_PROFILE
from sandbox.runtimes.sim.control import Route, SimCluster
from sandbox.runtimes.sim.gateway import SimGateway
from tests.conftest import TOKEN
from tests.helpers import run_cli
from tests.integration.test_kind_runtime import AGW_CONTROLLER, FAKES, _route_status
from tests.kubeemu import ApplyingEmulator, install_gateway_api

pytestmark = pytest.mark.kmock(cls=ApplyingEmulator)
GROUPS = {"gateways": "gateway.networking.k8s.io/v1", "httproutes":
          "gateway.networking.k8s.io/v1", "backends": "gateway.kgateway.dev/v1alpha1",
          "secrets": "v1"}
KINDS = {"gateways": "Gateway", "httproutes": "HTTPRoute", "backends": "Backend",
         "secrets": "Secret"}


def backend_status(emulator: Any, backend: Any) -> dict[str, Any]:
    """As kgateway v2.1.x writes it (extensions2/plugins/backend): only the Secret's existence
    is checked; a missing one replaces the conditions with Invalid."""
    token = backend["spec"].get("ai", {}).get("llm", {}).get("openai", {}).get("authToken", {})
    secret = (token.get("secretRef") or {}).get("name")
    key = (kmock.resource("", "v1", "secrets"), backend["metadata"]["namespace"], secret)
    if token.get("kind") == "SecretRef" and (key not in emulator.objects
                                             or emulator.objects[key].deleted):
        return {"conditions": [{"type": "Accepted", "status": "False", "reason": "Invalid",
                                "message": f'Backend error: "failed to find secret {secret}: '
                                           f'Secret "{secret}" not found"'}]}
    return {"conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted",
                            "message": "Backend accepted"}]}


class DataPlane:
    """The gateway's data plane on loopback: the sim's gateway, fed what the emulator holds."""

    def __init__(self) -> None:
        self.mock = MockProvider([TOKEN], "127.0.0.1", 0, 0.0).start()
        self.routes: tuple[Route, ...] = ()
        self.gateway = SimGateway(lambda: self.routes, "127.0.0.1", 0)
        self.gateway.bind()
        self.gateway.start()
        self._seen = ""
        self.controller: asyncio.Task[None] | None = None

    def sync(self, emulator: Any) -> None:
        docs = []
        for (resource, namespace, name), obj in list(emulator.objects.items()):
            if (resource.plural not in KINDS or obj.deleted
                    or obj.get("metadata", {}).get("deletionTimestamp")):
                continue
            doc = {k: v for k, v in obj.raw.items() if k not in ("status", "metadata")}
            doc.update(apiVersion=GROUPS[resource.plural], kind=KINDS[resource.plural],
                       metadata={"name": name, "namespace": namespace})
            docs.append(json.loads(json.dumps(doc)))
        signature = json.dumps(docs, sort_keys=True)
        if signature == self._seen:
            return
        self._seen = signature
        cluster = SimCluster(DEFAULT_PROFILE)
        cluster.namespaces |= {str(d["metadata"]["namespace"]) for d in docs}
        order = ("Secret", "Gateway", "Backend", "HTTPRoute")
        for doc in sorted(docs, key=lambda d: order.index(d["kind"])):
            llm = doc.get("spec", {}).get("ai", {}).get("llm", {})
            if "host" in llm:  # the in-cluster mock Service is this process's mock provider
                llm.update(host="127.0.0.1", port=self.mock.port)
            with contextlib.suppress(SandboxError):
                cluster.apply(doc)
        self.routes = cluster.routes

    def stop(self) -> None:
        self.gateway.stop()
        self.mock.stop()


async def _controller(emulator: Any, plane: DataPlane) -> None:
    deployments = kmock.resource("apps", "v1", "deployments")
    while True:
        for (resource, namespace, name), obj in list(emulator.objects.items()):
            if obj.deleted:
                continue
            status: Any = None
            if resource.plural == "gateways":
                status = {"conditions": [
                    {"type": "Accepted", "status": "True", "reason": "Accepted", "message": ""},
                    {"type": "Programmed", "status": "True", "reason": "Programmed",
                     "message": ""}]}
                if (deployments, namespace, name) not in emulator.objects:
                    emulator.objects[(deployments, namespace, name)] = {
                        "apiVersion": "apps/v1", "kind": "Deployment",
                        "metadata": {"name": name, "namespace": namespace, "generation": 1},
                        "spec": {"replicas": 1}}
            elif resource.plural == "deployments":
                status = {"observedGeneration": 1, "updatedReplicas": 1, "availableReplicas": 1}
            elif resource.plural == "backends":
                status = backend_status(emulator, obj)
            elif resource.plural == "httproutes":
                status = _route_status(emulator, obj)
            if status is not None and obj.get("status") != status:
                obj.patch({"status": None})
                obj.patch({"status": status})
        plane.sync(emulator)
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def kgateway(emulator: Any) -> AsyncIterator[DataPlane]:
    """A cluster with kgateway v2.1.3 and agentgateway running, as the sandbox expects it."""
    install_gateway_api(emulator)
    classes = kmock.resource("gateway.networking.k8s.io", "v1", "gatewayclasses")
    emulator.objects[(classes, None, "agentgateway")] = {
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass",
        "metadata": {"name": "agentgateway"}, "spec": {"controllerName": AGW_CONTROLLER},
        "status": {"conditions": [{"type": "Accepted", "status": "True",
                                   "reason": "Accepted",
                                   "message": "GatewayClass accepted by kgateway controller"}]}}
    deployments = kmock.resource("apps", "v1", "deployments")
    emulator.objects[(deployments, "kgateway-system", "kgateway")] = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "kgateway", "namespace": "kgateway-system", "generation": 1},
        "spec": {"replicas": 1}}
    plane = DataPlane()
    task = asyncio.create_task(_controller(emulator, plane))
    plane.controller = task
    try:
        yield plane
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await asyncio.to_thread(plane.stop)


@pytest.mark.parametrize("own_names", [(), ("--namespace", "agw-sandbox", "--gateway", "agw-sb")],
                         ids=["guide-names", "own-names"])
async def test_run_all_on_a_cluster_you_bring_passes_every_scenario(
        kmock: Any, tmp_path: Path, own_names: tuple[str, ...]) -> None:
    """With its own names, it also passes beside someone who followed the same guide."""
    config = tmp_path / "kubeconfig"
    config.write_text(f"""apiVersion: v1
kind: Config
clusters: [{{cluster: {{server: "{str(kmock.url).rstrip('/')}"}}, name: shared}}]
contexts: [{{context: {{cluster: shared, user: me}}, name: shared}}]
users: [{{name: me, user: {{}}}}]
current-context: shared
""")
    state = tmp_path / "state"
    state.mkdir()
    for release in ("kgateway-crds", "kgateway"):
        (state / f"release-{release}").write_text("v2.1.3")
    (state / "values-kgateway").write_text('{"agentgateway": {"enabled": true}}')
    theirs = (kmock.resource("gateway.kgateway.dev", "v1alpha1", "backends"),
              "kgateway-system", "openai")
    if own_names:
        kmock.objects[theirs] = {
            "apiVersion": "gateway.kgateway.dev/v1alpha1", "kind": "Backend",
            "metadata": {"name": "openai", "namespace": "kgateway-system", "managedFields": [
                {"manager": "kubectl-client-side-apply", "operation": "Update"}]},
            "spec": {"type": "AI", "ai": {"llm": {"openai": {
                "authToken": {"kind": "Passthrough"}, "model": "gpt-4o"}}}}}
    async with kgateway(kmock) as plane:
        env = {"PATH": f"{FAKES}:{Path(sys.executable).parent}:/usr/bin:/bin",
               "HOME": str(tmp_path), "KUBECONFIG": str(config), "NO_COLOR": "1",
               "AGW_SANDBOX_TOKEN": TOKEN, "FAKE_STATE": str(state),
               "FAKE_LOG": str(tmp_path / "calls.log"),
               "FAKE_GATEWAY": f"127.0.0.1:{plane.gateway.port}",
               "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
        cli = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "sandbox", "run", "--all", "--runtime", "cluster",
            "--context", "shared", "--yes", "--port", "0", "-v", *own_names, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        run = asyncio.ensure_future(cli.communicate())
        assert plane.controller is not None
        await asyncio.wait([run, plane.controller], timeout=180,
                           return_when=asyncio.FIRST_COMPLETED)
        if plane.controller.done():  # the double broke: say how, not "timed out"
            cli.kill()
            plane.controller.result()
        output, _ = await run
    text = output.decode()
    assert cli.returncode == 0, text
    assert "4 passed, 0 failed" in text, text
    assert "Traceback" not in text and TOKEN not in text
    if own_names:
        assert "namespace agw-sandbox, Gateway agw-sb" in text
        assert not kmock.objects[theirs].deleted
        assert kmock.objects[theirs]["spec"]["ai"]["llm"]["openai"]["model"] == "gpt-4o"
        assert not [r for r in list(kmock) if r.method in ("PATCH", "DELETE")
                    and "/namespaces/kgateway-system/" in str(r.url.path)]
        # What it prints is what it did: pasted, a command goes where the sandbox wrote.
        commands = [line for line in text.splitlines() if line.startswith("$ kubectl")]
        assert commands and not [c for c in commands if "kgateway-system" in c], commands
        assert "$ kubectl wait gateway/agw-sb -n agw-sandbox" in text
        assert "namespace: kgateway-system" not in text  # nor in the YAML shown as applied
    namespace, gateway = ("agw-sandbox", "agw-sb") if own_names else \
        ("kgateway-system", "agentgateway")
    # status and down read through the runtime: what the run left, nothing written or deleted
    status = await asyncio.to_thread(run_cli, "status", "--runtime", "cluster", "--context",
                                     "shared", *own_names, env=env)
    down = await asyncio.to_thread(run_cli, "down", "--context", "shared", *own_names, env=env)
    assert status.returncode == 0, status.stdout + status.stderr
    assert f"✓ deployment {namespace}/{gateway if own_names else 'agentgateway'}: " \
        in status.stdout
    assert f"✓ Gateway {namespace}/{gateway}: Accepted=True" in status.stdout, status.stdout
    assert down.returncode != 0 and "never deletes a cluster you brought" in down.stderr


async def test_without_yes_and_nobody_to_ask_nothing_is_written(kmock: Any,
                                                                 tmp_path: Path) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text(f"""apiVersion: v1
kind: Config
clusters: [{{cluster: {{server: "{str(kmock.url).rstrip('/')}"}}, name: shared}}]
contexts: [{{context: {{cluster: shared, user: me}}, name: shared}}]
users: [{{name: me, user: {{}}}}]
current-context: shared
""")
    env = {"PATH": f"{FAKES}:{Path(sys.executable).parent}:/usr/bin:/bin",
           "HOME": str(tmp_path), "KUBECONFIG": str(config), "NO_COLOR": "1",
           "AGW_SANDBOX_TOKEN": TOKEN, "FAKE_STATE": str(tmp_path / "state"),
           "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    async with kgateway(kmock):
        for args in (("up", "--runtime", "cluster"), ("up", "--runtime", "cluster",
                                                      "--context", "shared")):
            cli = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "sandbox", *args, env=env,
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT)
            output, _ = await asyncio.wait_for(cli.communicate(), 60)
            text = output.decode()
            assert cli.returncode == 2, text
            assert "Traceback" not in text
            if "--context" in args:
                assert f"API server {str(kmock.url).rstrip('/')}" in text
                assert "not confirmed: nothing was applied" in text and "--yes" in text
            else:
                assert "--runtime cluster needs --context NAME" in text
    assert not [r for r in list(kmock) if r.method in ("PATCH", "POST", "PUT", "DELETE")]
