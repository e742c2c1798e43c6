"""Preflight through fake kind/helm/kubectl executables and an unreachable Docker socket."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

from tests.helpers import run_cli

FAKES = Path(__file__).resolve().parents[1] / "fakes" / "bin"


def test_doctor_reports_tool_versions_and_the_unreachable_daemon(
        cli_env: dict[str, str], tmp_path: Path) -> None:
    log = tmp_path / "calls.log"
    env = {**cli_env, "PATH": f"{FAKES}:{Path(sys.executable).parent}:/bin",
           "FAKE_LOG": str(log)}
    result = run_cli("doctor", "--port", "0", env=env)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert any(line.startswith("✓ kind") and "v0.30.0" in line for line in lines)
    assert any(line.startswith("✓ helm") and "v3.16.2" in line for line in lines)
    assert any(line.startswith("✓ kubectl") and "v1.34.0" in line for line in lines)
    assert any(line.startswith("✗ docker") and "not reachable" in line for line in lines)
    assert "start Docker" in result.stdout
    assert "--runtime sim" in result.stdout
    assert set(log.read_text().splitlines()) == {"kind version", "helm version --short",
                                                 "kubectl version --client",
                                                 "kind get clusters"}
    assert "no kind cluster agw-sandbox yet; `up` creates it" in result.stdout


def test_doctor_says_what_to_install_when_tools_are_missing(cli_env: dict[str, str]) -> None:
    env = {**cli_env, "PATH": "/nonexistent-bin"}
    result = run_cli("doctor", "--port", "0", env=env)
    assert result.returncode == 1
    for tool, hint in (("kind", "install kind v0.30.0"), ("helm", "install Helm 3.12"),
                       ("kubectl", "install kubectl")):
        assert f"✗ {tool}" in result.stdout and hint in result.stdout
    assert "Traceback" not in result.stderr


def test_doctor_flags_a_taken_port(cli_env: dict[str, str]) -> None:
    env = {**cli_env, "PATH": f"{FAKES}:/bin"}
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = run_cli("doctor", "--port", str(port), env=env)
    assert f"✗ port     {port} is already in use" in result.stdout


def test_doctor_detects_an_existing_sandbox_cluster(cli_env: dict[str, str],
                                                   tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "cluster-agw-sandbox").touch()
    env = {**cli_env, "PATH": f"{FAKES}:{Path(sys.executable).parent}:/bin",
           "FAKE_STATE": str(state)}
    result = run_cli("doctor", "--port", "0", env=env)
    assert "✓ cluster  kind cluster agw-sandbox exists; `up` reuses it" in result.stdout


def test_down_deletes_only_the_sandbox_cluster(cli_env: dict[str, str], tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "cluster-agw-sandbox").touch()
    (state / "cluster-other").touch()
    env = {**cli_env, "PATH": f"{FAKES}:{Path(sys.executable).parent}:/bin",
           "FAKE_STATE": str(state), "FAKE_LOG": str(tmp_path / "log")}
    result = run_cli("down", env=env)
    assert result.returncode == 0 and "Deleted." in result.stdout
    assert sorted(p.name for p in state.iterdir()) == ["cluster-other"]
    again = run_cli("down", env=env)
    assert again.returncode == 0 and "nothing to delete" in again.stdout
    mine = run_cli("down", "--context", "prod", env=env)
    assert mine.returncode != 0 and "never deletes a cluster you brought" in mine.stderr
    assert "each scenario's last step removes what it applied" in mine.stderr
    assert (tmp_path / "log").read_text().count("kind delete cluster --name agw-sandbox") == 1


def test_status_without_a_cluster_says_how_to_create_one(cli_env: dict[str, str],
                                                         tmp_path: Path) -> None:
    env = {**cli_env, "PATH": f"{FAKES}:{Path(sys.executable).parent}:/bin",
           "FAKE_STATE": str(tmp_path / "state")}
    result = run_cli("status", "--runtime", "kind", env=env)
    assert result.returncode == 1
    assert "✗ kind cluster agw-sandbox: absent (run `agw-sandbox up`)" in result.stdout
