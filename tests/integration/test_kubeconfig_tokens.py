"""A kubeconfig's bearer token as kubectl takes it: a static ``token:`` or an exec plugin's token
is sent as it is, so one that holds a line break (``token: |`` keeps the line's end) or another
control character is refused, by name, before anything is sent; a ``tokenFile`` loses the blanks
around it, as client-go's file token source trims them. Never an internal error, never the token
shown, not even in the trace AGW_SANDBOX_DEBUG=1 prints."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from sandbox.errors import RuntimeUnavailable
from sandbox.runtimes.kube.client import Kube
from tests.conftest import TOKEN
from tests.helpers import run_cli
from tests.hostile_apiserver import hostile_api, kubeconfig, silence

KC_TOKEN = "kc-test-token-Wd4Lp9Qx2Rz7"
REPO = Path(__file__).resolve().parents[2]


def authorizations(heads: list[str]) -> list[str]:
    return [line.split(":", 1)[1].strip() for head in heads for line in head.splitlines()
            if line.lower().startswith("authorization:")]


def write(tmp_path: Path, server: str, user: str) -> Path:
    config = tmp_path / "kubeconfig"
    config.write_text(kubeconfig(server, user=user))
    return config


@pytest.mark.parametrize(("user", "problem"), [
    (f"    token: |\n      {KC_TOKEN}\n", f"a line break (U+000A) at position {len(KC_TOKEN) + 1}"),
    (f'    token: "{KC_TOKEN}\\r\\nX-Injected: 1"\n',
     f"a line break (U+000D, a carriage return) at position {len(KC_TOKEN) + 1}"),
    (f'    token: "{KC_TOKEN[:6]}\\t{KC_TOKEN[6:]}"\n', "a tab (U+0009) at position 7"),
    (f'    token: "{KC_TOKEN}\\x7f"\n',
     f"the control character U+007F (DEL) at position {len(KC_TOKEN) + 1}"),
    (f'    token: "{KC_TOKEN[:3]}\\u200b{KC_TOKEN[3:]}"\n',
     "the invisible character U+200B (ZERO WIDTH SPACE) at position 4"),
], ids=["block-scalar", "crlf-inside", "tab", "del", "zero-width-space"])
def test_a_static_token_that_http_cannot_carry_is_named_before_anything_is_sent(
        tmp_path: Path, user: str, problem: str) -> None:
    with hostile_api(silence, first_call=True, with_head=True) as api:
        config = write(tmp_path, api.url, user)
        with pytest.raises(RuntimeUnavailable) as raised:
            Kube.connect(str(config), "c").server_version()
    said = f"{raised.value.message}\n{raised.value.hint}"
    assert raised.value.message.startswith(
        f"the token of user 'u' in the kubeconfig {config} holds {problem}"), said
    assert KC_TOKEN[3:10] not in said and KC_TOKEN[-10:] not in said
    if user.startswith("    token: |"):
        assert "a `token: |` block keeps the line's end" in raised.value.hint
    else:
        assert "copy the token into the kubeconfig again" in raised.value.hint
    assert api.heads == []  # nothing was sent


@pytest.mark.parametrize("content", [f"{KC_TOKEN}\n", f"  {KC_TOKEN} \r\n\n", f"\t{KC_TOKEN}"],
                         ids=["trailing-newline", "blanks-around", "leading-tab"])
def test_a_token_file_loses_the_blanks_around_it_as_client_go_trims_them(
        tmp_path: Path, content: str) -> None:
    (tmp_path / "token").write_text(content)
    with hostile_api(silence, first_call=False, with_head=True) as api:
        config = write(tmp_path, api.url, "    tokenFile: token\n")
        assert Kube.connect(str(config), "c").server_version() == "v1.34.0"
    assert authorizations(api.heads) == [f"Bearer {KC_TOKEN}"]


def test_a_token_file_with_a_line_break_inside_is_named(tmp_path: Path) -> None:
    (tmp_path / "token").write_text(f"{KC_TOKEN}\nsecond-line\n")
    config = write(tmp_path, "http://127.0.0.1:9", "    tokenFile: token\n")
    with pytest.raises(RuntimeUnavailable) as raised:
        Kube.connect(str(config), "c")
    assert raised.value.message == (
        f"the token in the tokenFile {tmp_path / 'token'} of user 'u' in the kubeconfig "
        f"{config} holds a line break (U+000A) at position {len(KC_TOKEN) + 1}")


def test_an_empty_token_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "token").write_text(" \n")
    config = write(tmp_path, "http://127.0.0.1:9", "    tokenFile: token\n")
    with pytest.raises(RuntimeUnavailable) as raised:
        Kube.connect(str(config), "c")
    assert raised.value.message == (
        f"the tokenFile {tmp_path / 'token'} of user 'u' in the kubeconfig {config} is empty")


@pytest.mark.parametrize("token", [f"{KC_TOKEN}\n", f"{KC_TOKEN[:5]}\r\nX-Injected: 1"],
                         ids=["trailing-newline", "crlf-inside"])
def test_an_exec_plugins_token_with_a_line_break_is_named(tmp_path: Path, token: str) -> None:
    script = tmp_path / "plugin.sh"
    answer = json.dumps({"apiVersion": "client.authentication.k8s.io/v1",
                         "kind": "ExecCredential", "status": {"token": token}})
    script.write_text(f"#!/bin/sh\ncat <<'EOF'\n{answer}\nEOF\n")
    script.chmod(0o755)
    with hostile_api(silence, first_call=True, with_head=True) as api:
        config = write(tmp_path, api.url, (
            "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"
            f"      command: {script}\n      interactiveMode: Never\n"))
        with pytest.raises(RuntimeUnavailable) as raised:
            Kube.connect(str(config), "c").server_version()
    assert raised.value.message.startswith(
        f"the exec credential plugin {script} of user 'u' in the kubeconfig {config} returned "
        "a token that holds a line break"), raised.value.message
    assert KC_TOKEN[:10] not in raised.value.message + raised.value.hint
    assert api.heads == []


def test_the_command_says_so_and_exits_2(cli_env: dict[str, str], tmp_path: Path) -> None:
    config = write(tmp_path, "http://127.0.0.1:9", f"    token: |\n      {KC_TOKEN}\n")
    result = run_cli("status", "--runtime", "cluster", "--context", "c",
                     env={**cli_env, "KUBECONFIG": str(config)})
    assert result.returncode == 2, result.stderr
    assert "holds a line break (U+000A)" in result.stderr
    assert "internal error" not in result.stderr and KC_TOKEN[3:] not in result.stderr


@pytest.mark.parametrize("user", [f"    token: {KC_TOKEN}\n", "    tokenFile: token\n"],
                         ids=["static-token", "token-file"])
def test_the_debug_trace_of_an_internal_error_masks_every_credential(
        cli_env: dict[str, str], tmp_path: Path, user: str) -> None:
    """A bug whose exception quotes the Authorization header and the key: the trace that
    AGW_SANDBOX_DEBUG=1 prints shows neither, nor their repr."""
    (tmp_path / "token").write_text(f"{KC_TOKEN}\n")
    hook = tmp_path / "sitecustomize.py"
    hook.write_text(
        "from sandbox.runtimes.kube import api_call\n"
        "def boom(pool, host, method, url, headers, *rest):\n"
        "    value = next(v for k, v in headers.items() if k.lower() == 'authorization')\n"
        f"    raise ValueError(f'bad header {{value!r}} {{value.encode()!r}} {TOKEN}')\n"
        "api_call.call = boom\n")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = write(tmp_path, f"http://127.0.0.1:{port}", user)
    env = {**cli_env, "KUBECONFIG": str(config),
           "PYTHONPATH": f"{tmp_path}{os.pathsep}{REPO}"}
    plain = run_cli("status", "--runtime", "cluster", "--context", "c", env=env)
    assert plain.returncode == 70 and "internal error (ValueError" in plain.stderr
    debug = run_cli("status", "--runtime", "cluster", "--context", "c",
                    env={**env, "AGW_SANDBOX_DEBUG": "1"})
    assert "Traceback" in debug.stderr and "ValueError: bad header" in debug.stderr
    assert debug.returncode == 70
    said = debug.stdout + debug.stderr
    for secret in (KC_TOKEN, TOKEN):
        assert secret[3:] not in said and secret[:12] not in said, said
    assert f"kc-…{KC_TOKEN[-4:]}" in said and f"sk-…{TOKEN[-4:]}" in said


def test_an_exec_plugin_that_prints_more_than_a_mib_is_said_to(tmp_path: Path) -> None:
    """A valid ExecCredential of 2 MB: kept to 1 MiB, it is no longer JSON, and the message
    says why rather than "not JSON"."""
    script = tmp_path / "plugin.sh"
    script.write_text(
        "#!/bin/sh\nprintf '{\"apiVersion\": \"client.authentication.k8s.io/v1\", \"kind\": "
        "\"ExecCredential\", \"status\": {\"token\": \"'\n"
        "head -c 2000000 /dev/zero | tr '\\0' a\nprintf '\"}}'\n")
    script.chmod(0o755)
    config = write(tmp_path, "http://127.0.0.1:9", (
        "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"
        f"      command: {script}\n      interactiveMode: Never\n"))
    with pytest.raises(RuntimeUnavailable) as raised:
        Kube.connect(str(config), "c")
    assert raised.value.message == (
        f"the exec credential plugin {script} of user 'u' in the kubeconfig {config} printed "
        "more than 1 MiB, which is not a credential the sandbox accepts (an ExecCredential is "
        "a few KiB)")


@pytest.mark.parametrize(("content", "problem"), [
    (KC_TOKEN.encode("utf-16"), "is not UTF-8 text (byte 0xff at offset 0; it looks like UTF-16)"),
    (KC_TOKEN[:10].encode() + b"\xe9" + KC_TOKEN[10:].encode(),
     "is not UTF-8 text (byte 0xe9 at offset 10)"),
], ids=["utf-16", "latin-1-byte"])
def test_a_token_file_that_is_not_utf8_says_so_with_the_offset(
        tmp_path: Path, content: bytes, problem: str) -> None:
    (tmp_path / "token").write_bytes(content)
    config = write(tmp_path, "http://127.0.0.1:9", "    tokenFile: token\n")
    with pytest.raises(RuntimeUnavailable) as raised:
        Kube.connect(str(config), "c")
    assert raised.value.message == (f"the tokenFile {tmp_path / 'token'} of user 'u' in the "
                                    f"kubeconfig {config} {problem}")
    assert "U+FFFD" not in raised.value.message and KC_TOKEN[3:10] not in raised.value.message
    assert "UTF-8" in raised.value.hint
