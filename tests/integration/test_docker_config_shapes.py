"""A Docker ``config.json`` that is JSON but no Docker config: nested thousands of levels deep,
an array or a string where the object belongs, a setting of the wrong type, bytes that are not
UTF-8. The docker SDK reads it on every client's creation and breaks on each (RecursionError,
AttributeError, TypeError), so it is refused first, naming what is wrong, and the default
runtime falls back to the simulation as for any Docker it cannot use."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

from sandbox.errors import RuntimeUnavailable
from sandbox.runtimes.kube.containers import probe_docker, resolve_endpoint
from tests.helpers import run_cli


def nested(levels: int) -> bytes:
    return b'{"auths": {}, "x": ' + b"[" * levels + b"]" * levels + b"}"


DAMAGED = [
    ("deep-5000", nested(5000), "is nested too deeply to be a Docker config"),
    ("deep-300", nested(300), "is nested too deeply to be a Docker config"),
    ("array", b'[{"currentContext": "default"}]', "is a JSON array, where a Docker config is a "
                                                   "JSON object"),
    ("string", b'"currentContext"', "is a JSON string, where a Docker config is a JSON object"),
    ("null", b"null", "is JSON null, where a Docker config is a JSON object"),
    ("context-number", b'{"currentContext": 5}', "its currentContext is a number, where a "
                                                 "string belongs"),
    ("context-list", b'{"currentContext": ["colima"]}', "its currentContext is an array"),
    ("context-object", b'{"currentContext": {"name": "colima"}}', "its currentContext is an "
                                                                  "object"),
    ("context-bool", b'{"currentContext": true}', "its currentContext is true, where a string "
                                                  "belongs"),
    ("proxies-string", b'{"proxies": "http://proxy:3128"}', "its proxies is a string, where an "
                                                            "object of objects belongs"),
    ("proxy-string", b'{"proxies": {"default": "http://proxy:3128"}}',
     "its proxies.default is a string, where an object of strings belongs"),
    ("auths-list", b'{"auths": ["ghcr.io"]}', "its auths is an array"),
    ("headers-list", b'{"HttpHeaders": ["X-Meta: 1"]}', "its HttpHeaders is an array, where an "
                                                        "object of strings belongs"),
    ("proxies-null", b'{"proxies": null}', "its proxies is null, where an object of objects "
                                           "belongs"),
    ("auth-number", b'{"auths": {"ghcr.io": {"auth": 5}}}', "its auths.ghcr.io.auth is a number"),
    ("escape-in-key", b'{"credHelpers": {"gcr.io\\u001b]0;x\\u0007": 1}}',
     "its credHelpers.gcr.io\\u001b]0;x\\u0007 is a number"),
    ("header-number", b'{"HttpHeaders": {"X-Meta": 1}}', "its HttpHeaders.X-Meta is a number, "
                                                         "where a string belongs"),
    ("not-utf8", b'{"currentContext": "colima\xff\xfe"}', "is not UTF-8 text (byte 0xff at "
                                                          "offset 26)"),
]


@pytest.mark.parametrize(("content", "why"), [case[1:] for case in DAMAGED],
                         ids=[case[0] for case in DAMAGED])
def test_a_config_json_of_the_wrong_shape_is_named(no_docker_env: Path, content: bytes,
                                                   why: str) -> None:
    (no_docker_env / "config.json").write_bytes(content)
    for attempt in (resolve_endpoint, probe_docker):
        with pytest.raises(RuntimeUnavailable) as caught:
            attempt()
        message = caught.value.message
        assert message.startswith("Docker's config file ~/.docker/config.json "), message
        said = f"is not a Docker config: {why}" if why.startswith("its ") else why
        assert f"~/.docker/config.json {said}" in message, message
        assert "DOCKER_CONFIG" in caught.value.hint


@pytest.mark.parametrize("content", [
    b'{"currentContext": "default", "auths": {"ghcr.io": {"auth": "eA=="}}, '
    b'"proxies": {"default": {"httpProxy": "http://proxy:3128"}}, "HttpHeaders": {"X-A": "1"}, '
    b'"credsStore": "desktop", "credHelpers": {"gcr.io": "gcloud"}, "detachKeys": "ctrl-e,e", '
    b'"plugins": {"debug": {"hooks": "exec"}}, "features": {"hooks": "true"}}',
    b'{"currentContext": null, "credsStore": null}', b"{}", b"", b'{"currentContext": ',
    b"\xef\xbb\xbf{}"])
def test_a_real_config_or_one_the_cli_ignores_leads_to_the_default_socket(
        no_docker_env: Path, monkeypatch: pytest.MonkeyPatch, content: bytes) -> None:
    (no_docker_env / "config.json").write_bytes(content)
    assert resolve_endpoint().url == "unix:///var/run/docker.sock"
    # and the SDK, which reads it again on the client's creation, gets as far as the daemon
    monkeypatch.setenv("DOCKER_HOST", f"unix://{no_docker_env}/no-daemon.sock")
    with pytest.raises(RuntimeUnavailable) as caught:
        probe_docker(timeout=1)
    assert caught.value.message.startswith("the Docker daemon is not reachable at "), \
        caught.value.message


@pytest.fixture
def deep_config(cli_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    config_dir = tmp_path / "dc"
    config_dir.mkdir()
    (config_dir / "config.json").write_bytes(nested(5000))
    env = {k: v for k, v in cli_env.items() if k != "DOCKER_HOST"}
    return {**env, "DOCKER_CONFIG": str(config_dir)}


def test_doctor_names_a_deep_config_json(deep_config: dict[str, str]) -> None:
    doctor = run_cli("doctor", env=deep_config)
    output = doctor.stdout + doctor.stderr
    assert doctor.returncode == 1, output
    assert "internal error" not in output and "Recursion" not in output
    assert (f"Docker's config file {deep_config['DOCKER_CONFIG']}/config.json is nested too "
            "deeply to be a Docker config") in output, output


def test_the_default_runtime_falls_back_from_a_deep_config_json(
        deep_config: dict[str, str]) -> None:
    run = run_cli("run", "setup", "--port", "0", env=deep_config, timeout=60)
    assert run.returncode == 0, run.stderr
    assert (f"agw-sandbox: Docker's config file {deep_config['DOCKER_CONFIG']}/config.json is "
            "nested too deeply to be a Docker config") in run.stderr, run.stderr
    assert "; using the simulated runtime" in run.stderr


def test_kind_names_a_deep_config_json(deep_config: dict[str, str]) -> None:
    run = run_cli("run", "setup", "--port", "0", "--runtime", "kind", env=deep_config)
    output = run.stdout + run.stderr
    assert run.returncode not in (0, 70), output
    assert "nested too deeply to be a Docker config" in output, output
    assert "internal error" not in output


def test_a_deep_config_json_is_refused_before_it_is_parsed_twice(no_docker_env: Path) -> None:
    """The SDK would parse it again on the client's creation, deeper in the stack: even a depth
    this process can parse is refused when it is far beyond a config's."""
    (no_docker_env / "config.json").write_bytes(nested(sys.getrecursionlimit() - 100))
    with pytest.raises(RuntimeUnavailable) as caught:
        probe_docker()
    assert "nested too deeply" in caught.value.message


