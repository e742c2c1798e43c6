"""A kubeconfig the client would read otherwise than kubectl is refused as kubectl refuses it,
before anything is sent: a context naming a user or a cluster the kubeconfig lacks (the client
would go on without credentials, or quote "Expected object with name … in …/clusters list"), and a
server address with a backslash before its path (urllib3 sends the request to the host before
the backslash, Python's URL parser names the one after it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.errors import SandboxError
from sandbox.runtimes.kube.client import Kube
from tests.conftest import TOKEN
from tests.helpers import run_cli
from tests.hostile_apiserver import hostile_api, kubeconfig


def failure(config: Path) -> SandboxError:
    with pytest.raises(SandboxError) as raised:
        Kube.connect(str(config), "c").server_version()
    return raised.value


def named(users: str, clusters: str, user: str, cluster: str, server: str) -> str:
    return (f"apiVersion: v1\nkind: Config\nclusters:\n{clusters}- name: c\n  cluster:\n"
            f"    server: {server}\ncontexts:\n- name: probe\n  context: {{cluster: {cluster}, "
            f"user: '{user}'}}\ncurrent-context: probe\nusers:{users}\n")


@pytest.mark.parametrize(("users", "user", "cluster", "said"), [
    (" []", "ghost", "c", "names the user 'ghost', which its users list does not hold (kubectl: "
                          "user \"ghost\" was not found for context \"probe\")"),
    ("\n- name: other\n  user: {token: kc-test-token}", "ghost", "c",
     "names the user 'ghost', which its users list does not hold"),
    ("\n- name: u\n  user: {token: kc-test-token}", "u", "elsewhere",
     "names the cluster 'elsewhere', which its clusters list does not hold (kubectl: cluster "
     "\"elsewhere\" was not found for context \"probe\")"),
], ids=["no-users", "another-user", "no-such-cluster"])
def test_a_context_naming_an_entry_the_kubeconfig_lacks_is_refused(
        tmp_path: Path, users: str, user: str, cluster: str, said: str) -> None:
    with hostile_api(lambda conn, path: None, first_call=True) as api:
        config = tmp_path / "kubeconfig"
        config.write_text(named(users, "", user, cluster, api.url))
        with pytest.raises(SandboxError) as raised:
            Kube.connect(str(config), "probe").server_version()
        assert api.heads == []  # nothing sent without the credentials the context names
    error = raised.value
    assert error.message.startswith(f"the context 'probe' in the kubeconfig {config} {said}"), \
        error.message
    assert "Expected object" not in str(error) and "kubectl config" in error.hint


def test_a_users_name_that_is_the_key_is_masked(tmp_path: Path, cli_env: dict[str, str]
                                                ) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text(named(" []", "", TOKEN, "c", "http://127.0.0.1:9"))
    result = run_cli("status", "--runtime", "cluster", "--context", "probe",
                     env={**cli_env, "KUBECONFIG": str(config)}, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "names the user 'sk-…" in result.stderr and TOKEN[8:-4] not in result.stderr, \
        result.stderr


def test_a_user_held_by_another_file_of_kubeconfig_is_found(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with hostile_api(lambda conn, path: None) as api:
        first, second = tmp_path / "first", tmp_path / "second"
        first.write_text(named(" []", "", "u", "c", api.url))
        second.write_text("apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user: "
                          "{token: kc-test-token}\n")
        monkeypatch.setenv("KUBECONFIG", f"{first}:{second}")
        assert Kube.connect(None, "probe").server_version() == "v1.34.0"
        assert "authorization: Bearer kc-test-token" in api.heads[0]


@pytest.mark.parametrize("tail", ["\\\\@evil", "\\@evil/api", "\\evil", f"\\:{TOKEN}@evil"])
def test_a_server_with_a_backslash_before_its_path_is_refused(tmp_path: Path, tail: str
                                                               ) -> None:
    with hostile_api(lambda conn, path: None, first_call=True) as api:
        config = tmp_path / "kubeconfig"
        config.write_text(kubeconfig(api.url + tail))
        error = failure(config)
        assert api.heads == []
    assert error.message.startswith(f"the server {api.url}\\… of cluster 'c'"), error.message
    assert ("holds a backslash (\\) before its path, which kubectl refuses (net/url: invalid "
            "userinfo, or an invalid host name)") in error.message, error.message
    assert "evil" not in error.message and TOKEN[8:-4] not in str(error)
