"""The Kubernetes API emulator for tests, with server-side apply's create-on-patch added."""

from __future__ import annotations

from typing import Any

import aiohttp.web
import kmock


class ApplyingEmulator(kmock.KubernetesEmulator):
    """kmock's emulator treats PATCH as update-only; server-side apply also creates."""

    async def _handle(self, request: kmock.Request) -> aiohttp.web.StreamResponse:
        content_type = request.headers.get("Content-Type", "")
        if (request.action == kmock.action.UPDATE and request.name is not None
                and "apply-patch" in content_type and request.resource is not None):
            key = (request.resource, request.namespace, request.name)
            async with self._lock:
                if key not in self._objects:
                    self._objects[key] = request.data
                elif self._objects[key].deleted:
                    self._objects[key].create(request.data)
        return await super()._handle(request)


def set_status(emulator: Any, group: str, version: str, plural: str, namespace: str | None,
               name: str, status: dict[str, Any]) -> None:
    """Play the controller: write a status onto a stored object."""
    key = (kmock.resource(group, version, plural), namespace, name)
    emulator.objects[key].patch({"status": status})
