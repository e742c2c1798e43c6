"""Which API path serves a kind: the kinds the sandbox knows, then the API server's discovery.

A manifest names its apiVersion; a scenario's wait or delete step names only a kind. Both are
resolved the way kubectl's REST mapper resolves them: from what the API server lists under
``/apis/GROUP/VERSION`` (its plural and scope), never by guessing a plural from the kind. What
this client applied is remembered, so a kind-only reference finds the group it was applied in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

from sandbox.errors import ManifestRejected, RuntimeUnavailable
from sandbox.profiles.kinds import KNOWN
from sandbox.records import record
from sandbox.untrusted import quoted

Get = Callable[[str], tuple[int, dict[str, Any]]]  # GET a path: status and JSON body


@record
class Resource:
    group: str
    version: str
    plural: str
    namespaced: bool = True

    def path(self, namespace: str | None, name: str | None = None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{quote(namespace)}"
        base += f"/{self.plural}"
        return base + (f"/{quote(name)}" if name else "")


def known(kind: str) -> Resource | None:
    served = KNOWN.get(kind)
    if served is None:
        return None
    return Resource(served.group, served.versions[0], served.plural, served.namespaced)


class Kinds:
    """Resolves kinds for one client (caching what discovery said)."""

    def __init__(self, get: Get) -> None:
        self._get = get
        self._applied: dict[str, Resource] = {}
        self._lists: dict[str, list[Mapping[str, Any]] | None] = {}

    def of_manifest(self, api_version: str, kind: str, namespaced: bool = True) -> Resource:
        """``namespaced``: what the manifest suggests, when discovery does not say."""
        group, _, version = api_version.rpartition("/")
        table = KNOWN.get(kind)
        if table is not None and table.group == group:
            resource = Resource(group, version, table.plural, table.namespaced)
        else:
            found = self._find(f"{group}/{version}" if group else version, kind)
            if found is None:
                raise ManifestRejected(
                    f'no matches for kind "{kind}" in version "{api_version}"',
                    "ensure its CRD is installed first (`kubectl api-resources` lists what the "
                    "cluster serves); kinds and versions are case-sensitive")
            resource = _resource(group, version, found, namespaced)
        self._applied[kind] = resource
        return resource

    def of_kind(self, kind: str) -> Resource:
        """For a reference that names only the kind (a scenario's wait and delete steps)."""
        resource = self._applied.get(kind) or known(kind) or self._discover(kind)
        if resource is None:
            raise ManifestRejected(
                f"the cluster serves no kind {quoted(kind)}",
                "check its spelling (kinds are case-sensitive) and that its CRD is installed: "
                "`kubectl api-resources` lists what the cluster serves")
        return resource

    def _discover(self, kind: str) -> Resource | None:
        status, data = self._get("/apis")
        _check(status, data)
        versions = ["v1", *(str((group.get("preferredVersion") or {}).get("groupVersion"))
                            for group in data.get("groups") or [] if isinstance(group, dict))]
        for group_version in versions:
            found = self._find(group_version, kind)
            if found is not None:
                group, _, version = group_version.rpartition("/")
                resource = _resource(group, version, found, True)
                self._applied[kind] = resource
                return resource
        return None

    def _find(self, group_version: str, kind: str) -> Mapping[str, Any] | None:
        if group_version not in self._lists:
            path = f"/apis/{group_version}" if "/" in group_version else f"/api/{group_version}"
            status, data = self._get(path)
            if status == 404:  # the group or version is not served at all
                self._lists[group_version] = None
            else:
                _check(status, data)
                self._lists[group_version] = [
                    r for r in data.get("resources") or []
                    if isinstance(r, Mapping) and "/" not in str(r.get("name"))]  # no subresources
        return next((r for r in self._lists[group_version] or [] if r.get("kind") == kind), None)


def _resource(group: str, version: str, found: Mapping[str, Any], namespaced: bool) -> Resource:
    scope = found.get("namespaced")
    return Resource(group, version, str(found.get("name")),
                    scope if isinstance(scope, bool) else namespaced)


def _check(status: int, data: Mapping[str, Any]) -> None:
    if not 200 <= status < 300:
        raise RuntimeUnavailable(
            "the cluster's API discovery failed: "
            + str(data.get("message") or data.get("reason") or f"HTTP {status}"),
            "retry; `kubectl api-resources` shows whether the API server lists its kinds")
