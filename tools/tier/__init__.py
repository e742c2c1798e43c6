"""A real etcd and kube-apiserver, built from their Go modules, started per profile on loopback.

The functions here are what tools/upstream-tier runs and what tests call:

    import tier                      # with <repo>/tools on sys.path
    ready = tier.binaries_ready()    # falsy, with .reason, until `tools/upstream-tier build` ran
    info = tier.up("kgateway-v2.1", Path("/tmp/k1"))   # info.kubeconfig, info.context, …
    tier.down(Path("/tmp/k1"))
"""

from __future__ import annotations

from .controlplane import up
from .errors import TierError
from .gobuild import Readiness, binaries_ready, build
from .overview import status
from .pins import profiles
from .runs import TierInfo
from .stopping import down

__all__ = [
    "Readiness",
    "TierError",
    "TierInfo",
    "binaries_ready",
    "build",
    "down",
    "profiles",
    "status",
    "up",
]
