"""A List of thousands of ConfigMaps: each apply reconciles only what the controller reads
(Gateways, routes, backends, grants), not every object stored, so a scenario's apply is linear
in its items."""

from __future__ import annotations

from typing import Any

from sandbox.profiles import DEFAULT_PROFILE
from sandbox.runtimes.sim.control import SimCluster


class CountingDict(dict[Any, Any]):
    """A dict that counts the entries its ``items()`` goes over."""

    visited = 0

    def items(self) -> Any:
        CountingDict.visited += len(self)
        return super().items()


def config_map(n: int) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{n}"},
            "data": {"n": str(n)}}


def test_an_apply_does_not_go_over_every_object_stored() -> None:
    cluster = SimCluster(DEFAULT_PROFILE)
    for n in range(2000):
        cluster.apply(config_map(n))
    cluster._objects = CountingDict(cluster._objects)
    CountingDict.visited = 0
    cluster.apply(config_map(2000))
    cluster.delete("ConfigMap", "default", "cm-0")
    assert CountingDict.visited < 100
    assert cluster.get("ConfigMap", "default", "cm-2000") is not None
    assert cluster.get("ConfigMap", "default", "cm-0") is None
