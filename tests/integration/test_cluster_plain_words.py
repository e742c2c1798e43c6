"""A cluster that cannot be reached, or a kubeconfig value the client cannot use, is said in plain
words with what to change: never a Python class (SSLError, LocationParseError...), never "does
not have the shape of a kubeconfig" for a kubeconfig that has it."""

from __future__ import annotations

import base64
import json
import socket
from pathlib import Path

import pytest

from sandbox.errors import SandboxError
from sandbox.runtimes.kube.client import Kube
from tests.hostile_apiserver import answer, hostile_api, kubeconfig
from tests.integration.test_docker_plain_words import self_signed, tls_listener

CLASS_NAMES = ("Error", "SSL", "Location", "URLScheme", "shape of a kubeconfig")


def failure(config: Path) -> SandboxError:
    with pytest.raises(SandboxError) as raised:
        Kube.connect(str(config), "c").server_version()
    said = f"{raised.value.message}\n{raised.value.hint}"
    assert not [name for name in CLASS_NAMES if name in said], said
    return raised.value


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.mark.parametrize("ca", ["none", "another"])
def test_a_server_certificate_that_is_not_trusted_names_what_it_was_checked_against(
        tmp_path: Path, ca: str) -> None:
    server = self_signed(tmp_path / "server", "server")
    other = self_signed(tmp_path / "other", "other")
    extra = f"    certificate-authority-data: {b64(other[0].read_bytes())}\n" if ca != "none" \
        else ""
    config = tmp_path / "kubeconfig"
    with tls_listener(server) as port:
        config.write_text(kubeconfig(f"https://127.0.0.1:{port}", cluster=extra))
        error = failure(config)
    assert error.message.startswith(
        f"the API server at https://127.0.0.1:{port} presented a TLS certificate that is not "
        "trusted (self-signed certificate"), error.message
    if ca == "none":
        assert ("checked against the certificate authorities this machine trusts (cluster 'c' "
                f"in the kubeconfig {config} names none)") in error.message
    else:
        assert (f"checked against the certificate-authority-data of cluster 'c' in the "
                f"kubeconfig {config}") in error.message
    assert "certificate-authority" in error.hint


@pytest.mark.parametrize(("server", "problem"), [
    ("https://127.0.0.1:99999", "has the port 99999, out of range (1-65535)"),
    ("https://127.0.0.1:0", "has the port 0, out of range (1-65535)"),
    ("https://127.0.0.1:64x3", "has the port '64x3', which is not a number"),
    ("'http://'", "has no host"),
    ("unix:///var/run/docker.sock", "has the scheme 'unix'; the client speaks https or http"),
    ("ftp://127.0.0.1", "has the scheme 'ftp'; the client speaks https or http"),
    ("'https://[::1'", "cannot be read as a URL (invalid IPv6 URL)"),
], ids=["port-99999", "port-0", "port-letters", "no-host", "unix", "ftp", "open-bracket"])
def test_a_server_address_the_client_cannot_use_is_named(tmp_path: Path, server: str,
                                                         problem: str) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text(kubeconfig(server))
    error = failure(config)
    shown = server.strip("'")
    assert error.message == (
        f"the server {shown} of cluster 'c' in the kubeconfig {config} {problem}"), error.message
    assert "https://HOST:PORT" in error.hint


