"""--profile on the CLI, run as a user runs it: the sim, the list, the diff, the errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.conftest import REPO, TOKEN
from tests.helpers import run_cli

SIM = ("--runtime", "sim", "--port", "0")
V1_4 = ("--profile", "agentgateway-v1.4")


def test_run_all_on_agentgateway_v1_4_passes_and_names_the_profile(
        cli_env: dict[str, str], tmp_path: Path) -> None:
    result = run_cli("run", "--all", *V1_4, *SIM, env=cli_env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "profile: agentgateway-v1.4" in result.stdout.splitlines()[0]
    assert "4 passed, 0 failed" in result.stdout
    assert "Accepted=False (TranslationError): failed to translate backend: secret " \
           "agentgateway-system/openai-secret not found" in result.stdout
    assert "service not found" in result.stdout
    assert TOKEN not in result.stdout + result.stderr


def test_run_json_names_the_profile(cli_env: dict[str, str], tmp_path: Path) -> None:
    for args, profile in (((), "kgateway-v2.1"), (V1_4, "agentgateway-v1.4")):
        result = run_cli("run", "secret", "--json", *args, *SIM, env=cli_env, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        document = json.loads(result.stdout)
        assert document["profile"] == profile
        kinds = {line for scenario in document["scenarios"] for step in scenario["steps"]
                 for line in json.dumps(step).split('"') if "Backend" in line}
        assert ("AgentgatewayBackend" in " ".join(kinds)) == (profile == "agentgateway-v1.4")


def test_the_list_says_which_scenario_a_profile_lacks(cli_env: dict[str, str],
                                                      tmp_path: Path) -> None:
    shutil.copytree(REPO / "examples/workshop", tmp_path / "w")
    listed = run_cli("scenarios", *V1_4, "--scenarios", str(tmp_path / "w"), env=cli_env)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[0].startswith("Scenarios for the agentgateway-v1.4 profile")
    [line] = [line for line in listed.stdout.splitlines() if line.startswith("rotate-key")]
    assert "no version for agentgateway-v1.4" in line and "--profile kgateway-v2.1" in line
    ran = run_cli("run", "rotate-key", *V1_4, *SIM, "--scenarios", str(tmp_path / "w"),
                  env=cli_env)
    assert ran.returncode == 2
    assert "has no version for the agentgateway-v1.4 profile" in ran.stderr
    assert "--profile kgateway-v2.1" in ran.stderr


def test_manifests_compare_shows_what_changed_with_keys_masked(cli_env: dict[str, str]) -> None:
    result = run_cli("manifests", "secret", "--compare", env=cli_env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:2] == ["--- kgateway-v2.1/secret", "+++ agentgateway-v1.4/secret"]
    assert "+kind: AgentgatewayBackend" in lines and "-kind: Backend" in lines
    assert TOKEN not in result.stdout and "sk-…c5Ge" in result.stdout
    reverse = run_cli("manifests", "inline", "--compare", *V1_4, env=cli_env)
    assert reverse.stdout.splitlines()[:2] == ["--- agentgateway-v1.4/inline",
                                               "+++ kgateway-v2.1/inline"]


def test_manifests_for_v1_4_point_the_backend_at_the_mock_with_host_port_and_path(
        cli_env: dict[str, str]) -> None:
    result = run_cli("manifests", "passthrough", *V1_4, env=cli_env)
    assert result.returncode == 0, result.stderr
    assert "spec.ai.provider.host/port/path" in result.stderr
    assert "path: /v1/chat/completions" in result.stdout
    assert "passthrough: {}" in result.stdout


def test_an_unknown_profile_is_a_usage_error(cli_env: dict[str, str]) -> None:
    result = run_cli("run", "--all", "--profile", "agentgateway-v9", *SIM, env=cli_env)
    assert result.returncode == 2
    assert "invalid choice: 'agentgateway-v9'" in result.stderr
    assert "Traceback" not in result.stderr


def test_status_names_the_profile(cli_env: dict[str, str]) -> None:
    result = run_cli("status", "--runtime", "sim", *V1_4, env=cli_env)
    assert result.returncode == 0 and "(profile agentgateway-v1.4)" in result.stdout
