"""Which kubeconfig files the sandbox reads: regular files of a kubeconfig's size, nothing else.

Opening a FIFO blocks until someone writes to it, a device may never end, and parsing a file of
hundreds of megabytes takes minutes: each is refused, by name, before anything opens it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

from sandbox.errors import RuntimeUnavailable

# Real kubeconfigs are kilobytes; a few hundred contexts with embedded certificates stay far
# below this. 10 MiB took the kubernetes client seconds to parse, 100 MiB minutes.
MAX_KUBECONFIG_BYTES = 4 * 1024 * 1024
KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a device"),
         (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket"))


def check_kubeconfig(explicit: str | None, env: Mapping[str, str] | None = None) -> None:
    """Refuse the kubeconfig files that the kubernetes client would read (the one given, else
    each file of $KUBECONFIG that exists, else ~/.kube/config) if one is not a regular file of a
    kubeconfig's size."""
    env = os.environ if env is None else env
    if explicit:
        paths, origin = [explicit], ""
    elif env.get("KUBECONFIG"):
        paths, origin = [p for p in env["KUBECONFIG"].split(os.pathsep) if p], " (from KUBECONFIG)"
    else:
        paths, origin = ["~/.kube/config"], ""
    for path in paths:
        problem = file_problem(Path(path).expanduser())
        if problem is not None:
            raise RuntimeUnavailable(
                f"the kubeconfig {path}{origin} {problem}",
                "point KUBECONFIG at your kubeconfig file (a regular file; a command's output, "
                "`<(…)`, goes into a file first)")


def file_problem(path: Path) -> str | None:
    """Why ``path`` must not be read as a kubeconfig (None: it may, or it does not exist)."""
    try:
        info = path.stat()  # never blocks, unlike opening it
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    for test, name in KINDS:
        if test(info.st_mode):
            return f"is not a regular file ({name})"
    if info.st_size > MAX_KUBECONFIG_BYTES:
        return (f"is {info.st_size / 1024**2:.1f} MiB, far more than a kubeconfig holds (the "
                f"sandbox reads at most {MAX_KUBECONFIG_BYTES // 1024**2} MiB)")
    return None
