"""The one way agw-sandbox runs a subprocess: argument lists, no shell, our own errors."""

from __future__ import annotations

import asyncio
import os
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from sandbox.errors import CommandFailed, RuntimeUnavailable

INSTALL_HINTS = {
    "kind": "install kind v0.30.0: https://kind.sigs.k8s.io/docs/user/quick-start/#installation",
    "helm": "install Helm 3.12 or newer: https://helm.sh/docs/intro/install/",
    "kubectl": "install kubectl: https://kubernetes.io/docs/tasks/tools/",
    "docker": "install Docker: https://docs.docker.com/get-docker/",
}


@dataclass(frozen=True)
class Completed:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


Echo = Callable[[str], None]


async def run(argv: Sequence[str], *, timeout: float = 60.0, check: bool = True,
              env: Mapping[str, str] | None = None, stdin: bytes | None = None,
              echo: Echo | None = None) -> Completed:
    """Run ``argv``; raise :class:`CommandFailed` on a non-zero exit when ``check``.

    ``echo`` receives the command line first, as a user could type it.
    """
    if echo is not None:
        echo("$ " + shlex.join(argv))
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env={**os.environ, **env} if env else None,
        )
    except FileNotFoundError as exc:
        raise RuntimeUnavailable(f"`{argv[0]}` is not installed (not found on PATH)",
                                 INSTALL_HINTS.get(argv[0], f"install {argv[0]}")) from exc
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(stdin), timeout)
    except (TimeoutError, asyncio.CancelledError):
        process.kill()
        await process.wait()
        raise
    result = Completed(tuple(argv), process.returncode or 0, stdout.decode(errors="replace"),
                       stderr.decode(errors="replace"))
    if check and result.returncode != 0:
        raise CommandFailed(argv, result.returncode, result.stderr or result.stdout)
    return result


async def start_piped(argv: Sequence[str], env: Mapping[str, str]) -> asyncio.subprocess.Process:
    """Start ``argv`` with piped standard streams, in a session (process group) of its own.

    Its own group lets the caller stop it together with everything it started, and keeps a
    Ctrl+C meant for the caller away from it. ``env`` is the child's whole environment.
    """
    try:
        return await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=dict(env), start_new_session=True)
    except FileNotFoundError as exc:
        raise RuntimeUnavailable(f"`{argv[0]}` is not installed (not found on PATH)",
                                 INSTALL_HINTS.get(argv[0], f"install {argv[0]}")) from exc
