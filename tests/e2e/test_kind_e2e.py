"""The real thing: Docker, kind, Helm and the internet. Opt in with `pytest --with-e2e`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox.errors import RuntimeUnavailable
from sandbox.kube.containers import probe_docker
from tests.helpers import run_cli

pytestmark = pytest.mark.e2e
CLUSTER = "agw-sandbox-e2e"
COLLECT = Path(__file__).resolve().parents[2] / ".ci" / "collect-cluster-state.py"


@pytest.fixture(scope="module")
def env() -> dict[str, str]:
    try:
        probe_docker()
    except RuntimeUnavailable as exc:
        pytest.skip(f"needs Docker: {exc.message}")
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}


def test_up_all_scenarios_and_down_on_kind(env: dict[str, str]) -> None:
    common = ("--runtime", "kind", "--cluster-name", CLUSTER, "--port", "18080")
    try:
        up = run_cli("up", *common, env=env, timeout=1200)
        assert up.returncode == 0, up.stdout + up.stderr
        again = run_cli("up", *common, env=env, timeout=300)
        assert again.returncode == 0 and "reused" in again.stdout
        walk = run_cli("run", "--all", *common, env=env, timeout=900)
        assert walk.returncode == 0, walk.stdout + walk.stderr
        assert "4 passed, 0 failed" in walk.stdout
        status = run_cli("status", *common, env=env, timeout=120)
        assert status.returncode == 0, status.stdout
    except BaseException:
        save_cluster_state(env)
        raise
    finally:
        down = run_cli("down", *common, env=env, timeout=600)
    assert down.returncode == 0 and "Deleted." in down.stdout


def save_cluster_state(env: dict[str, str]) -> None:
    """Before `down` deletes a failed cluster, keep its state where CI uploads it from."""
    out = os.environ.get("AGW_SANDBOX_E2E_STATE")
    if out:
        subprocess.run([sys.executable, str(COLLECT), "--cluster-name", CLUSTER, "--out", out],
                       env=env, timeout=300, check=False)
