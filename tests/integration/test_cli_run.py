"""The headless CLI, run as a user runs it: a subprocess on the simulated runtime."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import pytest
import yaml

from sandbox.walkthrough.events import ResponseView
from sandbox.walkthrough.hints import status_hint
from tests.conftest import REPO, TOKEN
from tests.helpers import run_cli

SIM = ("--runtime", "sim", "--port", "0")


def test_run_all_passes_every_scenario(cli_env: dict[str, str], tmp_path: Path) -> None:
    result = run_cli("run", "--all", *SIM, "--verbose", env=cli_env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed, 0 failed" in result.stdout
    assert "runtime: simulated" in result.stdout
    for scenario in ("setup", "inline", "secret", "passthrough"):
        assert f"━━ {scenario}: PASSED" in result.stdout
    assert "kubectl apply --server-side --field-manager=agw-sandbox" in result.stdout
    assert "'Authorization: Bearer '\"$AGW_SANDBOX_TOKEN\"" in result.stdout


def test_no_key_is_printed_or_written_anywhere(cli_env: dict[str, str], tmp_path: Path) -> None:
    text = run_cli("run", "--all", *SIM, "-v", env=cli_env, cwd=tmp_path)
    as_json = run_cli("run", "--all", *SIM, "--json", env=cli_env, cwd=tmp_path)
    shown = run_cli("manifests", "secret", env=cli_env, cwd=tmp_path)
    for result in (text, as_json, shown):
        assert result.returncode == 0
        assert TOKEN not in result.stdout + result.stderr
    assert "sk-…c5Ge" in text.stdout and "sk-…c5Ge" in shown.stdout
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert all(TOKEN not in p.read_text(errors="replace") for p in written)


def test_json_is_one_document_with_masked_requests(cli_env: dict[str, str],
                                                   tmp_path: Path) -> None:
    result = run_cli("run", "inline", *SIM, "--json", env=cli_env, cwd=tmp_path)
    assert result.returncode == 0
    document = json.loads(result.stdout)
    assert document["passed"] is True and document["label"] == "simulated"
    assert [s["id"] for s in document["scenarios"]] == ["setup", "inline"]
    steps = {s["id"]: s for s in document["scenarios"][1]["steps"]}
    assert steps["ask"]["response"]["status"] == 200
    assert steps["ask"]["response"]["model"] == "gpt-3.5-turbo"
    assert steps["ready"]["status"][0]["conditions"][0]["type"] == "Accepted"
    assert steps["backend"]["applied"][0]["yaml"].count("sk-…c5Ge") == 1
    assert all(s["outcome"] == "passed" for s in steps.values())


def test_manifests_can_show_secrets_only_when_asked(cli_env: dict[str, str]) -> None:
    masked = run_cli("manifests", "inline", "--provider", "openai", env=cli_env)
    shown = run_cli("manifests", "inline", "--provider", "openai", "--show-secrets", env=cli_env)
    assert "inline: sk-…c5Ge" in masked.stdout
    assert f"inline: {TOKEN}" in shown.stdout
    assert "host:" not in shown.stdout  # the documented manifest, for the real provider


def test_manifests_for_the_mock_can_be_applied_to_a_cluster(cli_env: dict[str, str]) -> None:
    result = run_cli("manifests", "inline", "--provider", "mock", env=cli_env)
    backend = next(doc for doc in yaml.safe_load_all(result.stdout) if doc["kind"] == "Backend")
    assert backend["spec"]["ai"]["llm"]["host"] == \
        "mock-provider.kgateway-system.svc.cluster.local"
    assert backend["spec"]["ai"]["llm"]["port"] == 8000  # not 0: nobody could apply that
    assert "Rendered for the kind and cluster runtimes" in result.stderr


def test_manifests_put_the_objects_where_namespace_and_gateway_say(
        cli_env: dict[str, str]) -> None:
    result = run_cli("manifests", "inline", "--namespace", "agw-sandbox", "--gateway", "agw-sb",
                     env=cli_env)
    assert result.returncode == 0, result.stderr
    backend, route = yaml.safe_load_all(result.stdout)
    assert backend["metadata"]["namespace"] == route["metadata"]["namespace"] == "agw-sandbox"
    assert route["spec"]["parentRefs"] == [{"name": "agw-sb", "namespace": "agw-sandbox"}]
    assert route["spec"]["rules"][0]["backendRefs"][0]["namespace"] == "agw-sandbox"
    # The mock provider runs beside them, as `up --namespace` puts it.
    assert backend["spec"]["ai"]["llm"]["host"] == "mock-provider.agw-sandbox.svc.cluster.local"
    assert "kgateway-system" not in result.stdout + result.stderr


def test_the_simulation_places_its_objects_as_a_cluster_would(cli_env: dict[str, str]) -> None:
    result = run_cli("run", "--all", *SIM, "-v", "--namespace", "agw-sandbox", "--gateway",
                     "agw-sb", env=cli_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "simulated namespace agw-sandbox created" in result.stdout
    assert "$ kubectl wait gateway/agw-sb -n agw-sandbox" in result.stdout
    assert "status Gateway agw-sandbox/agw-sb: Accepted=True" in result.stdout
    assert "namespace: kgateway-system" not in result.stdout
    placed = run_cli("run", "setup", *SIM, "--json", "--namespace", "agw-sandbox", "--gateway",
                     "agw-sb", env=cli_env)
    (wait,) = [s for s in json.loads(placed.stdout)["scenarios"][0]["steps"]
               if s["kind"] == "wait"]
    assert wait["detail"].startswith("Gateway agw-sandbox/agw-sb: Accepted=True")


def test_a_workshop_directory_runs_like_the_builtin_ones(cli_env: dict[str, str]) -> None:
    result = run_cli("run", "rotate-key", *SIM, "--scenarios", str(REPO / "examples/workshop"),
                     env=cli_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "━━ rotate-key: PASSED" in result.stdout
    assert "Incorrect API key provided: sk-…0000" in result.stdout


def test_an_invalid_workshop_directory_is_reported_not_skipped(
        cli_env: dict[str, str], tmp_path: Path) -> None:
    shutil.copytree(REPO / "examples/workshop", tmp_path / "w")
    broken = tmp_path / "w" / "rotate-key.yaml"
    broken.write_text(broken.read_text().replace("    wait:", "    wiat:"))
    result = run_cli("run", "--all", *SIM, "--scenarios", str(tmp_path / "w"), env=cli_env)
    assert result.returncode == 2
    assert f"{broken}:26: unknown key 'wiat'" in result.stderr
    assert "Traceback" not in result.stderr
    checked = run_cli("scenarios", "--check", str(tmp_path / "w"), env=cli_env)
    assert checked.returncode == 2 and "unknown key 'wiat'" in checked.stderr


def test_a_failing_expectation_says_what_was_expected_and_what_to_try(
        cli_env: dict[str, str], tmp_path: Path) -> None:
    directory = tmp_path / "s"
    # Only the default profile's files: the other profiles' would duplicate the built-in ones.
    shutil.copytree(REPO / "scenarios", directory, ignore=shutil.ignore_patterns("agentgateway-*"))
    scenario = directory / "inline.yaml"
    scenario.write_text(scenario.read_text().replace("id: inline", "id: inline-broken")
                        .replace("path: /openai\n      body:\n        model: \"\"\n        "
                                 "messages:\n          - {role: system",
                                 "path: /wrong\n      body:\n        model: \"\"\n        "
                                 "messages:\n          - {role: system", 1))
    for name in ("setup", "secret", "passthrough"):
        (directory / f"{name}.yaml").unlink()
    result = run_cli("run", "inline-broken", *SIM, "--scenarios", str(directory), env=cli_env)
    assert result.returncode == 1
    assert "✗ failed: expected status 200, got 404 Not Found" in result.stdout
    assert "hint: no route matched the path" in result.stdout
    assert "– skipped" in result.stdout
    assert "deleted Backend kgateway-system/openai" in result.stdout  # cleanup still ran


def test_a_taken_port_is_explained(cli_env: dict[str, str]) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = run_cli("run", "--all", "--runtime", "sim", "--port", str(port), env=cli_env)
    assert result.returncode == 2
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "hint:" in result.stderr and "Traceback" not in result.stderr


def test_auto_falls_back_to_the_simulation_with_a_notice(cli_env: dict[str, str]) -> None:
    result = run_cli("run", "setup", "--port", "0", env=cli_env)
    assert result.returncode == 0
    assert "Docker daemon is not reachable" in result.stderr
    assert "using the simulated runtime" in result.stderr


def test_unknown_scenario_and_missing_openai_key_are_clear(cli_env: dict[str, str]) -> None:
    unknown = run_cli("run", "nope", *SIM, env=cli_env)
    assert unknown.returncode == 2 and "no scenario named 'nope'" in unknown.stderr
    env = {k: v for k, v in cli_env.items() if k != "AGW_SANDBOX_TOKEN"}
    no_key = run_cli("run", "--all", *SIM, "--provider", "openai", env=env)
    assert no_key.returncode == 2 and "export OPENAI_API_KEY" in no_key.stderr


def test_kind_runtime_is_refused_plainly_until_it_exists(cli_env: dict[str, str]) -> None:
    result = run_cli("run", "--all", "--runtime", "kind", env=cli_env)
    assert result.returncode == 2
    assert "--runtime sim" in result.stderr and "Traceback" not in result.stderr


def test_version_and_python_m(cli_env: dict[str, str]) -> None:
    result = run_cli("--version", env=cli_env)
    assert result.returncode == 0 and result.stdout.startswith("agw-sandbox ")


@pytest.mark.parametrize("profile", [(), ("--profile", "agentgateway-v1.4")], ids=["kgw", "v1.4"])
@pytest.mark.parametrize("scenario", ["inline", "secret"])
def test_the_key_as_the_namespace_is_masked_in_the_note_manifests_prints(
        cli_env: dict[str, str], scenario: str, profile: tuple[str, ...]) -> None:
    """`--namespace` takes the key only lower-cased; `manifests`' note on stderr names the mock
    provider's address in that namespace, and showed the key there whole."""
    key = "sk-test-NoteNamesTheNamespace4Kq8Z2"
    env = {**cli_env, "AGW_SANDBOX_TOKEN": key}
    result = run_cli("manifests", scenario, *profile, "--namespace", key.lower(), env=env)
    assert result.returncode == 0, result.stderr
    assert "Differs from the documented manifest" in result.stderr
    assert "mock-provider.sk-" in result.stderr
    assert "notenamesthenamespace" not in (result.stdout + result.stderr).lower()


