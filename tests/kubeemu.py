"""The Kubernetes API emulator for tests: server-side apply's create-on-patch, lingering deletes."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp.web
import attrs
import kmock

FOREGROUND = "foregroundDeletion"
# Stands for a controller's own finalizer: with background propagation the object still stays
# until the controller lets it go.
CONTROLLER_FINALIZER = "gateway.kgateway.dev/finalizer"


@attrs.define(kw_only=True)
class ApplyingEmulator(kmock.KubernetesEmulator):
    """kmock's emulator treats PATCH as update-only; server-side apply also creates.

    A deleted object lingers for ``linger`` seconds with ``deletionTimestamp`` set and a
    finalizer (``foregroundDeletion`` for a foreground delete), as it does on a real cluster
    while the garbage collector or a controller finishes with it. Writes in that window land on
    the doomed object, which then disappears anyway.
    """

    linger: float = 0.3
    _reapers: set[asyncio.Task[None]] = attrs.field(factory=set, init=False)

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
        if (request.action == kmock.action.DELETE and request.name is not None
                and request.resource is not None and self.linger > 0):
            await self._hold(request)
        return await super()._handle(request)

    async def _hold(self, request: kmock.Request) -> None:
        key: Any = (request.resource, request.namespace, request.name)
        async with self._lock:
            if key not in self._objects or self._objects[key].deleted:
                return
            obj = self._objects[key]
            if (obj.get("metadata") or {}).get("deletionTimestamp"):
                return
            policy = request.params.get("propagationPolicy", "Background")
            finalizer = FOREGROUND if policy == "Foreground" else CONTROLLER_FINALIZER
            finalizers = list((obj.get("metadata") or {}).get("finalizers") or [])
            obj.patch({"metadata": {"finalizers": [*finalizers, finalizer]}})
        reaper = asyncio.create_task(self._reap(key, finalizer))
        self._reapers.add(reaper)
        reaper.add_done_callback(self._reapers.discard)

    async def _reap(self, key: Any, finalizer: str) -> None:
        """After the linger, the finalizer is removed and the object goes."""
        await asyncio.sleep(self.linger)
        async with self._lock:
            obj = self._objects[key]
            if obj.deleted:
                return
            left = [f for f in (obj.get("metadata") or {}).get("finalizers") or []
                    if f != finalizer]
            obj.patch({"metadata": {"finalizers": left}})
            if not left:
                raw = obj.raw
                obj.delete()
                await self._buses[key[0]].put({"type": "DELETED", "object": raw})


def set_status(emulator: Any, group: str, version: str, plural: str, namespace: str | None,
               name: str, status: dict[str, Any]) -> None:
    """Play the controller: write a status onto a stored object."""
    key = (kmock.resource(group, version, plural), namespace, name)
    emulator.objects[key].patch({"status": status})
