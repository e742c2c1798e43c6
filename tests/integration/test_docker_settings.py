"""Docker settings that are wrong, not just pointing at no daemon: a ``DOCKER_HOST`` that is no
address, and a Docker ``config.json`` or context ``meta.json`` that is no regular file of a
config's size. Each is named with what is wrong (shown escaped), and the default runtime falls
back to the simulation as it does for a daemon that does not answer."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import pytest

from sandbox.errors import RuntimeUnavailable
from sandbox.runtimes.kube.containers import probe_docker, resolve_endpoint
from tests.helpers import run_cli


@pytest.mark.parametrize(("host", "shown", "why"), [
    ("tcp://127.0.0.1:abc", "tcp://127.0.0.1:abc", "the port is not a number"),
    ("tcp://[::1", "tcp://[::1", "Invalid IPv6 URL"),
    ("tcp://localhost:70000", "tcp://localhost:70000", "Port out of range"),
    ("tcp://127.0.0.1:-5", "tcp://127.0.0.1:-5", "the port is not a number"),
    ("tcp://127.0.0.1:2375\x1b]0;owned\x07", "tcp://127.0.0.1:2375\\u001b]0;owned\\u0007",
     "the control character U+001B (ESC)"),
    ("unix:///run/docker.sock\u202e", "unix:///run/docker.sock\\u202e",
     "the bidirectional control U+202E"),
])
def test_a_docker_host_that_is_no_address_is_named(no_docker_env: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   host: str, shown: str, why: str) -> None:
    monkeypatch.setenv("DOCKER_HOST", host)
    for attempt in (resolve_endpoint, probe_docker):
        with pytest.raises(RuntimeUnavailable) as caught:
            attempt()
        message = caught.value.message
        assert message.startswith(f"DOCKER_HOST '{shown}' is not a Docker address ("), message
        assert why in message, message
        assert "\x1b" not in message and "\u202e" not in message
        assert "DOCKER_HOST" in caught.value.hint and "unset" in caught.value.hint


def test_a_context_whose_host_is_no_address_is_named(no_docker_env: Path) -> None:
    meta = no_docker_env / "contexts" / "meta" / hashlib.sha256(b"broken").hexdigest()
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text(json.dumps({
        "Name": "broken", "Metadata": {},
        "Endpoints": {"docker": {"Host": "tcp://[::1", "SkipTLSVerify": False}}}))
    (no_docker_env / "config.json").write_text(json.dumps({"currentContext": "broken"}))
    with pytest.raises(RuntimeUnavailable) as caught:
        probe_docker()
    assert caught.value.message.startswith(
        "the Docker context broken (currentContext in ~/.docker/config.json) has the host "
        "'tcp://[::1', which is not a Docker address ("), caught.value.message


def test_doctor_and_the_default_runtime_on_a_malformed_docker_host(
        cli_env: dict[str, str]) -> None:
    env = {**cli_env, "DOCKER_HOST": "tcp://127.0.0.1:abc"}
    doctor = run_cli("doctor", env=env)
    assert doctor.returncode != 70, doctor.stderr
    assert "internal error" not in doctor.stdout + doctor.stderr
    assert "DOCKER_HOST 'tcp://127.0.0.1:abc' is not a Docker address" in doctor.stdout + \
        doctor.stderr
    run = run_cli("run", "setup", "--port", "0", env=env)
    assert run.returncode == 0, run.stderr
    assert ("agw-sandbox: DOCKER_HOST 'tcp://127.0.0.1:abc' is not a Docker address (the port "
            "is not a number); using the simulated runtime") in run.stderr


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "huge", "directory"])
def test_a_config_json_that_is_no_config_is_refused_at_once(no_docker_env: Path, kind: str) -> None:
    config = no_docker_env / "config.json"
    if kind == "fifo":
        os.mkfifo(config)
    elif kind == "dev-zero":
        config.symlink_to("/dev/zero")
    elif kind == "huge":
        with config.open("wb") as out:
            out.write(b'{"currentContext": "default", "pad": "')
            out.truncate(3 * 1024 * 1024)
    else:
        config.mkdir()
    started = time.monotonic()
    with pytest.raises(RuntimeUnavailable) as caught:
        probe_docker(timeout=1)
    assert time.monotonic() - started < 5
    message = caught.value.message
    assert message.startswith("Docker's config file ~/.docker/config.json "), message
    expected = {"fifo": "is a FIFO", "dev-zero": "is a character device",
                "huge": "larger than 1 MiB", "directory": "is a directory"}[kind]
    assert expected in message, message
    assert "DOCKER_CONFIG" in caught.value.hint


def test_docker_config_names_its_own_file_and_the_default_runtime_falls_back(
        cli_env: dict[str, str], tmp_path: Path) -> None:
    config_dir = tmp_path / "dc"
    config_dir.mkdir()
    os.mkfifo(config_dir / "config.json")
    env = {k: v for k, v in cli_env.items() if k != "DOCKER_HOST"}
    env["DOCKER_CONFIG"] = str(config_dir)
    run = run_cli("run", "setup", "--port", "0", env=env, timeout=60)
    assert run.returncode == 0, run.stderr
    assert (f"agw-sandbox: Docker's config file {config_dir}/config.json is a FIFO (named pipe), "
            "not a regular file; using the simulated runtime") in run.stderr


def test_a_context_meta_json_that_is_too_large_is_refused(no_docker_env: Path) -> None:
    meta = no_docker_env / "contexts" / "meta" / hashlib.sha256(b"big").hexdigest()
    meta.mkdir(parents=True)
    with (meta / "meta.json").open("wb") as out:
        out.truncate(2 * 1024 * 1024)
    (no_docker_env / "config.json").write_text(json.dumps({"currentContext": "big"}))
    with pytest.raises(RuntimeUnavailable) as caught:
        resolve_endpoint()
    assert caught.value.message.startswith("the Docker context big (currentContext in "
                                           "~/.docker/config.json) cannot be read ("), \
        caught.value.message
    assert "larger than 1 MiB" in caught.value.message
