"""The Go toolchain as the tier uses it: find it, run it, and explain what a failure means."""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

from . import processes
from .errors import TierError

GO_HINT = ("install Go 1.26 or newer (https://go.dev/dl/) and run tools/upstream-tier build; "
           "the upstream tier is optional: nothing else in agw-sandbox needs Go")
_REFUSED = re.compile(r"(\S+?)@(\S+?): (?:reading|verifying) \S+: (?:403|404|410)[^\n]*"
                      r"(?:\n\s*server response: ([^\n]*))?")


def go_binary() -> str:
    """The go command on PATH, or an error saying how to get it."""
    found = shutil.which("go")
    if found is None:
        raise TierError("go", "the go command is not on PATH", GO_HINT)
    return found


@functools.cache
def version() -> str:
    """The toolchain's version, e.g. go1.26.8."""
    return go(["env", "GOVERSION"], stage="go").stdout.strip()


def modcache() -> Path:
    """GOMODCACHE as go reports it (honours the environment)."""
    return Path(go(["env", "GOMODCACHE"], stage="go").stdout.strip())


def download_dir(cache: Path, module: str) -> Path:
    """Where a module's .info/.mod/.zip files live in a module cache (uppercase is escaped)."""
    escaped = "".join(f"!{ch.lower()}" if ch.isupper() else ch for ch in module)
    return cache / "cache" / "download" / escaped / "@v"


def environment() -> dict[str, str]:
    """The caller's environment plus what every tier build needs: static, no workspace."""
    env = dict(os.environ)
    env.update({"CGO_ENABLED": "0", "GOWORK": "off"})
    return env


def go(args: list[str], *, cwd: Path | None = None, stage: str) -> processes.Completed:
    """Run `go args…`; a failure becomes a TierError naming a refused module when there is one."""
    done = processes.run([go_binary(), *args], cwd=cwd, env=environment())
    if done.returncode != 0:
        raise explain(done, stage)
    return done


def explain(done: processes.Completed, stage: str) -> TierError:
    """Turn a failed go command into a message that names what went wrong."""
    refused = refused_modules(done.stderr)
    if refused:
        return TierError(stage, "the Go module proxy refuses " + ", ".join(refused),
                         "the tier cannot be built from modules while that version is refused")
    if "dial tcp" in done.stderr or "no such host" in done.stderr:
        return TierError(stage, "the Go module proxy is unreachable:\n" + _tail(done.stderr),
                         f"check GOPROXY ({os.environ.get('GOPROXY', 'default')}) and the network")
    return TierError(stage, f"{' '.join(done.argv[1:])} failed:\n" + _tail(done.stderr))


def refused_modules(stderr: str) -> list[str]:
    """module@version (and the proxy's words) for every download the proxy refused."""
    found = []
    for module, ver, answer in _REFUSED.findall(stderr):
        item = f"{module}@{ver}" + (f' ("{answer.strip()}")' if answer else "")
        if item not in found:
            found.append(item)
    return found


def download(module: str, ver: str) -> dict[str, Any]:
    """`go mod download -json module@ver`: where its go.mod and zip are, or why it is refused."""
    done = processes.run([go_binary(), "mod", "download", "-json", f"{module}@{ver}"],
                         env=environment())
    info: dict[str, Any] = json.loads(done.stdout) if done.stdout.strip() else {}
    if info.get("Error") or done.returncode != 0:
        raise explain(processes.Completed(done.argv, 1, done.stdout,
                                          info.get("Error", done.stderr)), "download")
    return info


def _tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])
