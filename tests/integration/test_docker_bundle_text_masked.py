"""Text from a Docker daemon or from a bundle's index may hold any key this process holds (the one
in use, or another in AGW_SANDBOX_TOKEN / OPENAI_API_KEY): `up` and `doctor` show it
masked, with its control characters escaped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandbox.profiles import DEFAULT_PROFILE
from sandbox.runtimes.kube.bundle import INDEX
from tests.conftest import OTHER_TOKEN, TOKEN
from tests.fake_docker import INFO, VERSION, fake_docker
from tests.helpers import run_cli
from tests.integration.test_bundle import fake_bundle
from tests.integration.test_kind_runtime import FAKES

SHOWN_KEYS = (TOKEN, TOKEN[8:-4], OTHER_TOKEN, OTHER_TOKEN[8:-4])


def assert_no_key(text: str) -> None:
    for fragment in SHOWN_KEYS:
        assert fragment not in text, text
    assert "\x1b" not in text, text


@pytest.fixture
def two_keys(cli_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """The sandbox's key in AGW_SANDBOX_TOKEN, another in OPENAI_API_KEY; fake kind, helm and
    kubectl on PATH."""
    return {**cli_env, "OPENAI_API_KEY": OTHER_TOKEN, "PATH": f"{FAKES}:{cli_env['PATH']}",
            "FAKE_LOG": str(tmp_path / "calls.log"), "FAKE_STATE": str(tmp_path / "state")}


@pytest.mark.parametrize("key", [TOKEN, OTHER_TOKEN])
def test_a_bundle_pin_holding_a_key_is_shown_masked(two_keys: dict[str, str], tmp_path: Path,
                                                    key: str) -> None:
    root = tmp_path / "bundle"
    fake_bundle(root)
    index = json.loads((root / INDEX).read_text())
    index["profiles"][DEFAULT_PROFILE.name]["kind"] = f"\x1b]0;PWNED\x07{key}"
    (root / INDEX).write_text(json.dumps(index))
    result = run_cli("up", "--bundle", str(root), "--yes", env=two_keys, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert (f"was made for other pins of {DEFAULT_PROFILE.name} (kind \\u001b]0;PWNED\\u0007"
            f"sk-…{key[-4:]} where") in result.stderr, result.stderr
    assert_no_key(result.stdout + result.stderr)


def keyed_daemon_text(key: str) -> tuple[dict[str, object], dict[str, object]]:
    return ({**VERSION, "Version": f"{key}\x1b[2J"},
            {**INFO, "OperatingSystem": f"Deb\x1b]52;c;UFdORUQ=\x07\u202e {key}"})


def run_against(daemon: tuple[dict[str, object], dict[str, object]], command: tuple[str, ...],
                env: dict[str, str], socket_path: Path) -> str:
    with fake_docker(socket_path, *daemon):
        result = run_cli(*command, env={**env, "DOCKER_HOST": f"unix://{socket_path}"},
                         timeout=60)
    return result.stdout + result.stderr


@pytest.mark.parametrize("key", [TOKEN, OTHER_TOKEN])
@pytest.mark.parametrize("command", [("up", "--yes"), ("doctor",)])
def test_a_daemons_version_and_system_holding_a_key_are_shown_masked(
        two_keys: dict[str, str], tmp_path: Path, key: str, command: tuple[str, ...]) -> None:
    version, info = keyed_daemon_text(key)
    # A version that is not a version is refused, and named masked.
    shown = run_against((version, info), command, two_keys, tmp_path / "docker.sock")
    assert f'answered /version with Version "sk-…{key[-4:]}\\u001b[2J"' in shown, shown
    assert_no_key(shown)
    # A system's name may be anything: shown (by doctor), masked.
    shown = run_against((VERSION, info), command, two_keys, tmp_path / "docker.sock")
    if command[0] == "up":
        assert "✓ preflight: Docker 24.0.7" in shown, shown
    else:
        assert "✓ docker   Docker 24.0.7" in shown and f"sk-…{key[-4:]}" in shown, shown
    assert_no_key(shown)
