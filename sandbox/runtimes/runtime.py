"""The Runtime seam: what every way of running the gateway (sim, kind, cluster) provides."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, Protocol

from sandbox.errors import WaitTimeout
from sandbox.polling import Deadline, poll_async
from sandbox.records import record

Progress = Callable[[str], None]


@record
class ResourceRef:
    kind: str
    name: str
    namespace: str

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


@record
class ConditionExpectation:
    type: str
    status: str
    reason: str | None = None

    def __str__(self) -> str:
        return f"{self.type}={self.status}" + (f" ({self.reason})" if self.reason else "")


@record
class WaitFor:
    ref: ResourceRef
    conditions: tuple[ConditionExpectation, ...]
    timeout: float


@record
class Condition:
    type: str
    status: str
    reason: str = ""
    message: str = ""
    # Written for an older generation of the object (observedGeneration < generation): the
    # controller has not yet judged the current spec, so a wait does not count it.
    stale: bool = False

    def __str__(self) -> str:
        text = f"{self.type}={self.status}"
        if self.reason:
            text += f" ({self.reason})"
        text += f": {self.message}" if self.message else ""
        return text + (" [for an earlier version of the object]" if self.stale else "")


@record
class ResourceStatus:
    ref: ResourceRef
    exists: bool
    conditions: tuple[Condition, ...] = ()

    def condition(self, ctype: str) -> Condition | None:
        return next((c for c in self.conditions if c.type == ctype), None)

    def satisfies(self, expected: ConditionExpectation) -> bool:
        found = self.condition(expected.type)
        if found is None or found.stale or found.status != expected.status:
            return False
        return expected.reason is None or found.reason == expected.reason


@record
class Applied:
    ref: ResourceRef
    outcome: str  # "created", "configured" or "unchanged", as kubectl says it


class Runtime(Protocol):
    """Bring up, apply, read status, delete, gateway URL, tear down."""

    name: str  # "sim", "kind" or "cluster"

    @property
    def label(self) -> str:
        """What the UI shows: "simulated", "kind", "cluster <context>"."""
        ...

    async def up(self, progress: Progress) -> None: ...

    def placed(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        """``doc`` as :meth:`apply` would write it (a cluster you brought may move names)."""
        ...

    def placed_ref(self, ref: ResourceRef) -> ResourceRef:
        """Where a scenario's reference points on this runtime, as :meth:`placed` moves it."""
        ...

    async def apply(self, doc: Mapping[str, Any]) -> Applied: ...
    async def status(self, ref: ResourceRef) -> ResourceStatus: ...
    async def delete(self, ref: ResourceRef) -> bool: ...
    async def down(self) -> None: ...

    @property
    def gateway_url(self) -> str: ...

    def mock_upstream(self) -> tuple[str, int] | None:
        """Where the gateway reaches the mock provider, or None when it talks to the real one."""
        ...


def conditions_of(obj: Mapping[str, Any], controller: str) -> tuple[Condition, ...]:
    """Status conditions, with an HTTPRoute's taken from the parent our controller wrote (and a
    policy's from its ancestor, Gateway API's PolicyAncestorStatus); each marked stale when its
    observedGeneration is older than the object's generation."""
    status = obj.get("status") or {}
    raw = status.get("conditions")
    if raw is None:
        parents = [p for p in status.get("parents") or status.get("ancestors") or []
                   if p.get("controllerName") in (None, controller)]
        raw = parents[0].get("conditions", []) if parents else []
    generation = (obj.get("metadata") or {}).get("generation")
    return tuple(Condition(str(c.get("type", "")), str(c.get("status", "")),
                           str(c.get("reason", "")), str(c.get("message", "")),
                           _older(c.get("observedGeneration"), generation)) for c in raw)


def _older(observed: Any, generation: Any) -> bool:
    """Whether a condition was written for an earlier generation (no observedGeneration: a
    controller that does not say, like kgateway's Backend status, is taken at its word)."""
    return (isinstance(observed, int) and isinstance(generation, int)
            and observed < generation)


async def poll_until_satisfied(
    runtime: Runtime, wait: WaitFor, on_change: Callable[[ResourceStatus], None],
    interval: float = 0.05, clock: Callable[[], float] = time.monotonic,
) -> ResourceStatus:
    """Re-read a resource until it meets ``wait``; report each change; fail at the deadline."""
    seen: list[ResourceStatus] = []

    async def attempt() -> ResourceStatus | None:
        current = await runtime.status(wait.ref)
        if not seen or current != seen[-1]:
            on_change(current)
            seen.append(current)
        return current if all(current.satisfies(c) for c in wait.conditions) else None

    def timed_out() -> WaitTimeout:
        return WaitTimeout(_timeout_message(wait, seen[-1]), _timeout_hint(seen[-1]))

    return await poll_async(attempt, Deadline(wait.timeout, interval, clock=clock), timed_out)


def _timeout_message(wait: WaitFor, current: ResourceStatus) -> str:
    expected = ", ".join(str(c) for c in wait.conditions)
    if not current.exists:
        seen = "it does not exist"
    elif not current.conditions:
        seen = "no controller has written its status yet"
    elif all(c.stale for c in current.conditions):
        earlier = "; ".join(str(replace(c, stale=False)) for c in current.conditions)
        seen = ("the controller has not yet written a status for this version of it (the "
                f"conditions it has are for an earlier one: {earlier})")
    else:
        seen = "its conditions are " + "; ".join(str(c) for c in current.conditions)
    return f"{wait.ref} did not reach {expected} within {wait.timeout:g}s: {seen}"


def _timeout_hint(current: ResourceStatus) -> str:
    if not current.exists:
        return "apply the step that creates it first, or check its name and namespace"
    return "read the condition messages above; they usually name the missing piece"
