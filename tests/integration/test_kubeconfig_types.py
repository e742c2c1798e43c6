"""A kubeconfig value that must be text but is a list, a mapping, a boolean or a number (YAML reads
`token: yes` as true, `token: 123…` as a number) is refused as kubectl refuses it ("cannot
unmarshal array into … of type string"), naming the kubeconfig, the entry and the type found;
never sent as Python's text of it (`Bearer ['a', 'b']`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.errors import RuntimeUnavailable
from sandbox.runtimes.kube.client import Kube
from tests.hostile_apiserver import hostile_api, kubeconfig, silence


@pytest.mark.parametrize(("user", "key", "found"), [
    ("    token: [kc-part-one, kc-part-two]\n", "token", "a list"),
    ("    token: {kc: part}\n", "token", "a mapping"),
    ("    token: yes\n", "token", "true (a boolean)"),
    ("    token: 12345678901234567890\n", "token", "a number"),
    ("    tokenFile: [a, b]\n", "tokenFile", "a list"),
    ("    username: admin\n    password: 1234\n", "password", "a number"),
    ("    username: [admin]\n    password: pw\n", "username", "a list"),
    ("    client-certificate-data: 42\n", "client-certificate-data", "a number"),
    ("    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: [a]\n",
     "exec command", "a list"),
    ("    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: p\n"
     "      args: [--x, {a: b}]\n", "exec args[2]", "a mapping"),
    ("    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: p\n"
     "      args: --x\n", "exec args", "text, not a list"),
], ids=["token-list", "token-map", "token-bool", "token-int", "tokenfile-list", "password-int",
        "username-list", "cert-data-int", "exec-command-list", "exec-arg-map", "exec-args-text"])
def test_a_user_value_of_the_wrong_type_is_refused_before_anything_is_sent(
        tmp_path: Path, user: str, key: str, found: str) -> None:
    with hostile_api(silence, first_call=True) as api:
        config = tmp_path / "kubeconfig"
        config.write_text(kubeconfig(api.url, user=user))
        with pytest.raises(RuntimeUnavailable) as raised:
            Kube.connect(str(config), "c").server_version()
    said = found if found.endswith("a list") and key == "exec args" else f"{found}, not text"
    assert raised.value.message == f"the {key} of user 'u' in the kubeconfig {config} is {said}"
    assert "kc-part" not in raised.value.message + raised.value.hint
    assert "quotes" in raised.value.hint or "a list" in raised.value.hint
    assert api.heads == []  # nothing was sent


@pytest.mark.parametrize(("cluster", "key", "found"), [
    ("", "server", "a list"),
    ("    certificate-authority: true\n", "certificate-authority", "true (a boolean)"),
], ids=["server-list", "ca-bool"])
def test_a_cluster_value_of_the_wrong_type_is_refused(
        tmp_path: Path, cluster: str, key: str, found: str) -> None:
    config = tmp_path / "kubeconfig"
    server = "[https://127.0.0.1:9]" if key == "server" else "https://127.0.0.1:9"
    config.write_text(kubeconfig(server, cluster=cluster))
    with pytest.raises(RuntimeUnavailable) as raised:
        Kube.connect(str(config), "c")
    assert raised.value.message == (
        f"the {key} of cluster 'c' in the kubeconfig {config} is {found}, not text")


@pytest.mark.parametrize("written", ["'false'", '"true"', "1", "0", "[true]", "'no'"])
def test_an_insecure_flag_that_is_not_a_boolean_is_refused_before_anything_is_sent(
        tmp_path: Path, written: str) -> None:
    """kubectl refuses `insecure-skip-tls-verify: 'false'` (a string is not a bool); the
    kubernetes client reads any non-empty value as true and would switch the certificate check
    off, sending the credentials to whoever answers."""
    with hostile_api(silence, first_call=True) as api:
        config = tmp_path / "kubeconfig"
        config.write_text(kubeconfig(api.url, cluster=f"    insecure-skip-tls-verify: {written}\n",
                                     user="    token: kc-secret-token-of-the-test\n"))
        with pytest.raises(RuntimeUnavailable) as raised:
            Kube.connect(str(config), "c").server_version()
    assert raised.value.message.startswith(
        f"the insecure-skip-tls-verify of cluster 'c' in the kubeconfig {config} is ")
    assert raised.value.message.endswith(", not true or false")
    assert "without quotes" in raised.value.hint
    assert api.heads == []  # nothing was sent, so no credential either


EXEC = "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: p\n"


@pytest.mark.parametrize(("user", "said"), [
    (EXEC + '      args: [--ok, "--token=a\\0b"]\n',
     "the exec args[2] of user 'u' in the kubeconfig {config} holds a NUL character (U+0000), "
     "which no program can be given as an argument"),
    (EXEC + '      args: ["\\0"]\n',
     "the exec args[1] of user 'u' in the kubeconfig {config} holds a NUL character (U+0000), "
     "which no program can be given as an argument"),
    (EXEC + '      env: [{name: OK, value: fine}, {name: V, value: "x\\0y"}]\n',
     "the exec env entry 'V' of user 'u' in the kubeconfig {config} has a value holding a NUL "
     "character (U+0000), which no environment variable can hold"),
], ids=["second-arg", "arg-only-nul", "env-value"])
def test_a_nul_in_an_exec_argument_or_environment_value_is_named(
        tmp_path: Path, user: str, said: str) -> None:
    """The kubeconfig has the right shape: the entry that holds the NUL is named, and why."""
    with hostile_api(silence, first_call=True) as api:
        config = tmp_path / "kubeconfig"
        config.write_text(kubeconfig(api.url, user=user))
        with pytest.raises(RuntimeUnavailable) as raised:
            Kube.connect(str(config), "c").server_version()
    assert raised.value.message == said.format(config=config)
    assert "kubectl config view" in raised.value.hint
