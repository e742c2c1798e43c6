"""Small messages about a cluster, a kubeconfig and a Docker daemon say what is so: a redirect
without a Location is not one "to another address"; a JSON number of thousands of digits is
JSON (too long a number, not "not JSON"); an object without apiVersion is refused as client-go
refuses it; a ``!!binary`` token is binary data, not "a bytes"; a tokenFile saved as Windows-1252
or UTF-32 gets a hint for that encoding; an exec command that is a device or a socket is not a
program ("Permission denied" said nothing)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from sandbox.errors import RuntimeUnavailable, SandboxError
from sandbox.runtimes.kube.client import Kube
from sandbox.runtimes.kube.containers import probe_docker
from tests.fake_docker import VERSION, fake_docker
from tests.hostile_apiserver import answer, hostile_api, kubeconfig
from tests.integration.test_kubeconfig_credentials import EXEC

KC_TOKEN = "kc-test-token-Wd4Lp9Qx2Rz7"
DIGITS = "7" * 5000


def failure(config: Path, call: str = "version") -> SandboxError:
    with pytest.raises(SandboxError) as raised:
        kube = Kube.connect(str(config), "c")
        kube.server_version() if call == "version" else kube.get("Deployment", "ns", "x")
    return raised.value


def config_for(tmp_path: Path, server: str, user: str = "    token: kc-test-token\n") -> Path:
    config = tmp_path / "kubeconfig"
    config.write_text(kubeconfig(server, user=user))
    return config


@pytest.mark.parametrize("status", ["301 Moved Permanently", "302 Found", "307 Temporary"])
def test_a_redirect_without_a_location_is_not_one_to_another_address(
        tmp_path: Path, status: str) -> None:
    with hostile_api(lambda conn, path: answer(conn, b"", status), first_call=True) as api:
        error = failure(config_for(tmp_path, api.url))
    code = status.split()[0]
    assert error.message == (f"the Kubernetes API at {api.url} answered GET /version with HTTP "
                             f"{code}, a redirect without a Location (an address to go to), "
                             "which an API server does not answer"), error.message
    assert "another address" not in str(error)


def test_a_number_of_thousands_of_digits_is_named_as_such(tmp_path: Path) -> None:
    body = ('{"major": "1", "gitVersion": "v1.34.0", "minor": ' + DIGITS + "}").encode()
    with hostile_api(lambda conn, path: answer(conn, body), first_call=True) as api:
        error = failure(config_for(tmp_path, api.url))
    assert error.message.endswith("with something the sandbox cannot read: a number of 5000 "
                                  "digits (JSON, but more digits than any count has)"), \
        error.message


def test_a_docker_answer_with_a_number_of_thousands_of_digits_is_named_as_such(
        tmp_path: Path) -> None:
    socket_path = tmp_path / "docker.sock"
    version = json.dumps(VERSION)[:-1] + ', "Big": ' + DIGITS + "}"
    with fake_docker(socket_path, version.encode()), pytest.raises(RuntimeUnavailable) as caught:
        probe_docker(f"unix://{socket_path}")
    assert ("answered /version with a number of 5000 digits (JSON, but more digits than any "
            "count has)") in caught.value.message, caught.value.message


@pytest.mark.parametrize("apiversion", [None, ""])
def test_an_object_without_api_version_is_refused_as_client_go_refuses_it(
        tmp_path: Path, apiversion: str | None) -> None:
    obj: dict[str, object] = {"kind": "Deployment", "metadata": {"name": "x"}, "spec": {}}
    if apiversion is not None:
        obj["apiVersion"] = apiversion

    def behaviour(conn: socket.socket, path: str) -> None:
        if (path.startswith("/api/v1") and "namespaces" not in path) or path == "/apis":
            answer(conn, b'{"kind": "APIGroupList", "groups": []}')
        else:
            answer(conn, json.dumps(obj).encode())

    with hostile_api(behaviour) as api:
        error = failure(config_for(tmp_path, api.url), "get")
    assert "an object of kind 'Deployment' without apiVersion (client-go: Object " \
           "'apiVersion' is missing)" in error.message, error.message


def test_a_binary_token_is_named_as_binary_data(tmp_path: Path) -> None:
    config = config_for(tmp_path, "http://127.0.0.1:9", "    token: !!binary a2MtdGVzdA==\n")
    with pytest.raises(RuntimeUnavailable) as raised:
        Kube.connect(str(config), "c")
    assert raised.value.message == (f"the token of user 'u' in the kubeconfig {config} is "
                                    "binary data (!!binary), not text"), raised.value.message


@pytest.mark.parametrize(("content", "looks", "iconv"), [
    (KC_TOKEN[:6].encode() + "“x”".encode("cp1252") + KC_TOKEN[6:].encode(), "",
     "`iconv -f CP1252 -t UTF-8`"),
    (KC_TOKEN.encode("utf-32"), "; it looks like UTF-32", "`iconv -f UTF-32 -t UTF-8`"),
    (KC_TOKEN.encode("utf-16"), "; it looks like UTF-16", "`iconv -f UTF-16 -t UTF-8`"),
], ids=["cp1252", "utf-32", "utf-16"])
def test_a_token_file_gets_the_hint_for_its_encoding(
        tmp_path: Path, content: bytes, looks: str, iconv: str) -> None:
    (tmp_path / "token").write_bytes(content)
    config = config_for(tmp_path, "http://127.0.0.1:9", "    tokenFile: token\n")
    with pytest.raises(RuntimeUnavailable) as raised:
        Kube.connect(str(config), "c")
    assert raised.value.message.endswith(f"{looks})"), raised.value.message
    assert iconv in raised.value.hint, raised.value.hint
    other = {"`iconv -f CP1252 -t UTF-8`", "`iconv -f UTF-32 -t UTF-8`",
             "`iconv -f UTF-16 -t UTF-8`"} - {iconv}
    assert not [hint for hint in other if hint in raised.value.hint], raised.value.hint


@pytest.mark.parametrize(("make", "what"), [("device", "a character device"),
                                            ("socket", "a socket")])
def test_an_exec_command_that_is_not_a_file_says_what_it_is(
        tmp_path: Path, make: str, what: str) -> None:
    if make == "device":
        command = "/dev/null"
    else:
        command = str(tmp_path / "plug.sock")
        listener = socket.socket(socket.AF_UNIX)
        listener.bind(command)
        listener.close()
    config = config_for(tmp_path, "http://127.0.0.1:9", EXEC.format(
        command=command, mode="Never", extra=""))
    with pytest.raises(RuntimeUnavailable) as raised:
        Kube.connect(str(config), "c")
    assert raised.value.message.endswith(f"{command} of user 'u' in the kubeconfig {config} is "
                                         f"{what}, not a program"), raised.value.message
    assert "Permission denied" not in raised.value.message
