"""The in-cluster mock provider runs in a namespace that enforces Pod Security "restricted".

``restricted_violations`` plays pod-security-admission's checks for the restricted level at
"latest" (k8s.io/pod-security-admission/policy/check_*.go: the baseline checks plus
restrictedVolumes, allowPrivilegeEscalation, runAsNonRoot, runAsUser, seccompProfile_restricted
and capabilities_restricted), with their forbidden reasons, so a violation reads as the API
server would word it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from sandbox.runtimes.kube.mock_deployment import mock_provider_manifests, mock_sources
from tests.conftest import TOKEN

ALLOWED_VOLUMES = ("configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image",
                   "persistentVolumeClaim", "projected", "secret")
SAFE_SYSCTLS = ("kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range",
                "net.ipv4.ip_unprivileged_port_start", "net.ipv4.tcp_syncookies",
                "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
                "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
                "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes",
                "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem")
SECURE_SECCOMP = ("RuntimeDefault", "Localhost")


def restricted_violations(pod: dict[str, Any]) -> list[str]:
    """The forbidden reasons pod-security-admission gives this pod spec at restricted:latest."""
    pod_context = pod.get("securityContext") or {}
    containers = [*pod.get("initContainers", []), *pod.get("containers", [])]

    def context(container: dict[str, Any]) -> dict[str, Any]:
        return container.get("securityContext") or {}

    reasons = []
    if any(pod.get(field) for field in ("hostNetwork", "hostPID", "hostIPC")):
        reasons.append("host namespaces")
    if any(context(c).get("privileged") for c in containers):
        reasons.append("privileged")
    if any(port.get("hostPort") for c in containers for port in c.get("ports", [])):
        reasons.append("hostPort")
    if any(context(c).get("procMount", "Default") != "Default" for c in containers):
        reasons.append("procMount")
    if any(s.get("name") not in SAFE_SYSCTLS for s in pod_context.get("sysctls", [])):
        reasons.append("forbidden sysctls")
    if any(set(volume) - {"name"} - set(ALLOWED_VOLUMES) for volume in pod.get("volumes", [])):
        reasons.append("restricted volume types")
    if any(context(c).get("allowPrivilegeEscalation") is not False for c in containers):
        reasons.append("allowPrivilegeEscalation != false")
    if any(context(c).get("runAsNonRoot") is False for c in containers) or \
            pod_context.get("runAsNonRoot") is False or \
            (pod_context.get("runAsNonRoot") is not True
             and any(context(c).get("runAsNonRoot") is not True for c in containers)):
        reasons.append("runAsNonRoot != true")
    if pod_context.get("runAsUser") == 0 or any(context(c).get("runAsUser") == 0
                                                 for c in containers):
        reasons.append("runAsUser=0")
    pod_seccomp = (pod_context.get("seccompProfile") or {}).get("type")
    if any((context(c).get("seccompProfile") or {}).get("type", pod_seccomp)
           not in SECURE_SECCOMP for c in containers):
        reasons.append("seccompProfile")
    capabilities = [context(c).get("capabilities") or {} for c in containers]
    if any("ALL" not in (caps.get("drop") or []) or set(caps.get("add") or [])
           - {"NET_BIND_SERVICE"} for caps in capabilities):
        reasons.append("unrestricted capabilities")
    return reasons


def mock_pod() -> dict[str, Any]:
    deployment = next(doc for doc in mock_provider_manifests(TOKEN)
                      if doc["kind"] == "Deployment")
    return dict(deployment["spec"]["template"]["spec"])


def test_the_mock_provider_pod_meets_pod_security_restricted() -> None:
    assert restricted_violations(mock_pod()) == []


def test_it_runs_as_a_numeric_user_the_python_image_has_and_reads_its_code_read_only() -> None:
    """The stock python image runs as root unless told otherwise: a numeric user lets the
    kubelet check runAsNonRoot without reading /etc/passwd; 65534 is Debian's `nobody`, which
    the image's base system has. The code comes from a ConfigMap, mounted read-only, so Python
    is told not to try writing bytecode beside it."""
    pod = mock_pod()
    [container] = pod["containers"]
    user = (container.get("securityContext") or {}).get("runAsUser",
                                                        pod["securityContext"].get("runAsUser"))
    assert user == 65534
    assert [m.get("readOnly") for m in container["volumeMounts"]] == [True]
    assert {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"} in container["env"]


def test_the_checks_catch_what_the_api_server_refuses() -> None:
    """The checker itself, on a pod as the stock image would run it: the four reasons of a real
    refusal (see tests/integration/test_kube.py PSA_REFUSAL)."""
    pod = {"containers": [{"name": "mock-provider", "image": "python:3.12-slim"}],
           "volumes": [{"name": "code", "configMap": {"name": "mock-provider"}},
                       {"name": "host", "hostPath": {"path": "/"}}]}
    assert restricted_violations(pod) == [
        "restricted volume types", "allowPrivilegeEscalation != false", "runAsNonRoot != true",
        "seccompProfile", "unrestricted capabilities"]


@pytest.mark.skipif(os.geteuid() != 0 or not Path("/usr/bin/python3").is_file(),
                    reason="needs root (to drop to the pod's user) and Debian's python3")
def test_the_mock_runs_as_that_user_from_a_read_only_copy_of_its_code(tmp_path: Path) -> None:
    """As the pod runs it: user 65534, the ConfigMap's files in a read-only /app/mock, a Debian
    python (the image's base), nothing written beside the code."""
    pod = mock_pod()
    [container] = pod["containers"]
    app = Path(tempfile.mkdtemp(prefix="agw-mock-app-"))
    try:
        app.chmod(0o755)
        code = app / "mock"
        code.mkdir()
        for name, source in mock_sources().items():
            (code / name).write_text(source)
            (code / name).chmod(0o444)
        code.chmod(0o555)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
        command = ["/usr/bin/python3", *container["command"][1:]]
        command[command.index("0.0.0.0")] = "127.0.0.1"
        command[command.index("8000")] = str(port)
        server = subprocess.Popen(command, cwd=app, env={**env, "MOCK_PROVIDER_KEYS": TOKEN},
                                  user=pod["securityContext"]["runAsUser"],
                                  group=pod["securityContext"]["runAsGroup"], extra_groups=[],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            deadline = time.monotonic() + 15
            while True:
                try:
                    with direct.open(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                        assert answer.status == 200
                        break
                except OSError:
                    assert server.poll() is None, server.stderr.read()  # type: ignore[union-attr]
                    assert time.monotonic() < deadline, "the mock did not answer"
                    time.sleep(0.1)
        finally:
            server.terminate()
            server.wait(timeout=10)
        assert sorted(p.name for p in code.iterdir()) == sorted(mock_sources())
    finally:
        shutil.rmtree(app, ignore_errors=True)
