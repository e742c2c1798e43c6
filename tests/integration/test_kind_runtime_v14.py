"""The agentgateway-v1.4 profile on the real runtimes: fake kind/helm/kubectl and the API emulator.

The controller is played by the v1.4 controller double; the Gateway API v1.6.0 bundle is the
project's copy of the upstream files (CRDs plus the ValidatingAdmissionPolicy and its binding).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.errors import SandboxError
from sandbox.profiles import AGENTGATEWAY_V1_4, DEFAULT_PROFILE, Profile
from sandbox.runtimes.kube import install
from sandbox.runtimes.kube.kind import KindRuntime
from sandbox.runtimes.kube.runtime import KubeRuntime
from sandbox.runtimes.runtime import ResourceRef
from tests.conftest import CRDS, TOKEN
from tests.controller_double import AgentgatewayDouble, ControllerDouble
from tests.integration.test_kind_runtime import calls, fakes, free_port
from tests.kubeemu import ApplyingEmulator

__all__ = ["fakes"]  # a fixture, used by name

pytestmark = pytest.mark.kmock(cls=ApplyingEmulator)
FAKES = Path(__file__).resolve().parents[1] / "fakes" / "bin"
V1_6 = CRDS / "gateway-api-v1.6.0"


def bundle(version: str) -> str:
    """A Gateway API standard install: every file concatenated, as hack/build-install-yaml.sh."""
    if version == "v1.6.0":
        return "\n---\n".join(path.read_text() for path in sorted(V1_6.glob("gateway*.yaml")))
    return "\n---\n".join(f"""\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: {plural}.gateway.networking.k8s.io
  annotations: {{gateway.networking.k8s.io/bundle-version: {version}}}
spec: {{group: gateway.networking.k8s.io}}
""" for plural in ("gateways", "httproutes"))


@contextlib.asynccontextmanager
async def controller(double: ControllerDouble) -> AsyncIterator[None]:
    async with double.running():
        yield


def kind(profile: Profile = AGENTGATEWAY_V1_4, port: int | None = None) -> KindRuntime:
    async def fetch(url: str) -> str:
        assert url == profile.pins.gateway_api_crds_url
        return bundle(profile.pins.gateway_api)

    return KindRuntime(profile, port or free_port(), "mock", TOKEN, profile.cluster_name, fetch)


def uninstall_controller(emulator: Any) -> None:
    """What uninstalling the other profile's charts leaves: its GatewayClass goes, the Gateway
    API CRDs and their admission policy stay."""
    for (resource, _, name), obj in list(emulator.objects.items()):
        if resource.plural == "gatewayclasses" and name == "agentgateway" and not obj.deleted:
            obj.delete()


def brought(kmock: Any, tmp_path: Path, profile: Profile,
            asked: list[str] | None = None) -> KubeRuntime:
    config = tmp_path / "kubeconfig"
    config.write_text(f"""apiVersion: v1
