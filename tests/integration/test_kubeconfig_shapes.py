"""A kubeconfig the sandbox cannot use is named with what is wrong with it: a number too long
to read, nesting deeper than any kubeconfig, a credential file on a kernel filesystem (whose
files look regular and may block for ever), an auth-provider kubectl no longer supports, an oidc
id-token that is not a JWT (kubectl refuses it; the client would silently send nothing)."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import pytest

from sandbox.errors import RuntimeUnavailable
from sandbox.runtimes.kube.client import Kube
from tests.conftest import TOKEN
from tests.hostile_apiserver import hostile_api, kubeconfig, silence


def refusal(config: Path) -> str:
    started = time.monotonic()
    with pytest.raises(RuntimeUnavailable) as caught:
        Kube.connect(str(config), "c")
    assert time.monotonic() - started < 5
    return str(caught.value)


@pytest.mark.parametrize(("extra", "said"), [
    ("preferences:\n  colors: " + "7" * 5001 + "\n",
     "holds a number of 5001 digits on line 16 (the most Python reads is 4300)"),
    ("preferences:\n  extensions: [{name: x, extension: {n: " + "1" * 4400 + "}}]\n",
     "holds a number of 4400 digits on line 16"),
    ("preferences:\n  x: " + "[" * 20000 + "]" * 20000 + "\n", "nested too deeply"),
    ("preferences:\n  x: " + "{a: " * 5000 + "1" + "}" * 5000 + "\n", "nested too deeply"),
], ids=["decimal-5001", "inside-extension", "deep-lists", "deep-maps"])
def test_a_kubeconfig_too_large_or_deep_to_read_says_so(tmp_path: Path, extra: str,
                                                        said: str) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text(kubeconfig("http://127.0.0.1:9") + extra)
    text = refusal(config)
    assert f"the kubeconfig {config}" in text and said in text, text
    assert "does not have the shape of a kubeconfig" not in text


@pytest.mark.parametrize("named", ["/proc/self/status", "/proc/self/../self/environ",
                                   "/sys/kernel/profiling"])
def test_a_credential_file_of_a_kernel_filesystem_is_refused(tmp_path: Path, named: str) -> None:
    if not Path(named).exists():
        pytest.skip(f"{named} does not exist here")
    config = tmp_path / "kubeconfig"
    config.write_text(kubeconfig("http://127.0.0.1:9", user=f"    tokenFile: {named}\n"))
    text = refusal(config)
    assert "is not a regular file (a file of the kernel's /" in text, text


def test_a_link_into_proc_is_refused_too(tmp_path: Path) -> None:
    (tmp_path / "token").symlink_to("/proc/self/status")
    config = tmp_path / "kubeconfig"
    config.write_text(kubeconfig("http://127.0.0.1:9", user="    tokenFile: token\n"))
    assert "a file of the kernel's /proc" in refusal(config)


@pytest.mark.parametrize("name", ["azure", "gcp"])
def test_an_auth_provider_kubectl_dropped_is_refused(tmp_path: Path, name: str) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text(kubeconfig("http://127.0.0.1:9", user=(
        f"    auth-provider:\n      name: {name}\n      config: {{access-token: at-test-Rf4Kd9Lq2"
        "Wz7, expires-on: '1'}\n")))
    text = refusal(config)
    assert f"uses the {name} auth-provider, which kubectl no longer supports" in text
    assert "at-test-Rf4Kd9Lq2Wz7" not in text


def jwt_part(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


HEADER = jwt_part({"alg": "RS256"})
LATER = jwt_part({"exp": int(time.time()) + 3600, "sub": "ada"})


def oidc(id_token: str | None) -> str:
    token = "" if id_token is None else f"        id-token: {json.dumps(id_token)}\n"
    return (f"    auth-provider:\n      name: oidc\n      config:\n{token}"
            "        idp-issuer-url: http://127.0.0.1:9\n        client-id: sandbox\n")


@pytest.mark.parametrize("id_token", [
    TOKEN, "ot-test-Rf4Kd9Lq2Wz7.c2ln", f"{HEADER}.{LATER}.c2ln.more",
    f"{HEADER}.{LATER}+/.c2ln", f"{HEADER}.bm90IEpTT04.c2ln", f"{HEADER}.{jwt_part([1])}.c2ln",
    f"{HEADER}.abcde.c2ln",
], ids=["the-provider-key", "two-parts", "four-parts", "payload-not-base64url",
        "payload-not-json", "payload-not-an-object", "payload-of-impossible-length"])
def test_an_oidc_id_token_that_is_not_a_jwt_is_refused(tmp_path: Path, id_token: str) -> None:
    """The kubernetes client sends no credentials for it, without a word, and the API server's
    401 then blames the credentials; kubectl says "ID Token is not a valid JWT"."""
    config = tmp_path / "kubeconfig"
    config.write_text(kubeconfig("http://127.0.0.1:9", user=oidc(id_token)))
    text = refusal(config)
    assert (f"the oidc id-token of user 'u' in the kubeconfig {config} is not a JWT") in text, text
    assert "ID Token is not a valid JWT" in text and "hint: " in text
    assert id_token not in text and "Rf4Kd9Lq2Wz7" not in text


@pytest.mark.parametrize("id_token", [None, ""], ids=["missing", "empty"])
def test_an_oidc_provider_without_an_id_token_is_refused(tmp_path: Path,
                                                         id_token: str | None) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text(kubeconfig("http://127.0.0.1:9", user=oidc(id_token)))
    text = refusal(config)
    assert f"the oidc auth-provider of user 'u' in the kubeconfig {config} holds no id-token" \
        in text, text
    assert "kubectl get namespaces" in text


def test_an_oidc_id_token_that_is_a_jwt_is_sent(tmp_path: Path) -> None:
    token = f"{HEADER}.{LATER}.c2ln-_"
    with hostile_api(silence) as api:
        config = tmp_path / "kubeconfig"
        config.write_text(kubeconfig(api.url, user=oidc(token)))
        Kube.connect(str(config), "c").server_version()
        heads = list(api.heads)
    assert f"authorization: bearer {token}".lower() in heads[0].lower()
