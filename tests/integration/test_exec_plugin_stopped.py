"""A stop signal while an exec credential plugin runs stops the plugin and all it started, soon.

Whatever the plugin left behind (a child that ignores SIGTERM and holds its pipes, a child in a
session of its own, with or without the pipes): the sandbox says it stopped, exits 143 within
the usual grace, prints nothing else ("Exception ignored … Event loop is closed"), and leaves no
process of the plugin's running.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import stop_with
from tests.hostile_apiserver import kubeconfig
from tests.integration.test_kubeconfig_credentials import EXEC

STOPPED = "agw-sandbox: stopped by SIGTERM; everything it started has been stopped"
# What the plugin leaves: NAP is `sleep` under a name of the test's own, so that every process
# of the test is known by its command line. READY is written once the trap is set.
LEFT = {
    "a child that ignores SIGTERM": """bash -c "trap '' TERM; echo > READY; NAP 30; NAP 31" &""",
    "a child in its own session": "setsid NAP 30 &\necho > READY",
    "a child in its own session, away from the pipes":
        "setsid NAP 30 >/dev/null 2>&1 </dev/null &\necho > READY",
    "a plugin that ignores SIGTERM itself": "trap '' TERM HUP INT\necho > READY",
    "a grandchild in its own session that ignores SIGTERM":
        """setsid bash -c "trap '' TERM; echo > READY; NAP 30" >/dev/null 2>&1 &""",
    # Its parent gone at once: adopted by init, no chain of parents leads to it; it still
    # holds the plugin's output.
    "a double-forked child in its own session that ignores SIGTERM, holding the pipes":
        """( setsid bash -c "trap '' TERM HUP; echo > READY; NAP 30" & )""",
}


def of_the_test(marker: str) -> list[int]:
    """The processes still running whose command line holds ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker in command and state != "Z":
            found.append(int(entry.name))
    return found


@pytest.fixture
def marker(tmp_path: Path) -> Iterator[str]:
    """The test's folder, in the command line of every process it starts; any left at the end
    are killed."""
    yield str(tmp_path)
    for pid in of_the_test(str(tmp_path)):
        os.kill(pid, signal.SIGKILL)


def stopped_while_running(left: str, tmp_path: Path, env: dict[str, str]
                          ) -> tuple[int, float, str, str]:
    """`status` with a kubeconfig whose plugin leaves ``left`` and waits; SIGTERM to the CLI
    once the plugin's processes are up: its exit code, seconds to end, stdout and stderr."""
    nap = tmp_path / "nap"
    nap.symlink_to("/bin/sleep")
    ready = tmp_path / "ready"
    script = tmp_path / "plugin.sh"
    body = left.replace("NAP", str(nap)).replace("READY", str(ready))
    script.write_text(f"#!/bin/bash\n{body}\n{nap} 30 &\nwait\n")
    script.chmod(0o755)
    config = tmp_path / "kubeconfig"
    config.write_text(kubeconfig("http://127.0.0.1:9", user=EXEC.format(
        command=script, mode="Never", extra="")))
    cli = subprocess.Popen([sys.executable, "-m", "sandbox", "status", "--runtime", "cluster",
                            "--context", "c"], env={**env, "KUBECONFIG": str(config)},
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ready.exists(), "the plugin never started"
    time.sleep(0.2)  # the last child of the plugin started too
    seconds, out, err = stop_with(cli, signal.SIGTERM)
    return cli.returncode, seconds, out, err


@pytest.mark.parametrize("left", list(LEFT.values()), ids=list(LEFT))
def test_a_stop_while_a_plugin_runs_stops_all_it_started_in_time_and_quietly(
        cli_env: dict[str, str], tmp_path: Path, marker: str, left: str) -> None:
    code, seconds, _, err = stopped_while_running(left, tmp_path, cli_env)
    assert err.strip() == STOPPED, err
    assert code == 143
    assert seconds < 5, seconds
    deadline = time.monotonic() + 1  # SIGKILL sent: each is gone at once (its parent reaps it)
    while of_the_test(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert of_the_test(marker) == [], "the plugin's processes still run"
