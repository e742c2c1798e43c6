"""A real kube-apiserver of the upstream tier, as the tests talk to it: dry runs and its words.

Requests go through the project's own client (sandbox.runtimes.kube.client.Kube), so what the
server answers is what the cluster runtime would see. Kinds are found through the server's own
discovery, as kubectl finds them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from sandbox.profiles import FIELD_MANAGER
from sandbox.runtimes.kube.client import Kube
from tests.words import same_words

APPLY = "application/apply-patch+yaml"
# What the tier tests found, for the summary line at the end of the run (tests/tier/conftest.py).
SUMMARY: dict[str, Any] = {}


def agreed(what: str, count: int = 1) -> None:
    """Count, for the summary line, things the sim and the real API server agree on."""
    totals = SUMMARY.setdefault("agreed", {})
    totals[what] = totals.get(what, 0) + count


def differ(count: int = 1) -> None:
    """Count a known difference (each is written, with both texts, in its test)."""
    SUMMARY["differ"] = SUMMARY.get("differ", 0) + count


@dataclass(frozen=True)
class Served:
    """A kind as the server's discovery lists it."""

    api_version: str
    plural: str
    namespaced: bool

    def path(self, namespace: str | None, name: str | None = None) -> str:
        group, _, version = self.api_version.rpartition("/")
        base = f"/apis/{group}/{version}" if group else f"/api/{version}"
        if self.namespaced:
            base += f"/namespaces/{quote(namespace or 'default', safe='')}"
        return base + f"/{self.plural}" + (f"/{quote(name, safe='')}" if name else "")


@dataclass(frozen=True)
class ApiServer:
    """One running tier: its profile, its TierInfo (from tools/tier) and a client for it."""

    profile: str
    info: Any = field(repr=False)
    kube: Kube = field(repr=False)

    @property
    def version(self) -> str:
        return str(self.info.kubernetes_version)

    def served(self, api_version: str, kind: str) -> Served | None:
        return _discovery(self.kube, api_version).get(kind)

    def dry_run_apply(self, doc: Mapping[str, Any]) -> str | None:
        """``kubectl apply --server-side --dry-run=server``: None when admitted, else the
        Status message (the API server's own text), or kubectl's words for a kind the server's
        discovery does not list (such a request never reaches the server)."""
        return self.apply(doc, dry_run=True)

    def apply(self, doc: Mapping[str, Any], dry_run: bool = False,
              manager: str = FIELD_MANAGER) -> str | None:
        api_version, kind = str(doc.get("apiVersion", "")), str(doc.get("kind", ""))
        served = self.served(api_version, kind)
        if served is None:
            return f'no matches for kind "{kind}" in version "{api_version}"'
        metadata = doc.get("metadata") or {}
        query = {"fieldManager": manager, "fieldValidation": "Strict"}
        if dry_run:
            query["dryRun"] = "All"
        status, data = self.kube.request(
            "PATCH", served.path(metadata.get("namespace"), str(metadata.get("name") or "")),
            body=dict(doc), content_type=APPLY, query=query)
        return None if 200 <= status < 300 else str(data.get("message"))

    def get(self, api_version: str, kind: str, namespace: str | None, name: str
            ) -> dict[str, Any] | None:
        served = self.served(api_version, kind)
        assert served is not None, f"{kind} {api_version} is not served"
        status, data = self.kube.request("GET", served.path(namespace, name))
        if status == 404:
            return None
        assert status == 200, data
        return data


_DISCOVERED: dict[tuple[int, str], dict[str, Served]] = {}


def _discovery(kube: Kube, api_version: str) -> dict[str, Served]:
    """The kinds of one group version (kept once found: CRDs are not removed meanwhile)."""
    key = (id(kube), api_version)
    if key in _DISCOVERED:
        return _DISCOVERED[key]
    group, _, version = api_version.rpartition("/")
    status, data = kube.request("GET", f"/apis/{group}/{version}" if group else f"/api/{version}")
    found = {r["kind"]: Served(api_version, r["name"], bool(r.get("namespaced")))
             for r in data.get("resources") or [] if "/" not in r["name"]} if status == 200 else {}
    if found:
        _DISCOVERED[key] = found
    return found


_TYPED = "failed to create typed patch object"


def may_say(server: ApiServer, doc: Mapping[str, Any], sim: str | None,
            tries: int = 40) -> tuple[bool, str | None]:
    """Ask the server until it gives the sim's words (structured-merge-diff reports one of a
    map's undeclared fields, whichever Go's map order meets first); (agreed, its last answer)."""
    real = server.dry_run_apply(doc)
    for _ in range(tries if real is not None and real.startswith(_TYPED) else 1):
        if same_words(real, sim):
            return True, real
        real = server.dry_run_apply(doc)
    return same_words(real, sim), real
