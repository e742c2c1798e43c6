"""`run --json` stopped by a signal still writes its document: what ran, and what stopped it.

A script reading the JSON must get valid JSON, not an empty standard output, with the steps done
so far and the signal that ended the run.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers import stop_with
from tests.integration.test_cli_robust import SIM, SLOW_SCENARIO, cli, no_traceback


@pytest.mark.parametrize(("stop", "name"), [(signal.SIGTERM, "SIGTERM"),
                                            (signal.SIGHUP, "SIGHUP")])
def test_a_stopped_json_run_writes_what_ran_and_what_stopped_it(
        cli_env: dict[str, str], tmp_path: Path, stop: int, name: str) -> None:
    (tmp_path / "slow.yaml").write_text(SLOW_SCENARIO)
    process = cli("run", "slow", *SIM, "--scenarios", str(tmp_path), "--json", env=cli_env,
                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stderr is not None
    seen = ""
    while seen.count("listening on") < 2:  # the gateway and the mock provider are up
        line = process.stderr.readline()
        assert line, seen
        seen += line
    time.sleep(1.5)  # setup done; the slow scenario waits
    _, out, err = stop_with(process, stop)
    no_traceback(err)
    assert process.returncode == 128 + stop, err
    assert f"stopped by {name}" in err
    document = json.loads(out)
    assert document["stopped_by"] == name
    assert document["passed"] is False
    setup, slow = document["scenarios"]
    assert setup["id"] == "setup" and setup["passed"] is True
    assert setup["steps"] and all(step["outcome"] == "passed" for step in setup["steps"])
    assert slow["id"] == "slow" and slow["passed"] is None
    assert [step["id"] for step in slow["steps"]] == ["wait"]
    assert "outcome" not in slow["steps"][0]  # under way when the signal came
