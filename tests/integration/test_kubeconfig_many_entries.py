"""A kubeconfig of tens of thousands of entries (a cloud CLI's merged one, a workshop's shared
one) is read in seconds, in time linear in its entries, and a context it does not hold is named
with a few of those it does, never all of them."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from sandbox.errors import RuntimeUnavailable
from sandbox.runtimes.kube.client import Kube
from tests.helpers import run_cli


def many(kind: str, count: int, entry: Callable[[int], str], prefix: str = "") -> str:
    """A ``kind`` list of ``count`` entries named ``{prefix}{kind}-N``, each holding
    ``entry(N)``."""
    lines = [f"{kind}s:"]
    lines += [f"- name: {prefix}{kind}-{number}\n  {kind}: {entry(number)}"
              for number in range(count)]
    return "\n".join(lines) + "\n"


def config(contexts: int, clusters: int = 1, users: int = 1, server: str = "http://127.0.0.1:9",
           prefix: str = "") -> str:
    """A kubeconfig whose contexts all point at its first cluster and user, with as many
    other clusters (each its own port) and users (each its own token) as asked."""
    return (f"apiVersion: v1\nkind: Config\ncurrent-context: {prefix}context-0\n"
            + many("cluster", clusters, lambda n: f'{{server: "{server}{n}"}}', prefix)
            + many("context", contexts,
                   lambda n: f"{{cluster: {prefix}cluster-0, user: {prefix}user-0}}", prefix)
            + many("user", users, lambda n: f"{{token: kc-test-Vb7Qm2Xz{n:06d}}}", prefix))


def test_twenty_thousand_contexts_are_read_in_seconds_and_a_missing_one_named(
        cli_env: dict[str, str], tmp_path: Path) -> None:
    """Merging the entries scanned the list read so far for each one (quadratic: 20 000
    contexts took minutes); the missing context's message names a few of the others."""
    kubeconfig = tmp_path / "many"
    kubeconfig.write_text(config(20_000, prefix="team-a/"))
    started = time.monotonic()
    try:
        result = run_cli("status", "--runtime", "cluster", "--context", "nope",
                         env={**cli_env, "KUBECONFIG": str(kubeconfig)}, timeout=60)
    except subprocess.TimeoutExpired:  # the failure this test is about
        pytest.fail("20 000 contexts took more than a minute")
    seconds = time.monotonic() - started
    assert result.returncode == 2, result.stderr
    assert f"there is no context 'nope' in the kubeconfig {kubeconfig} (from KUBECONFIG)" \
        in result.stderr
    assert "which holds 20000 contexts, among them 'team-a/context-0', 'team-a/context-1'" \
        in result.stderr, result.stderr
    assert "team-a/context-19999" not in result.stderr and len(result.stderr) < 1000
    assert seconds < 12, f"{seconds:.1f} s"


def test_many_entries_of_every_kind_in_two_files_keep_the_first_of_each_name(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two files of 5000 contexts, clusters and users each, with the same names: the first
    file's entry of a name wins, as the client merges them (and kubectl), in seconds (it took
    minutes: the pattern that masks the secrets was also compiled anew for each user)."""
    first, second = tmp_path / "first", tmp_path / "second"
    first.write_text(config(5_000, clusters=5_000, users=5_000,
                            server="http://127.0.0.1:1"))
    second.write_text(config(5_000, clusters=5_000, users=5_000,
                             server="http://127.0.0.1:2"))
    monkeypatch.setenv("KUBECONFIG", f"{first}:{second}")
    started = time.monotonic()
    kube = Kube.connect(None, "context-4999")
    assert time.monotonic() - started < 20
    assert kube.host == "http://127.0.0.1:10"
    with pytest.raises(RuntimeUnavailable) as caught:
        Kube.connect(None, "context-5000")
    assert "which holds 5000 contexts, among them 'context-0'" in str(caught.value)


@pytest.mark.parametrize("current", ["zzz", '""'])
def test_a_current_context_the_kubeconfig_does_not_hold_is_named(
        cli_env: dict[str, str], tmp_path: Path, current: str) -> None:
    """No --context: the kubeconfig's own current-context is the one missing (it said "there is
    no context None")."""
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(config(2).replace("current-context: context-0",
                                             f"current-context: {current}"))
    result = run_cli("status", "--runtime", "cluster",
                     env={**cli_env, "KUBECONFIG": str(kubeconfig)}, timeout=60)
    assert result.returncode == 2, result.stderr
    named = current.strip('"')
    expected = (f"there is no context '{named}' (the current context it names) in the kubeconfig"
                if named else "has no current context set (its current-context is empty), "
                "which holds 2 contexts")
    assert expected in result.stderr, result.stderr
    assert "None" not in result.stderr and "kubectl config use-context NAME" in result.stderr
