"""Whether a Deployment has rolled out, judged the way `kubectl rollout status` judges it.

kubectl (pkg/polymorphichelpers/rollout_status.go) waits until the controller has seen the
newest spec, then asks three things in order: are all wanted replicas updated, are no old
replicas left, are all updated replicas available. Counting available replicas alone is not
enough: during a rollout the old pod stays available (and keeps serving the old configuration)
until the new one is ready.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sandbox.records import record


@record
class Rollout:
    """``detail`` in kubectl's words; ``deadline`` when the controller gave up (kubectl fails
    then); ``refused`` the message of a ReplicaFailure condition (the pods cannot be created)."""

    done: bool
    detail: str
    deadline: str | None = None
    refused: str | None = None


def rollout_of(deployment: Mapping[str, Any]) -> Rollout:
    metadata = deployment.get("metadata") or {}
    spec, status = deployment.get("spec") or {}, deployment.get("status") or {}
    conditions = {str(c.get("type")): c for c in status.get("conditions") or []
                  if isinstance(c, Mapping)}
    failure = conditions.get("ReplicaFailure")
    refused = str(failure.get("message") or failure.get("reason") or "ReplicaFailure") \
        if failure is not None and failure.get("status") == "True" else None
    if _count(metadata, "generation") > _count(status, "observedGeneration"):
        return Rollout(False, "waiting for the deployment spec update to be observed",
                       refused=refused)
    progressing = conditions.get("Progressing") or {}
    if progressing.get("reason") == "ProgressDeadlineExceeded":
        return Rollout(False, "exceeded its progress deadline",
                       str(progressing.get("message") or ""), refused)
    wanted = _count(spec, "replicas", default=1)
    replicas, updated = _count(status, "replicas"), _count(status, "updatedReplicas")
    available = _count(status, "availableReplicas")
    if updated < wanted:
        detail = f"{updated} out of {wanted} new replicas have been updated"
    elif replicas > updated:
        detail = f"{replicas - updated} old replicas are pending termination"
    elif available < updated:
        detail = f"{available} of {updated} updated replicas are available"
    else:
        return Rollout(True, f"{available}/{wanted} available, {updated} updated")
    return Rollout(False, detail, refused=refused)


def _count(section: Mapping[str, Any], key: str, default: int = 0) -> int:
    value = section.get(key)
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else default


def refusal_hint(refusal: str, namespace: str, name: str) -> str:
    """Where to look when a Deployment's pods cannot be created (``refusal``: the reason)."""
    if "PodSecurity" in refusal:
        return (f"the namespace {namespace} enforces a Pod Security level these pods do not meet: "
                f"`kubectl get namespace {namespace} --show-labels` shows it "
                "(pod-security.kubernetes.io/enforce)")
    return (f"`kubectl -n {namespace} describe deployment/{name}` and its ReplicaSet's events say "
            "why (a quota, an admission policy, a ServiceAccount that does not exist)")
