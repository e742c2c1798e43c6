"""The upstream tier for the tests: one real kube-apiserver per profile, started once a session.

tools/upstream-tier builds etcd and kube-apiserver from their Go modules (tools/tier/README.md).
When the binaries are not built the tests that need them are skipped, with the reason; when they
are, each profile's tier starts at its first use and always stops at the end of the session
(down stops its processes, frees its ports and removes its folder).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.runtimes.kube.client import Kube
from tests.conftest import REPO
from tests.tier.apiserver import SUMMARY, ApiServer

NOT_BUILT = "the upstream tier is not built: run tools/upstream-tier build (needs Go)"
# Both profiles' namespaces on both tiers: the corpus tries Gateway API objects on each.
NAMESPACES = ("kgateway-system", "agentgateway-system")


def tier_module() -> Any:
    """tools/tier (stdlib only), imported from the repository."""
    tools = str(REPO / "tools")
    if tools not in sys.path:
        sys.path.insert(0, tools)
    import tier

    return tier


def _start(profile: str, folder: Path) -> Iterator[ApiServer]:
    tier = tier_module()
    ready = tier.binaries_ready()
    if not ready:
        detail = ready.reason.partition("; ")[2]
        pytest.skip(NOT_BUILT + (f" ({detail})" if detail else ""))
    kubeconfig = folder / "kubeconfig"
    try:
        info = tier.up(profile, kubeconfig, log=lambda line: None)
    except tier.TierError as exc:
        tier.down(kubeconfig)
        pytest.fail(f"the upstream tier did not start ({exc.stage}): {exc.message}")
    try:
        server = ApiServer(profile, info, Kube.connect(str(info.kubeconfig), info.context))
        for namespace in NAMESPACES:
            assert server.apply({"apiVersion": "v1", "kind": "Namespace",
                                 "metadata": {"name": namespace}}) is None
        SUMMARY.setdefault("servers", {})[profile] = server.version
        yield server
    finally:
        tier.down(info.kubeconfig)


@pytest.fixture(scope="session")
def kgateway_tier(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    """A real kube-apiserver with the kgateway-v2.1 profile's CRDs."""
    yield from _start("kgateway-v2.1", tmp_path_factory.mktemp("tier-kgateway"))


@pytest.fixture(scope="session")
def agentgateway_tier(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    """A real kube-apiserver with the agentgateway-v1.4 profile's CRDs and admission policy."""
    yield from _start("agentgateway-v1.4", tmp_path_factory.mktemp("tier-agentgateway"))


@pytest.fixture
def tier_for(request: pytest.FixtureRequest) -> Any:
    """The tier of a profile, by name (started on first use)."""
    fixtures = {"kgateway-v2.1": "kgateway_tier", "agentgateway-v1.4": "agentgateway_tier"}
    return lambda profile: request.getfixturevalue(fixtures[profile])


def pytest_terminal_summary(terminalreporter: Any) -> None:
    servers = SUMMARY.get("servers")
    if not servers:
        if SUMMARY.get("collected"):
            terminalreporter.write_line(f"upstream tier: not run — {NOT_BUILT}")
        return
    parts = [f"{n} {what}" for what, n in SUMMARY.get("agreed", {}).items()]
    differ = SUMMARY.get("differ", 0)
    version = ", ".join(sorted(set(servers.values())))
    terminalreporter.write_line(
        f"upstream tier (kube-apiserver {version}; {', '.join(sorted(servers))}): the sim and "
        f"the API server agree on {', '.join(parts) or 'nothing yet'}"
        + (f"; {differ} known difference(s), each in its test" if differ else ""))


def pytest_collectreport(report: Any) -> None:
    if report.passed and "tests/tier" in str(report.nodeid):
        SUMMARY["collected"] = True