def test_a_context_meta_json_nested_too_deeply_is_named(no_docker_env: Path) -> None:
    meta = no_docker_env / "contexts" / "meta" / hashlib.sha256(b"deep").hexdigest()
    meta.mkdir(parents=True)
    (meta / "meta.json").write_bytes(b'{"Name": "deep", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}")
    (no_docker_env / "config.json").write_text('{"currentContext": "deep"}')
    with pytest.raises(RuntimeUnavailable) as caught:
        probe_docker()
    assert caught.value.message == ("the Docker context deep (currentContext in "
                                    "~/.docker/config.json) cannot be read (its meta.json is "
                                    "nested too deeply to be a context's)"), caught.value.message


@pytest.mark.parametrize(("content", "problem"), [
    (b"{bad", 'is not JSON (first characters: "{bad")'),
    (b"", "is empty"),
    (b"\xff\xfe", "is not UTF-8 text"),
    (b"[]", "is not a Docker context's (Docker writes an object with Name, Metadata and "
            "Endpoints)"),
    (b'{"Name": "odd", "Endpoints": []}', "is not a Docker context's"),
    (b'{"Name": "odd", "Endpoints": {"docker": "tcp://127.0.0.1:2375"}}',
     "is not a Docker context's"),
    (b'{"Name": 5}', "is not a Docker context's"),
])
def test_a_context_meta_json_the_sdk_cannot_read_is_named_in_plain_words(
        no_docker_env: Path, content: bytes, problem: str) -> None:
    meta = no_docker_env / "contexts" / "meta" / hashlib.sha256(b"odd").hexdigest()
    meta.mkdir(parents=True)
    (meta / "meta.json").write_bytes(content)
    (no_docker_env / "config.json").write_text('{"currentContext": "odd"}')
    with pytest.raises(RuntimeUnavailable) as caught:
        probe_docker()
    assert caught.value.message.startswith(
        "the Docker context odd (currentContext in ~/.docker/config.json) cannot be read (its "
        f"meta.json {problem}"), caught.value.message
    assert "object has no attribute" not in caught.value.message
