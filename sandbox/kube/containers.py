"""Talking to the Docker daemon through the docker SDK (imported here only, and lazily)."""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.errors import RuntimeUnavailable

DOCKER_HINT = ("start Docker (Docker Desktop, or `sudo systemctl start docker`) and check that "
               "`docker info` works; or use the offline simulation with --runtime sim")


@dataclass(frozen=True)
class DockerInfo:
    version: str
    api_version: str
    cpus: int
    memory_bytes: int
    operating_system: str


def probe_docker(base_url: str | None = None, timeout: float = 3.0) -> DockerInfo:
    """Ask the daemon who it is; raise :class:`RuntimeUnavailable` saying why it can't be used."""
    import docker  # deferred: ~100 ms of imports that the simulated path never needs
    from docker.errors import DockerException

    try:
        client = (docker.DockerClient(base_url=base_url, timeout=int(timeout)) if base_url
                  else docker.from_env(timeout=int(timeout)))
    except DockerException as exc:
        raise RuntimeUnavailable(f"the Docker daemon is not reachable ({_short(exc)})",
                                 DOCKER_HINT) from exc
    try:
        client.ping()
        version = client.version()
        info = client.info()
    except (DockerException, OSError) as exc:
        raise RuntimeUnavailable(f"the Docker daemon is not answering ({_short(exc)})",
                                 DOCKER_HINT) from exc
    finally:
        client.close()
    return DockerInfo(
        version=str(version.get("Version", "?")),
        api_version=str(version.get("ApiVersion", "?")),
        cpus=int(info.get("NCPU") or 0),
        memory_bytes=int(info.get("MemTotal") or 0),
        operating_system=str(info.get("OperatingSystem", "?")),
    )


KNOWN_CAUSES = (
    ("No such file or directory", "no Docker socket found"),
    ("Connection refused", "connection refused"),
    ("Permission denied", "permission denied on the Docker socket; add your user to the "
                          "'docker' group"),
    ("timed out", "timed out"),
    ("Read timed out", "timed out"),
)


def _short(exc: Exception) -> str:
    text = str(exc).strip()
    for needle, cause in KNOWN_CAUSES:
        if needle in text:
            return cause
    text = text.splitlines()[0] if text else type(exc).__name__
    return text if len(text) < 120 else text[:117] + "…"
