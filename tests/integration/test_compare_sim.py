"""`run --compare-sim`: the cluster runtime against the API emulator and the upstream-shaped
controller double, beside the simulation; every step where the two disagree is reported.

The real side is as real as this machine allows: the kube client over HTTP to the emulator, the
fake helm and kubectl on PATH, and `kubectl port-forward` relaying to a loopback gateway that
serves what is stored in the emulator (through the sim's translation, with the in-cluster mock
provider's Service name resolved to a local mock provider).
"""

from __future__ import annotations

import contextlib
import copy
import json
import socket
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from sandbox import headless
from sandbox.mock.provider import MockProvider
from sandbox.profiles import AGENTGATEWAY_V1_4, DEFAULT_PROFILE, Profile
from sandbox.reports.compare import StepRecord, diff, gateway_error
from sandbox.runtimes.kube import runtime as kuberuntime
from sandbox.runtimes.sim.control import Route, SimCluster
from sandbox.runtimes.sim.gateway import SimGateway
from sandbox.settings import Settings
from sandbox.walkthrough.events import ResponseView
from tests.conftest import TOKEN
from tests.controller_double import AgentgatewayDouble, ControllerDouble
from tests.helpers import run_cli
from tests.kubeemu import ApplyingEmulator, install_gateway_api

pytestmark = pytest.mark.kmock(cls=ApplyingEmulator)
FAKES = Path(__file__).resolve().parents[1] / "fakes" / "bin"
CLUSTER_DNS = "mock-provider.kgateway-system.svc.cluster.local"
SERVED = ("Gateway", "Backend", "AgentgatewayBackend", "HTTPRoute", "Secret")


class WrongReasonDouble(ControllerDouble):
    """Writes one reason kgateway does not: `Ready` for a Backend whose Secret resolves."""

    def backend_accepted(self, backend: dict[str, Any], auth_kind: str) -> dict[str, Any]:
        written = super().backend_accepted(backend, auth_kind)
        return {**written, "reason": "Ready"} if auth_kind == "SecretRef" else written


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def loopback_gateway(emulator: Any, profile: Profile = DEFAULT_PROFILE,
                     namespace: str | None = None) -> Iterator[str]:
    """A data plane for what the emulator holds (``namespace``: the sandbox's own); yields its
    URL."""
    mock = MockProvider([TOKEN], token_delay=0.0).start()
    dns = f"mock-provider.{namespace or profile.namespace}.svc.cluster.local"

    def routes() -> tuple[Route, ...]:
        cluster = SimCluster(profile)
        cluster.namespaces.add(namespace or profile.namespace)
        for obj in [o.raw for o in list(emulator.objects.values()) if not o.deleted]:
            if obj.get("kind") in SERVED and obj["metadata"].get("namespace") in \
                    cluster.namespaces:
                cluster.apply({k: copy.deepcopy(v) for k, v in obj.items() if k != "status"})
        return tuple(_local(route, mock.port, dns) for route in cluster.routes)

    gateway = SimGateway(routes, "127.0.0.1", 0, api=profile.backend_api)
    gateway.bind()
    gateway.start()
    try:
        yield f"http://127.0.0.1:{gateway.port}"
    finally:
        gateway.stop()
        mock.stop()


def _local(route: Route, mock_port: int, dns: str = CLUSTER_DNS) -> Route:
    """Cluster DNS for the in-cluster mock provider resolves to the local one."""
    if route.upstream is None or route.upstream.host != dns:
        return route
    return replace(route, upstream=replace(route.upstream, host="127.0.0.1", port=mock_port))


@pytest.fixture
def cluster_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kmock: Any) -> Settings:
    """Fake tools on PATH, a kubeconfig for the emulator, the Gateway API CRDs installed."""
    url = str(kmock.url).rstrip("/")
    config = tmp_path / "kubeconfig"
    config.write_text(f"""apiVersion: v1
kind: Config
clusters: [{{cluster: {{server: "{url}"}}, name: mine}}]
contexts: [{{context: {{cluster: mine, user: me}}, name: mine}}]
users: [{{name: me, user: {{}}}}]
current-context: mine
""")
    monkeypatch.setenv("KUBECONFIG", str(config))
    # The kubernetes client reads $KUBECONFIG once, at import.
    monkeypatch.setattr("kubernetes.config.kube_config.KUBE_CONFIG_DEFAULT_LOCATION", str(config))
    monkeypatch.setenv("PATH", f"{FAKES}:{Path(sys.executable).parent}:/usr/bin:/bin")
    monkeypatch.setenv("FAKE_LOG", str(tmp_path / "calls.log"))
    monkeypatch.setenv("FAKE_STATE", str(tmp_path / "state"))
    monkeypatch.setattr(kuberuntime, "READY_TIMEOUT", 20.0)
    install_gateway_api(kmock)
    return Settings(runtime="cluster", provider="mock", port=free_port(), token=TOKEN,
                    context="mine", install_kgateway=True, assume_yes=True)


async def run_compared(settings: Settings, double: ControllerDouble, kmock: Any,
                       monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                       as_json: bool) -> tuple[int, str]:
    with loopback_gateway(kmock, settings.api_profile, settings.namespace) as url:
        monkeypatch.setenv("FAKE_GATEWAY_URL", url)
        async with double.running():
            code = await headless.run(settings, "cluster", [], True, as_json, False,
                                      compare_sim=True)
    out = capsys.readouterr().out
    assert TOKEN not in out
    return code, out


