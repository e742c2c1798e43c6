"""Where a profile's charts are installed on a cluster, under whatever names someone chose.

The CRD chart's release is read from its CRDs' ``meta.helm.sh/release-name`` and ``-namespace``
annotations (Helm writes them on every object it creates, and refuses to install another release
over them); the controller is found by the chart's selector labels, and its release read from the
same annotations on its Deployment. Nothing found: the guide's release names and namespace.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sandbox.errors import RuntimeUnavailable
from sandbox.profiles import Profile
from sandbox.records import record
from sandbox.runtimes.kube.api_call import NoAnswer
from sandbox.runtimes.kube.client import Kube
from sandbox.runtimes.kube.ownership import owner_of

RELEASE_NAME = "meta.helm.sh/release-name"
RELEASE_NAMESPACE = "meta.helm.sh/release-namespace"


@record
class ReleaseRef:
    """A Helm release by name and namespace: the chart's own, or where someone installed it."""

    name: str
    namespace: str

    def elsewhere(self, release: str, profile: Profile) -> bool:
        return (self.name, self.namespace) != (release, profile.namespace)

    def __str__(self) -> str:
        return f"release {self.name} in namespace {self.namespace}"


@record
class Installation:
    crds: ReleaseRef
    controller: ReleaseRef
    deployment: str  # the controller's Deployment, in the controller release's namespace

    @classmethod
    def guide(cls, profile: Profile) -> Installation:
        crds, controller = profile.releases
        return cls(ReleaseRef(crds, profile.namespace), ReleaseRef(controller, profile.namespace),
                   profile.controller_deployment)

    def moved(self, profile: Profile) -> bool:
        return self != Installation.guide(profile)


def find_installation(kube: Kube, profile: Profile) -> Installation:
    """What is installed and where; blocking (run it in a thread)."""
    guide = Installation.guide(profile)
    crds = _crds_release(kube, profile) or guide.crds
    found = _controllers(kube, profile, crds)
    if not found:
        return Installation(crds, guide.controller, guide.deployment)
    # Two installations: prefer the one beside the CRDs' release, then the guide's namespace.
    found.sort(key=lambda d: (_namespace(d) != crds.namespace,
                              _namespace(d) != profile.namespace, _namespace(d)))
    deployment = found[0]
    metadata = deployment.get("metadata") or {}
    release = _helm_release(deployment) or ReleaseRef(
        str((metadata.get("labels") or {}).get("app.kubernetes.io/instance")
            or guide.controller.name), _namespace(deployment))
    return Installation(crds, release, str(metadata.get("name")))


def _controllers(kube: Kube, profile: Profile, crds: ReleaseRef) -> list[dict[str, Any]]:
    """The controller Deployments, by the chart's labels: in any namespace, or (when RBAC
    allows no cluster-wide list, as on a shared cluster) beside the CRDs' release and in the
    guide's namespace."""
    labels = dict(profile.controller_labels)
    try:
        return kube.list("Deployment", labels)
    except NoAnswer:  # not a refusal: the server did not answer
        raise
    except RuntimeUnavailable:
        namespaces = dict.fromkeys((crds.namespace, profile.namespace))
        return [d for namespace in namespaces
                for d in kube.list("Deployment", labels, namespace)]


def _crds_release(kube: Kube, profile: Profile) -> ReleaseRef | None:
    crd = kube.get("CustomResourceDefinition", "", profile.backend_crd)
    if crd is None:
        return None
    release = _helm_release(crd)
    if release is None:  # Helm would refuse to take it over: say so now, and whose it is
        crds = profile.releases[0]
        raise RuntimeUnavailable(
            f"the CustomResourceDefinition {profile.backend_crd} was not installed by Helm (it "
            f"belongs to {owner_of(crd)}), so Helm refuses to install the {crds} chart over it",
            "remove them if nothing uses them, or let Helm adopt them: `kubectl annotate crd "
            f"{profile.backend_crd} {RELEASE_NAME}={crds} "
            f"{RELEASE_NAMESPACE}={profile.namespace}` and `kubectl label crd "
            f"{profile.backend_crd} app.kubernetes.io/managed-by=Helm`")
    return release


def _helm_release(obj: Mapping[str, Any]) -> ReleaseRef | None:
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    name, namespace = annotations.get(RELEASE_NAME), annotations.get(RELEASE_NAMESPACE)
    return ReleaseRef(str(name), str(namespace)) if name and namespace else None


def _namespace(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("namespace") or "")
