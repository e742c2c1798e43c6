"""Preflight: can this machine run the real (kind) runtime, and if not, what to install."""

from __future__ import annotations

import asyncio
import os
import re

from sandbox import stdio
from sandbox.errors import SandboxError
from sandbox.proc import INSTALL_HINTS, run
from sandbox.records import record
from sandbox.runtimes.kube.containers import KIND_ON_PODMAN, probe_docker
from sandbox.runtimes.kube.docker_probe import DockerInfo
from sandbox.runtimes.ports import port_is_free

MIN_MEMORY = 4 * 1024**3
VERSION_COMMANDS = {
    "kind": ["kind", "version"],
    "helm": ["helm", "version", "--short"],
    "kubectl": ["kubectl", "version", "--client"],
}


@record
class Check:
    name: str
    ok: bool
    detail: str
    hint: str = ""


def check_docker() -> Check:
    try:
        info = probe_docker()
    except SandboxError as exc:
        return Check("docker", False, exc.message, exc.hint)
    engine = "Podman" if info.podman else "Docker"
    detail = (f"{engine} {info.version} (API {info.api_version}), {info.cpus} CPUs, "
              f"{info.memory_bytes / 1024**3:.1f} GiB, {info.operating_system}; "
              f"at {info.endpoint}")
    if info.memory_bytes and info.memory_bytes < MIN_MEMORY:
        return Check("docker", False, detail, f"give {engine} at least 4 GiB of memory for kind "
                     "and kgateway")
    return Check("docker", True, detail, podman_note(info))


def podman_note(info: DockerInfo) -> str:
    """kind drives Docker unless told otherwise; on podman's API it needs the provider set."""
    if not info.podman or os.environ.get("KIND_EXPERIMENTAL_PROVIDER") == "podman":
        return ""
    return f"this is podman's Docker-compatible API: kind runs on it with {KIND_ON_PODMAN}"


async def check_tool(name: str) -> Check:
    try:
        result = await run(VERSION_COMMANDS[name], timeout=15, check=False)
    except SandboxError as exc:
        return Check(name, False, exc.message, exc.hint)
    output = (result.stdout or result.stderr).strip()
    if result.returncode != 0:
        return Check(name, False, f"`{' '.join(result.argv)}` failed: {output[:120]}",
                     INSTALL_HINTS[name])
    match = re.search(r"v?\d+\.\d+\.\d+", output)
    return Check(name, True, match.group(0) if match else output.splitlines()[0])


def check_port(port: int) -> Check:
    if port == 0:
        return Check("port", True, "0: any free port, picked when the gateway is started")
    if port_is_free("127.0.0.1", port):
        return Check("port", True, f"{port} is free on 127.0.0.1")
    return Check("port", False, f"{port} is already in use on 127.0.0.1",
                 "stop what holds it or pass --port with a free port")


async def check_cluster(cluster_name: str) -> Check:
    """Whether the sandbox's kind cluster already exists (informational: up creates it)."""
    from sandbox.runtimes.kube.cluster import kind_clusters

    try:
        clusters = await kind_clusters()
    except SandboxError as exc:
        return Check("cluster", False, f"cannot list kind clusters: {exc.message}", exc.hint)
    if cluster_name in clusters:
        return Check("cluster", True, f"kind cluster {cluster_name} exists; `up` reuses it")
    return Check("cluster", True, f"no kind cluster {cluster_name} yet; `up` creates it")


async def diagnose(port: int, cluster_name: str = "agw-sandbox") -> list[Check]:
    docker_check = stdio.in_thread(check_docker)
    tools = [check_tool(name) for name in VERSION_COMMANDS]
    results = list(await asyncio.gather(docker_check, *tools))
    if next(c for c in results if c.name == "kind").ok:
        results.append(await check_cluster(cluster_name))
    return [*results, check_port(port)]
