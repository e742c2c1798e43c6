"""A ``unix://`` DOCKER_HOST whose socket path is missing, relative or begins with ``~`` is named
for that, not as a daemon that is "not reachable (no Docker socket found)"."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.errors import RuntimeUnavailable
from sandbox.runtimes.kube import docker_words
from sandbox.runtimes.kube.containers import probe_docker
from tests.helpers import run_cli


def refusal(monkeypatch: pytest.MonkeyPatch, host: str) -> RuntimeUnavailable:
    monkeypatch.setenv("DOCKER_HOST", host)
    with pytest.raises(RuntimeUnavailable) as caught:
        probe_docker(timeout=1)
    return caught.value


@pytest.mark.parametrize("host", ["unix://dh13/file", "unix://run/docker.sock",
                                  "unix://localhost/var/run/docker.sock", "unix://./d.sock"])
def test_a_relative_socket_path_is_named(no_docker_env: Path, monkeypatch: pytest.MonkeyPatch,
                                         host: str) -> None:
    error = refusal(monkeypatch, host)
    assert error.message == (f"DOCKER_HOST '{host}' is not a Docker address (a socket path "
                             "begins with /: unix:///path/to/docker.sock)"), error.message


@pytest.mark.parametrize(("host", "full"), [("unix://~/docker.sock", "docker.sock"),
                                            ("unix://~/.docker/run/d.sock", ".docker/run/d.sock")])
def test_a_tilde_is_said_to_be_no_home(no_docker_env: Path, monkeypatch: pytest.MonkeyPatch,
                                       host: str, full: str) -> None:
    home = no_docker_env.parent
    error = refusal(monkeypatch, host)
    assert error.message == (f"DOCKER_HOST '{host}' is not a Docker address (~ is not expanded "
                             f"here: write the full path, unix://{home}/{full})"), error.message


def test_no_socket_path_is_named_with_the_default_docker_reads_it_as(
        no_docker_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    absent = tmp_path / "no" / "docker.sock"
    monkeypatch.setattr(docker_words, "DEFAULT_UNIX_SOCKET", str(absent))
    error = refusal(monkeypatch, "unix://")
    assert error.message == (
        f"the Docker daemon is not reachable at unix://, set by DOCKER_HOST (the address has no "
        f"socket path, so Docker's default {absent} is used, and no socket is there: write the "
        "socket's full path, unix:///path/to/docker.sock)"), error.message


def test_doctor_names_a_relative_socket_path(cli_env: dict[str, str]) -> None:
    doctor = run_cli("doctor", env={**cli_env, "DOCKER_HOST": "unix://dh13/file"})
    assert "a socket path begins with /: unix:///path/to/docker.sock" in doctor.stdout, \
        doctor.stdout + doctor.stderr


@pytest.mark.parametrize(("host", "said"), [
    ("unix:/var/run/docker.sock", "its scheme is followed by ':' alone; Docker reads "
                                  "'unix://' then the address: write unix:///var/run/docker.sock"),
    ("UNIX:/run/user/1000/docker.sock", "its scheme is followed by ':' alone; Docker reads "
                                        "'unix://' then the address: write "
                                        "unix:///run/user/1000/docker.sock"),
    ("unix:var/run/docker.sock", "its scheme is followed by ':' alone, and its socket path is "
                                 "relative: Docker reads 'unix://' then an absolute path: write "
                                 "unix://$PWD/var/run/docker.sock for the var/run/docker.sock in "
                                 "this folder, or unix:///var/run/docker.sock for "
                                 "/var/run/docker.sock"),
    ("tcp:127.0.0.1:2375", "its scheme is followed by ':' alone; Docker reads 'tcp://' then the "
                           "address: write tcp://127.0.0.1:2375"),
    ("/var/run/docker.sock", "it is a socket path with no scheme: write "
                             "unix:///var/run/docker.sock"),
    ("/tmp/dh14/docker.sock", "it is a socket path with no scheme: write "
                              "unix:///tmp/dh14/docker.sock"),
    ("localhost:2375", "it has no scheme: write tcp://localhost:2375 (or unix:///path/to/"
                       "docker.sock for a socket)"),
])
def test_an_address_without_its_slashes_says_what_to_write(
        no_docker_env: Path, monkeypatch: pytest.MonkeyPatch, host: str, said: str) -> None:
    """Before: `unix:/var/run/docker.sock` (which the docker CLI cannot parse) was looked for as
    a socket ("no Docker socket found"), `/var/run/docker.sock` gave the SDK's "Invalid bind
    address format" and no hint."""
    error = refusal(monkeypatch, host)
    assert error.message == f"DOCKER_HOST '{host}' is not a Docker address ({said})", \
        error.message
    assert "Invalid bind" not in str(error) and "no Docker socket found" not in str(error)


def test_doctor_says_what_to_write_for_a_bare_socket_path(cli_env: dict[str, str]) -> None:
    doctor = run_cli("doctor", env={**cli_env, "DOCKER_HOST": "/var/run/docker.sock"})
    assert "write unix:///var/run/docker.sock" in doctor.stdout, doctor.stdout + doctor.stderr