def test_a_key_too_long_for_a_header_is_said_without_a_pane_run_does_not_have(
        cli_env: dict[str, str]) -> None:
    """A 100 KB key passes the checks, then every request fails (431 from the mock); `run`'s
    hint sent the user to "the response pane", which only the app has."""
    key = "sk-test-" + "Zx7Lq2" * 17000
    result = run_cli("run", "inline", *SIM, env={**cli_env, "AGW_SANDBOX_TOKEN": key})
    assert result.returncode == 1, result.stderr
    assert "✗ failed: expected status 200, got " in result.stdout, result.stdout[-3000:]
    assert "pane" not in result.stdout + result.stderr
    assert "Zx7Lq2Zx7Lq2" not in result.stdout + result.stderr


@pytest.mark.parametrize(("status", "body", "said"), [
    (431, "Line too long", "headers are larger than the server takes"),
    (431, "Too many headers", "headers are larger than the server takes"),
    (418, "I'm a teapot", "explanation is in the body of its answer"),
])
def test_a_failure_hint_names_no_pane_only_the_app_has(status: int, body: str,
                                                        said: str) -> None:
    """The hint is the same words in `run`, the transcript and the app: no front end's own."""
    hint = status_hint(ResponseView(status, "", 1.0, (), body, "", None), "mock")
    assert said in hint and "pane" not in hint
