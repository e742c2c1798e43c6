"""Whether some runtime can handle each kind a scenario uses, under the scenario's profile.

The simulation knows the kinds of the profile's CRDs (its admission); a cluster with the
profile's installs serves Kubernetes' own kinds, the Gateway API standard install and the
profile's CRD chart (sandbox/profiles/kinds.py). A kind neither knows cannot be applied, waited
on or deleted anywhere, unless the scenario applies the CustomResourceDefinition of it itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sandbox.errors import Problem
from sandbox.profiles.kinds import SERVED
from sandbox.records import record


@record
class KindUse:
    """A kind as a scenario uses it: in a manifest (with its apiVersion) or a Kind/name
    reference of a wait or delete step (``api_version`` None)."""

    kind: str
    api_version: str | None
    path: str
    line: int | None


def unserved(uses: Sequence[KindUse], profile: str,
             documents: Iterable[Mapping[str, Any]]) -> list[Problem]:
    """A problem for each use no runtime handles; ``documents``: every manifest the scenario
    applies (its own CRDs count)."""
    from sandbox.runtimes.sim.admission import kinds as simulated

    handled = {(s.kind, f"{s.group}/{v}" if s.group else v)
               for s in SERVED.get(profile, ()) for v in s.versions}
    handled |= {(kind, api_version) for api_version, kind in simulated(profile)}
    handled |= set(_defined_by(documents))
    names = {kind for kind, _ in handled}
    problems = []
    for use in uses:
        if use.api_version is None and use.kind not in names:
            what = use.kind
        elif use.api_version is not None and (use.kind, use.api_version) not in handled:
            what = f"{use.kind} ({use.api_version})"
        else:
            continue
        problems.append(Problem(use.path, use.line, (
            f"{what} is served by no runtime for the {profile} profile: neither a cluster with "
            "its installs nor the simulation knows it" + _elsewhere(use.kind, profile)
            + "; check the kind and apiVersion (case-sensitive), or apply its "
              "CustomResourceDefinition in an earlier step")))
    return problems


def _defined_by(documents: Iterable[Mapping[str, Any]]) -> Iterable[tuple[str, str]]:
    """(kind, apiVersion) of each CustomResourceDefinition among the documents."""
    for doc in documents:
        spec = doc.get("spec")
        if doc.get("kind") != "CustomResourceDefinition" or not isinstance(spec, Mapping):
            continue
        names = spec.get("names") if isinstance(spec.get("names"), Mapping) else {}
        assert isinstance(names, Mapping)
        for version in spec.get("versions") or []:
            if isinstance(version, Mapping):
                yield str(names.get("kind")), f"{spec.get('group')}/{version.get('name')}"


def _elsewhere(kind: str, profile: str) -> str:
    others = [name for name, kinds in SERVED.items()
              if name != profile and any(s.kind == kind for s in kinds)]
    return f" (it is a kind of the {others[0]} profile)" if others else ""
