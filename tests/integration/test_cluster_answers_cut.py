"""What the API server answered, quoted in a message (the beginning of an answer that is not
JSON, the text of a refusal from a proxy's page), is masked whole first and cut after: wherever
the sandbox's key or the kubeconfig's token stands, around the cut, no piece of it shows."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from sandbox.errors import SandboxError
from sandbox.runtimes.kube.client import Kube
from tests.conftest import TOKEN
from tests.helpers import run_cli
from tests.hostile_apiserver import answer, hostile_api, kubeconfig

KC_TOKEN = "kc-test-token-Mv3Bn8Tr6Yq1"
NOT_JSON, REFUSAL, STATUS = 40, 300, 4096  # how much of each a message quotes


class Echo:
    """Answers every call with ``status`` and a body of ``filler`` × offset, then the secrets."""

    def __init__(self, status: str, secrets: str) -> None:
        self.status, self.secrets, self.offset = status, secrets, 0

    def __call__(self, conn: socket.socket, path: str) -> None:
        body = ("x" * self.offset + self.secrets + " end").encode()
        answer(conn, body, self.status,
               headers="Content-Type: text/html\r\nConnection: close\r\n")


def pieces(secret: str, size: int = 6) -> list[str]:
    return [secret[i:i + size] for i in range(len(secret) - size + 1)]


def said(kube: Kube) -> str:
    with pytest.raises(SandboxError) as raised:
        kube.server_version()
    return f"{raised.value.message}\n{raised.value.hint}"


def shows_no_piece(text: str) -> None:
    for secret in (TOKEN, KC_TOKEN):
        shown = [piece for piece in pieces(secret) if piece in text]
        assert not shown, f"pieces of a secret are shown: {shown} in {text!r}"


def test_an_answer_that_is_not_json_is_quoted_masked_at_every_offset(tmp_path: Path) -> None:
    echo = Echo("200 OK", f"{TOKEN} {KC_TOKEN}")
    with hostile_api(echo, first_call=True) as api:
        config = tmp_path / "kubeconfig"
        config.write_text(kubeconfig(api.url, user=f"    token: {KC_TOKEN}\n"))
        kube = Kube.connect(str(config), "c")
        kube.secrets.add(TOKEN)
        for offset in range(0, NOT_JSON + 8):
            echo.offset = offset
            text = said(kube)
            shows_no_piece(text)
            assert "not JSON (it begins “" + "x" * min(offset, NOT_JSON) in text, text
            if offset < NOT_JSON:  # the key begins within what is quoted: its mask shows
                assert f"sk-…{TOKEN[-4:]}" in text, text


def test_a_refusal_is_quoted_masked_at_every_offset(tmp_path: Path) -> None:
    both = f"{TOKEN} {KC_TOKEN}"
    echo = Echo("403 Forbidden", both)
    with hostile_api(echo, first_call=True) as api:
        config = tmp_path / "kubeconfig"
        config.write_text(kubeconfig(api.url, user=f"    token: {KC_TOKEN}\n"))
        kube = Kube.connect(str(config), "c")
        kube.secrets.add(TOKEN)
        for offset in range(REFUSAL - len(both) - 4, REFUSAL + 4):
            echo.offset = offset
            text = said(kube)
            shows_no_piece(text)
            assert "the cluster refused to read the server version: xxx" in text
            if offset < REFUSAL:
                assert f"sk-…{TOKEN[-4:]}" in text, text


def test_what_is_quoted_stays_on_one_line(tmp_path: Path) -> None:
    echo = Echo("200 OK", "\r\n<title>Sign in</title>\tok")
    with hostile_api(echo, first_call=True) as api:
        config = tmp_path / "kubeconfig"
        config.write_text(kubeconfig(api.url))
        text = said(Kube.connect(str(config), "c"))
    assert "not JSON (it begins “\\r\\n<title>Sign in</title>\\tok end”)" in text, text


def test_the_command_masks_a_beginning_or_an_end_of_a_kubeconfig_token(
        cli_env: dict[str, str], tmp_path: Path) -> None:
    """A page that shows part of the token (its first or last 16 of 26 characters): the
    command's message masks it as `run` masks such a part of the key."""
    echo = Echo("403 Forbidden", f"token {KC_TOKEN[:16]} / {KC_TOKEN[-16:]}")
    with hostile_api(echo, first_call=True) as api:
        config = tmp_path / "kubeconfig"
        config.write_text(kubeconfig(api.url, user=f"    token: {KC_TOKEN}\n"))
        result = run_cli("status", "--runtime", "cluster", "--context", "c",
                         env={**cli_env, "KUBECONFIG": str(config)})
    assert result.returncode == 2, result.stderr
    assert "the cluster refused to read the server version: token kc-… / …6Yq1" in \
        result.stderr, result.stderr
    assert KC_TOKEN[3:12] not in result.stderr and KC_TOKEN[-12:-4] not in result.stderr


class StatusRefusal:
    """Answers every call with a 403 Status whose message (or reason) is ``text``."""

    def __init__(self, text: str, field: str = "message") -> None:
        self.text, self.field = text, field

    def __call__(self, conn: socket.socket, path: str) -> None:
        status = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 403,
                  self.field: self.text}
        answer(conn, json.dumps(status).encode(), "403 Forbidden")


@pytest.mark.parametrize(("text", "field", "total"), [
    ("denied: " + "y" * 700_000, "message", 700_008),
    ("row\n" * 30_000, "message", 119_999),
    ("forbidden " * 50_000, "reason", 500_000),
], ids=["one-long-word", "many-lines", "long-reason"])
def test_a_long_refusal_from_the_api_server_is_cut_on_one_line(
        tmp_path: Path, text: str, field: str, total: int) -> None:
    """A Status whose message is hundreds of kilobytes (or thousands of lines) is quoted as a
    line of a few thousand characters (as long as the API server's own refusals run) that says
    how long the whole was."""
    with hostile_api(StatusRefusal(text, field), first_call=True) as api:
        config = tmp_path / "kubeconfig"
        config.write_text(kubeconfig(api.url))
        kube = Kube.connect(str(config), "c")
        with pytest.raises(SandboxError) as raised:
            kube.server_version()
    message = raised.value.message
    assert len(message) < STATUS + 200, f"{len(message)} characters: {message[:300]}"
    assert message.startswith("the cluster refused to read the server version: "
                              + text.split()[0]), message[:200]
    assert "\n" not in message, message
    assert f"({total:,} characters in all)".replace(",", " ") in message, message


def test_a_long_refusal_keeps_the_key_masked_where_it_is_cut(tmp_path: Path) -> None:
    text = "z" * (STATUS - 10) + f" {TOKEN} {KC_TOKEN} " + "w" * 200_000
    with hostile_api(StatusRefusal(text), first_call=True) as api:
        config = tmp_path / "kubeconfig"
        config.write_text(kubeconfig(api.url, user=f"    token: {KC_TOKEN}\n"))
        kube = Kube.connect(str(config), "c")
        kube.secrets.add(TOKEN)
        shown = said(kube)
    assert len(shown) < STATUS + 1000, f"{len(shown)} characters: {shown[:300]}"
    shows_no_piece(shown)
    assert "characters in all" in shown, shown
