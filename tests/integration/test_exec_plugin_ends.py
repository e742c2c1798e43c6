"""An exec credential plugin has finished when it exits, whatever it left holding its output.

kubectl waits for the end of the plugin's output, so a plugin that starts something in the
background (``sleep 300 &``, a helper of its own) hangs it until that ends; the sandbox reads what
the plugin printed, stops what it left, and goes on. A plugin that never stops printing (``exec
yes``) is stopped at its deadline, and its pipes are closed before the loop that read them, so
nothing complains as the process ends ("Exception ignored … Event loop is closed").
"""

from __future__ import annotations

import gc
import json
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from sandbox.errors import RuntimeUnavailable
from tests.hostile_apiserver import empty, hostile_api, kubeconfig
from tests.integration import test_kubeconfig_credentials as credentials
from tests.integration.test_kubeconfig_credentials import EXEC, alive, plugin, started_pids, status

stopped = credentials.stopped  # a fixture, used by name

ANSWER = json.dumps({"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
                     "status": {"token": "kc-test-from-a-plugin"}})
# The plugin exits at once; the child it leaves keeps the plugin's stdout and stderr open.
LEAVES_A_CHILD = """\
echo $$ > "PIDS"
sleep 300 &
echo $! >> "PIDS"
echo 'ANSWER'
""".replace("ANSWER", ANSWER)


def test_a_plugin_that_leaves_a_child_holding_its_output_has_finished(
        cli_env: dict[str, str], tmp_path: Path, stopped: list[int]) -> None:
    pids = tmp_path / "pids"
    script = plugin(tmp_path, LEAVES_A_CHILD.replace("PIDS", str(pids)))
    with hostile_api(empty) as api:
        config = tmp_path / "kubeconfig"
        config.write_text(kubeconfig(api.url, user=EXEC.format(
            command=script, mode="Never", extra="")))
        result, seconds = status(cli_env, config)
        stopped.extend(started_pids(pids))
        asked = list(api.heads)
    assert seconds < 10, seconds  # not the plugin's 20 s deadline
    assert "did not finish" not in result.stderr, result.stderr
    assert "Exception ignored" not in result.stderr and "Traceback" not in result.stderr
    assert asked and "authorization: Bearer kc-test-from-a-plugin" in asked[0]
    assert not [pid for pid in stopped if alive(pid)], "the plugin's child still runs"


# A child in a session of its own (out of reach of the plugin's process group) holding the
# plugin's stdout and stderr, only its stdout, or only its stderr.
IN_ITS_OWN_SESSION = ["setsid sleep 300 &", "setsid sh -c 'exec sleep 301' 2>/dev/null &",
                      "setsid sleep 302 >/dev/null &"]


@pytest.mark.parametrize("leave", IN_ITS_OWN_SESSION)
def test_a_child_in_its_own_session_holding_the_plugins_output_is_stopped_and_named(
        cli_env: dict[str, str], tmp_path: Path, stopped: list[int], leave: str) -> None:
    pids = tmp_path / "pids"
    script = plugin(tmp_path, LEAVES_A_CHILD.replace("sleep 300 &", leave).replace(
        "PIDS", str(pids)))
    with hostile_api(empty) as api:
        config = tmp_path / "kubeconfig"
        config.write_text(kubeconfig(api.url, user=EXEC.format(
            command=script, mode="Never", extra="")))
        result, seconds = status(cli_env, config)
        stopped.extend(started_pids(pids))
        asked = list(api.heads)
    assert asked and "authorization: Bearer kc-test-from-a-plugin" in asked[0]
    assert seconds < 10, seconds
    assert not [pid for pid in stopped if alive(pid)], "the plugin's child still runs"
    assert (f"the exec credential plugin {script} of user 'u' in the kubeconfig {config} left "
            f"pid {stopped[1]} (sleep) holding its output; it was stopped") in result.stderr, \
        result.stderr
    assert "Exception ignored" not in result.stderr and "Traceback" not in result.stderr


def test_an_exec_entry_without_an_api_version_is_refused_before_the_plugin_runs(
        cli_env: dict[str, str], tmp_path: Path) -> None:
    """kubectl refuses it ("exec plugin: invalid apiVersion"); so does the sandbox, saying
    which versions there are, instead of running the plugin and then judging its answer."""
    pids = tmp_path / "pids"
    script = plugin(tmp_path, LEAVES_A_CHILD.replace("PIDS", str(pids)))
    config = tmp_path / "kubeconfig"
    config.write_text(kubeconfig("http://127.0.0.1:9", user=EXEC.format(
        command=script, mode="Never", extra="").replace(
        "      apiVersion: client.authentication.k8s.io/v1\n", "")))
    result, seconds = status(cli_env, config)
    assert seconds < 10, seconds
    assert result.returncode == 2, result.stderr
    assert (f"the exec entry of user 'u' in the kubeconfig {config} has no apiVersion"
            in result.stderr), result.stderr
    assert "client.authentication.k8s.io/v1" in result.stderr.split("hint: ", 1)[1]
    assert "Exception ignored" not in result.stderr
    assert not pids.exists(), "the plugin ran"


def test_a_plugin_that_never_stops_printing_leaves_nothing_open(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``exec yes``, run where the kubernetes client asks for it: in a loop of its own."""
    from sandbox.runtimes.kube import exec_plugin

    monkeypatch.setattr(exec_plugin, "EXEC_TIMEOUT", 1.0)
    script = plugin(tmp_path, "exec yes '{\"apiVersion\": \"client.authentication.k8s.io/v1\"'\n")
    flood = exec_plugin.Plugin.of({"apiVersion": "client.authentication.k8s.io/v1",
                                   "command": str(script)}, str(tmp_path), "user 'u'")
    complaints: list[str] = []
    previous = sys.unraisablehook
    sys.unraisablehook = lambda hook: complaints.append(f"{hook.exc_value!r} {hook.object!r}")
    try:
        started = time.monotonic()
        with pytest.raises(RuntimeUnavailable, match="did not finish within 1s and was stopped"):
            flood.obtain(None)
        gc.collect()
    finally:
        sys.unraisablehook = previous
    assert time.monotonic() - started < 10
    assert complaints == []


# The plugin has the sandbox stopped as it starts (a closing session would do the same).
STOPS_ITS_PARENT = """\
echo $$ > "PIDS"
kill -TERM $PPID
sleep 30
"""


def in_group(group: int) -> list[int]:
    """The processes still running in the process group ``group``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if entry.name.isdigit() and int(fields[3]) == group and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def test_a_plugin_started_as_the_sandbox_is_stopped_is_stopped_too(
        cli_env: dict[str, str], tmp_path: Path) -> None:
    """The stop signal lands while the plugin is being started, before the sandbox knows it
    started one: "everything it started has been stopped" must still be true, every time."""
    pids = tmp_path / "pids"
    script = plugin(tmp_path, STOPS_ITS_PARENT.replace("PIDS", str(pids)))
    config = tmp_path / "kubeconfig"
    config.write_text(kubeconfig("http://127.0.0.1:9", user=EXEC.format(
        command=script, mode="Never", extra="")))
    left: list[int] = []
    try:
        for _ in range(10):
            pids.unlink(missing_ok=True)
            result, _ = status(cli_env, config)
            assert result.returncode == 143, result.stderr
            assert result.stderr.strip() == ("agw-sandbox: stopped by SIGTERM; everything it "
                                             "started has been stopped"), result.stderr
            left = in_group(int(pids.read_text()))
            assert not left, f"the plugin's processes {left} still run"
    finally:
        for pid in left:
            os.kill(pid, signal.SIGKILL)
