"""Whatever answers at DOCKER_HOST may not be Docker: an answer of another shape is named as not
Docker's (never an internal error) and the default runtime falls back to the simulation."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path
from typing import Any

import pytest

from sandbox.errors import RuntimeUnavailable
from sandbox.runtimes.kube.containers import probe_docker
from tests.fake_docker import INFO, VERSION, fake_docker
from tests.helpers import run_cli

NOT_DOCKER = "which is not what Docker answers"


def with_info(**fields: Any) -> dict[str, Any]:
    return {**INFO, **fields}


def with_version(**fields: Any) -> dict[str, Any]:
    return {**VERSION, **fields}


def moved(conn: socket.socket, over: threading.Event) -> None:
    conn.sendall(b"HTTP/1.1 301 Moved Permanently\r\nLocation: http://127.0.0.1:1/\x1b]0;x\x07\r\n"
                 b"Content-Length: 0\r\n\r\n")


# (version, info, what the message says the daemon answered)
SHAPES = [
    (None, with_info(NCPU="lots"), '/info with NCPU "lots"'),
    (None, b'{"NCPU": 1e400, "MemTotal": 8589934592}', "/info with NCPU Infinity"),
    (None, b'{"NCPU": NaN}', "/info with NCPU NaN"),
    (None, with_info(NCPU=True), "/info with NCPU true"),
    (None, with_info(NCPU=-4), "/info with NCPU -4"),
    (None, with_info(NCPU=4.5), "/info with NCPU 4.5"),
    (None, with_info(MemTotal=2**64), f"/info with MemTotal {2**64}"),
    (None, with_info(MemTotal=[8]), "/info with MemTotal [8]"),
    (None, with_info(OperatingSystem={"name": "Debian"}),
     '/info with OperatingSystem {"name": "Debian"}'),
    (None, [INFO], "/info with [{"),
    (None, "Debian", '/info with "Debian"'),
    (None, b"null", "/info with null"),
    (None, b"<html>502 Bad Gateway</html>", "/info with an HTML page, which"),
    (with_version(Components=["Engine"]), None, '/version with a component "Engine"'),
    (with_version(Components={"Name": "Engine"}), None,
     '/version with Components {"Name": "Engine"}'),
    (with_version(Components=[{"Name": 7}]), None, "/version with a component Name 7"),
    (with_version(Version=24), None, "/version with Version 24"),
    (with_version(ApiVersion=["1.43"]), None, '/version with ApiVersion ["1.43"]'),
    (with_version(ApiVersion=None), None, "/version with ApiVersion null"),
    ({"Version": "24.0.7"}, None, "/version with no ApiVersion"),
    (with_version(ApiVersion="../1.43"), None, '/version with ApiVersion "../1.43"'),
    (with_version(ApiVersion=1.43), None, "/version with ApiVersion 1.43"),
    (with_version(ApiVersion="1.43 "), None, '/version with ApiVersion "1.43 "'),
    (with_version(ApiVersion="1.43\x1b]0;PWNED\x07"), None,
     '/version with ApiVersion "1.43\\u001b]0;PWNED\\u0007"'),
    (with_version(Version=None), None, "/version with Version null"),
    ({"ApiVersion": "1.43"}, None, "/version with no Version"),
    (with_version(Version=""), None, '/version with Version ""'),
    (with_version(Version="24.0.7 <b>"), None, '/version with Version "24.0.7 <b>"'),
    (moved, None, "/version with HTTP 301 (a redirect to"),
    (["x"], None, '/version with ["x"]'),
    (b'{"Version": ' + b"[" * 50000 + b"]" * 50000 + b"}", None,
     "/version with something that is not JSON (nested too deeply to read)"),
    (b"\xff\xfe{}", None, "/version with something that is not JSON"),
]


@pytest.mark.parametrize(("version", "info", "answered"), SHAPES,
                         ids=[answered[:40] for *_, answered in SHAPES])
def test_an_answer_of_another_shape_is_named_not_dockers(
        tmp_path: Path, version: Any, info: Any, answered: str) -> None:
    socket_path = tmp_path / "docker.sock"
    with fake_docker(socket_path, version, info), pytest.raises(RuntimeUnavailable) as caught:
        probe_docker(f"unix://{socket_path}")
    message = caught.value.message
    assert message.startswith(f"the Docker daemon at unix://{socket_path}, as given, answered "
                              f"{answered}"), message
    assert message.endswith(NOT_DOCKER), message
    assert len(message) < 300, message
    assert "DOCKER_HOST" in caught.value.hint and "--runtime sim" in caught.value.hint


def test_a_value_with_control_characters_is_escaped_in_the_message(tmp_path: Path) -> None:
    socket_path = tmp_path / "docker.sock"
    with fake_docker(socket_path, info=with_info(NCPU="\x1b]0;PWNED\x07\u202e4")), \
            pytest.raises(RuntimeUnavailable) as caught:
        probe_docker(f"unix://{socket_path}")
    assert '/info with NCPU "\\u001b]0;PWNED\\u0007\\u202e4"' in caught.value.message
    assert "\x1b" not in caught.value.message and "\u202e" not in caught.value.message


def test_dockers_own_answer_and_a_sparse_one_are_read(tmp_path: Path) -> None:
    socket_path = tmp_path / "docker.sock"
    with fake_docker(socket_path) as asked:
        info = probe_docker(f"unix://{socket_path}")
    assert (info.version, info.api_version, info.cpus, info.memory_bytes) == (
        "24.0.7", "1.43", 4, 8 * 1024**3)
    assert info.operating_system == "Debian GNU/Linux 12" and not info.podman
    assert asked == ["/_ping", "/version", "/info"]
    with fake_docker(socket_path, {"Version": "5.2.2", "ApiVersion": "1.41", "Components": [
            {"Name": "Podman Engine"}, {"Name": None}]}, {"NCPU": None}):
        sparse = probe_docker(f"unix://{socket_path}")
    assert (sparse.version, sparse.api_version, sparse.cpus, sparse.memory_bytes) == (
        "5.2.2", "1.41", 0, 0)
    with fake_docker(socket_path, with_version(Version="9" * 200)):
        assert probe_docker(f"unix://{socket_path}").version == "9" * 200  # long, but a string
    assert sparse.podman and sparse.operating_system == "?"


def refuse(conn: socket.socket, over: threading.Event) -> None:
    body = json.dumps({"message": "engine is \x1b[2J restarting"}).encode()
    conn.sendall(b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n" % len(body) + body)


def test_an_error_answer_is_named_with_dockers_message(tmp_path: Path) -> None:
    socket_path = tmp_path / "docker.sock"
    with fake_docker(socket_path, info=refuse), pytest.raises(RuntimeUnavailable) as caught:
        probe_docker(f"unix://{socket_path}")
    assert caught.value.message == (
        f"the Docker daemon at unix://{socket_path}, as given, answered /info with HTTP 500 "
        f"(engine is \\u001b[2J restarting), {NOT_DOCKER}")


@pytest.mark.parametrize("command", [("doctor",), ("run", "inline", "--port", "0"),
                                     ("up", "--yes")])
def test_the_cli_names_such_a_daemon_and_auto_falls_back_to_the_simulation(
        tmp_path: Path, cli_env: dict[str, str], command: tuple[str, ...]) -> None:
    socket_path = tmp_path / "docker.sock"
    with fake_docker(socket_path, info=b'{"NCPU": 1e400, "MemTotal": -5}'):
        result = run_cli(*command, env={**cli_env, "DOCKER_HOST": f"unix://{socket_path}"},
                         timeout=60)
    said = f"at unix://{socket_path}, set by DOCKER_HOST, answered /info with NCPU Infinity, "
    assert "internal error" not in result.stderr + result.stdout
    assert said + NOT_DOCKER in result.stdout + result.stderr, result.stdout + result.stderr
    if command[0] == "run":
        assert result.returncode == 0, result.stderr
        assert f"{NOT_DOCKER}; using the simulated runtime" in result.stderr
    else:
        assert result.returncode in (1, 2), result.stdout + result.stderr


@pytest.mark.parametrize("command", [("doctor",), ("run", "inline", "--port", "0")])
def test_doctor_and_auto_refuse_a_daemon_without_an_api_version_as_prepare_does(
        tmp_path: Path, cli_env: dict[str, str], command: tuple[str, ...]) -> None:
    socket_path = tmp_path / "docker.sock"
    with fake_docker(socket_path, with_version(ApiVersion="v1.43")):
        result = run_cli(*command, env={**cli_env, "DOCKER_HOST": f"unix://{socket_path}"},
                         timeout=60)
    said = f'set by DOCKER_HOST, answered /version with ApiVersion "v1.43", {NOT_DOCKER}'
    assert said in result.stdout + result.stderr, result.stdout + result.stderr
    assert "API ?" not in result.stdout + result.stderr
    if command[0] == "run":
        assert result.returncode == 0, result.stderr
        assert f"{NOT_DOCKER}; using the simulated runtime" in result.stderr
    else:
        assert "✗" in result.stdout and result.returncode in (1, 2), result.stdout
