"""A ``DOCKER_HOST`` that carries a user and password (``tcp://USER:PASSWORD@HOST:PORT``) is named
without them, as the Kubernetes server's URL is, and what `doctor`, the kind preflight and the
default runtime's notice say passes the key masker: the sandbox's own key, given as the user, as
the password or as a context's name, is never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.errors import RuntimeUnavailable
from sandbox.runtimes.kube.containers import probe_docker
from tests.conftest import OTHER_TOKEN, TOKEN
from tests.helpers import run_cli

KEY_SHOWN = (TOKEN, TOKEN[8:-4], OTHER_TOKEN, OTHER_TOKEN[8:-4])


def assert_no_key(text: str) -> None:
    for fragment in KEY_SHOWN:
        assert fragment not in text, text


@pytest.mark.parametrize(("host", "shown"), [
    (f"tcp://{TOKEN}@127.0.0.1:1", "tcp://127.0.0.1:1"),
    (f"tcp://{OTHER_TOKEN}@localhost:1", "tcp://localhost:1"),
    (f"tcp://{TOKEN}@127.0.0.1:abc", "tcp://127.0.0.1:abc"),
    (f"tcp://{TOKEN}@[::1", "tcp://[::1"),
    # the docker SDK takes no password, and its complaint quotes the address whole
    (f"tcp://docker:{OTHER_TOKEN}@127.0.0.1:1", "tcp://127.0.0.1:1"),
    (f"tcp://{TOKEN}:{OTHER_TOKEN}@localhost:1", "tcp://localhost:1"),
])
def test_a_docker_host_that_is_no_address_is_named_without_its_user(
        no_docker_env: Path, monkeypatch: pytest.MonkeyPatch, host: str, shown: str) -> None:
    monkeypatch.setenv("DOCKER_HOST", host)
    with pytest.raises(RuntimeUnavailable) as caught:
        probe_docker(timeout=1)
    assert caught.value.message.startswith(f"DOCKER_HOST '{shown}' is not a Docker address ("), \
        caught.value.message
    assert_no_key(caught.value.message + caught.value.hint)


@pytest.fixture(params=["userinfo", "context"])
def keyed_env(request: pytest.FixtureRequest, cli_env: dict[str, str]) -> dict[str, str]:
    """The sandbox's key in DOCKER_HOST's userinfo, or as the name of the Docker context."""
    if request.param == "userinfo":
        return {**cli_env, "DOCKER_HOST": f"tcp://{TOKEN}@127.0.0.1:1"}
    env = {k: v for k, v in cli_env.items() if k != "DOCKER_HOST"}
    return {**env, "DOCKER_CONTEXT": TOKEN}


def test_doctor_never_shows_the_key_in_docker_settings(keyed_env: dict[str, str]) -> None:
    doctor = run_cli("doctor", env=keyed_env)
    output = doctor.stdout + doctor.stderr
    assert doctor.returncode == 1, output
    shown = {"DOCKER_HOST": "DOCKER_HOST 'tcp://127.0.0.1:1' is not a Docker address (a Docker "
                            "address cannot hold a user or password",
             "DOCKER_CONTEXT": "the Docker context sk-…c5Ge (DOCKER_CONTEXT) does not exist"}
    assert any(f"✗ docker   {said}" in output for name, said in shown.items()
               if name in keyed_env), output
    assert_no_key(output)


def test_the_kind_preflight_never_shows_the_key_in_docker_settings(
        keyed_env: dict[str, str]) -> None:
    run = run_cli("run", "setup", "--port", "0", "--runtime", "kind", env=keyed_env)
    output = run.stdout + run.stderr
    assert run.returncode not in (0, 70), output
    assert "stage “preflight” failed: " in output, output
    assert_no_key(output)


def test_the_default_runtime_notice_never_shows_the_key(keyed_env: dict[str, str]) -> None:
    run = run_cli("run", "setup", "--port", "0", env=keyed_env)
    assert run.returncode == 0, run.stderr
    assert "; using the simulated runtime" in run.stderr, run.stderr
    assert_no_key(run.stdout + run.stderr)
