"""Where the sandbox's objects go: the guide's namespace and Gateway, or names of its own.

Every runtime places them the same way, the simulation included, so that a run on a cluster and
its check on the simulation (``--compare-sim``) name the same objects.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from sandbox.profiles import Profile
from sandbox.records import record
from sandbox.runtimes.runtime import ResourceRef


@record
class Placement:
    """Scenarios are written with the guide's names; on a shared cluster the sandbox can use a
    namespace and Gateway of its own instead, so nothing it does collides with anyone's."""

    profile: Profile
    namespace: str
    gateway: str

    @classmethod
    def of(cls, profile: Profile, namespace: str | None = None,
           gateway: str | None = None) -> Placement:
        return cls(profile, namespace or profile.namespace, gateway or profile.gateway_name)

    @property
    def moved(self) -> bool:
        return (self.namespace, self.gateway) != (self.profile.namespace,
                                                  self.profile.gateway_name)

    @property
    def proxy_deployment(self) -> str:
        # The controller names the proxy's Deployment after its Gateway, in its namespace.
        return self.gateway if self.moved else self.profile.proxy_deployment

    def ref(self, ref: ResourceRef) -> ResourceRef:
        """Where a scenario's reference to the guide's names points here."""
        if not self.moved or ref.namespace != self.profile.namespace:
            return ref
        name = self.gateway if (ref.kind, ref.name) == ("Gateway", self.profile.gateway_name) \
            else ref.name
        return ResourceRef(ref.kind, name, self.namespace)

    def doc(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        """``doc`` with references into the guide's namespace moved to the sandbox's own.

        Only those move: the object itself, a route's parents and backends, and the Gateway's
        own name. Anything else is left as written.
        """
        moved = copy.deepcopy(dict(doc))
        if not self.moved:
            return moved
        profile = self.profile
        metadata = moved.get("metadata") or {}
        home = metadata.get("namespace")  # where an unqualified reference points
        if home == profile.namespace:
            metadata["namespace"] = self.namespace
            if moved.get("kind") == "Gateway" and metadata.get("name") == profile.gateway_name:
                metadata["name"] = self.gateway
        spec = moved.get("spec") or {}
        for parent in spec.get("parentRefs") or []:
            if parent.get("namespace", home) == profile.namespace:
                if parent.get("name") == profile.gateway_name:
                    parent["name"] = self.gateway
                if "namespace" in parent:
                    parent["namespace"] = self.namespace
        for rule in spec.get("rules") or []:
            for ref in rule.get("backendRefs") or []:
                if ref.get("namespace") == profile.namespace:
                    ref["namespace"] = self.namespace
        return moved
