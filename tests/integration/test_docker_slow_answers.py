"""A Docker daemon whose answer drips, or never ends: the whole probe (ping, version, info) has one
deadline and each answer a size cap, so `doctor`, the default runtime and the app say so in
seconds, in little memory, and leave nothing running."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path

import pytest

from sandbox.errors import RuntimeUnavailable
from sandbox.runtimes.kube import docker_probe
from sandbox.runtimes.kube.containers import probe_docker
from tests.fake_docker import drip, drip_headers, fake_docker, huge
from tests.helpers import run_cli


def probe_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "docker-probe"]


@pytest.fixture
def quick_deadline(monkeypatch: pytest.MonkeyPatch) -> float:
    monkeypatch.setattr(docker_probe, "PROBE_DEADLINE", 2.0)
    return 2.0


@pytest.mark.parametrize(("version", "info", "stage", "cut"), [
    (drip(), None, "/version", True),
    (None, drip(length=5000, every=0.1), "/info", True),
    # headers that drip: no answer to cut yet; its thread ends when the daemon does
    (drip_headers(), None, "/version", False),
])
def test_an_answer_that_drips_is_given_up_at_the_deadline(
        tmp_path: Path, quick_deadline: float, version: object, info: object,
        stage: str, cut: bool) -> None:
    socket_path = tmp_path / "docker.sock"
    with fake_docker(socket_path, version, info):
        started = time.monotonic()
        with pytest.raises(RuntimeUnavailable) as caught:
            probe_docker(f"unix://{socket_path}", timeout=1)
        seconds = time.monotonic() - started
        assert quick_deadline - 0.1 < seconds < quick_deadline + 1, seconds
        if cut:  # the answer being read is cut: its thread ends now, not when the daemon stops
            for _ in range(20):
                if not probe_threads():
                    break
                time.sleep(0.1)
            assert probe_threads() == []
    assert caught.value.message == (
        f"the Docker daemon at unix://{socket_path}, as given, did not finish answering {stage} "
        "within 2 s, which Docker does at once")
    assert "--runtime sim" in caught.value.hint
    assert all(thread.daemon for thread in probe_threads())  # none keeps the process alive


def test_an_answer_that_never_ends_is_cut_at_1_mib_in_little_memory(tmp_path: Path) -> None:
    socket_path = tmp_path / "docker.sock"
    with fake_docker(socket_path, huge(announced=300_000_000)):
        tracemalloc.start()
        try:
            started = time.monotonic()
            with pytest.raises(RuntimeUnavailable) as caught:
                probe_docker(f"unix://{socket_path}")
            seconds = time.monotonic() - started
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert seconds < 5, seconds
    assert peak < 8 * 1024 * 1024, peak
    assert caught.value.message == (
        f"the Docker daemon at unix://{socket_path}, as given, answered /version with more than "
        "1 MiB, which is not what Docker answers")


# The CLI in a child process, with its peak memory (the child's own, through a parent of its own).
PEAK_RSS = ("import resource, subprocess, sys; "
            "done = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=50); "
            "sys.stdout.write(done.stdout); sys.stderr.write(done.stderr); "
            "print('peak-rss-kb', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
            "sys.exit(done.returncode)")


@pytest.mark.parametrize(("answer", "said"), [
    (drip(every=0.5), "did not finish answering /version within 5 s"),
    (huge(), "answered /version with more than 1 MiB"),
])
def test_doctor_names_such_a_daemon_in_seconds_and_little_memory(
        tmp_path: Path, cli_env: dict[str, str], answer: object, said: str) -> None:
    socket_path = tmp_path / "docker.sock"
    env = {**cli_env, "DOCKER_HOST": f"unix://{socket_path}"}
    with fake_docker(socket_path, answer):
        started = time.monotonic()
        result = subprocess.run([sys.executable, "-c", PEAK_RSS, sys.executable, "-m",
                                 "sandbox", "doctor", "--port", "0"], env=env,
                                capture_output=True, text=True, timeout=60, check=False)
        seconds = time.monotonic() - started
    line = next(line for line in result.stdout.splitlines() if "docker" in line)
    assert line.startswith(f"✗ docker   the Docker daemon at unix://{socket_path}, set by "
                           f"DOCKER_HOST, {said}"), result.stdout
    assert seconds < 12, seconds
    peak_kb = int(result.stdout.rsplit("peak-rss-kb ", 1)[1])
    assert peak_kb < 150 * 1024, peak_kb


def test_the_default_runtime_falls_back_to_the_simulation_in_seconds(
        tmp_path: Path, cli_env: dict[str, str]) -> None:
    socket_path = tmp_path / "docker.sock"
    with fake_docker(socket_path, info=drip(every=0.5)):
        started = time.monotonic()
        result = run_cli("run", "inline", "--port", "0",
                         env={**cli_env, "DOCKER_HOST": f"unix://{socket_path}"}, timeout=60)
        seconds = time.monotonic() - started
    assert result.returncode == 0, result.stdout + result.stderr
    assert ("did not finish answering /info within 5 s, which Docker does at once; using the "
            "simulated runtime") in result.stderr
    assert seconds < 20, seconds


@pytest.mark.parametrize(("version", "said"), [
    (drip(), "did not finish answering /version within 2 s, which Docker does at once"),
    (huge(), "answered /version with more than 1 MiB, which is not what Docker answers"),
    ({"Version": "24.0.7"}, "answered /version with no ApiVersion, which is not what Docker "
                            "answers"),
    ({"ApiVersion": "../1.43"}, 'answered /version with ApiVersion "../1.43", which is not what '
                                "Docker answers"),
])
def test_prepare_asks_the_daemons_api_version_within_the_deadline_too(
        tmp_path: Path, no_docker_env: Path, monkeypatch: pytest.MonkeyPatch,
        quick_deadline: float, version: object, said: str) -> None:
    from sandbox.runtimes.kube import containers

    monkeypatch.setattr(containers, "PROBE_TIMEOUT", 1)
    socket_path = tmp_path / "docker.sock"
    monkeypatch.setenv("DOCKER_HOST", f"unix://{socket_path}")
    with fake_docker(socket_path, version):
        started = time.monotonic()
        with pytest.raises(RuntimeUnavailable) as caught:
            containers.save_image("kindest/node:v1.34.0", tmp_path / "node.tar")
        seconds = time.monotonic() - started
    assert seconds < quick_deadline + 1.5, seconds
    assert caught.value.message == (f"the Docker daemon at unix://{socket_path}, set by "
                                    f"DOCKER_HOST, {said}")
    assert not (tmp_path / "node.tar").exists()


def test_the_app_quits_at_once_while_a_daemon_drips(cli_env: dict[str, str],
                                                    tmp_path: Path) -> None:
    """Detection waits up to the probe's deadline; a quit meanwhile does not."""
    from tests.integration.test_cli_signals import Terminal

    socket_path = tmp_path / "docker.sock"
    env = {**cli_env, "TERM": "xterm-256color", "TEXTUAL_ANIMATIONS": "none",
           "DOCKER_HOST": f"unix://{socket_path}"}
    with fake_docker(socket_path, drip(every=0.2)) as asked:
        terminal = Terminal([sys.executable, "-m", "sandbox", "--port", "0"], env)
        try:
            terminal.read_until(lambda: b"detecting" in terminal.output and "/version" in asked,
                                30)
            os.write(terminal.master, b"\x11")  # Ctrl+Q
            started = time.monotonic()
            terminal.read_until(lambda: terminal.process.poll() is not None, 10)
            seconds = time.monotonic() - started
        finally:
            terminal.close()
    assert terminal.process.returncode == 0
    assert seconds < 2.5, seconds
