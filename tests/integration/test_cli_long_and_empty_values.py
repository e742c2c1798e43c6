"""What the CLI quotes of a value it was given is bounded (a 20 000-character argument is not
echoed whole), and the values that are no value (empty, an unbalanced bracket, a relative socket
path, ``~`` left unexpanded) are refused saying what to write instead."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.errors import RuntimeUnavailable
from sandbox.runtimes.kube.containers import resolve_endpoint
from sandbox.untrusted import MAX_QUOTED, quoted
from tests.helpers import run_cli
from tests.integration.test_cli_robust import SIM, no_traceback

# Longer than any message: a value quoted whole would show.
LONG = "h" * 4_000 + "0123456789" * 600 + "tail-of-the-value"


def _refused(*args: str, env: dict[str, str]) -> str:
    result = run_cli(*args, env=env)
    no_traceback(result.stderr)
    assert result.returncode == 2, result.stderr
    return result.stderr


def _bounded(stderr: str) -> None:
    assert "tail-of-the-value" not in stderr, stderr[-300:]
    assert len(stderr) < 6 * MAX_QUOTED + 600, len(stderr)
    assert "…" in stderr


def test_a_quoted_value_is_cut_and_its_length_said() -> None:
    shown = quoted(LONG)
    assert shown.startswith("'hhh") and shown.endswith("…' (10 017 characters)")
    assert len(shown) < MAX_QUOTED + 30
    escaped = quoted("\x1b" * 1_000)  # cut between escapes, never inside one
    assert escaped.startswith("'\\u001b") and escaped.endswith("\\u001b…' (1 000 characters)")
    assert quoted("a path of a usual length") == "'a path of a usual length'"


@pytest.mark.parametrize("args", [
    ("serve", "--host", LONG, "--port", "0"),
    ("up", "--bundle", LONG),
    ("run", LONG, *SIM),
    ("run", "setup", *SIM, "--transcript", f"/nonexistent/{LONG}"),
])
def test_a_very_long_value_is_not_echoed_whole(cli_env: dict[str, str],
                                               args: tuple[str, ...]) -> None:
    _bounded(_refused(*args, env=cli_env))


def test_a_very_long_docker_host_is_not_echoed_whole(cli_env: dict[str, str]) -> None:
    result = run_cli("doctor", env={**cli_env, "DOCKER_HOST": f"unix:///{LONG}"})
    no_traceback(result.stderr)
    docker = next(line for line in result.stdout.splitlines() if "docker" in line)
    assert "DOCKER_HOST 'unix:///hhh" in docker
    _bounded(docker)


@pytest.mark.parametrize("host", ["[::1", "::1]", "[127.0.0.1", "localhost]"])
def test_an_unbalanced_bracket_in_serve_host_is_named(cli_env: dict[str, str],
                                                      host: str) -> None:
    stderr = _refused("serve", "--host", host, "--port", "0", env=cli_env)
    assert f"--host '{host}' has an unbalanced bracket" in stderr
    assert "does not resolve" not in stderr


@pytest.mark.parametrize("option", ["--host", "--host="])
def test_an_empty_serve_host_is_refused(cli_env: dict[str, str], option: str) -> None:
    args = ("serve", option, "--port", "0") if option.endswith("=") else \
        ("serve", option, "", "--port", "0")
    stderr = _refused(*args, env=cli_env)
    assert "--host is empty" in stderr and "leave --host out" in stderr
    assert "serving" not in stderr


@pytest.mark.parametrize("bundle", ["", "  "])
def test_an_empty_bundle_is_refused(cli_env: dict[str, str], bundle: str) -> None:
    stderr = _refused("up", "--bundle", bundle, env=cli_env)
    assert "--bundle" in stderr and "the folder is empty" in stderr
    assert "offline bundle" not in stderr


def test_a_bundle_path_with_a_tilde_says_it_is_not_expanded(cli_env: dict[str, str]) -> None:
    stderr = _refused("up", "--bundle", "~/agw-bundle", env=cli_env)
    assert "the bundle folder ~/agw-bundle does not exist" in stderr
    assert "~ is not expanded here" in stderr
    assert f"--bundle {cli_env['HOME']}/agw-bundle" in stderr


@pytest.mark.parametrize(("host", "said", "not_said"), [
    ("unix:docker.sock", "write unix://$PWD/docker.sock for the docker.sock in this folder",
     "write unix:///docker.sock"),
    ("unix:run/d.sock", "write unix://$PWD/run/d.sock", "write unix:///run/d.sock"),
    ("ssh:host", "ssh:// is not supported", "write ssh://host"),
    ("ssh:user@build-box", "never over ssh", "write ssh://"),
])
def test_a_docker_host_with_a_colon_alone_is_told_what_works(
        no_docker_env: Path, monkeypatch: pytest.MonkeyPatch, host: str, said: str,
        not_said: str) -> None:
    monkeypatch.setenv("DOCKER_HOST", host)
    with pytest.raises(RuntimeUnavailable) as caught:
        resolve_endpoint()
    message = caught.value.message
    assert said in message and not_said not in message, message
    if host.startswith("unix"):
        assert "absolute" in message
