"""Who created an object on a shared cluster: the sandbox (its field manager or label) or not."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sandbox.profiles import FIELD_MANAGER

MANAGED_BY = "app.kubernetes.io/managed-by"


def created_by_us(obj: Mapping[str, Any]) -> bool:
    """Our field manager wrote it (server-side apply), or it carries our managed-by label."""
    metadata = obj.get("metadata") or {}
    if (metadata.get("labels") or {}).get(MANAGED_BY) == FIELD_MANAGER:
        return True
    return any(entry.get("manager") == FIELD_MANAGER
               for entry in metadata.get("managedFields") or [])


def owner_of(obj: Mapping[str, Any]) -> str:
    """Who wrote the object, as its field managers say (status writers left out)."""
    metadata = obj.get("metadata") or {}
    managers = list(dict.fromkeys(
        str(entry.get("manager")) for entry in metadata.get("managedFields") or []
        if entry.get("manager") and entry.get("subresource") != "status"))
    label = (metadata.get("labels") or {}).get(MANAGED_BY)
    if label and label not in managers:
        managers.insert(0, str(label))
    if not managers:
        return "someone else (it has no field managers)"
    return "field manager " + ", ".join(f"`{m}`" for m in managers)