@pytest.mark.parametrize(("entry", "field", "value", "problem"), [
    ("cluster", "certificate-authority-data", "'!!!not base64'", "is not base64"),
    ("cluster", "certificate-authority-data", "Zm9v", "is not a PEM certificate once decoded"),
    ("user", "client-key-data", "'ab$cd'", "is not base64"),
    ("user", "client-certificate-data", b64(b"garbage"), "is not a PEM certificate once decoded"),
], ids=["ca-not-base64", "ca-not-pem", "key-not-base64", "cert-not-pem"])
def test_certificate_data_that_is_not_base64_pem_is_named(
        tmp_path: Path, entry: str, field: str, value: str, problem: str) -> None:
    config = tmp_path / "kubeconfig"
    line = f"    {field}: {value}\n"
    if entry == "cluster":
        config.write_text(kubeconfig("https://127.0.0.1:9", cluster=line))
    else:
        pair = ("client-key-data" if field == "client-certificate-data"
                else "client-certificate-data")
        pem = b64(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
        config.write_text(kubeconfig("https://127.0.0.1:9", user=line + f"    {pair}: {pem}\n"))
    error = failure(config)
    name = "cluster 'c'" if entry == "cluster" else "user 'u'"
    assert error.message.startswith(
        f"the {field} of {name} in the kubeconfig {config} {problem}"), error.message
    assert "base64 -w0" in error.hint


@pytest.mark.parametrize(("env", "problem"), [
    ("[{name: A=B, value: x}]", "has an env entry named 'A=B': a name cannot hold '='"),
    ("['A=B']", "has an env entry that is not a name and a value"),
    ("[{value: x}]", "has an env entry that is not a name and a value"),
], ids=["equals-in-name", "a-string", "no-name"])
def test_an_exec_env_entry_the_plugin_cannot_be_given_is_named(tmp_path: Path, env: str,
                                                               problem: str) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text(kubeconfig("http://127.0.0.1:9", user=(
        "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"
        f"      command: /bin/true\n      interactiveMode: Never\n      env: {env}\n")))
    error = failure(config)
    assert error.message == (
        f"the exec entry of user 'u' in the kubeconfig {config} {problem}"), error.message
    assert "- name: NAME" in error.hint


def test_a_refused_connection_says_so(tmp_path: Path) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text(kubeconfig("http://127.0.0.1:9"))
    error = failure(config)
    assert error.message == "cannot reach the Kubernetes API at http://127.0.0.1:9 (connection " \
                            "refused)"
    assert "is the cluster running?" in error.hint


@pytest.mark.parametrize("code", [400, 409, 422])
def test_a_refused_read_is_not_blamed_on_a_manifest(tmp_path: Path, code: int) -> None:
    def refuse(conn: socket.socket, path: str) -> None:
        answer(conn, json.dumps({"kind": "Status", "status": "Failure", "code": code,
                                 "message": "invalid", "details": {"causes": [
                                     {"message": "c0", "field": "x"}] * 50}}).encode(),
               f"{code} Refused", headers="Content-Type: application/json\r\nConnection: "
                                         "close\r\n")

    with hostile_api(refuse, first_call=True) as api:
        config = tmp_path / "kubeconfig"
        config.write_text(kubeconfig(api.url))
        error = failure(config)
    assert error.message == f"the API server refused to read the server version: invalid " \
                            f"(HTTP {code})", error.message
    assert "fix the manifest" not in error.hint and "apply again" not in error.hint, error.hint


def test_a_certificate_for_another_address_says_so(tmp_path: Path) -> None:
    """Signed by the CA the kubeconfig names, but not for the address it names (the openssl
    certificate holds a common name only, which TLS clients no longer read)."""
    server = self_signed(tmp_path / "server", "server")
    config = tmp_path / "kubeconfig"
    with tls_listener(server) as port:
        config.write_text(kubeconfig(f"https://127.0.0.1:{port}", cluster=(
            f"    certificate-authority-data: {b64(server[0].read_bytes())}\n")))
        error = failure(config)
    assert "is not valid for '127.0.0.1'" in error.message, error.message
    assert "address" in error.hint and "certificate holds" in error.hint, error.hint


@pytest.mark.parametrize("field", ["client-certificate", "client-key", "certificate-authority"])
def test_a_certificate_file_that_is_not_pem_is_named(tmp_path: Path, field: str) -> None:
    (tmp_path / "named.pem").write_text("not a certificate\n")
    config = tmp_path / "kubeconfig"
    line = f"    {field}: named.pem\n"
    if field == "certificate-authority":
        config.write_text(kubeconfig("https://127.0.0.1:9", cluster=line))
    else:
        config.write_text(kubeconfig("https://127.0.0.1:9", user=line))
    error = failure(config)
    name = "cluster 'c'" if field == "certificate-authority" else "user 'u'"
    assert error.message.startswith(
        f"the {field} {tmp_path / 'named.pem'} of {name} in the kubeconfig {config} is not a "
        "PEM"), error.message


def test_an_https_server_that_speaks_plain_http_says_tls_failed(tmp_path: Path) -> None:
    config = tmp_path / "kubeconfig"
    with tls_listener(None) as port:
        config.write_text(kubeconfig(f"https://127.0.0.1:{port}"))
        error = failure(config)
    assert error.message == (f"cannot reach the Kubernetes API at https://127.0.0.1:{port} "
                             "(TLS failed: wrong version number)"), error.message
    assert "certificate-authority, client-certificate and client-key" in error.hint


@pytest.mark.parametrize(("server", "problem"), [
    ('"http://127.0.0.1:9\\n/x"', "a line break (U+000A) at position 19"),
    ('"http://127.0.\\t0.1:9"', "a tab (U+0009) at position 14"),
    ('"https://127.0.0.1:9/\\r"', "the control character U+000D (CR) at position 21"),
    ('"127.0.0.1:9\\n"', "a line break (U+000A) at position 12"),
], ids=["line-break", "tab-in-host", "carriage-return", "no-scheme-line-break"])
def test_a_server_address_with_a_hidden_character_is_named_where_it_is(
        tmp_path: Path, server: str, problem: str) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text(kubeconfig(server))
    error = failure(config)
    assert error.message.startswith("the server "), error.message
    assert error.message.endswith(
        f" of cluster 'c' in the kubeconfig {config} holds {problem}"), error.message
    assert "https://HOST:PORT" in error.hint


def test_an_answer_with_a_huge_header_says_so(tmp_path: Path) -> None:
    def huge_header(conn: socket.socket, path: str) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 300_000 + b"\r\n\r\n{}")

    with hostile_api(huge_header, first_call=True) as api:
        config = tmp_path / "kubeconfig"
        config.write_text(kubeconfig(api.url))
        error = failure(config)
    assert error.message == (f"the Kubernetes API at {api.url} answered GET /version with a "
                             "header line longer than 64 KiB"), error.message
    assert "a Kubernetes API server" in error.hint
    assert "raised when" not in error.message


