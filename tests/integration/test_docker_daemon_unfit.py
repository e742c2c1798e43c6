"""A Docker daemon the sandbox cannot use is named for what it is, with what to do, in `doctor`,
`up` and the default runtime's choice (which falls back to the simulation, saying why):

- an ``ssh://`` address (DOCKER_HOST or a context's): the sandbox does not reach Docker over ssh
  (the docker SDK would need paramiko, or start ``ssh`` itself), not "install paramiko" and
  "start podman";
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from sandbox.errors import RuntimeUnavailable
from sandbox.runtimes.kube.containers import probe_docker
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