kind: Config
clusters: [{{cluster: {{server: "{str(kmock.url).rstrip('/')}"}}, name: mine}}]
contexts: [{{context: {{cluster: mine, user: me}}, name: mine}}]
users: [{{name: me, user: {{}}}}]
current-context: mine
""")

    async def fetch(url: str) -> str:
        return bundle(profile.pins.gateway_api)

    def agree(question: str) -> bool:
        if asked is not None:
            asked.append(question)
        return True

    return KubeRuntime(profile, free_port(), "mock", TOKEN, config, "mine", fetch, agree,
                       confirm=lambda question: True)


async def test_up_installs_agentgateway_v1_4_and_forwards_port_80(
        fakes: Path, kmock: Any) -> None:
    lines: list[str] = []
    sandbox = kind()
    async with controller(AgentgatewayDouble(kmock)):
        try:
            await sandbox.up(lines.append)
            async with httpx.AsyncClient(trust_env=False) as client:
                answer = await client.get(sandbox.gateway_url + "/openai")
            assert answer.status_code == 404
        finally:
            await sandbox.down()
    done = [line.split(":")[0].split(" (")[0] for line in lines if line.startswith("✓")]
    assert done == [
        "✓ preflight", "✓ cluster", "✓ Kubernetes API", "✓ Gateway API CRDs v1.6.0",
        "✓ agentgateway v1.4.1 charts", "✓ agentgateway controller ready",
        "✓ GatewayClass agentgateway accepted", "✓ Gateway agentgateway-proxy programmed",
        "✓ agentgateway proxy rolled out", "✓ mock provider running in the cluster",
        "✓ port-forward to 127.0.0.1"]
    assert (f"kind create cluster --name agw-sandbox-v1-4 --image "
            f"{AGENTGATEWAY_V1_4.pins.node_image} --wait 120s") in calls(fakes, "kind")
    installs = [c for c in calls(fakes, "helm") if c.startswith("helm upgrade --install")]
    assert [c.split()[3:11] for c in installs] == [
        ["agentgateway-crds", "oci://cr.agentgateway.dev/charts/agentgateway-crds",
         "--version", "v1.4.1", "--namespace", "agentgateway-system", "--create-namespace",
         "--kubeconfig"],
        ["agentgateway", "oci://cr.agentgateway.dev/charts/agentgateway",
         "--version", "v1.4.1", "--namespace", "agentgateway-system", "--create-namespace",
         "--kubeconfig"]]
    assert "--set" not in " ".join(installs)  # no values, and never pullPolicy=Always
    [forward] = [c for c in calls(fakes, "kubectl") if c.startswith("kubectl port-forward")]
    assert (f"--namespace agentgateway-system deployment/agentgateway-proxy {sandbox.port}:80"
            in forward)
    assert sandbox.kube is not None
    gateway = await asyncio.to_thread(sandbox.kube.get, "Gateway", "agentgateway-system",
                                      "agentgateway-proxy")
    assert gateway is not None and gateway["spec"]["listeners"][0]["port"] == 80
    mock = await asyncio.to_thread(sandbox.kube.get, "Deployment", "agentgateway-system",
                                   "mock-provider")
    assert mock is not None
    assert sandbox.mock_upstream() == ("mock-provider.agentgateway-system.svc.cluster.local",
                                       8000)
    status = await sandbox.status(ResourceRef("GatewayClass", "agentgateway", ""))
    assert status.condition("Accepted") is not None


async def test_the_v1_6_install_yaml_applies_its_admission_policy_too(
        fakes: Path, kmock: Any) -> None:
    sandbox = kind()
    async with controller(AgentgatewayDouble(kmock)):
        await sandbox.up(lambda line: None, forward=False)
    assert sandbox.kube is not None
    for kind_name in ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"):
        found = await asyncio.to_thread(sandbox.kube.get, kind_name, "",
                                        "safe-upgrades.gateway.networking.k8s.io")
        assert found is not None, kind_name
    crd = await asyncio.to_thread(sandbox.kube.get, "CustomResourceDefinition", "",
                                  "httproutes.gateway.networking.k8s.io")
    assert crd is not None
    assert crd["metadata"]["annotations"][install.BUNDLE_VERSION] == "v1.6.0"


async def test_a_cluster_with_v1_6_crds_refuses_the_kgateway_profile_and_says_so(
        fakes: Path, kmock: Any, tmp_path: Path) -> None:
    """The downgrade is caught before anything is applied or installed."""
    first = brought(kmock, tmp_path, AGENTGATEWAY_V1_4)
    async with controller(AgentgatewayDouble(kmock)):
        await first.up(lambda line: None, forward=False)
    asked: list[str] = []
    second = brought(kmock, tmp_path, DEFAULT_PROFILE, asked)
    helm_before = len(calls(fakes, "helm"))
    with pytest.raises(SandboxError) as caught:
        await second.up(lambda line: None, forward=False)
    assert "the agentgateway-v1.4 profile is installed on this cluster" in caught.value.message
    # `helm uninstall` leaves the Gateway API CRDs and their admission policy behind.
    uninstall_controller(kmock)
    with pytest.raises(SandboxError) as caught:
        await second.up(lambda line: None, forward=False)
    message, hint = caught.value.message, caught.value.hint
    assert "Gateway API v1.6.0 CRDs" in message and "safe-upgrades" in message
    assert "v1.4.0 CRDs that the kgateway-v2.1 profile needs" in message
    assert "--profile agentgateway-v1.4" in hint and "agw-sandbox" in hint
    assert asked == []  # not even offered: the cluster would refuse it
    assert not [c for c in calls(fakes, "helm")[helm_before:] if c.startswith("helm upgrade")]


async def test_a_kgateway_cluster_is_named_and_an_upgrade_is_said_to_be_one_way(
        fakes: Path, kmock: Any, tmp_path: Path) -> None:
    first = brought(kmock, tmp_path, DEFAULT_PROFILE)
    async with controller(ControllerDouble(kmock)):
        await first.up(lambda line: None, forward=False)
    # kgateway v2.1 already owns the GatewayClass: named, with what to do, before any change.
    second = brought(kmock, tmp_path, AGENTGATEWAY_V1_4)
    with pytest.raises(SandboxError) as caught:
        await second.up(lambda line: None, forward=False)
    assert "GatewayClass agentgateway belongs to kgateway.dev/agentgateway" in (
        caught.value.message)
    assert "the kgateway-v2.1 profile is installed on this cluster" in caught.value.message
    assert "separate cluster for each profile" in caught.value.hint
    assert second.kube is not None
    crd = await asyncio.to_thread(second.kube.get, "CustomResourceDefinition", "",
                                  "gateways.gateway.networking.k8s.io")
    assert crd is not None
    assert crd["metadata"]["annotations"][install.BUNDLE_VERSION] == "v1.4.0"  # untouched
    # Without the other controller, the upgrade is offered, and said to be one way.
    uninstall_controller(kmock)
    asked: list[str] = []
    third = brought(kmock, tmp_path, AGENTGATEWAY_V1_4, asked)
    async with controller(AgentgatewayDouble(kmock)):
        await third.up(lambda line: None, forward=False)
    assert asked[0].startswith("Upgrade the Gateway API CRDs from v1.4.0 to v1.6.0?")
    assert "cannot go back" in asked[0]


def test_one_kind_cluster_per_profile() -> None:
    assert DEFAULT_PROFILE.cluster_name == "agw-sandbox"
    assert AGENTGATEWAY_V1_4.cluster_name == "agw-sandbox-v1-4"
    assert install.refused_downgrade("v1.6.0", "v1.4.0")
    assert install.refused_downgrade("v1.6.0", "v1.5.1")
    assert not install.refused_downgrade("v1.4.0", "v1.6.0")
    assert not install.refused_downgrade("v1.6.1", "v1.6.0")


async def test_status_names_the_profile_and_checks_its_names(
        fakes: Path, kmock: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from sandbox import headless
    from sandbox.settings import Settings

    async with controller(AgentgatewayDouble(kmock)):
        await kind().up(lambda line: None, forward=False)
        settings = Settings(runtime="kind", port=free_port(), token=TOKEN,
                            cluster_name="agw-sandbox-v1-4", profile="agentgateway-v1.4")
        capsys.readouterr()
        code = await headless.cluster_command("status", settings)
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.splitlines()[0].startswith("· profile agentgateway-v1.4")
    assert "agentgateway-system/agentgateway-proxy" in out


@pytest.mark.parametrize("version", ["1.4.1", "v1.4.1"])
async def test_a_release_installed_as_1_4_1_or_v1_4_1_is_the_pinned_one(
        fakes: Path, kmock: Any, tmp_path: Path, version: str) -> None:
    """agentgateway publishes each chart as both 1.4.1 and v1.4.1 (controller/Makefile
    release-charts), rendering the same images: either is the pinned release."""
    from tests.integration.test_kind_runtime import seed_release
    from tests.kubeemu import install_gateway_api

    install_gateway_api(kmock, "v1.6.0")
    for release in AGENTGATEWAY_V1_4.releases:
        seed_release(fakes, release, version=version)
    asked: list[str] = []
    mine = brought(kmock, tmp_path, AGENTGATEWAY_V1_4, asked)
    lines: list[str] = []
    async with controller(AgentgatewayDouble(kmock)):
        await mine.up(lines.append, forward=False)
    assert asked == []
    assert any("agentgateway-crds present, agentgateway present" in line for line in lines)
    assert not [c for c in calls(fakes, "helm") if c.startswith("helm upgrade")]


def crd_writes(emulator: Any) -> list[str]:
    return [str(r.url.path) for r in list(emulator) if r.method == "PATCH"
            and "/customresourcedefinitions/" in str(r.url.path)]


@pytest.mark.parametrize(("profile", "installed"), [
    (AGENTGATEWAY_V1_4, "v1.6.1"),  # what agentgateway v1.4.1 is built against (go.mod)
    (DEFAULT_PROFILE, "v1.4.1"),
])
async def test_gateway_api_crds_of_the_pinned_minor_or_newer_in_range_are_used_as_they_are(
        fakes: Path, kmock: Any, tmp_path: Path, profile: Profile, installed: str) -> None:
    """Installing the pinned v1.6.0 over v1.6.1 would be a downgrade of cluster-wide CRDs."""
    from tests.kubeemu import install_gateway_api

    install_gateway_api(kmock, installed)
    asked: list[str] = []
    lines: list[str] = []
    double = AgentgatewayDouble(kmock) if profile is AGENTGATEWAY_V1_4 else ControllerDouble(kmock)
    async with controller(double):
        await brought(kmock, tmp_path, profile, asked).up(lines.append, forward=False)
    assert not [q for q in asked if "Gateway API" in q]
    assert crd_writes(kmock) == []
    assert any(line.startswith(f"✓ Gateway API CRDs {profile.pins.gateway_api}: {installed} "
                               "installed already") for line in lines), lines


async def test_older_gateway_api_crds_are_upgraded_only_with_consent(
        fakes: Path, kmock: Any, tmp_path: Path) -> None:
    from tests.kubeemu import install_gateway_api

    install_gateway_api(kmock, "v1.5.1")  # inside agentgateway v1.4's range, below its pin
    asked: list[str] = []
    async with controller(AgentgatewayDouble(kmock)):
        await brought(kmock, tmp_path, AGENTGATEWAY_V1_4, asked).up(lambda line: None,
                                                                     forward=False)
    assert asked[0] == "Upgrade the Gateway API CRDs from v1.5.1 to v1.6.0?"
    assert crd_writes(kmock)


async def test_gateway_api_crds_newer_than_the_profile_supports_are_never_downgraded(
        fakes: Path, kmock: Any, tmp_path: Path) -> None:
    from tests.kubeemu import install_gateway_api

    install_gateway_api(kmock, "v1.7.0")
    asked: list[str] = []
    with pytest.raises(SandboxError) as caught:
        await brought(kmock, tmp_path, AGENTGATEWAY_V1_4, asked).up(lambda line: None,
                                                                     forward=False)
    message = caught.value.message
    assert message.startswith("stage “Gateway API CRDs v1.6.0” failed: the cluster has the "
                              "Gateway API v1.7.0 CRDs")
    assert "agentgateway-v1.4 profile supports Gateway API v1.4 to v1.6" in message
    assert "never installs older CRDs over newer ones" in message
    assert asked == [] and crd_writes(kmock) == []
    assert not [c for c in calls(fakes, "helm") if c.startswith("helm upgrade")]
