"""agentgateway (or kgateway) installed on a cluster you bring under release names and a namespace
of someone's choosing: the sandbox finds and reuses that installation, or names its owner.

Shapes from upstream: Helm marks every object it creates with ``meta.helm.sh/release-name`` and
``-namespace`` annotations and ``app.kubernetes.io/managed-by: Helm`` (and refuses to install a
release over objects another release owns); the agentgateway chart (v1.4.1,
controller/install/helm/agentgateway/templates/_helpers.tpl) names the controller Deployment
``<release>-agentgateway`` unless the release name holds the chart name, and gives it the
selector labels ``agentgateway: agentgateway``, ``app.kubernetes.io/name: agentgateway`` and
``app.kubernetes.io/instance: <release>``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kmock
import pytest

from sandbox.errors import SandboxError
from sandbox.profiles import AGENTGATEWAY_V1_4
from tests.controller_double import AgentgatewayDouble
from tests.integration.test_kind_runtime import calls, fakes, seed_release
from tests.integration.test_kind_runtime_v14 import brought, controller
from tests.kubeemu import ApplyingEmulator, install_gateway_api

__all__ = ["fakes"]  # a fixture, used by name

pytestmark = pytest.mark.kmock(cls=ApplyingEmulator)
THEIRS = "agw-system"  # where someone installed agentgateway, as releases agw-crds and agw


class InstalledElsewhere(AgentgatewayDouble):
    """agentgateway v1.4.1 installed with `helm install agw-crds …` and `helm install agw …`
    into namespace agw-system."""

    namespace = THEIRS
    controller_deployment = "agw-agentgateway"


def install_elsewhere(emulator: Any, fakes: Path, version: str = "v1.4.1") -> None:
    for release in ("agw-crds", "agw"):
        seed_release(fakes, release, version=version)
        (fakes.parent / "state" / f"namespace-{release}").write_text(THEIRS)
    (fakes.parent / "state" / "crd-owner").write_text(f"agw-crds {THEIRS}")
    crds = kmock.resource("apiextensions.k8s.io", "v1", "customresourcedefinitions")
    for plural in ("agentgatewaybackends", "agentgatewaypolicies", "agentgatewayparameters"):
        name = f"{plural}.agentgateway.dev"
        emulator.objects[(crds, None, name)] = {
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "Helm"},
                         "annotations": {"meta.helm.sh/release-name": "agw-crds",
                                         "meta.helm.sh/release-namespace": THEIRS}},
            "spec": {"group": "agentgateway.dev"}}
    deployments = kmock.resource("apps", "v1", "deployments")
    emulator.objects[(deployments, THEIRS, "agw-agentgateway")] = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "agw-agentgateway", "namespace": THEIRS, "generation": 1,
                     "labels": {"agentgateway": "agentgateway",
                                "app.kubernetes.io/name": "agentgateway",
                                "app.kubernetes.io/instance": "agw",
                                "app.kubernetes.io/managed-by": "Helm",
                                "helm.sh/chart": f"agentgateway-{version}"},
                     "annotations": {"meta.helm.sh/release-name": "agw",
                                     "meta.helm.sh/release-namespace": THEIRS}},
        "spec": {"replicas": 1}}
    install_gateway_api(emulator, "v1.6.0")


async def test_an_installation_under_other_names_is_found_and_reused(
        fakes: Path, kmock: Any, tmp_path: Path) -> None:
    install_elsewhere(kmock, fakes)
    asked: list[str] = []
    lines: list[str] = []
    mine = brought(kmock, tmp_path, AGENTGATEWAY_V1_4, asked)
    async with controller(InstalledElsewhere(kmock)):
        await mine.up(lines.append, forward=False)
        checks = {check.name: check for check in await mine.health()}
    assert asked == []
    assert not [c for c in calls(fakes, "helm") if c.startswith("helm upgrade")]
    text = "\n".join(lines)
    assert ("agentgateway-crds present as release agw-crds in namespace agw-system, "
            "agentgateway present as release agw in namespace agw-system") in text
    assert "✓ agentgateway controller ready: 1/1 available" in text
    # The guide's namespace did not exist (no chart created it): the sandbox made it.
    namespaces = kmock.resource("", "v1", "namespaces")
    assert kmock.objects[(namespaces, None, "agentgateway-system")]["metadata"]["labels"] == {
        "app.kubernetes.io/managed-by": "agw-sandbox"}
    assert checks["deployment agw-system/agw-agentgateway"].ok
    assert "deployment agentgateway-system/agentgateway" not in checks


async def test_another_version_under_other_names_is_upgraded_there_only_with_consent(
        fakes: Path, kmock: Any, tmp_path: Path) -> None:
    install_elsewhere(kmock, fakes, version="v1.3.2")
    asked: list[str] = []
    mine = brought(kmock, tmp_path, AGENTGATEWAY_V1_4, asked)
    mine.consent = lambda question: asked.append(question) is not None  # refuses, noting it
    with pytest.raises(SandboxError) as caught:
        await mine.up(lambda line: None, forward=False)
    assert asked == ["Upgrade agentgateway-crds (release agw-crds in namespace agw-system) from "
                     "v1.3.2 to v1.4.1 into context mine?"]
    assert "release agw-crds in namespace agw-system" in caught.value.message
    assert "found v1.3.2" in caught.value.message
    assert not [c for c in calls(fakes, "helm") if c.startswith("helm upgrade")]


async def test_crds_not_installed_by_helm_are_named_with_their_owner(
        fakes: Path, kmock: Any, tmp_path: Path) -> None:
    crds = kmock.resource("apiextensions.k8s.io", "v1", "customresourcedefinitions")
    name = "agentgatewaybackends.agentgateway.dev"
    kmock.objects[(crds, None, name)] = {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": name, "managedFields": [
            {"manager": "kubectl-client-side-apply", "operation": "Update"}]},
        "spec": {"group": "agentgateway.dev"}}
    install_gateway_api(kmock, "v1.6.0")
    with pytest.raises(SandboxError) as caught:
        await brought(kmock, tmp_path, AGENTGATEWAY_V1_4).up(lambda line: None, forward=False)
    message = caught.value.message
    assert message.startswith("stage “agentgateway v1.4.1 charts” failed")
    assert f"CustomResourceDefinition {name} was not installed by Helm" in message
    assert "`kubectl-client-side-apply`" in message
    assert "network" not in message + caught.value.hint
    assert not [c for c in calls(fakes, "helm") if c.startswith("helm upgrade")]


async def test_helm_refusing_crds_another_release_owns_is_explained_not_blamed_on_the_network(
        fakes: Path, kmock: Any, tmp_path: Path) -> None:
    """The emulator shows no owner (say the CRDs could not be read), but Helm knows one."""
    (fakes.parent / "state").mkdir(exist_ok=True)
    (fakes.parent / "state" / "crd-owner").write_text(f"agw-crds {THEIRS}")
    install_gateway_api(kmock, "v1.6.0")
    with pytest.raises(SandboxError) as caught:
        await brought(kmock, tmp_path, AGENTGATEWAY_V1_4).up(lambda line: None, forward=False)
    assert "invalid ownership metadata" in caught.value.message
    hint = caught.value.hint
    assert "network" not in hint
    assert "already belong to the Helm release agw-crds in namespace agw-system" in hint


async def test_a_user_who_may_not_list_deployments_cluster_wide_is_still_served(
        fakes: Path, kmock: Any, tmp_path: Path) -> None:
    """On a shared cluster RBAC may allow reading a namespace, not listing every one: the
    controller is then looked for beside its CRDs' release and in the guide's namespace."""
    install_elsewhere(kmock, fakes)
    kmock["get /apis/apps/v1/deployments"] << 403 << {
        "kind": "Status", "reason": "Forbidden", "code": 403,
        "message": 'deployments.apps is forbidden: User "me" cannot list resource "deployments" '
                   'in API group "apps" at the cluster scope'}
    lines: list[str] = []
    async with controller(InstalledElsewhere(kmock)):
        await brought(kmock, tmp_path, AGENTGATEWAY_V1_4).up(lines.append, forward=False)
    assert "✓ agentgateway controller ready: 1/1 available" in "\n".join(lines)
    listed = [str(r.url.path) for r in list(kmock) if r.method == "GET"
              and str(r.url.path).endswith("/deployments")]
    assert "/apis/apps/v1/namespaces/agw-system/deployments" in listed
