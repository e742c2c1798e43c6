"""A daemon that answers `/_ping`, `/version` or `/info` with an HTTP error did answer: it is
named as not answering as Docker does (with its status and its words, escaped and masked) and
pointed at DOCKER_HOST, never called silent and sent to start Docker or podman."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandbox.errors import RuntimeUnavailable
from sandbox.runtimes.kube.containers import probe_docker
from tests.conftest import OTHER_TOKEN, TOKEN
from tests.fake_docker import answer, fake_docker
from tests.helpers import run_cli

NOT_DOCKER = "which is not what Docker answers"
CHECK_DOCKER_HOST = "check that DOCKER_HOST (or the current Docker context) points at a Docker"


def message(text: str) -> bytes:
    return json.dumps({"message": text}).encode()


# (which path, its answer, what the daemon is said to have answered)
ERRORS = [
    ("version", answer(b"404 Not Found", message("page not found")),
     "/version with HTTP 404 (page not found)"),
    ("version", answer(b"404 Not Found", b"404 page not found\n", b"text/plain"),
     '/version with HTTP 404 ("404 page not found")'),
    ("info", answer(b"403 Forbidden", message("authorization denied by plugin opa: no")),
     "/info with HTTP 403 (authorization denied by plugin opa: no)"),
    ("info", answer(b"502 Bad Gateway", b"<html><body>Bad gateway</body></html>",
                    b"text/html; charset=utf-8"),
     "/info with HTTP 502 (an HTML page (text/html))"),
    ("ping", answer(b"401 Unauthorized"), "/_ping with HTTP 401"),
    ("ping", answer(b"500 Internal Server Error", message("engine is \x1b[2J restarting")),
     "/_ping with HTTP 500 (engine is \\u001b[2J restarting)"),
]


@pytest.mark.parametrize(("where", "error", "answered"), ERRORS,
                         ids=[said for *_, said in ERRORS])
def test_an_error_answer_is_named_as_an_answer_not_docker_gives(
        tmp_path: Path, where: str, error: object, answered: str) -> None:
    socket_path = tmp_path / "docker.sock"
    with fake_docker(socket_path, **{where: error}), \
            pytest.raises(RuntimeUnavailable) as caught:
        probe_docker(f"unix://{socket_path}")
    assert caught.value.message == (f"the Docker daemon at unix://{socket_path}, as given, "
                                    f"answered {answered}, {NOT_DOCKER}")
    assert CHECK_DOCKER_HOST in caught.value.hint, caught.value.hint
    assert "podman" not in caught.value.hint and "\x1b" not in caught.value.message


def test_a_server_error_says_a_starting_docker_desktop_answers_so(tmp_path: Path) -> None:
    """Docker Desktop's proxy answers 500 while its engine starts: the hint says so."""
    socket_path = tmp_path / "docker.sock"
    with fake_docker(socket_path, answer(b"500 Internal Server Error", message("starting"))), \
            pytest.raises(RuntimeUnavailable) as caught:
        probe_docker(f"unix://{socket_path}")
    assert "still starting" in caught.value.hint and CHECK_DOCKER_HOST in caught.value.hint


@pytest.mark.parametrize("key", [TOKEN, OTHER_TOKEN])
@pytest.mark.parametrize("command", [("doctor",), ("up", "--yes"), ("prepare", "BUNDLE")])
def test_every_command_names_an_error_answer_masked_and_escaped(
        tmp_path: Path, cli_env: dict[str, str], key: str, command: tuple[str, ...]) -> None:
    socket_path = tmp_path / "docker.sock"
    error = answer(b"500 Internal Server Error", message(f"bad token {key}\x1b]0;PWNED\x07"))
    argv = [str(tmp_path / "bundle") if part == "BUNDLE" else part for part in command]
    with fake_docker(socket_path, error):
        result = run_cli(*argv, env={**cli_env, "OPENAI_API_KEY": OTHER_TOKEN,
                                     "DOCKER_HOST": f"unix://{socket_path}"}, timeout=60)
    shown = " ".join((result.stdout + result.stderr).split())
    assert result.returncode in (1, 2), shown
    assert (f"set by DOCKER_HOST, answered /version with HTTP 500 (bad token sk-…{key[-4:]}"
            f"\\u001b]0;PWNED\\u0007), {NOT_DOCKER}") in shown, shown
    assert CHECK_DOCKER_HOST in shown and "not answering" not in shown, shown
    assert key[8:-4] not in shown and "\x1b" not in shown, shown
