"""The cluster commands never print a secret: the sandbox's own key, nor any credential a
kubeconfig holds (a bearer token, a password, userinfo in the server's URL) or an exec plugin
returns, whether an API server echoes it, a plugin prints it or a message would name it."""

from __future__ import annotations

import base64
import json
import socket
import subprocess
from pathlib import Path

import pytest

from tests.conftest import TOKEN
from tests.helpers import run_cli
from tests.hostile_apiserver import answer, hostile_api, kubeconfig

KC_TOKEN = "kc-test-token-Hw7Rq2Xv9Lm4"
PASSWORD = "pw-test-Np3Kd8Zs1Yt6Qe"
PLUGIN_TOKEN = "plugin-test-Gm5Vc2Lx8Rb"


def echo_credentials(conn: socket.socket, path: str, head: str) -> None:
    """A 401 whose message repeats the Authorization header, and the sandbox's key."""
    authorization = next((line.split(":", 1)[1].strip() for line in head.splitlines()
                          if line.lower().startswith("authorization:")), "none")
    body = {"kind": "Status", "status": "Failure", "code": 401, "reason": "Unauthorized",
            "message": f"bad credentials {authorization} / {TOKEN}"}
    answer(conn, json.dumps(body).encode(), "401 Unauthorized")


def status(env: dict[str, str], config: Path) -> subprocess.CompletedProcess[str]:
    return run_cli("status", "--runtime", "cluster", "--context", "c",
                   env={**env, "KUBECONFIG": str(config)}, timeout=60)


def never_shown(result: subprocess.CompletedProcess[str], *secrets: str) -> str:
    said = result.stdout + result.stderr
    for secret in secrets:
        for form in (secret, base64.b64encode(secret.encode()).decode()):
            if form in said:  # failed without repeating the secret in the test's output
                pytest.fail(f"a secret is shown, at offset {said.index(form)}: "
                            + said.replace(form, "<SECRET>"))
    return said


def plugin(tmp_path: Path, script: str) -> str:
    path = tmp_path / "plugin.sh"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)
    return ("    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"
            f"      command: {path}\n      interactiveMode: Never\n")


CREDENTIAL = json.dumps({"apiVersion": "client.authentication.k8s.io/v1",
                         "kind": "ExecCredential", "status": {"token": PLUGIN_TOKEN}})


@pytest.mark.parametrize(("user", "secrets"), [
    (f"    token: {KC_TOKEN}\n", (KC_TOKEN,)),
    (f"    token: {TOKEN}\n", (TOKEN,)),
    (f"    username: admin\n    password: {PASSWORD}\n", (PASSWORD, f"admin:{PASSWORD}")),
    ("exec", (PLUGIN_TOKEN,)),
], ids=["kubeconfig-token", "key-as-token", "basic-auth", "exec-plugin-token"])
def test_what_an_api_server_echoes_is_masked(cli_env: dict[str, str], tmp_path: Path,
                                              user: str, secrets: tuple[str, ...]) -> None:
    if user == "exec":
        user = plugin(tmp_path, f"echo '{CREDENTIAL}'\n")
    config = tmp_path / "kubeconfig"
    with hostile_api(echo_credentials, first_call=True, with_head=True) as api:
        config.write_text(kubeconfig(api.url, user=user))
        result = status(cli_env, config)
    assert result.returncode != 0
    said = never_shown(result, TOKEN, *secrets)
    assert "the cluster refused to read the server version: bad credentials" in said
    assert f"/ sk-…{TOKEN[-4:]}" in said  # the key, masked as `run` masks it


def test_a_password_in_the_server_url_is_not_shown(cli_env: dict[str, str],
                                                   tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path / "kubeconfig"
    config.write_text(kubeconfig(f"http://admin:{TOKEN}@127.0.0.1:{port}"))
    result = status(cli_env, config)
    said = never_shown(result, TOKEN)
    assert f"cannot reach the Kubernetes API at http://127.0.0.1:{port}" in said
    assert "admin" not in said


def test_what_an_exec_plugin_says_when_it_fails_is_masked(cli_env: dict[str, str],
                                                          tmp_path: Path) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text(kubeconfig("http://127.0.0.1:9", user=plugin(
        tmp_path, f"echo 'not json {TOKEN}'\necho 'err {TOKEN}' >&2\nexit 3\n")))
    result = status(cli_env, config)
    said = never_shown(result, TOKEN)
    assert f"failed with exit status 3: err sk-…{TOKEN[-4:]}" in said
