"""`status --runtime cluster` against API servers that misbehave after (or on) the first call.

Every call has a deadline for the whole exchange, not per read: a server that stalls after
``/version``, trickles its headers or its body ends the command in seconds, naming the server.
An answer that is not a complete JSON object is refused as unreadable, never shown as the state
of the cluster. Stop signals end the command at once, whatever call it waits on.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import run_cli, stop_with
from tests.hostile_apiserver import (
    Behaviour,
    array,
    cut_short,
    deep,
    empty,
    empty_object,
    gzipped,
    headers_then_close,
    hostile_api,
    html,
    huge,
    kubeconfig,
    not_a_number,
    sections_of_the_wrong_type,
    silence,
    status_for_everything,
    trickled_body,
    trickled_headers,
    without_kind,
)


def status(env: dict[str, str], config: Path, timeout: float = 60
           ) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    result = run_cli("status", "--runtime", "cluster", "--context", "c",
                     env={**env, "KUBECONFIG": str(config)}, timeout=timeout)
    return result, time.monotonic() - started


def status_against(behaviour: Behaviour, first_call: bool, env: dict[str, str], tmp_path: Path
                   ) -> tuple[str, subprocess.CompletedProcess[str]]:
    """`status` against a hostile API server: its URL, and what the command did (bounded)."""
    with hostile_api(behaviour, first_call) as api:
        config = tmp_path / "kubeconfig"
        config.write_text(kubeconfig(api.url))
        result, seconds = status(env, config)
    assert seconds < 25, seconds
    assert result.returncode == 2, result.stdout + result.stderr
    return api.url, result


@pytest.mark.parametrize(("behaviour", "first_call", "limit"), [
    (silence, False, "10s"),
    (trickled_headers, True, "5s"),
    (trickled_headers, False, "10s"),
    (trickled_body, False, "10s"),
], ids=["stalls-after-version", "trickles-first-headers", "trickles-headers-later",
        "trickles-body"])
def test_every_call_has_a_deadline_for_the_whole_answer(
        cli_env: dict[str, str], tmp_path: Path, behaviour: Behaviour, first_call: bool,
        limit: str) -> None:
    url, result = status_against(behaviour, first_call, cli_env, tmp_path)
    assert f"the Kubernetes API at {url} did not answer within {limit} (timed out)" in (
        result.stderr)
    assert "✓ Kubernetes API" not in result.stdout


@pytest.mark.parametrize(("behaviour", "first_call", "why"), [
    (headers_then_close, False, "an empty answer"),
    (cut_short, False, "cut short after 46 bytes"),
    (html, True, "not JSON (it begins “<html><body>Welcome to nginx!"),
    (html, False, "not JSON"),
    (empty, False, "an empty answer"),
    (array, False, "a JSON array where an object belongs"),
    (deep, False, "JSON nested too deeply"),
    (gzipped, False, "compressed (gzip) although the sandbox did not ask for it"),
    (huge, False, "more than 16 MiB"),
    (status_for_everything, False, "an object of kind 'Status' where a CustomResourceDefinition "),
    (sections_of_the_wrong_type, False, "its spec is a JSON array where an object belongs"),
    (not_a_number, False, "not JSON (NaN where a number belongs)"),
    (empty_object, False, "an object without kind where a CustomResourceDefinition belongs"),
    (without_kind, False, "an object without kind where a CustomResourceDefinition belongs"),
], ids=["headers-then-close", "cut-short", "html-first", "html-later", "empty", "array", "deep",
        "gzip", "huge", "kind-status", "sections-wrong-type", "nan", "empty-object",
        "without-kind"])
def test_an_answer_that_cannot_be_read_is_refused_naming_the_server(
        cli_env: dict[str, str], tmp_path: Path, behaviour: Behaviour, first_call: bool,
        why: str) -> None:
    url, result = status_against(behaviour, first_call, cli_env, tmp_path)
    assert f"the Kubernetes API at {url} answered GET " in result.stderr
    assert "with something the sandbox cannot read: " + why in result.stderr
    assert "✓ Kubernetes API" not in result.stdout
    assert "replicas have been updated" not in result.stdout
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143),
                                              (signal.SIGHUP, 129)])
def test_a_stop_signal_ends_a_call_the_server_never_answers(
        cli_env: dict[str, str], tmp_path: Path, signum: int, code: int) -> None:
    with hostile_api(silence) as api:
        config = tmp_path / "kubeconfig"
        config.write_text(kubeconfig(api.url))
        command = subprocess.Popen(
            [sys.executable, "-m", "sandbox", "status", "--runtime", "cluster", "--context", "c"],
            env={**cli_env, "KUBECONFIG": str(config)}, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 20
            while len(api.heads) < 2 and time.monotonic() < deadline:  # past /version
                time.sleep(0.05)
            assert len(api.heads) >= 2, api.heads
            seconds, _, stderr = stop_with(command, signum)
        finally:
            if command.poll() is None:
                command.kill()
                command.wait()
    assert seconds < 3, seconds
    assert command.returncode == code, stderr
    assert "Traceback" not in stderr


def test_up_on_a_server_that_stalls_after_version_stops_at_the_api_stage(
        cli_env: dict[str, str], tmp_path: Path) -> None:
    fakes = Path(__file__).resolve().parents[1] / "fakes" / "bin"
    with hostile_api(silence) as api:
        config = tmp_path / "kubeconfig"
        config.write_text(kubeconfig(api.url))
        started = time.monotonic()
        result = run_cli("up", "--runtime", "cluster", "--context", "c", "--yes",
                         env={**cli_env, "KUBECONFIG": str(config),
                              "PATH": f"{fakes}:{cli_env['PATH']}"}, timeout=60)
        seconds = time.monotonic() - started
    assert seconds < 30, seconds
    assert result.returncode == 2, result.stdout + result.stderr
    assert (f"stage “Kubernetes API” failed: the Kubernetes API at {api.url} did not answer "
            "within 10s (timed out)") in result.stderr
