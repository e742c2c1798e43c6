"""The e2e workflow: valid, audited, run whenever the real path changes, tools where the job may
write, and the evidence uploaded when it fails."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
E2E = REPO / ".github" / "workflows" / "e2e.yml"
BIN = Path(sys.executable).parent


def workflow() -> dict[Any, Any]:
    document: dict[Any, Any] = yaml.safe_load(E2E.read_text())
    return document


def steps() -> list[dict[str, Any]]:
    return [step for job in workflow()["jobs"].values() for step in job["steps"]]


def matches(pattern: str, path: str) -> bool:
    """GitHub's path-filter globs: ** crosses folders, * does not."""
    regex = re.escape(pattern).replace(r"\*\*", ".*").replace(r"\*", "[^/]*")
    return re.fullmatch(regex, path) is not None


def test_the_workflows_pass_the_schema_and_zizmor() -> None:
    schema = subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema",
                             "vendor.github-workflows", *map(str, WORKFLOWS)],
                            capture_output=True, text=True, check=False)
    assert schema.returncode == 0, schema.stdout + schema.stderr
    audit = subprocess.run([str(BIN / "zizmor"), "--offline", "--no-progress",
                            str(REPO / ".github" / "workflows")],
                           capture_output=True, text=True, check=False)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert "No findings to report" in audit.stdout + audit.stderr


def test_every_file_of_the_real_path_triggers_the_workflow() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True,
                             check=True).stdout.split()
    wanted = [path for path in tracked
              if path.startswith(("sandbox/", "scenarios/", "assets/", "tests/e2e/"))]
    wanted += ["pyproject.toml", "sandbox/runtimes/kube/runtime.py",
               "sandbox/walkthrough/render.py",
               "sandbox/mock/provider.py", "sandbox/walkthrough/runner.py", "scenarios/inline.yaml",
               "scenarios/manifests/backend-inline.yaml", ".ci/collect-cluster-state.py"]
    on = workflow()[True]  # YAML 1.1 reads the key `on` as True
    for event in ("push", "pull_request"):
        filters = on[event]["paths"]
        missed = [path for path in wanted if not any(matches(f, path) for f in filters)]
        assert missed == [], f"{event} misses {missed}"


def test_tools_go_where_the_job_may_write_at_pinned_versions() -> None:
    install = next(step["run"] for step in steps() if "kind" in step.get("name", "")
                   and "helm" in step.get("name", ""))
    commands = "\n".join(step.get("run", "") for step in steps())
    assert "/usr/local/bin" not in commands and "sudo" not in commands
    assert 'bin="$RUNNER_TEMP/bin"' in install and 'echo "$bin" >> "$GITHUB_PATH"' in install
    assert "get-helm" not in install  # the installer script takes the newest helm
    env = workflow()["env"]
    for tool in ("KIND", "KUBECTL", "HELM"):
        assert re.fullmatch(r"v\d+\.\d+\.\d+", env[f"{tool}_VERSION"])
        assert f"${tool}_VERSION" in install
        assert re.fullmatch(r"[0-9a-f]{64}", env[f"{tool}_SHA256"])
        assert f"${tool}_SHA256" in install and "sha256sum -c -" in install


def test_actions_are_pinned_by_commit() -> None:
    for step in steps():
        if "uses" in step:
            assert re.fullmatch(r"[\w-]+/[\w-]+@[0-9a-f]{40}", step["uses"]), step["uses"]


def test_every_scenario_is_compared_with_the_simulation() -> None:
    e2e = next(step for step in steps() if "pytest tests/e2e --with-e2e" in step.get("run", ""))
    assert e2e["env"]["E2E_ARTIFACTS"] == "${{ runner.temp }}/artifacts"
    test = (REPO / "tests" / "e2e" / "test_kind_e2e.py").read_text()
    assert '"run", "--all", "--compare-sim", "--json"' in test
    assert 'os.environ.get("E2E_ARTIFACTS"' in test


def test_a_failure_uploads_the_cluster_state() -> None:
    test = (REPO / "tests" / "e2e" / "test_kind_e2e.py").read_text()
    # The test deletes its cluster in `finally`: the state is saved before that, on failure.
    assert test.index("except BaseException:\n        save_cluster_state(env, CLUSTERS[profile])"
                      ) < test.index(
        "finally:\n        down = ")
    assert 'ARTIFACTS / "cluster-state"' in test
    left = next(step for step in steps() if "collect-cluster-state.py" in step.get("run", ""))
    assert left["if"] == "failure()" and '"$RUNNER_TEMP/artifacts/' in left["run"]
    upload = next(step for step in steps() if step.get("uses", "").startswith(
        "actions/upload-artifact@"))
    assert upload["if"] == "always()" and upload["with"]["path"] == "${{ runner.temp }}/artifacts"
    order = steps()
    assert order.index(left) < order.index(upload)


def test_every_profile_runs_end_to_end_on_its_own_cluster() -> None:
    from sandbox.profiles import PROFILES
    from tests.e2e.test_kind_e2e import CLUSTERS

    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "e2e.yml").read_text())
    job = workflow["jobs"]["kind"]
    matrix = {entry["profile"]: entry["cluster"] for entry in job["strategy"]["matrix"]["include"]}
    assert matrix == CLUSTERS and set(matrix) == set(PROFILES)
    assert job["env"] == {"E2E_PROFILE": "${{ matrix.profile }}",
                          "CLUSTER": "${{ matrix.cluster }}"}


def test_every_run_block_is_valid_bash() -> None:
    for step in steps():
        if "run" in step:
            check = subprocess.run(["bash", "-n"], input=step["run"], capture_output=True,
                                   text=True, check=False)
            assert check.returncode == 0, (step.get("name"), check.stderr)
