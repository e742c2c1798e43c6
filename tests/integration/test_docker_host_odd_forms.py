"""A DOCKER_HOST the sandbox cannot use is named for what is wrong with it, never in the docker
SDK's words: blanks around it are named (the SDK trims them and then asks for paramiko), any
``ssh://`` address is one the sandbox does not reach (whatever user or password it holds), and a
``tcp://`` or ``unix://`` address with a user or password is refused as one Docker does not take
(never "Invalid bind address format" naming an address that looks valid, never the password)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.errors import RuntimeUnavailable
from sandbox.runtimes.kube.containers import probe_docker
from tests.conftest import TOKEN
from tests.helpers import run_cli

OVER_SSH = "is reached over ssh, which agw-sandbox does not do"
NO_USER = "a Docker address cannot hold a user or password: remove the part before '@'"


def refusal(monkeypatch: pytest.MonkeyPatch, host: str) -> RuntimeUnavailable:
    monkeypatch.setenv("DOCKER_HOST", host)
    with pytest.raises(RuntimeUnavailable) as caught:
        probe_docker(timeout=1)
    return caught.value


@pytest.mark.parametrize(("host", "said"), [
    (" ssh://host", "DOCKER_HOST ' ssh://host' is not a Docker address (it begins with a blank: "
                    "remove it)"),
    ("tcp://127.0.0.1:2375 ", "DOCKER_HOST 'tcp://127.0.0.1:2375 ' is not a Docker address (it "
                              "ends with a blank: remove it)"),
    ("\tunix:///var/run/docker.sock", "DOCKER_HOST '\\tunix:///var/run/docker.sock' is not a "
                                      "Docker address (it holds a tab (U+0009)"),
])
def test_blanks_around_docker_host_are_named(
        no_docker_env: Path, monkeypatch: pytest.MonkeyPatch, host: str, said: str) -> None:
    error = refusal(monkeypatch, host)
    assert error.message.startswith(said), error.message
    assert "paramiko" not in str(error)


@pytest.mark.parametrize(("host", "shown"), [
    ("ssh://me:hunter2-pw@host", "ssh://host"),
    (f"ssh://git:{TOKEN}@build-box:2222", "ssh://build-box:2222"),
    ("ssh://box/some/path", "ssh://box/some/path"),
    ("Ssh://me@box?x=1", "ssh://box?x=1"),
])
def test_any_ssh_address_is_one_the_sandbox_does_not_use(
        no_docker_env: Path, monkeypatch: pytest.MonkeyPatch, host: str, shown: str) -> None:
    error = refusal(monkeypatch, host)
    assert error.message.startswith(f"the Docker daemon at {shown}, set by DOCKER_HOST, "
                                    f"{OVER_SSH}"), error.message
    for hidden in ("hunter2", TOKEN[8:-4], "Invalid bind", "paramiko"):
        assert hidden not in str(error), str(error)


@pytest.mark.parametrize(("host", "shown"), [
    ("tcp://me:hunter2-pw@127.0.0.1:1", "tcp://127.0.0.1:1"),
    (f"tcp://{TOKEN}@127.0.0.1:2376", "tcp://127.0.0.1:2376"),
    ("tcp://:hunter2-pw@docker.internal:2375", "tcp://docker.internal:2375"),
    ("unix://me:hunter2-pw@localhost/var/run/docker.sock", "unix://localhost/var/run/docker.sock"),
])
def test_a_user_or_password_in_a_docker_address_is_refused_as_such(
        no_docker_env: Path, monkeypatch: pytest.MonkeyPatch, host: str, shown: str) -> None:
    error = refusal(monkeypatch, host)
    assert error.message == f"DOCKER_HOST '{shown}' is not a Docker address ({NO_USER})", \
        error.message
    for hidden in ("hunter2", TOKEN[8:-4], "Invalid bind"):
        assert hidden not in str(error), str(error)


def test_doctor_says_so_for_a_password_in_docker_host(cli_env: dict[str, str]) -> None:
    doctor = run_cli("doctor", env={**cli_env, "DOCKER_HOST": "tcp://me:hunter2-pw@127.0.0.1:1"})
    output = doctor.stdout + doctor.stderr
    assert doctor.returncode == 1, output
    assert NO_USER in output and "hunter2" not in output, output


@pytest.mark.parametrize(("host", "said"), [
    ("ｔｃｐ://127.0.0.1:2375", "its scheme 'ｔｃｐ' is written in look-alike letters "
                              "(fullwidth, say): write it tcp://"),
    ("ＵＮＩＸ:///var/run/docker.sock", "its scheme 'ＵＮＩＸ' is written in look-alike letters "
                                    "(fullwidth, say): write it unix://"),
    ("tpc://127.0.0.1:2375", "its scheme 'tpc' is not one Docker knows: write unix://, tcp://, "
                             "http:// or https://"),
    ("tcp://127.0.0.1:0", "port 0 is not a port a daemon listens on: write the daemon's port "
                          "(2375, or 2376 with TLS)"),
    ("http://[::1]:0", "port 0 is not a port a daemon listens on: write the daemon's port "
                       "(2375, or 2376 with TLS)"),
    ("tcp://127.0.0.1:2375/some/path?q=1", "a Docker address has no query or fragment (the "
                                           "part from '?' or '#'): remove it"),
    ("tcp://127.0.0.1:2375#top", "a Docker address has no query or fragment (the part from "
                                 "'?' or '#'): remove it"),
], ids=["fullwidth-tcp", "fullwidth-unix", "unknown-scheme", "port-0", "port-0-ipv6", "query",
        "fragment"])
def test_an_address_the_sdk_cannot_parse_is_named_in_our_words(
        no_docker_env: Path, monkeypatch: pytest.MonkeyPatch, host: str, said: str) -> None:
    error = refusal(monkeypatch, host)
    assert error.message.endswith(f"is not a Docker address ({said})"), error.message
    assert "Invalid bind" not in str(error)
