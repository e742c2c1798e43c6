"""The mock provider inside the cluster: its stdlib-only package in a ConfigMap, run by python."""

from __future__ import annotations

import hashlib
from importlib.resources import files
from pathlib import Path
from typing import Any

from sandbox.documents import load_all

MOCK_PORT = 8000
CHECKSUM = "agw-sandbox/checksum"


def in_cluster_address(namespace: str) -> tuple[str, int]:
    """Where the gateway reaches the mock provider's Service inside the cluster."""
    return f"mock-provider.{namespace}.svc.cluster.local", MOCK_PORT


def mock_provider_manifests(token: str, namespace: str = "kgateway-system"
                            ) -> list[dict[str, Any]]:
    """The ConfigMap (code), Secret (accepted key), Deployment and Service of the mock, in
    ``namespace`` (the profile's, beside its gateway)."""
    docs = load_all((Path(str(files("sandbox.assets"))) / "mock-provider.yaml").read_text())
    sources = mock_sources()
    # The pod reads both only when it starts: a checksum on its template makes a new key or new
    # code roll the pod, as Helm charts do with checksum/config.
    parts = [part.encode() for name, text in sources.items() for part in (name, text)]
    checksum = hashlib.sha256(b"\0".join([*parts, token.encode()])).hexdigest()
    for doc in docs:
        doc["metadata"]["namespace"] = namespace
        if doc["kind"] == "ConfigMap":
            doc["data"] = sources
        elif doc["kind"] == "Secret":
            doc["stringData"] = {"keys": token}
        elif doc["kind"] == "Deployment":
            template = doc["spec"]["template"].setdefault("metadata", {})
            template.setdefault("annotations", {})[CHECKSUM] = checksum
    return [dict(doc) for doc in docs]


def mock_sources() -> dict[str, str]:
    """The mock provider package's files by name: mounted as /app/mock/, run as
    ``python -m mock``."""
    package = files("sandbox.mock")
    return {entry.name: entry.read_text("utf-8") for entry in sorted(
        package.iterdir(), key=lambda entry: entry.name) if entry.name.endswith(".py")}
