"""The docker SDK against a Docker-compatible API service (podman) and an unreachable socket.

The daemon is looked for where the `docker` CLI looks (DOCKER_HOST, DOCKER_CONTEXT, the current
context in ~/.docker/config.json, the default socket); each test builds a private ~/.docker whose
context points at the podman service.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest

from sandbox.errors import RuntimeUnavailable
from sandbox.runtimes.kube.containers import probe_docker, resolve_endpoint
from tests.helpers import run_cli

CONTEXT = "podman-test"


def write_context(config_dir: Path, name: str, host: str, current: str | None = None) -> None:
    """A Docker CLI context as `docker context create NAME --docker host=HOST` writes it."""
    meta = config_dir / "contexts" / "meta" / hashlib.sha256(name.encode()).hexdigest()
    meta.mkdir(parents=True, exist_ok=True)
    (meta / "meta.json").write_text(json.dumps({
        "Name": name, "Metadata": {},
        "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": False}}}))
    if current is not None:
        (config_dir / "config.json").write_text(json.dumps({"currentContext": current}))


def test_probe_reads_version_cpus_and_memory_from_the_daemon(podman_socket: str) -> None:
    info = probe_docker(podman_socket)
    assert info.version.count(".") >= 1 and info.api_version.startswith("1.")
    assert info.cpus >= 1 and info.memory_bytes > 0
    assert info.podman and info.endpoint == f"{podman_socket}, as given"


def test_doctor_reports_the_daemon(podman_socket: str, cli_env: dict[str, str]) -> None:
    result = run_cli("doctor", "--port", "0", env={**cli_env, "DOCKER_HOST": podman_socket})
    line = next(line for line in result.stdout.splitlines() if "docker" in line)
    assert line.startswith("✓ docker") and "CPUs" in line and "GiB" in line
    assert line.endswith(f"at {podman_socket}, set by DOCKER_HOST")


def test_doctor_finds_the_daemon_through_the_current_context(
        podman_socket: str, cli_env: dict[str, str]) -> None:
    env = {k: v for k, v in cli_env.items() if k != "DOCKER_HOST"}
    write_context(Path(env["HOME"]) / ".docker", CONTEXT, podman_socket, current=CONTEXT)
    result = run_cli("doctor", "--port", "0", env=env)
    line = next(line for line in result.stdout.splitlines() if "docker" in line)
    assert line.startswith("✓ docker   Podman"), result.stdout
    assert line.endswith(f"at {podman_socket}, from context {CONTEXT} "
                         "(currentContext in ~/.docker/config.json)")


def test_docker_context_wins_over_the_current_context(
        podman_socket: str, no_docker_env: Path, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    config = tmp_path / "docker-config"
    write_context(config, CONTEXT, podman_socket, current="colima")
    write_context(config, "colima", f"unix://{tmp_path}/colima.sock")
    monkeypatch.setenv("DOCKER_CONFIG", str(config))
    monkeypatch.setenv("DOCKER_CONTEXT", CONTEXT)
    info = probe_docker(timeout=5)
    assert info.endpoint == f"{podman_socket}, from context {CONTEXT} (DOCKER_CONTEXT)"


def test_docker_host_wins_over_every_context(
        podman_socket: str, no_docker_env: Path, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    write_context(no_docker_env, CONTEXT, podman_socket, current=CONTEXT)
    monkeypatch.setenv("DOCKER_CONTEXT", CONTEXT)
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/elsewhere.sock")
    with pytest.raises(RuntimeUnavailable) as caught:
        probe_docker(timeout=1)
    assert caught.value.message == (
        f"the Docker daemon is not reachable at unix://{tmp_path}/elsewhere.sock, set by "
        "DOCKER_HOST (no Docker socket found)")


def test_a_context_that_does_not_exist_is_named(no_docker_env: Path) -> None:
    (no_docker_env / "config.json").write_text(json.dumps({"currentContext": "colima"}))
    with pytest.raises(RuntimeUnavailable) as caught:
        resolve_endpoint()
    assert caught.value.message == ("the Docker context colima (currentContext in "
                                    "~/.docker/config.json) does not exist")
    assert "docker context ls" in caught.value.hint


def test_without_any_setting_the_default_socket_is_used(no_docker_env: Path) -> None:
    assert str(resolve_endpoint()) == "unix:///var/run/docker.sock, the default socket"
    (no_docker_env / "config.json").write_text(json.dumps({"currentContext": "default"}))
    assert str(resolve_endpoint()) == "unix:///var/run/docker.sock, the default socket"


def test_an_unreachable_socket_says_what_to_do(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent-bin")  # no podman either
    with pytest.raises(RuntimeUnavailable) as caught:
        probe_docker(f"unix://{tmp_path}/missing.sock", timeout=1)
    assert caught.value.message == (f"the Docker daemon is not reachable at unix://{tmp_path}"
                                    "/missing.sock, as given (no Docker socket found)")
    assert "start Docker" in caught.value.hint and "--runtime sim" in caught.value.hint


def fake_podman(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "podman-bin"
    bin_dir.mkdir()
    (bin_dir / "podman").write_text("#!/bin/sh\necho 'podman version 5.2.2'\n")
    (bin_dir / "podman").chmod(0o755)
    return bin_dir


def test_podman_without_docker_says_how_kind_runs_on_it(cli_env: dict[str, str],
                                                        tmp_path: Path) -> None:
    runtime_dir = tmp_path / "run"
    (runtime_dir / "podman").mkdir(parents=True)
    env = {**cli_env, "PATH": f"{fake_podman(tmp_path)}:{cli_env['PATH']}",
           "XDG_RUNTIME_DIR": str(runtime_dir)}
    result = run_cli("doctor", "--port", "0", env=env)
    assert "✗ docker   the Docker daemon is not reachable" in result.stdout
    assert ("podman is installed and kind runs on it: start its Docker-compatible API "
            "(`systemctl --user start podman.socket`)") in result.stdout
    assert "KIND_EXPERIMENTAL_PROVIDER=podman" in result.stdout
    (runtime_dir / "podman" / "podman.sock").touch()  # the socket unit is running
    result = run_cli("doctor", "--port", "0", env=env)
    assert (f"export DOCKER_HOST=unix://{runtime_dir}/podman/podman.sock and "
            "KIND_EXPERIMENTAL_PROVIDER=podman") in result.stdout


def test_doctor_on_podmans_api_says_how_kind_uses_it(podman_socket: str,
                                                      cli_env: dict[str, str]) -> None:
    env = {**cli_env, "DOCKER_HOST": podman_socket}
    result = run_cli("doctor", "--port", "0", env=env)
    assert "kind runs on it with KIND_EXPERIMENTAL_PROVIDER=podman" in result.stdout
    told = run_cli("doctor", "--port", "0", env={**env, "KIND_EXPERIMENTAL_PROVIDER": "podman"})
    assert "✓ docker   Podman" in told.stdout and "KIND_EXPERIMENTAL_PROVIDER" not in told.stdout


def test_auto_names_the_endpoint_it_tried_or_found(podman_socket: str,
                                                  cli_env: dict[str, str]) -> None:
    sim = run_cli("run", "setup", "--port", "0", env=cli_env)
    assert sim.returncode == 0
    assert ("agw-sandbox: the Docker daemon is not reachable at unix:///nonexistent.sock, set by "
            "DOCKER_HOST (no Docker socket found); using the simulated runtime") in sim.stderr
    env = {k: v for k, v in cli_env.items() if k != "DOCKER_HOST"}
    env["PATH"] = str(Path(sys.executable).parent)  # no kind, helm or kubectl
    write_context(Path(env["HOME"]) / ".docker", CONTEXT, podman_socket, current=CONTEXT)
    found = run_cli("run", "setup", "--port", "0", env=env)
    assert found.returncode == 0, found.stderr
    assert (f"agw-sandbox: Docker answers at {podman_socket}, from context {CONTEXT} "
            "(currentContext in ~/.docker/config.json), but kind, helm, kubectl are not "
            "installed") in found.stderr


def test_up_without_docker_is_one_paragraph_and_no_traceback(cli_env: dict[str, str]) -> None:
    result = run_cli("up", "--runtime", "kind", env=cli_env)
    assert result.returncode == 2
    assert "stage “preflight” failed: the Docker daemon is not reachable" in result.stderr
    assert "--runtime sim" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize("length", [108, 300])
def test_a_socket_path_too_long_for_a_socket_is_said_in_bytes(
        no_docker_env: Path, monkeypatch: pytest.MonkeyPatch, length: int) -> None:
    """``sun_path`` holds 108 bytes on Linux (104 on macOS), the NUL included: the SDK said
    "(('Connection aborted.', OSError('AF_UNIX path too long')))"."""
    path = "/tmp/" + "é" * ((length - 5) // 2) + "a" * ((length - 5) % 2)  # bytes, not characters
    monkeypatch.setenv("DOCKER_HOST", f"unix://{path}")
    with pytest.raises(RuntimeUnavailable) as caught:
        probe_docker(timeout=1)
    limit = 103 if sys.platform == "darwin" else 107
    assert f"its socket path is {length} bytes long; a socket path is at most {limit} bytes" \
        in caught.value.message, caught.value.message
    assert "AF_UNIX" not in caught.value.message
    assert "Connection aborted" not in caught.value.message
    assert "ln -s" in caught.value.message


@pytest.mark.parametrize("kind", ["character device", "regular file", "directory",
                                  "FIFO (named pipe)"])
def test_a_socket_path_that_is_no_socket_says_what_it_is(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    """``unix:///dev/null`` was "connection refused": nothing there listens, it is no socket."""
    import os

    path = {"character device": Path("/dev/null"), "regular file": tmp_path / "docker.sock",
            "directory": tmp_path / "sockets", "FIFO (named pipe)": tmp_path / "fifo.sock"}[kind]
    if kind == "regular file":
        path.write_text("")
    elif kind == "directory":
        path.mkdir()
    elif kind == "FIFO (named pipe)":
        os.mkfifo(path)
    monkeypatch.setenv("PATH", "/nonexistent-bin")  # no podman either
    with pytest.raises(RuntimeUnavailable) as caught:
        probe_docker(f"unix://{path}", timeout=1)
    assert caught.value.message == (f"the Docker daemon is not reachable at unix://{path}, as "
                                    f"given ({path} is a {kind}, not a socket)")
    assert "start Docker" in caught.value.hint


def test_doctor_names_a_device_given_as_docker_host(cli_env: dict[str, str]) -> None:
    result = run_cli("doctor", "--port", "0", env={**cli_env, "DOCKER_HOST": "unix:///dev/null"})
    assert "/dev/null is a character device, not a socket" in result.stdout, result.stdout
    assert "connection refused" not in result.stdout
