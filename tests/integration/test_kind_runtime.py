"""The kind runtime's `up`, end to end against kmock, with fake kind/helm/kubectl on PATH."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import kmock
import pytest

from sandbox.errors import SandboxError
from sandbox.profiles import DEFAULT_PROFILE
from sandbox.runtimes.kube import containers
from sandbox.runtimes.kube import runtime as kuberuntime
from sandbox.runtimes.kube.docker_probe import DockerInfo
from sandbox.runtimes.kube.kind import KindRuntime
from sandbox.runtimes.kube.runtime import KubeRuntime
from sandbox.runtimes.runtime import ResourceRef
from tests.conftest import TOKEN
from tests.kubeemu import ApplyingEmulator, install_gateway_api

pytestmark = pytest.mark.kmock(cls=ApplyingEmulator)
FAKES = Path(__file__).resolve().parents[1] / "fakes" / "bin"
REAL_PROBE = containers.probe_docker
DOCKER = DockerInfo("28.2.2", "1.50", 4, 8 * 1024**3, "Docker Desktop")
CRD_BUNDLE = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gateways.gateway.networking.k8s.io
  annotations: {gateway.networking.k8s.io/bundle-version: v1.4.0}
spec: {group: gateway.networking.k8s.io}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: httproutes.gateway.networking.k8s.io
  annotations: {gateway.networking.k8s.io/bundle-version: v1.4.0}
spec: {group: gateway.networking.k8s.io}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def fakes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kmock: Any) -> Path:
    """Fake tools on PATH; kind's kubeconfig points at the emulator; the Docker probe passes."""
    log = tmp_path / "calls.log"
    monkeypatch.setenv("PATH", f"{FAKES}:{Path(sys.executable).parent}:/usr/bin:/bin")
    monkeypatch.setenv("FAKE_LOG", str(log))
    monkeypatch.setenv("FAKE_STATE", str(tmp_path / "state"))
    monkeypatch.setenv("FAKE_KUBE_URL", str(kmock.url).rstrip("/"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # kind writes into ~/.kube/config
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setattr("sandbox.runtimes.kube.containers.probe_docker", lambda *a, **k: DOCKER)
    monkeypatch.setattr(kuberuntime, "READY_TIMEOUT", 3.0)
    return log


def calls(log: Path, tool: str) -> list[str]:
    if not log.exists():  # nothing was run at all
        return []
    return [line for line in log.read_text().splitlines() if line.startswith(tool + " ")]


AGW_CONTROLLER = "kgateway.dev/agentgateway"  # upstream's DefaultAgwControllerName


def _route_status(emulator: Any, route: Any) -> dict[str, Any]:
    """One parent per Gateway, as agentgateway's status syncer writes it (v2.1.x)."""
    namespace = route["metadata"]["namespace"]
    backends = kmock.resource("gateway.kgateway.dev", "v1alpha1", "backends")
    parents = []
    for parent in route["spec"].get("parentRefs", []):
        missing = [ref for rule in route["spec"].get("rules", [])
                   for ref in rule.get("backendRefs", [])
                   if (backends, ref.get("namespace") or namespace, ref["name"])
                   not in emulator.objects
                   or emulator.objects[(backends, ref.get("namespace") or namespace,
                                        ref["name"])].deleted]
        resolved = ({"type": "ResolvedRefs", "status": "True", "reason": "ResolvedRefs",
                     "message": ""} if not missing else
                    {"type": "ResolvedRefs", "status": "False", "reason": "BackendNotFound",
                     "message": f"kgateway Backend not found: "
                                f"{missing[0].get('namespace') or namespace}/"
                                f"{missing[0]['name']}"})
        parents.append({"parentRef": {"group": "gateway.networking.k8s.io", "kind": "Gateway",
                                      "namespace": parent.get("namespace") or namespace,
                                      "name": parent["name"]},
                        "controllerName": AGW_CONTROLLER,
                        "conditions": [{"type": "Accepted", "status": "True",
                                        "reason": "Accepted", "message": ""}, resolved]})
    return {"parents": parents}


async def _controller(emulator: Any, programmed: bool = True, ready: bool = True,
                      agentgateway: bool = True, held: frozenset[str] | set[str] = frozenset()
                      ) -> None:
    """Plays kgateway: GatewayClass accepted, Gateways programmed, Deployments rolled out (each
    generation; not those ``held``), Backends accepted and route status written by the
    agentgateway controller."""
    if agentgateway:  # kgateway creates the class only when agentgateway is enabled
        gwclass = (kmock.resource("gateway.networking.k8s.io", "v1", "gatewayclasses"), None,
                   "agentgateway")
        emulator.objects[gwclass] = {
            "apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass",
            "metadata": {"name": "agentgateway"}, "spec": {"controllerName": AGW_CONTROLLER},
            "status": {"conditions": [{"type": "Accepted", "status": "True"}]}}
    deployments = kmock.resource("apps", "v1", "deployments")

    def deployment(namespace: str, name: str) -> None:
        if (deployments, namespace, name) not in emulator.objects:
            emulator.objects[(deployments, namespace, name)] = {
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": name, "namespace": namespace, "generation": 1},
                "spec": {"replicas": 1}}

    deployment("kgateway-system", "kgateway")
    while True:
        for (resource, namespace, name), obj in list(emulator.objects.items()):
            if obj.deleted:
                continue
            if resource.plural == "gateways":  # the proxy is named after its Gateway
                deployment(str(namespace), str(name))
            generation = (obj.get("metadata") or {}).get("generation") or 1
            if (resource.plural == "deployments" and ready and name not in held
                    and (obj.get("status") or {}).get("observedGeneration") != generation):
                obj.patch({"status": {"observedGeneration": generation, "updatedReplicas": 1,
                                      "availableReplicas": 1}})
            if resource.plural == "gateways" and programmed and not obj.get("status"):
                obj.patch({"status": {"conditions": [
                    {"type": "Accepted", "status": "True", "reason": "Accepted"},
                    {"type": "Programmed", "status": "True", "reason": "Programmed"}]}})
            if resource.plural == "backends" and not obj.get("status"):
                obj.patch({"status": {"conditions": [
                    {"type": "Accepted", "status": "True", "reason": "Accepted",
                     "message": "Backend accepted"}]}})
            if resource.plural == "httproutes":
                status = _route_status(emulator, obj)
                if obj.get("status") != status:
                    obj.patch({"status": status})
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def controller(emulator: Any, **kwargs: Any) -> AsyncIterator[None]:
    task = asyncio.create_task(_controller(emulator, **kwargs))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def runtime(port: int | None = None, provider: str = "mock", token: str = TOKEN) -> KindRuntime:
    async def fetch(url: str) -> str:
        assert url.endswith("/v1.4.0/standard-install.yaml")
        return CRD_BUNDLE

    return KindRuntime(DEFAULT_PROFILE, free_port() if port is None else port, provider, token,
                       "agw-sandbox", fetch)


@pytest.fixture
def lines() -> Iterator[list[str]]:
    yield []


async def test_up_walks_the_readiness_chain_and_forwards_the_gateway(
        fakes: Path, kmock: Any, lines: list[str]) -> None:
    sandbox = runtime()
    async with controller(kmock):
        try:
            await sandbox.up(lines.append)
            async with httpx.AsyncClient(trust_env=False) as client:
                answer = await client.get(sandbox.gateway_url + "/openai")
            assert (answer.status_code, answer.text) == (404, "route not found")
        finally:
            await sandbox.down()
    done = [line for line in lines if line.startswith("✓")]
    assert [line.split(":")[0].split(" (")[0] for line in done] == [
        "✓ preflight", "✓ cluster", "✓ Kubernetes API", "✓ Gateway API CRDs v1.4.0",
        "✓ kgateway v2.1.3 charts", "✓ kgateway controller ready",
        "✓ GatewayClass agentgateway accepted", "✓ Gateway agentgateway programmed",
        "✓ agentgateway proxy rolled out", "✓ mock provider running in the cluster",
        "✓ port-forward to 127.0.0.1"]
    assert all(line.endswith("s)") for line in done)  # each phase says how long it took
    echoed = [line for line in lines if line.startswith("$ ")]
    assert echoed[0] == ("$ kind create cluster --name agw-sandbox --image "
                         f"{DEFAULT_PROFILE.pins.node_image} --wait 120s")
    assert [line.split()[4] for line in echoed[2:]] == ["kgateway-crds", "kgateway"]
    kind = calls(fakes, "kind")
    assert ("kind create cluster --name agw-sandbox --image "
            f"{DEFAULT_PROFILE.pins.node_image} --wait 120s") in kind
    helm = calls(fakes, "helm")
    installs = [c for c in helm if c.startswith("helm upgrade --install")]
    assert installs[0].startswith("helm upgrade --install kgateway-crds "
                                  "oci://cr.kgateway.dev/kgateway-dev/charts/kgateway-crds "
                                  "--version v2.1.3 --namespace kgateway-system")
    assert "--set agentgateway.enabled=true" in installs[1]
    assert "pullPolicy" not in " ".join(installs)
    assert sandbox.kube is not None
    gateway = await sandbox.status(ResourceRef("Gateway", "agentgateway", "kgateway-system"))
    assert gateway.condition("Programmed") is not None
    config = await asyncio.to_thread(sandbox.kube.get, "ConfigMap", "kgateway-system",
                                     "mock-provider")
    assert config is not None and "class MockProvider" in config["data"]["provider.py"]
    assert set(config["data"]) == {"__init__.py", "__main__.py", "cli.py", "guarded.py",
                                   "key_chains.py", "key_runs.py", "openai.py", "provider.py"}
    assert sandbox.mock_upstream() == ("mock-provider.kgateway-system.svc.cluster.local", 8000)


async def test_a_second_up_reuses_everything(fakes: Path, kmock: Any,
                                             lines: list[str]) -> None:
    async with controller(kmock):
        await runtime().up(lines.append, forward=False)
        first = len(calls(fakes, "helm"))
        again: list[str] = []
        await runtime().up(again.append, forward=False)
    text = "\n".join(again)
    assert "kind cluster agw-sandbox reused (context kind-agw-sandbox)" in text
    assert "Gateway API CRDs v1.4.0: already installed" in text
    assert "kgateway-crds present, kgateway present" in text
    second = calls(fakes, "helm")[first:]
    assert not [c for c in second if c.startswith("helm upgrade")]
    assert len([c for c in calls(fakes, "kind") if c.startswith("kind create")]) == 1


@pytest.mark.parametrize(("failure", "stage", "message"), [
    ("kind-create", "cluster", "no space left on device"),
    ("helm-install", "kgateway v2.1.3 charts", "no such host"),
    ("port-forward", "port-forward to 127.0.0.1", "pod is not running"),
])
async def test_each_failing_stage_is_named_with_what_to_do(
        fakes: Path, kmock: Any, monkeypatch: pytest.MonkeyPatch, failure: str, stage: str,
        message: str) -> None:
    monkeypatch.setenv("FAKE_FAIL", failure)
    sandbox = runtime()
    async with controller(kmock):
        with pytest.raises(SandboxError) as caught:
            await sandbox.up(lambda line: None)
        await sandbox.down()
    assert caught.value.message.startswith(f"stage “{stage}")
    assert message in caught.value.message
    assert caught.value.hint


@pytest.mark.parametrize(("kwargs", "stage"), [
    ({"ready": False}, "kgateway controller ready"),
    ({"programmed": False}, "Gateway agentgateway programmed"),
])
async def test_a_stuck_readiness_stage_times_out_by_name(
        fakes: Path, kmock: Any, kwargs: dict[str, bool], stage: str) -> None:
    async with controller(kmock, **kwargs):
        with pytest.raises(SandboxError) as caught:
            await runtime().up(lambda line: None, forward=False)
    assert caught.value.message.startswith(f"stage “{stage}” failed")
    assert "after 3s" in caught.value.message and caught.value.hint


async def test_docker_missing_fails_the_first_stage(fakes: Path, kmock: Any,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sandbox.runtimes.kube.containers.probe_docker", REAL_PROBE)
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(SandboxError) as caught:
        await runtime().up(lambda line: None)
    assert caught.value.message.startswith("stage “preflight” failed: the Docker daemon")
    assert "--runtime sim" in caught.value.hint
    assert calls(fakes, "kind") == ["kind version"]  # preflight only: nothing was created


async def test_a_cluster_you_bring_is_never_changed_without_consent(
        fakes: Path, kmock: Any, tmp_path: Path) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text(f"""apiVersion: v1
kind: Config
clusters: [{{cluster: {{server: "{str(kmock.url).rstrip('/')}"}}, name: mine}}]
contexts: [{{context: {{cluster: mine, user: me}}, name: mine}}]
users: [{{name: me, user: {{}}}}]
current-context: mine
""")
    asked: list[str] = []

    async def fetch(url: str) -> str:
        return CRD_BUNDLE

    def refuse(question: str) -> bool:
        asked.append(question)
        return False

    mine = KubeRuntime(DEFAULT_PROFILE, free_port(), "mock", TOKEN, config, "mine", fetch,
                       refuse, confirm=lambda question: True)
    async with controller(kmock):
        with pytest.raises(SandboxError) as caught:
            await mine.up(lambda line: None, forward=False)
    assert "kgateway-crds v2.1.3 is not installed in context mine" in caught.value.message
    assert "`agw-sandbox up --context ... --install`" in caught.value.hint
    assert asked == ["Install kgateway-crds v2.1.3 into context mine?"]
    assert not [c for c in calls(fakes, "kind")]  # never touches kind
    assert not [c for c in calls(fakes, "helm") if c.startswith("helm upgrade")]


async def test_preflight_catches_an_old_helm_and_a_taken_port_before_any_work(
        fakes: Path, kmock: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_HELM_VERSION", "v3.10.3+g835b733")
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(SandboxError) as caught:
            await runtime(port=port).up(lambda line: None)
    message = caught.value.message
    assert message.startswith("stage “preflight” failed")
    assert "helm: v3.10.3 is too old (install Helm 3.12.0 or newer)" in message
    assert f"port: {port} is already in use" in message
    assert not [c for c in calls(fakes, "kind") + calls(fakes, "helm")
                if c.startswith(("kind create", "helm upgrade"))]


async def test_preflight_names_a_missing_tool(fakes: Path, kmock: Any,
                                              monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    only = tmp_path / "bin"
    only.mkdir()
    for tool in ("kind", "kubectl"):
        (only / tool).symlink_to(FAKES / tool)
    monkeypatch.setenv("PATH", f"{only}:/bin")
    with pytest.raises(SandboxError) as caught:
        await runtime().up(lambda line: None)
    assert "helm: `helm` is not installed" in caught.value.message
    assert "install Helm 3.12 or newer" in caught.value.message


async def test_forward_holds_until_ctrl_c_and_leaves_nothing_running(
        fakes: Path, kmock: Any, podman_socket: str, tmp_path: Path) -> None:
    """The CLI as a user runs it: Docker answers (podman), the cluster is the emulator."""
    install_gateway_api(kmock)
    port = free_port()
    env = {**os.environ, "DOCKER_HOST": podman_socket, "AGW_SANDBOX_TOKEN": TOKEN}
    async with controller(kmock):
        cli = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "sandbox", "forward", "--runtime", "kind", "--port",
            str(port), env=env, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT)
        assert cli.stdout is not None
        seen = []
        async with asyncio.timeout(60):
            while not any("Press Ctrl+C" in line for line in seen):
                line = (await cli.stdout.readline()).decode()
                assert line, "".join(seen)
                seen.append(line)
        async with httpx.AsyncClient(trust_env=False) as client:
            assert (await client.get(f"http://127.0.0.1:{port}/")).status_code == 404
        cli.send_signal(signal.SIGINT)
        output = (await asyncio.wait_for(cli.stdout.read(), 30)).decode()
        await asyncio.wait_for(cli.wait(), 30)
    text = "".join(seen) + output
    assert "✓ Gateway API CRDs v1.4.0: already installed" in text
    assert f"The gateway is at http://127.0.0.1:{port}" in text
    assert "interrupted; everything it started has been stopped" in text
    assert "Traceback" not in text and TOKEN not in text
    assert cli.returncode == 130
    with socket.socket() as probe:  # the port-forward is gone with it
        assert probe.connect_ex(("127.0.0.1", port)) != 0


async def fetch_bundle(url: str) -> str:
    return CRD_BUNDLE


def your_kubeconfig(tmp_path: Path, emulator: Any, name: str = "mine") -> Path:
    """A kubeconfig of your own whose context `name` reaches the emulator."""
    config = tmp_path / f"kubeconfig-{name}"
    config.write_text(f"""apiVersion: v1
kind: Config
clusters: [{{cluster: {{server: "{str(emulator.url).rstrip('/')}"}}, name: {name}}}]
contexts: [{{context: {{cluster: {name}, user: me}}, name: {name}}}]
users: [{{name: me, user: {{}}}}]
current-context: {name}
""")
    return config


def seed_release(fakes: Path, name: str, version: str = "v2.1.3", status: str = "deployed",
                 values: str = "null") -> None:
    state = fakes.parent / "state"
    state.mkdir(exist_ok=True)
    (state / f"release-{name}").write_text(version)
    (state / f"status-{name}").write_text(status)
    (state / f"values-{name}").write_text(values)


async def test_route_status_from_the_agentgateway_controller_satisfies_a_route_wait(
        fakes: Path, kmock: Any) -> None:
    from sandbox.runtimes.runtime import ConditionExpectation, WaitFor, poll_until_satisfied
    from tests.helpers import backend, route

    sandbox = runtime()
    async with controller(kmock):
        await sandbox.up(lambda line: None, forward=False)
        await sandbox.apply(backend({"kind": "Passthrough"}))
        await sandbox.apply(route())
        ref = ResourceRef("HTTPRoute", "openai", "kgateway-system")
        wait = WaitFor(ref, (ConditionExpectation("Accepted", "True"),
                             ConditionExpectation("ResolvedRefs", "True")), timeout=3.0)
        reached = await poll_until_satisfied(sandbox, wait, lambda status: None)
    assert [(c.type, c.status, c.reason) for c in reached.conditions] == [
        ("Accepted", "True", "Accepted"), ("ResolvedRefs", "True", "ResolvedRefs")]


async def test_port_zero_forwards_on_the_port_kubectl_picked(fakes: Path, kmock: Any,
                                                             lines: list[str]) -> None:
    sandbox = runtime(port=0)
    async with controller(kmock):
        try:
            await sandbox.up(lines.append)
            url = sandbox.gateway_url
            assert not url.endswith(":0")
            async with httpx.AsyncClient(trust_env=False) as client:
                answer = await client.get(url + "/openai")
            assert answer.status_code == 404
        finally:
            await sandbox.down()
    assert any(line.startswith("✓ port-forward to a free local port: ") and url in line
               for line in lines), lines


async def test_a_second_up_with_another_key_restarts_the_mock_provider(
        fakes: Path, kmock: Any) -> None:
    from tests.conftest import OTHER_TOKEN

    async def template_annotations() -> dict[str, str]:
        assert sandbox.kube is not None
        deployment = await asyncio.to_thread(sandbox.kube.get, "Deployment",
                                             "kgateway-system", "mock-provider")
        assert deployment is not None
        return dict(deployment["spec"]["template"]["metadata"].get("annotations") or {})

    async with controller(kmock):
        sandbox = runtime()
        await sandbox.up(lambda line: None, forward=False)
        first = await template_annotations()
        sandbox = runtime(token=OTHER_TOKEN)
        await sandbox.up(lambda line: None, forward=False)
        second = await template_annotations()
        sandbox = runtime(token=OTHER_TOKEN)
        await sandbox.up(lambda line: None, forward=False)
        third = await template_annotations()
    assert first and first != second, "the pod template did not change with the key"
    assert second == third  # the same key and code leave the pod alone
    assert TOKEN not in str(first) and OTHER_TOKEN not in str(second)


async def _stuck_rollout(emulator: Any, name: str) -> None:
    """Plays the Deployment controller for one Deployment whose new pod never becomes ready:
    each new generation is observed, the new pod created, and the old pod keeps serving."""
    key = (kmock.resource("apps", "v1", "deployments"), "kgateway-system", name)
    while True:
        if key not in emulator.objects:  # kmock's view of the objects has no get()
            await asyncio.sleep(0.02)
            continue
        obj = emulator.objects[key]
        generation = (obj.get("metadata") or {}).get("generation")
        if generation and (obj.get("status") or {}).get("observedGeneration") != generation:
            obj.patch({"status": {"observedGeneration": generation, "replicas": 2,
                                  "updatedReplicas": 1, "readyReplicas": 1,
                                  "availableReplicas": 1}})
        await asyncio.sleep(0.02)


async def test_up_waits_until_the_old_mock_pod_with_the_old_key_is_gone(
        fakes: Path, kmock: Any) -> None:
    """A new key rolls the mock provider; until the rollout ends only the old pod answers,
    with the old key, so the stage is not done."""
    from tests.conftest import OTHER_TOKEN

    held: set[str] = set()
    async with controller(kmock, held=held):
        await runtime().up(lambda line: None, forward=False)
        held.add("mock-provider")
        rollout = asyncio.create_task(_stuck_rollout(kmock, "mock-provider"))
        try:
            with pytest.raises(SandboxError) as caught:
                await runtime(token=OTHER_TOKEN).up(lambda line: None, forward=False)
        finally:
            rollout.cancel()
    assert caught.value.message.startswith(
        "stage “mock provider running in the cluster” failed: deployment "
        "kgateway-system/mock-provider not ready after 3s (1 old replicas are pending "
        "termination)")


async def test_mock_pods_the_namespace_refuses_are_named_by_the_stage(
        fakes: Path, kmock: Any) -> None:
    from tests.integration.test_kube import REPLICA_FAILURE

    deployments = kmock.resource("apps", "v1", "deployments")
    key = (deployments, "kgateway-system", "mock-provider")
    async with controller(kmock, ready=False):
        async def refuse_mock_pods() -> None:  # the rest rolls out; the mock's pods are refused
            while True:
                for (resource, _, _), obj in list(kmock.objects.items()):
                    if resource == deployments and not obj.deleted and not obj.get("status"):
                        obj.patch({"status": REPLICA_FAILURE if (resource, obj["metadata"][
                            "namespace"], obj["metadata"]["name"]) == key else {
                            "observedGeneration": 1, "updatedReplicas": 1,
                            "availableReplicas": 1}})
                await asyncio.sleep(0.02)

        refusing = asyncio.create_task(refuse_mock_pods())
        try:
            with pytest.raises(SandboxError) as caught:
                await runtime().up(lambda line: None, forward=False)
        finally:
            refusing.cancel()
    assert caught.value.message.startswith("stage “mock provider running in the cluster” failed")
    assert 'violates PodSecurity "restricted:latest"' in caught.value.message
    assert "image pull" not in caught.value.message + caught.value.hint


async def test_kgateway_without_agentgateway_is_named_at_once_with_the_helm_command(
        fakes: Path, kmock: Any, tmp_path: Path) -> None:
    seed_release(fakes, "kgateway-crds")
    seed_release(fakes, "kgateway")  # installed by someone, without agentgateway.enabled
    config = your_kubeconfig(tmp_path, kmock)
    mine = KubeRuntime(DEFAULT_PROFILE, free_port(), "mock", TOKEN, config, "mine",
                       fetch=fetch_bundle, consent=lambda question: False,
                       confirm=lambda question: True)
    async with controller(kmock, agentgateway=False):
        with pytest.raises(SandboxError) as caught:
            async with asyncio.timeout(10):
                await mine.up(lambda line: None, forward=False)
    assert caught.value.message.startswith("stage “kgateway v2.1.3 charts” failed")
    assert "without agentgateway.enabled=true" in caught.value.message
    assert (f"helm upgrade kgateway oci://cr.kgateway.dev/kgateway-dev/charts/kgateway "
            f"--version v2.1.3 --reuse-values --set agentgateway.enabled=true --namespace "
            f"kgateway-system --kubeconfig {config} --kube-context mine") in caught.value.hint
    assert not [c for c in calls(fakes, "helm") if c.startswith("helm upgrade")]


async def test_kgateway_without_agentgateway_is_switched_on_when_allowed(
        fakes: Path, kmock: Any, lines: list[str]) -> None:
    seed_release(fakes, "kgateway-crds")
    seed_release(fakes, "kgateway", values='{"controller": {"logLevel": "debug"}}')
    async with controller(kmock):
        await runtime().up(lines.append, forward=False)
    upgrades = [c for c in calls(fakes, "helm") if c.startswith("helm upgrade")]
    assert len(upgrades) == 1
    assert "--reuse-values --set agentgateway.enabled=true" in upgrades[0]
    assert any("kgateway present (agentgateway.enabled=true turned on)" in line
               for line in lines)


@pytest.mark.parametrize(("status", "repair"), [
    ("pending-install", "helm uninstall kgateway-crds --namespace kgateway-system"),
    ("pending-upgrade", "helm rollback kgateway-crds --namespace kgateway-system"),
])
async def test_a_release_left_pending_is_named_with_the_command_that_repairs_it(
        fakes: Path, kmock: Any, status: str, repair: str) -> None:
    seed_release(fakes, "kgateway-crds", status=status)
    async with controller(kmock):
        with pytest.raises(SandboxError) as caught:
            await runtime().up(lambda line: None, forward=False)
    message = caught.value.message
    assert message.startswith("stage “kgateway v2.1.3 charts” failed")
    assert f"kgateway-crds in kgateway-system is stuck in {status}" in message
    assert "network" not in message + caught.value.hint
    assert repair in caught.value.hint
    assert not [c for c in calls(fakes, "helm") if c.startswith("helm upgrade")]


async def test_a_hung_helm_install_ends_in_our_error_naming_the_stage_and_command(
        fakes: Path, kmock: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_HANG", "helm-install")
    monkeypatch.setattr("sandbox.runtimes.kube.cluster.HELM_TIMEOUT", 1.0)
    async with controller(kmock):
        with pytest.raises(SandboxError) as caught:
            await runtime().up(lambda line: None, forward=False)
    message = caught.value.message
    assert message.startswith("stage “kgateway v2.1.3 charts” failed: `helm upgrade --install "
                              "kgateway-crds oci://")
    assert "did not finish within 1s and was stopped" in message
    assert "Pulling kgateway-crds" in message
    assert caught.value.hint


async def test_up_says_which_kubeconfig_and_context_kind_wrote_and_made_current(
        fakes: Path, kmock: Any, lines: list[str], tmp_path: Path) -> None:
    async with controller(kmock):
        await runtime().up(lines.append, forward=False)
    written = tmp_path / "home" / ".kube" / "config"
    assert "current-context: kind-agw-sandbox" in written.read_text()
    assert any(line.startswith("✓ cluster: kind cluster agw-sandbox created; kind wrote "
                               f"context kind-agw-sandbox into {written} and made it current")
               for line in lines), lines


def test_the_kubeconfig_kind_writes_follows_kubectls_rules(tmp_path: Path) -> None:
    from sandbox.runtimes.kube.cluster import kind_kubeconfig

    first, second = tmp_path / "a", tmp_path / "b"
    assert kind_kubeconfig({"HOME": "/home/me"}) == Path("/home/me/.kube/config")
    assert kind_kubeconfig({"KUBECONFIG": f"{first}:{second}"}) == second  # none exists: last
    second.write_text("")
    assert kind_kubeconfig({"KUBECONFIG": f"{first}:{second}"}) == second  # first existing
    first.write_text("")
    assert kind_kubeconfig({"KUBECONFIG": f"{first}:{second}"}) == first


def test_down_says_what_it_removed(cli_env: dict[str, str], tmp_path: Path) -> None:
    from tests.helpers import run_cli

    home = Path(cli_env["HOME"])
    state = tmp_path / "state"
    state.mkdir()
    (state / "cluster-agw-sandbox").touch()
    user_config = home / ".kube" / "config"
    user_config.parent.mkdir(parents=True)
    user_config.write_text("apiVersion: v1\nkind: Config\ncontexts:\n- name: kind-agw-sandbox\n"
                           "  context: {cluster: kind-agw-sandbox, user: kind-agw-sandbox}\n"
                           "current-context: kind-agw-sandbox\n")
    copy = home / ".cache" / "agw-sandbox" / "kubeconfig-agw-sandbox"
    copy.parent.mkdir(parents=True)
    copy.write_text("apiVersion: v1\n")
    env = {**cli_env, "PATH": f"{FAKES}:{Path(sys.executable).parent}:/bin",
           "FAKE_STATE": str(state)}
    result = run_cli("down", env=env)
    assert result.returncode == 0, result.stderr
    assert "removed kind cluster agw-sandbox" in result.stdout
    assert f"removed context kind-agw-sandbox from {user_config}" in result.stdout
    assert f"removed the sandbox's copy of its kubeconfig, {copy}" in result.stdout
    assert not copy.exists()


# -- a cluster you bring, shared with others ---------------------------------------------------
def cluster_runtime(tmp_path: Path, emulator: Any, asked: list[str] | None = None,
                    agree: bool = True, context: str | None = "mine",
                    **placement: str) -> KubeRuntime:
    config = your_kubeconfig(tmp_path, emulator)

    def confirm(question: str) -> bool:
        if asked is not None:
            asked.append(question)
        return agree

    return KubeRuntime(DEFAULT_PROFILE, free_port(), "mock", TOKEN, config, context,
                       fetch_bundle, consent=lambda question: True, confirm=confirm,
                       **placement)


def someone_elses(emulator: Any, doc: dict[str, Any],
                  manager: str = "kubectl-client-side-apply") -> tuple[Any, ...]:
    """An object created by another tool, with the managedFields the API server records."""
    group, _, version = doc["apiVersion"].rpartition("/")
    plural = {"Backend": "backends", "Gateway": "gateways", "HTTPRoute": "httproutes",
              "Secret": "secrets"}[doc["kind"]]
    key = (kmock.resource(group, version, plural), doc["metadata"]["namespace"],
           doc["metadata"]["name"])
    emulator.objects[key] = {**doc, "metadata": {**doc["metadata"], "managedFields": [
        {"manager": manager, "operation": "Update", "apiVersion": doc["apiVersion"],
         "time": "2026-11-20T10:00:00Z", "fieldsType": "FieldsV1"}]}}
    return key


def writes(emulator: Any) -> list[str]:
    return [f"{r.method} {r.url.path}" for r in list(emulator)
            if r.method in ("PATCH", "DELETE", "POST", "PUT")]


async def test_the_cluster_runtime_needs_an_explicit_context(fakes: Path, kmock: Any,
                                                             tmp_path: Path) -> None:
    with pytest.raises(SandboxError) as caught:
        await cluster_runtime(tmp_path, kmock, context=None).up(lambda line: None)
    assert "--runtime cluster needs --context NAME" in caught.value.message
    assert "kubectl config get-contexts" in caught.value.hint
    assert not list(kmock) and not calls(fakes, "helm")


async def test_the_api_server_is_shown_and_asked_once_before_anything_is_applied(
        fakes: Path, kmock: Any, tmp_path: Path) -> None:
    asked: list[str] = []
    async with controller(kmock):
        with pytest.raises(SandboxError) as caught:
            await cluster_runtime(tmp_path, kmock, asked, agree=False).up(lambda line: None)
        assert "not confirmed: nothing was applied" in caught.value.message
        assert "--yes" in caught.value.hint
        assert writes(kmock) == []
        assert not [c for c in calls(fakes, "helm") if c.startswith("helm upgrade")]
        lines: list[str] = []
        await cluster_runtime(tmp_path, kmock, asked).up(lines.append, forward=False)
    url = str(kmock.url).rstrip("/")
    assert asked == [f"Apply the sandbox's resources to context mine (API server {url}), "
                     "namespace kgateway-system, Gateway agentgateway?"] * 2
    assert f"the sandbox will write to context mine (API server {url})" in "\n".join(lines)


async def test_a_gateway_someone_else_created_is_never_taken_over(
        fakes: Path, kmock: Any, tmp_path: Path) -> None:
    from tests.helpers import GATEWAY

    key = someone_elses(kmock, GATEWAY)
    async with controller(kmock):
        with pytest.raises(SandboxError) as caught:
            await cluster_runtime(tmp_path, kmock).up(lambda line: None, forward=False)
    assert caught.value.message == (
        "stage “Gateway agentgateway programmed” failed: Gateway kgateway-system/agentgateway "
        "already exists and belongs to field manager `kubectl-client-side-apply`, not to "
        "agw-sandbox: the sandbox never overwrites what it did not create")
    assert "--namespace NAME --gateway NAME" in caught.value.hint
    assert not [w for w in writes(kmock) if w.endswith("/gateways/agentgateway")]
    assert kmock.objects[key]["metadata"]["managedFields"][0]["manager"] == (
        "kubectl-client-side-apply")


async def test_a_backend_someone_else_created_is_never_overwritten_or_deleted(
        fakes: Path, kmock: Any, tmp_path: Path) -> None:
    from sandbox.errors import NotOurs
    from tests.helpers import backend, route

    async with controller(kmock):
        mine = cluster_runtime(tmp_path, kmock)
        await mine.up(lambda line: None, forward=False)
        theirs = backend({"kind": "SecretRef", "secretRef": {"name": "their-secret"}})
        key = someone_elses(kmock, theirs)
        with pytest.raises(NotOurs, match=r"^Backend kgateway-system/openai already exists and "
                                          r"belongs to field manager `kubectl-client-side-apply`"):
            await mine.apply(backend({"kind": "Passthrough"}))
        ref = ResourceRef("Backend", "openai", "kgateway-system")
        with pytest.raises(NotOurs, match="the sandbox never deletes what it did not create"):
            await mine.delete(ref)
        assert not [w for w in writes(kmock) if w.endswith("/backends/openai")]
        assert kmock.objects[key]["spec"]["ai"]["llm"]["openai"]["authToken"]["kind"] == (
            "SecretRef")
        # What the sandbox created itself it may change and remove.
        assert (await mine.apply(route())).outcome == "created"
        assert (await mine.apply(route())).outcome == "unchanged"
        assert await mine.delete(ResourceRef("HTTPRoute", "openai", "kgateway-system"))


async def test_a_namespace_and_gateway_of_the_sandboxs_own_leave_the_guides_objects_alone(
        fakes: Path, kmock: Any, tmp_path: Path) -> None:
    from sandbox.runtimes.runtime import ConditionExpectation, WaitFor, poll_until_satisfied
    from tests.helpers import GATEWAY, backend, route

    their_gateway = someone_elses(kmock, GATEWAY)
    their_backend = someone_elses(kmock, backend({"kind": "Inline", "inline": "theirs"}))
    mine = cluster_runtime(tmp_path, kmock, namespace="agw-sandbox", gateway="agw-sandbox")
    async with controller(kmock):
        try:
            await mine.up(lambda line: None)
            assert (await mine.apply(backend({"kind": "Passthrough"}))).ref == ResourceRef(
                "Backend", "openai", "agw-sandbox")
            await mine.apply(route())
            # The scenario still speaks of the guide's names; the runtime reads its own.
            wait = WaitFor(ResourceRef("HTTPRoute", "openai", "kgateway-system"),
                           (ConditionExpectation("ResolvedRefs", "True"),), timeout=3.0)
            await poll_until_satisfied(mine, wait, lambda status: None)
            assert await mine.delete(ResourceRef("Backend", "openai", "kgateway-system"))
        finally:
            await mine.down()
    assert mine.mock_upstream() == ("mock-provider.agw-sandbox.svc.cluster.local", 8000)
    routes = kmock.resource("gateway.networking.k8s.io", "v1", "httproutes")
    placed = kmock.objects[(routes, "agw-sandbox", "openai")]
    assert placed["spec"]["parentRefs"] == [{"name": "agw-sandbox", "namespace": "agw-sandbox"}]
    assert placed["spec"]["rules"][0]["backendRefs"][0]["namespace"] == "agw-sandbox"
    gateways = kmock.resource("gateway.networking.k8s.io", "v1", "gateways")
    assert not kmock.objects[(gateways, "agw-sandbox", "agw-sandbox")].deleted
    namespaces = kmock.resource("", "v1", "namespaces")
    assert kmock.objects[(namespaces, None, "agw-sandbox")]["metadata"]["labels"] == {
        "app.kubernetes.io/managed-by": "agw-sandbox"}
    assert not [w for w in writes(kmock) if "/namespaces/kgateway-system/" in w]
    assert not kmock.objects[their_gateway].deleted and not kmock.objects[their_backend].deleted
    forward = next(c for c in calls(fakes, "kubectl") if "port-forward" in c)
    assert "--namespace agw-sandbox deployment/agw-sandbox" in forward


async def test_a_failed_release_is_named_with_its_state_when_asking(
        fakes: Path, kmock: Any, tmp_path: Path) -> None:
    seed_release(fakes, "kgateway-crds", status="failed")
    asked: list[str] = []

    def refuse(question: str) -> bool:
        asked.append(question)
        return False

    mine = KubeRuntime(DEFAULT_PROFILE, free_port(), "mock", TOKEN,
                       your_kubeconfig(tmp_path, kmock), "mine", fetch_bundle, refuse,
                       confirm=lambda question: True)
    async with controller(kmock):
        with pytest.raises(SandboxError) as caught:
            await mine.up(lambda line: None, forward=False)
    assert asked == ["Install kgateway-crds v2.1.3 into context mine (found v2.1.3, failed)?"]
    assert "(found v2.1.3, failed)" in caught.value.message
