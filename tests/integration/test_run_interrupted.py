"""Ctrl+C during a long apply step stops the run at once, as SIGTERM does, and a run that was
stopped never says it passed: neither the scenario under way nor the run as a whole."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers import stop_with
from tests.integration.test_cli_robust import SIM, cli, no_traceback

ITEMS = 12_000  # a List whose apply takes seconds in the simulated runtime


def _huge_list_scenario(directory: Path) -> Path:
    """A scenario whose only step applies one List of many ConfigMaps; its folder."""
    scenario = directory / "big"
    (scenario / "manifests").mkdir(parents=True)
    items = "".join(f"- {{apiVersion: v1, kind: ConfigMap, metadata: {{name: cm-{n}}}, "
                    f"data: {{k: v{n}}}}}\n" for n in range(ITEMS))
    (scenario / "manifests" / "list.yaml").write_text(
        f"apiVersion: v1\nkind: List\nitems:\n{items}")
    (scenario / "s.yaml").write_text(
        "id: big\ntitle: Applies a long List\nsummary: S\nsecurity: None.\nneeds: [setup]\n"
        "steps:\n  - {id: many, title: Apply many ConfigMaps, apply: [manifests/list.yaml]}\n")
    return scenario


def _with_ctrl_c() -> None:
    """A child started from a script may inherit SIGINT ignored: Ctrl+C must reach it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _started_applying(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    seen = ""
    while "Apply many ConfigMaps" not in seen:
        line = process.stdout.readline()
        assert line, seen
        seen += line
    return seen


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_during_a_long_apply_ends_the_run_at_once_and_nothing_passed(
        cli_env: dict[str, str], tmp_path: Path, stop: int) -> None:
    scenario = _huge_list_scenario(tmp_path)
    process = cli("run", "big", *SIM, "--scenarios", str(scenario), env=cli_env,
                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=_with_ctrl_c)
    _started_applying(process)
    seconds, out, err = stop_with(process, stop)
    no_traceback(err)
    assert process.returncode == 128 + stop, err
    assert seconds < 3, (seconds, out)  # the apply alone takes several seconds
    assert "PASSED" not in out and "passed, " not in out, out
    assert "everything it started has been stopped" in err


def test_ctrl_c_during_a_long_apply_writes_a_json_document_that_did_not_pass(
        cli_env: dict[str, str], tmp_path: Path) -> None:
    scenario = _huge_list_scenario(tmp_path)
    process = cli("run", "big", *SIM, "--scenarios", str(scenario), "--json", env=cli_env,
                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=_with_ctrl_c)
    assert process.stderr is not None
    seen = ""
    while seen.count("listening on") < 2:  # the gateway and the mock provider are up
        line = process.stderr.readline()
        assert line, seen
        seen += line
    time.sleep(3.0)  # setup done (about a second); the List's apply is under way
    seconds, out, err = stop_with(process, signal.SIGINT)
    no_traceback(err)
    assert process.returncode == 130, err
    assert seconds < 3, seconds
    document = json.loads(out)
    assert document["stopped_by"] == "Ctrl+C"
    assert document["passed"] is False
    under_way = document["scenarios"][-1]  # the List's, unless setup was slow to end
    assert under_way["passed"] is None and "outcome" not in under_way["steps"][-1]
    assert all(s["passed"] for s in document["scenarios"][:-1])
