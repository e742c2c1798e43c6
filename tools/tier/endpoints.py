"""Ask a running tier for its versions over loopback HTTP(S), with the tier's own CA."""

from __future__ import annotations

import json
import ssl
import urllib.request
from pathlib import Path
from typing import Any

from .errors import TierError


def _get_json(url: str, context: ssl.SSLContext | None, timeout: float) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=timeout, context=context) as resp:
        data: dict[str, Any] = json.load(resp)
    return data


def kubernetes_version(server: str, cafile: Path, timeout: float = 5.0) -> str:
    """The API server's /version gitVersion (readable without credentials, as on any cluster)."""
    context = ssl.create_default_context(cafile=str(cafile))
    try:
        return str(_get_json(server.rstrip("/") + "/version", context, timeout)["gitVersion"])
    except (OSError, ValueError, KeyError) as exc:
        raise TierError("versions", f"{server}/version did not answer: {exc}") from exc


def etcd_version(url: str, timeout: float = 5.0) -> str:
    """etcd's server version from its /version endpoint."""
    try:
        return str(_get_json(url.rstrip("/") + "/version", None, timeout)["etcdserver"])
    except (OSError, ValueError, KeyError) as exc:
        raise TierError("versions", f"{url}/version did not answer: {exc}") from exc
