"""Cluster commands end in seconds with a message, whatever KUBECONFIG points at and however
(un)responsive its API server is: a FIFO, a huge file, a server that accepts and never answers."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import run_cli

KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{{cluster: {{server: "{server}"}}, name: c}}]
contexts: [{{context: {{cluster: c, user: me}}, name: c}}]
users: [{{name: me, user: {{}}}}]
current-context: c
"""


def status(env: dict[str, str], *args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    result = run_cli("status", "--runtime", "cluster", *args, env=env, timeout=40)
    return result, time.monotonic() - started


def test_a_fifo_as_kubeconfig_is_refused_at_once(cli_env: dict[str, str],
                                                 tmp_path: Path) -> None:
    fifo = tmp_path / "kc"
    os.mkfifo(fifo)
    result, seconds = status({**cli_env, "KUBECONFIG": str(fifo)})
    assert seconds < 20
    assert result.returncode == 2, result.stderr
    assert f"the kubeconfig {fifo} (from KUBECONFIG) is not a regular file (a FIFO)" in (
        result.stderr)
    assert "Traceback" not in result.stderr


def test_a_fifo_among_several_kubeconfig_files_is_named(cli_env: dict[str, str],
                                                        tmp_path: Path) -> None:
    good, fifo = tmp_path / "good", tmp_path / "pipe"
    good.write_text(KUBECONFIG.format(server="http://127.0.0.1:9"))
    os.mkfifo(fifo)
    result, seconds = status({**cli_env, "KUBECONFIG": f"{good}:{tmp_path / 'absent'}:{fifo}"})
    assert seconds < 20 and result.returncode == 2
    assert f"the kubeconfig {fifo} (from KUBECONFIG) is not a regular file" in result.stderr


def test_a_kubeconfig_far_larger_than_any_real_one_is_refused(cli_env: dict[str, str],
                                                              tmp_path: Path) -> None:
    config = tmp_path / "huge"
    with config.open("w") as out:
        line = "# " + "x" * 1021 + "\n"
        for _ in range(5 * 1024):  # 5 MiB of comments, then a valid config
            out.write(line)
        out.write(KUBECONFIG.format(server="http://127.0.0.1:9"))
    result, seconds = status({**cli_env, "KUBECONFIG": str(config)})
    assert seconds < 20 and result.returncode == 2
    assert f"the kubeconfig {config} (from KUBECONFIG) is 5.0 MiB" in result.stderr
    assert "at most 4 MiB" in result.stderr


@pytest.fixture
def black_hole() -> Iterator[str]:
    """An API server that accepts connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


def test_an_api_server_that_never_answers_is_named_within_seconds(
        cli_env: dict[str, str], tmp_path: Path, black_hole: str) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text(KUBECONFIG.format(server=black_hole))
    result, seconds = status({**cli_env, "KUBECONFIG": str(config)})
    assert seconds < 20, seconds
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"the Kubernetes API at {black_hole} did not answer within 5s (timed out)" in (
        result.stderr)
    assert "Traceback" not in result.stderr


def test_up_on_such_a_server_stops_at_the_api_stage(cli_env: dict[str, str], tmp_path: Path,
                                                    black_hole: str) -> None:
    fakes = Path(__file__).resolve().parents[1] / "fakes" / "bin"
    config = tmp_path / "kubeconfig"
    config.write_text(KUBECONFIG.format(server=black_hole))
    started = time.monotonic()
    result = run_cli("up", "--runtime", "cluster", "--context", "c", "--yes",
                     env={**cli_env, "KUBECONFIG": str(config),
                          "PATH": f"{fakes}:{cli_env['PATH']}"}, timeout=60)
    assert time.monotonic() - started < 30
    assert result.returncode == 2
    assert "stage “Kubernetes API” failed: the Kubernetes API at" in result.stderr
    assert "(timed out)" in result.stderr


def test_deleting_the_kind_cluster_never_opens_a_fifo_kubeconfig(tmp_path: Path) -> None:
    """`down` looks for the context kind wrote, in the user's kubeconfig: a FIFO is passed by."""
    import threading

    from sandbox.runtimes.kube.cluster import has_context

    fifo = tmp_path / "kc"
    os.mkfifo(fifo)
    found: list[bool] = []
    looking = threading.Thread(target=lambda: found.append(has_context(fifo, "kind-x")),
                               daemon=True)
    looking.start()
    looking.join(5)
    blocked = looking.is_alive()
    if blocked:  # in open(): a writer lets it go, then the test fails
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        looking.join(5)
    assert not blocked, "has_context opened the FIFO and waited for a writer"
    assert found == [False]
