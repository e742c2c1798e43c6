"""What the simulation does not reproduce, refused in the sandbox's own labelled words.

The sim admits a manifest only when it can also give it what the real controller would: its
status conditions and the gateway's behaviour. Anything else (a backend kind, a policy, a core
kind that needs workloads) is refused up front with "not simulated: ..." rather than admitted
and left without a status for a wait to time out on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sandbox.profiles import Profile

NOT_SIMULATED = "not simulated"
HINT = ("this is a limit of the simulated runtime, not of the manifest: run it on a cluster "
        "(--runtime kind), or leave it out here")
# Built into every API server; the simulated one keeps only Secrets and ConfigMaps.
WORKLOAD_KINDS = frozenset({
    ("v1", "Service"), ("v1", "Namespace"), ("v1", "Pod"), ("v1", "ServiceAccount"),
    ("v1", "Endpoints"), ("v1", "PersistentVolumeClaim"), ("apps/v1", "Deployment"),
    ("apps/v1", "StatefulSet"), ("apps/v1", "DaemonSet"), ("apps/v1", "ReplicaSet"),
    ("batch/v1", "Job"), ("batch/v1", "CronJob"), ("discovery.k8s.io/v1", "EndpointSlice"),
    ("networking.k8s.io/v1", "NetworkPolicy"), ("rbac.authorization.k8s.io/v1", "Role"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding")})
# Kinds of the profile's CRDs that configure what the sim does not run (the proxy's
# Deployment, policies attached to routes and backends).
UNSERVED_KINDS = frozenset({"GatewayParameters", "AgentgatewayParameters",
                            "AgentgatewayPolicy"})


def message(what: str) -> str:
    return f"{NOT_SIMULATED}: {what} (works on kind)"


def refusal(doc: Mapping[str, Any], profile: Profile) -> str | None:
    """Why the simulated cluster will not take ``doc`` (already admitted), or None."""
    api_version, kind = str(doc.get("apiVersion", "")), str(doc.get("kind", ""))
    if (api_version, kind) in WORKLOAD_KINDS:
        return message(f"a {kind}: the simulated cluster runs no workloads and keeps only "
                       "Secrets and ConfigMaps of the built-in kinds")
    if kind in UNSERVED_KINDS:
        return message(f"a {kind}: the simulated gateway does not apply it")
    if kind == "GatewayClass" and (doc.get("spec") or {}).get("controllerName") == \
            profile.controller_name and (doc.get("metadata") or {}).get("name") != \
            profile.gateway_class:
        # Another controller's class gets no status on a real cluster either.
        return message(f"a second GatewayClass for {profile.controller_name} (the simulated "
                       f"controller serves {profile.gateway_class}, which it creates itself)")
    if kind == profile.backend_kind:
        what = profile.backend_api.unsimulated(doc)
        return None if what is None else message(f"{what}; the simulated gateway serves an "
                                                  "LLM provider with a key, a Secret or "
                                                  "passthrough")
    if kind == "HTTPRoute":
        return _route_refusal(doc, profile)
    return None


def _route_refusal(route: Mapping[str, Any], profile: Profile) -> str | None:
    namespace = str((route.get("metadata") or {}).get("namespace") or "default")
    for rule in (route.get("spec") or {}).get("rules") or []:
        for ref in (rule or {}).get("backendRefs") or []:
            what = profile.backend_api.unsimulated_ref(ref, namespace)
            if what is not None:
                return message(f"{what} under {profile.title}")
    return None
