"""The real thing: Docker, kind, Helm and the internet. Opt in with `pytest --with-e2e`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox.errors import RuntimeUnavailable
from sandbox.runtimes.kube.containers import probe_docker
from tests.helpers import run_cli

pytestmark = pytest.mark.e2e
# One cluster per profile (their Gateway API CRDs cannot share one); the workflow's matrix
# picks a profile with E2E_PROFILE and names the same cluster.
CLUSTERS = {"kgateway-v2.1": "agw-sandbox-e2e", "agentgateway-v1.4": "agw-sandbox-e2e-v1-4"}
CHOSEN = [p for p in CLUSTERS if os.environ.get("E2E_PROFILE", p) == p]
ARTIFACTS = Path(os.environ.get("E2E_ARTIFACTS", "e2e-artifacts"))
COLLECT = Path(__file__).resolve().parents[2] / ".ci" / "collect-cluster-state.py"


@pytest.fixture(scope="module")
def env() -> dict[str, str]:
    try:
        probe_docker()
    except RuntimeUnavailable as exc:
        pytest.skip(f"needs Docker: {exc.message}")
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}


@pytest.mark.parametrize("profile", CHOSEN)
def test_up_all_scenarios_and_down_on_kind(env: dict[str, str], profile: str) -> None:
    common = ("--runtime", "kind", "--cluster-name", CLUSTERS[profile], "--port", "18080",
              "--profile", profile)
    try:
        up = run_cli("up", *common, env=env, timeout=1200)
        assert up.returncode == 0, up.stdout + up.stderr
        again = run_cli("up", *common, env=env, timeout=300)
        assert again.returncode == 0 and "reused" in again.stdout
        # Every real run checks the simulation; the comparison is kept for the workflow to upload.
        walk = run_cli("run", "--all", "--compare-sim", "--json", *common, env=env, timeout=900)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "compare-sim.json").write_text(walk.stdout)
        report = json.loads(walk.stdout)
        assert report["profile"] == profile
        assert [s["passed"] for s in report["scenarios"]] == [True] * 4, walk.stderr
        assert report["compare_sim"]["disagreements"] == [], report["compare_sim"]
        assert walk.returncode == 0, walk.stderr
        status = run_cli("status", *common, env=env, timeout=120)
        assert status.returncode == 0, status.stdout
    except BaseException:
        save_cluster_state(env, CLUSTERS[profile])
        raise
    finally:
        down = run_cli("down", *common, env=env, timeout=600)
    assert down.returncode == 0 and "Deleted." in down.stdout


def save_cluster_state(env: dict[str, str], cluster: str) -> None:
    """Before `down` deletes a failed cluster, keep its state beside the comparison."""
    subprocess.run([sys.executable, str(COLLECT), "--cluster-name", cluster,
                    "--out", str(ARTIFACTS / "cluster-state")], env=env, timeout=300, check=False)
