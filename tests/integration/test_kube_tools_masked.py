"""What helm and kubectl print when they fail reaches the user masked by the cluster's secrets
masker: a kubeconfig's token or the sandbox's key that either tool echoes (an API server's
401 quoting the credentials, a plugin's debug output) is shown as ``sk-…abcd``, never whole.
The tools are fakes on PATH that echo both and fail."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from sandbox.errors import SandboxError
from sandbox.profiles import DEFAULT_PROFILE
from sandbox.runtimes.kube.runtime import KubeRuntime
from tests.conftest import TOKEN
from tests.integration.test_kind_runtime import (
    FAKES,
    controller,
    fakes,  # noqa: F401  (the fixture: fake kind/helm/kubectl on PATH)
    fetch_bundle,
    free_port,
)
from tests.kubeemu import ApplyingEmulator

pytestmark = pytest.mark.kmock(cls=ApplyingEmulator)

KC_TOKEN = "kc-test-token-Hw7Rq2Xv9Lm4Pz"


def leaky(tmp_path: Path, tool: str, subcommand: str) -> None:
    """``tool`` that, for ``subcommand``, echoes the kubeconfig's token and the key, then fails;
    the project's fake for everything else."""
    folder = tmp_path / "leaky"
    folder.mkdir(exist_ok=True)
    script = folder / tool
    script.write_text(f"""#!/bin/sh
if [ "$1" = "{subcommand}" ]; then
  echo "I1205 round_trippers.go: curl -H 'Authorization: Bearer {KC_TOKEN}'" >&2
  echo "Error: Unauthorized: the server has asked for the client to provide credentials \
(Bearer {KC_TOKEN}; provider key {TOKEN})" >&2
  exit 1
fi
exec {FAKES / tool} "$@"
""")
    script.chmod(0o755)
    os.environ["PATH"] = f"{folder}:{os.environ['PATH']}"


def your_cluster(tmp_path: Path, emulator: Any) -> KubeRuntime:
    config = tmp_path / "kubeconfig"
    config.write_text(f"""apiVersion: v1
kind: Config
clusters: [{{cluster: {{server: "{str(emulator.url).rstrip('/')}"}}, name: mine}}]
contexts: [{{context: {{cluster: mine, user: me}}, name: mine}}]
users: [{{name: me, user: {{token: {KC_TOKEN}}}}}]
current-context: mine
""")
    return KubeRuntime(DEFAULT_PROFILE, free_port(), "mock", TOKEN, config, "mine", fetch_bundle,
                       consent=lambda question: True, confirm=lambda question: True)


@pytest.mark.parametrize(("tool", "subcommand", "stage"), [
    ("helm", "upgrade", "stage “kgateway v2.1.3 charts” failed: `helm upgrade --install "),
    ("kubectl", "port-forward", "stage “port-forward to 127.0.0.1:"),
])
async def test_a_failing_tool_that_echoes_credentials_is_shown_masked(
        fakes: Path, kmock: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
        tool: str, subcommand: str, stage: str) -> None:
    monkeypatch.setenv("PATH", os.environ["PATH"])  # restored after the test
    leaky(tmp_path, tool, subcommand)
    sandbox = your_cluster(tmp_path, kmock)
    async with controller(kmock):
        try:
            with pytest.raises(SandboxError) as caught:
                await sandbox.up(lambda line: None, forward=True)
        finally:
            await sandbox.down()
    said = caught.value.message + "\n" + caught.value.hint
    assert caught.value.message.startswith(stage), said.replace(KC_TOKEN, "<TOKEN>")
    for secret in (KC_TOKEN, TOKEN, KC_TOKEN[3:-4], TOKEN[8:-4]):
        assert secret not in said, said.replace(secret, "<SECRET>")
    assert "Bearer kc-…m4Pz" in said and "provider key sk-…c5Ge" in said, said