async def test_the_cluster_runtime_and_the_sim_agree_on_every_step(
        cluster_env: Settings, kmock: Any, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out = await run_compared(cluster_env, ControllerDouble(kmock), kmock, monkeypatch,
                                   capsys, as_json=True)
    report = json.loads(out)
    assert [(s["id"], s["passed"]) for s in report["scenarios"]] == [
        ("setup", True), ("inline", True), ("secret", True), ("passthrough", True)]
    assert report["compare_sim"]["disagreements"] == []
    assert report["compare_sim"]["agree"] and report["compare_sim"]["steps"] >= 25
    assert code == 0


async def test_on_agentgateway_v1_4_the_cluster_and_the_sim_agree_on_every_step(
        cluster_env: Settings, kmock: Any, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    for obj in kmock.objects.values():  # a cluster with the v1.6.0 CRDs this profile pins
        if obj.raw.get("kind") == "CustomResourceDefinition":
            obj.patch({"metadata": {"annotations": {
                "gateway.networking.k8s.io/bundle-version": "v1.6.0"}}})
    settings = replace(cluster_env, profile=AGENTGATEWAY_V1_4.name)
    code, out = await run_compared(settings, AgentgatewayDouble(kmock), kmock, monkeypatch,
                                   capsys, as_json=True)
    report = json.loads(out)
    assert report["profile"] == "agentgateway-v1.4"
    assert [(s["id"], s["passed"]) for s in report["scenarios"]] == [
        ("setup", True), ("inline", True), ("secret", True), ("passthrough", True)]
    assert report["compare_sim"]["disagreements"] == []
    assert report["compare_sim"]["agree"] and report["compare_sim"]["steps"] >= 25
    assert code == 0


async def test_with_names_of_its_own_the_cluster_and_the_sim_still_agree(
        cluster_env: Settings, kmock: Any, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The private simulation places its objects as the cluster run did (--namespace, --gateway)."""
    settings = replace(cluster_env, namespace="agw-sandbox", gateway="agw-sb")
    code, out = await run_compared(settings, ControllerDouble(kmock), kmock, monkeypatch,
                                   capsys, as_json=True)
    report = json.loads(out)
    assert [(s["id"], s["passed"]) for s in report["scenarios"]] == [
        ("setup", True), ("inline", True), ("secret", True), ("passthrough", True)]
    assert report["compare_sim"]["disagreements"] == []
    waited = [status["resource"] for scenario in report["scenarios"]
              for step in scenario["steps"] for status in step["status"]]
    assert "Gateway agw-sandbox/agw-sb" in waited
    assert not [r for r in waited if "kgateway-system" in r], waited
    assert code == 0


async def test_one_wrong_reason_is_reported_at_exactly_its_step(
        cluster_env: Settings, kmock: Any, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out = await run_compared(cluster_env, WrongReasonDouble(kmock), kmock, monkeypatch,
                                   capsys, as_json=False)
    assert "4 passed, 0 failed" in out  # the scenarios' own waits do not look at this reason
    assert "Compared with the simulation: 1 disagreement" in out
    differing = [line for line in out.splitlines() if line.lstrip().startswith("≠")]
    assert differing == [
        "  ≠ secret/accepted: conditions of Backend kgateway-system/openai: real "
        "'Accepted=True (Ready)', simulated 'Accepted=True (Accepted)'"]
    assert code == 1


@pytest.mark.parametrize(("args", "message", "hint"), [
    (("--runtime", "sim"), "already the simulation", "--runtime kind"),
    (("--runtime", "cluster", "--context", "mine", "--provider", "openai"),
     "--compare-sim needs --provider mock", "drop --provider openai"),
])
def test_compare_sim_says_when_it_cannot_compare(cli_env: dict[str, str], args: tuple[str, ...],
                                                 message: str, hint: str) -> None:
    result = run_cli("run", "inline", "--compare-sim", *args,
                     env={**cli_env, "OPENAI_API_KEY": TOKEN})
    assert result.returncode == 2
    assert message in result.stderr and hint in result.stderr
    assert "Traceback" not in result.stderr and TOKEN not in result.stderr + result.stdout


def _response(status: int, body: str, *headers: tuple[str, str]) -> ResponseView:
    return ResponseView(status, "", 1.0, headers, body, "", None)


def test_each_compared_field_is_reported_by_name() -> None:
    real = [StepRecord("secret", "no-key", "passed", {}, 401, "", None),
            StepRecord("setup", "knock", "passed", {}, 404, None,
                       gateway_error(_response(404, "route not found",
                                               ("content-type", "text/plain"))))]
    sim = [StepRecord("secret", "no-key", "failed", {}, 200, "sk-…c5Ge", None),
           StepRecord("setup", "knock", "passed", {}, 404, None,
                      gateway_error(_response(404, "route not found")))]
    assert [(d.step, d.field) for d in diff(real, sim)] == [
        ("no-key", "outcome"), ("no-key", "HTTP status"), ("no-key", "key the mock saw"),
        ("knock", "gateway error body")]
    assert "real '(no key)', simulated 'sk-…c5Ge'" in str(diff(real, sim)[2])


def test_a_provider_error_is_not_a_gateway_error_body() -> None:
    assert gateway_error(_response(401, '{"error": {"code": "invalid_api_key"}}')) is None
    assert gateway_error(_response(200, "ok")) is None
    assert gateway_error(_response(500, "Backend service unavailable")) == (
        "'Backend service unavailable' (no Content-Type)")
