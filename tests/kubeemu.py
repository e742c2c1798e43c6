"""The Kubernetes API emulator for tests: server-side apply's create-on-patch, lingering deletes."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import aiohttp.web
import attrs
import kmock

FOREGROUND = "foregroundDeletion"
NAMESPACE_PATH = re.compile(r"/api/v1/namespaces/([^/]+)")
NAMESPACES = kmock.resource("", "v1", "namespaces")
BUILT_IN = {"apps/v1/deployments": "Deployment"}
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

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        # Served by every API server, with or without objects (listing one gives no items).
        for key, kind in BUILT_IN.items():
            self.resources[key] = {"kind": kind, "namespaced": True}

    async def _handle(self, request: kmock.Request) -> aiohttp.web.StreamResponse:
        namespace = NAMESPACE_PATH.fullmatch(str(request.url.path))
        if namespace is not None:
            return await self._namespace(request, namespace.group(1))
        content_type = request.headers.get("Content-Type", "")
        if (request.action == kmock.action.UPDATE and request.name is not None
                and "apply-patch" in content_type and request.resource is not None):
            key = (request.resource, request.namespace, request.name)
            async with self._lock:
                fresh = key not in self._objects or self._objects[key].deleted
                self._record_manager(request, None if fresh else self._objects[key])
                self._count_generation(request, None if fresh else self._objects[key])
                if key not in self._objects:
                    self._objects[key] = request.data
                elif self._objects[key].deleted:
                    self._objects[key].create(request.data)
        if (request.action == kmock.action.DELETE and request.name is not None
                and request.resource is not None and self.linger > 0):
            await self._hold(request)
        return await super()._handle(request)

    async def _serve_list(self, request: Any) -> Any:
        """kmock's list, with the kind and apiVersion that a real API server's list carries."""
        answer = await super()._serve_list(request)
        resource = request.resource
        kind = self.resources[resource].kind if resource in self.resources else None
        group = f"{resource.group}/" if resource.group else ""
        return {"kind": f"{kind or 'Unknown'}List",
                "apiVersion": f"{group}{resource.version}", **answer}

    async def _namespace(self, request: kmock.Request, name: str) -> aiohttp.web.StreamResponse:
        """kmock reads /api/v1/namespaces/NAME as a namespace prefix; serve Namespaces here."""
        key: Any = (NAMESPACES, None, name)
        async with self._lock:
            exists = key in self._objects and not self._objects[key].deleted
            if request.method == "PATCH":
                self._record_manager(request, self._objects[key] if exists else None)
                if key not in self._objects:
                    self._objects[key] = request.data
                elif not exists:
                    self._objects[key].create(request.data)
                else:
                    self._objects[key].patch(request.data)
            elif not exists:
                return aiohttp.web.json_response(
                    {"kind": "Status", "reason": "NotFound",
                     "message": f'namespaces "{name}" not found'}, status=404)
            elif request.method == "DELETE":
                self._objects[key].delete()
                return aiohttp.web.json_response(self._objects[key].last.raw)
            return aiohttp.web.json_response(self._objects[key].raw)

    @staticmethod
    def _record_manager(request: kmock.Request, existing: Any) -> None:
        """Server-side apply records the field manager in metadata.managedFields."""
        manager = request.params.get("fieldManager")
        if not manager or not isinstance(request.data, dict):
            return
        entries = [] if existing is None else [
            e for e in (existing.get("metadata") or {}).get("managedFields") or []
            if e.get("manager") != manager]
        entries.append({"manager": manager, "operation": "Apply",
                        "apiVersion": request.data.get("apiVersion", ""),
                        "time": "2026-11-27T08:00:00Z", "fieldsType": "FieldsV1"})
        request.data.setdefault("metadata", {})["managedFields"] = entries

    @staticmethod
    def _count_generation(request: kmock.Request, existing: Any) -> None:
        """metadata.generation starts at 1 and grows with every change of the spec, as the API
        server counts it (controllers report the generation they saw as observedGeneration)."""
        if not isinstance(request.data, dict) or not isinstance(request.data.get("spec"), dict):
            return
        metadata = request.data.setdefault("metadata", {})
        if existing is None:
            metadata.setdefault("generation", 1)
            return
        before = existing.get("spec") or {}
        generation = int((existing.get("metadata") or {}).get("generation") or 1)
        changed = _merged(before, request.data["spec"]) != before
        metadata["generation"] = generation + 1 if changed else generation

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


def _merged(old: Any, change: Any) -> Any:
    """A JSON merge patch applied to a copy (what the emulator's patch does to the stored spec)."""
    if not isinstance(old, dict) or not isinstance(change, dict):
        return change
    merged = dict(old)
    for key, value in change.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = _merged(old.get(key), value)
    return merged


def set_status(emulator: Any, group: str, version: str, plural: str, namespace: str | None,
               name: str, status: dict[str, Any]) -> None:
    """Play the controller: write a status onto a stored object."""
    key = (kmock.resource(group, version, plural), namespace, name)
    emulator.objects[key].patch({"status": status})


def install_gateway_api(emulator: Any, version: str = "v1.4.0") -> None:
    """Play a cluster where the Gateway API CRDs of ``version`` are installed already."""
    crds = kmock.resource("apiextensions.k8s.io", "v1", "customresourcedefinitions")
    name = "gateways.gateway.networking.k8s.io"
    emulator.objects[(crds, None, name)] = {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": name, "annotations": {
            "gateway.networking.k8s.io/bundle-version": version}}}


def serve_crd(emulator: Any, group: str, version: str, kind: str, plural: str,
              namespaced: bool = True) -> None:
    """Play a cluster where this CRD is installed: discovery lists its kind under its plural."""
    emulator.resources[f"{group}/{version}/{plural}"] = {"kind": kind, "namespaced": namespaced}
