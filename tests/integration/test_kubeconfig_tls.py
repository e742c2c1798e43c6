"""How a cluster entry's TLS settings are taken: `insecure-skip-tls-verify: true` is said once in
the sandbox's own words (never urllib3's InsecureRequestWarning, once per request); a certificate
authority together with it is refused as kubectl refuses it; a server without a scheme is read
as client-go reads it (https when the entry sets up TLS, else http), without urllib3's
FutureWarning."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from sandbox.errors import RuntimeUnavailable
from sandbox.runtimes.kube.client import Kube
from tests.helpers import run_cli
from tests.hostile_apiserver import hostile_api, kubeconfig, status_for_everything
from tests.integration.test_docker_plain_words import self_signed, tls_listener


def status(env: dict[str, str], config: Path) -> str:
    result = run_cli("status", "--runtime", "cluster", "--context", "c",
                     env={**env, "KUBECONFIG": str(config)}, timeout=60)
    return result.stderr


def test_skipping_tls_verification_is_said_once_in_the_sandboxs_words(
        cli_env: dict[str, str], tmp_path: Path) -> None:
    server = self_signed(tmp_path / "server", "server")
    config = tmp_path / "kubeconfig"
    with tls_listener(server) as port:
        config.write_text(kubeconfig(f"https://127.0.0.1:{port}",
                                     cluster="    insecure-skip-tls-verify: true\n"))
        said = status(cli_env, config)
    assert "Warning" not in said and "warnings.warn" not in said, said
    line = (f"agw-sandbox: the kubeconfig {config} skips TLS verification for cluster 'c' "
            "(insecure-skip-tls-verify): the API server's certificate is not checked")
    assert said.count(line) == 1, said


@pytest.mark.parametrize("ca", ["certificate-authority", "certificate-authority-data"])
def test_a_certificate_authority_with_insecure_skip_tls_verify_is_refused(
        tmp_path: Path, ca: str) -> None:
    certificate, _ = self_signed(tmp_path, "ca")
    value = (str(certificate) if ca == "certificate-authority"
             else base64.b64encode(certificate.read_bytes()).decode())
    config = tmp_path / "kubeconfig"
    config.write_text(kubeconfig("https://127.0.0.1:9", cluster=(
        f"    {ca}: {value}\n    insecure-skip-tls-verify: true\n")))
    with pytest.raises(RuntimeUnavailable) as raised:
        Kube.connect(str(config), "c")
    assert raised.value.message == (
        f"cluster 'c' in the kubeconfig {config} sets both {ca} and insecure-skip-tls-verify, "
        "which kubectl refuses (\"specifying a root certificates file with the insecure flag "
        "is not allowed\")")
    assert "remove one" in raised.value.hint


def test_a_server_without_a_scheme_is_read_as_kubectl_reads_it_silently(
        cli_env: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "kubeconfig"
    with hostile_api(status_for_everything) as api:
        config.write_text(kubeconfig(api.url.removeprefix("http://")))
        said = status(cli_env, config)
        assert api.heads, said  # it was asked, over http as kubectl would
    assert "Warning" not in said and "scheme" not in said, said
    assert f"the Kubernetes API at {api.url} answered GET" in said, said
