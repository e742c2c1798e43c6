"""The docker SDK against a Docker-compatible API service (podman) and an unreachable socket."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.errors import RuntimeUnavailable
from sandbox.kube.containers import probe_docker
from tests.helpers import run_cli


def test_probe_reads_version_cpus_and_memory_from_the_daemon(podman_socket: str) -> None:
    info = probe_docker(podman_socket)
    assert info.version.count(".") >= 1 and info.api_version.startswith("1.")
    assert info.cpus >= 1 and info.memory_bytes > 0


def test_doctor_reports_the_daemon(podman_socket: str, cli_env: dict[str, str]) -> None:
    result = run_cli("doctor", "--port", "0", env={**cli_env, "DOCKER_HOST": podman_socket})
    line = next(line for line in result.stdout.splitlines() if "docker" in line)
    assert line.startswith("✓ docker") and "CPUs" in line and "GiB" in line


def test_an_unreachable_socket_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(RuntimeUnavailable) as caught:
        probe_docker(f"unix://{tmp_path}/missing.sock", timeout=1)
    assert caught.value.message == "the Docker daemon is not reachable (no Docker socket found)"
    assert "start Docker" in caught.value.hint and "--runtime sim" in caught.value.hint


def test_up_without_docker_is_one_paragraph_and_no_traceback(cli_env: dict[str, str]) -> None:
    result = run_cli("up", "--runtime", "kind", env=cli_env)
    assert result.returncode == 2
    assert "stage “preflight” failed: the Docker daemon is not reachable" in result.stderr
    assert "--runtime sim" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
