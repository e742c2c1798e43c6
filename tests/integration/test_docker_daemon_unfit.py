"""A Docker daemon the sandbox cannot use is named for what it is, with what to do, in `doctor`,
`up` and the default runtime's choice (which falls back to the simulation, saying why):

- an ``ssh://`` address (DOCKER_HOST or a context's): the sandbox does not reach Docker over ssh
  (the docker SDK would need paramiko, or start ``ssh`` itself), not "install paramiko" and
  "start podman";
- a daemon that speaks an API older than the docker SDK's minimum (1.24), or runs Windows
  containers (kind's nodes are Linux containers), is not ticked ✓;
- a daemon that answers ``/_ping`` with HTTP 401 answered: it is not "not reachable".
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from sandbox.errors import RuntimeUnavailable
from sandbox.runtimes.kube.containers import probe_docker
from tests.fake_docker import INFO, VERSION, answer, fake_docker
from tests.helpers import run_cli

OVER_SSH = ("is reached over ssh, which agw-sandbox does not do: it talks to Docker over a "
            "socket or tcp:// only")


@pytest.mark.parametrize(("host", "shown"), [
    ("ssh://user@127.0.0.1:1", "ssh://127.0.0.1:1"),
    ("ssh://build-box", "ssh://build-box"),
    ("SSH://deploy@[::1]:2222", "ssh://[::1]:2222"),  # as the docker SDK reads it
])
def test_an_ssh_docker_host_is_named_as_one_the_sandbox_does_not_use(
        no_docker_env: Path, monkeypatch: pytest.MonkeyPatch, host: str, shown: str) -> None:
    monkeypatch.setenv("DOCKER_HOST", host)
    with pytest.raises(RuntimeUnavailable) as caught:
        probe_docker()
    error = caught.value
    assert error.message == f"the Docker daemon at {shown}, set by DOCKER_HOST, {OVER_SSH}"
    assert "paramiko" not in str(error) and "podman" not in error.hint, error.hint
    assert "unix://" in error.hint and "docker context" in error.hint and "tcp://" in error.hint
    assert "user" not in str(error) and "deploy" not in str(error)


def test_a_context_over_ssh_is_named_with_its_context(no_docker_env: Path) -> None:
    meta = no_docker_env / "contexts" / "meta" / hashlib.sha256(b"remote").hexdigest()
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text(json.dumps({
        "Name": "remote", "Metadata": {},
        "Endpoints": {"docker": {"Host": "ssh://me@build-box", "SkipTLSVerify": False}}}))
    (no_docker_env / "config.json").write_text(json.dumps({"currentContext": "remote"}))
    with pytest.raises(RuntimeUnavailable) as caught:
        probe_docker()
    assert caught.value.message == (
        "the Docker daemon at ssh://build-box, from context remote (currentContext in "
        f"~/.docker/config.json), {OVER_SSH}")
    assert "docker context use" in caught.value.hint


def test_doctor_and_the_default_runtime_on_an_ssh_docker_host(cli_env: dict[str, str]) -> None:
    env = {**cli_env, "DOCKER_HOST": "ssh://user@127.0.0.1:1"}
    doctor = run_cli("doctor", env=env)
    shown = " ".join(doctor.stdout.split())
    assert f"✗ docker the Docker daemon at ssh://127.0.0.1:1, set by DOCKER_HOST, {OVER_SSH}" \
        in shown, shown
    assert "paramiko" not in shown and "podman" not in shown, shown
    run = run_cli("run", "setup", "--port", "0", env=env)
    assert run.returncode == 0, run.stderr
    assert (f"agw-sandbox: the Docker daemon at ssh://127.0.0.1:1, set by DOCKER_HOST, {OVER_SSH}"
            "; using the simulated runtime") in " ".join(run.stderr.split()), run.stderr


TOO_OLD = "older than the API 1.24 that agw-sandbox's Docker library needs"
NOT_LINUX = "and kind's nodes are Linux containers"


@pytest.mark.parametrize("api", ["1.12", "1.23", "1.9"])
def test_a_daemon_older_than_the_library_needs_is_named_so(tmp_path: Path, api: str) -> None:
    socket_path = tmp_path / "docker.sock"
    with fake_docker(socket_path, {**VERSION, "ApiVersion": api, "MinAPIVersion": api}), \
            pytest.raises(RuntimeUnavailable) as caught:
        probe_docker(f"unix://{socket_path}")
    assert caught.value.message == (f"the Docker daemon at unix://{socket_path}, as given, "
                                    f"speaks Docker API {api}, {TOO_OLD}")
    assert "upgrade Docker" in caught.value.hint and "--runtime sim" in caught.value.hint


@pytest.mark.parametrize(("info", "version", "named"), [
    ({**INFO, "OSType": "windows"}, {**VERSION, "Os": "windows"}, "Windows containers"),
    ({**INFO, "OSType": "Windows"}, VERSION, "Windows containers"),
    (INFO, {**VERSION, "Os": "windows"}, "Windows containers"),  # an /info without OSType
    ({**INFO, "OSType": "freebsd\x1b[2J"}, VERSION, '"freebsd\\u001b[2J" containers'),
], ids=["windows", "Windows", "version-os", "other"])
def test_a_daemon_without_linux_containers_is_named_so(
        tmp_path: Path, info: dict[str, object], version: dict[str, object],
        named: str) -> None:
    socket_path = tmp_path / "docker.sock"
    with fake_docker(socket_path, version, info), pytest.raises(RuntimeUnavailable) as caught:
        probe_docker(f"unix://{socket_path}")
    assert caught.value.message == (f"the Docker daemon at unix://{socket_path}, as given, "
                                    f"runs {named}, {NOT_LINUX}"), caught.value.message
    assert "Linux containers" in caught.value.hint and "--runtime sim" in caught.value.hint
    assert "\x1b" not in caught.value.message


@pytest.mark.parametrize(("version", "info"), [
    ({**VERSION, "ApiVersion": "1.24"}, {**INFO, "OSType": "linux"}),
    ({**VERSION, "ApiVersion": "1.41", "Os": "linux"}, INFO),
])
def test_a_linux_daemon_of_api_1_24_or_newer_is_still_fine(
        tmp_path: Path, version: dict[str, object], info: dict[str, object]) -> None:
    socket_path = tmp_path / "docker.sock"
    with fake_docker(socket_path, version, info):
        found = probe_docker(f"unix://{socket_path}")
    assert found.api_version == version["ApiVersion"]


@pytest.mark.parametrize(("version", "info", "said"), [
    ({**VERSION, "ApiVersion": "1.19"}, INFO, f"speaks Docker API 1.19, {TOO_OLD}"),
    (VERSION, {**INFO, "OSType": "windows"}, f"runs Windows containers, {NOT_LINUX}"),
], ids=["old", "windows"])
def test_doctor_and_up_refuse_an_unfit_daemon_and_auto_falls_back_saying_why(
        tmp_path: Path, cli_env: dict[str, str], version: dict[str, object],
        info: dict[str, object], said: str) -> None:
    socket_path = tmp_path / "docker.sock"
    env = {**cli_env, "DOCKER_HOST": f"unix://{socket_path}"}
    with fake_docker(socket_path, version, info):
        doctor = run_cli("doctor", env=env)
        run = run_cli("run", "setup", "--port", "0", env=env)
        up = run_cli("up", "--yes", env=env)
    shown = " ".join(doctor.stdout.split())
    where = f"the Docker daemon at unix://{socket_path}, set by DOCKER_HOST"
    assert f"✗ docker {where}, {said}" in shown, shown
    assert "✓ docker" not in shown and doctor.returncode == 1, shown
    assert run.returncode == 0, run.stderr
    assert f"agw-sandbox: {where}, {said}; using the simulated runtime" in \
        " ".join(run.stderr.split()), run.stderr
    refused = " ".join((up.stdout + up.stderr).split())
    assert up.returncode != 0 and f"{where}, {said}" in refused, refused


def test_prepare_names_a_daemon_too_old_for_the_library(tmp_path: Path,
                                                        cli_env: dict[str, str]) -> None:
    socket_path = tmp_path / "docker.sock"
    with fake_docker(socket_path, {**VERSION, "ApiVersion": "1.20"}):
        result = run_cli("prepare", str(tmp_path / "bundle"),
                         env={**cli_env, "DOCKER_HOST": f"unix://{socket_path}"})
    shown = " ".join(result.stderr.split())
    assert result.returncode == 2, shown
    assert f"speaks Docker API 1.20, {TOO_OLD}" in shown and "upgrade Docker" in shown, shown
    assert "--runtime sim" not in shown and "not reachable" not in shown, shown


def test_doctor_says_a_daemon_that_answered_401_to_its_ping_answered(
        tmp_path: Path, cli_env: dict[str, str]) -> None:
    socket_path = tmp_path / "docker.sock"
    refusal = answer(b"401 Unauthorized", json.dumps({"message": "login first"}).encode())
    with fake_docker(socket_path, ping=refusal):
        doctor = run_cli("doctor", env={**cli_env, "DOCKER_HOST": f"unix://{socket_path}"})
    shown = " ".join(doctor.stdout.split())
    assert "answered /_ping with HTTP 401 (login first), which is not what Docker answers" \
        in shown, shown
    assert "not reachable" not in shown and "podman" not in shown, shown