@pytest.mark.parametrize("first_call", [True, False], ids=["on-version", "on-a-read"])
def test_a_redirect_is_named_with_where_it_leads_not_retried(tmp_path: Path,
                                                              first_call: bool) -> None:
    def redirect(conn: socket.socket, path: str) -> None:
        conn.sendall(b"HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:1/elsewhere"
                     b"\r\nContent-Length: 0\r\n\r\n")

    with hostile_api(redirect, first_call=first_call) as api:
        config = tmp_path / "kubeconfig"
        config.write_text(kubeconfig(api.url))
        with pytest.raises(SandboxError) as raised:
            kube = Kube.connect(str(config), "c")
            kube.server_version()
            kube.get("Deployment", "kgateway-system", "kgateway")
    asked = "GET /version" if first_call else \
        "GET /apis/apps/v1/namespaces/kgateway-system/deployments/kgateway"
    assert raised.value.message == (
        f"the Kubernetes API at {api.url} answered {asked} with a redirect to "
        "http://127.0.0.1:1/elsewhere (HTTP 307), which the sandbox does not follow: it would "
        "send this context's credentials to another address"), raised.value.message
    assert "set the server" in raised.value.hint and "retry" not in raised.value.hint


def test_a_server_address_that_answers_404_to_version_asks_about_the_path(
        tmp_path: Path) -> None:
    def not_found(conn: socket.socket, path: str) -> None:
        answer(conn, b"404 page not found", status="404 Not Found")

    with hostile_api(not_found, first_call=True) as api:
        config = tmp_path / "kubeconfig"
        config.write_text(kubeconfig(f"{api.url}/k8s/clusters/c-1"))
        error = failure(config)
        assert api.heads[0].startswith("GET /k8s/clusters/c-1/version ")
    assert error.message == (f"the address {api.url}/k8s/clusters/c-1 answers 404 (not found) "
                             "to /version, which every Kubernetes API server answers")
    assert "is the path right?" in error.hint and "CRDs" not in error.hint


@pytest.mark.parametrize(("server", "problem"), [
    ("http://127.0.0.1:9/?a=b", "has a query (?a=b)"),
    ("'http://127.0.0.1:9/#frag'", "has a fragment (#frag)"),
    ("'https://127.0.0.1:9?'", "has a query (?)"),
], ids=["query", "fragment", "bare-question-mark"])
def test_a_server_address_with_a_query_or_fragment_is_refused(
        tmp_path: Path, server: str, problem: str) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text(kubeconfig(server))
    error = failure(config)
    assert error.message == (f"the server {server.strip(chr(39))} of cluster 'c' in the "
                             f"kubeconfig {config} {problem}"), error.message
