"""An API server that answers in a way urllib3 refuses is named as having answered (two
Content-Length headers that differ are not "the header provided was somehow invalid" nor "is the
cluster running?"), and a ``proxy-url`` that refuses the connection is named as the proxy, not as
the API server."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from sandbox.errors import SandboxError
from sandbox.runtimes.kube.client import Kube
from tests.conftest import TOKEN
from tests.hostile_apiserver import hostile_api, kubeconfig


def failure(config: Path) -> SandboxError:
    with pytest.raises(SandboxError) as raised:
        Kube.connect(str(config), "c").server_version()
    return raised.value


def lengths(*values: int) -> object:
    def behaviour(conn: socket.socket, path: str) -> None:
        heads = "".join(f"Content-Length: {value}\r\n" for value in values)
        conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{heads}\r\n"
                     .encode() + b'{"gitVersion": "v1.34.0"}')
    return behaviour


@pytest.mark.parametrize("values", [(2, 9), (25, 26, 25)], ids=["two", "three"])
def test_content_length_headers_that_differ_are_named_as_an_answer(
        tmp_path: Path, values: tuple[int, ...]) -> None:
    with hostile_api(lengths(*values), first_call=True) as api:
        config = tmp_path / "kubeconfig"
        config.write_text(kubeconfig(api.url))
        error = failure(config)
    assert error.message == (f"the Kubernetes API at {api.url} answered GET /version with "
                             "Content-Length headers that differ"), error.message
    assert "somehow" not in str(error) and "is the cluster running" not in error.hint
    assert "a Kubernetes API server" in error.hint


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("userinfo", ["", f"user:{TOKEN}@"], ids=["plain", "with-password"])
def test_a_refusing_proxy_is_named_as_the_proxy(tmp_path: Path, userinfo: str) -> None:
    port = closed_port()
    with hostile_api(lambda conn, path: None, first_call=True) as api:
        config = tmp_path / "kubeconfig"
        config.write_text(kubeconfig(api.url, cluster=(
            f"    proxy-url: http://{userinfo}127.0.0.1:{port}\n")))
        error = failure(config)
    assert error.message == (f"cannot reach the proxy http://127.0.0.1:{port} (the proxy-url "
                             f"of this context's cluster) in front of the Kubernetes API at "
                             f"{api.url} (connection refused)"), error.message
    assert "proxy-url" in error.hint and TOKEN[8:-4] not in str(error)
