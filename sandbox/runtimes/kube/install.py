"""What the sandbox installs on a cluster: the Gateway API CRDs and the kgateway Helm releases.

Each is checked first (present, stuck, installed without our values) and changed only with
consent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import field
from pathlib import Path

from sandbox import stdio
from sandbox.documents import load_all
from sandbox.errors import RuntimeUnavailable
from sandbox.proc import Echo
from sandbox.profiles import PROFILES, Profile
from sandbox.records import record
from sandbox.runtimes.kube import cluster
from sandbox.runtimes.kube.client import Kube
from sandbox.runtimes.kube.installation import Installation, ReleaseRef

BUNDLE_VERSION = "gateway.networking.k8s.io/bundle-version"
CHANNEL = "gateway.networking.k8s.io/channel"
Fetch = Callable[[str], Awaitable[str]]
# Since v1.5 the Gateway API install carries the ValidatingAdmissionPolicy
# safe-upgrades.gateway.networking.k8s.io; v1.6.0's denies every bundle-version matching
# `v1.[0-5].\d+`, i.e. any older minor release.
SAFE_UPGRADES_FROM = (1, 5)
POLICY_KNOWN_UP_TO = (1, 6)  # the newest install read (crds/gateway-api-v1.6.0)


async def gateway_api_crds(kube: Kube, profile: Profile, fetch: Fetch | None,
                           agrees: Callable[[str], bool], echo: Echo,
                           source: str | None = None) -> str:
    """The pinned Gateway API bundle, applied only where the cluster has none or an older one.

    Installed CRDs whose minor is in the profile's supported range and at least the pinned one
    are used as they are: applying the pin over them would be a downgrade of cluster-wide CRDs.
    ``source``: where ``fetch`` really reads it from, when not the pinned URL (a bundle's file).
    """
    crd = await stdio.in_thread(kube.get, "CustomResourceDefinition", "",
                                "gateways.gateway.networking.k8s.io")
    wanted = profile.pins.gateway_api
    annotations = ((crd or {}).get("metadata") or {}).get("annotations") or {}
    found = annotations.get(BUNDLE_VERSION)
    if found == wanted:
        return "already installed"
    if found and _usable(found, profile):
        channel = annotations.get(CHANNEL, "standard")
        return f"{found} installed already" + (f" ({channel} channel)"
                                               if channel != "standard" else "")
    if found and _minor(found) > _minor(profile.pins.gateway_api_range[1]):
        # Never offered: a downgrade. Where the installed policy is known, it is named.
        known_policy = refused_downgrade(found, wanted) and _minor(found) <= POLICY_KNOWN_UP_TO
        raise (downgrade_refused if known_policy else newer_than_supported)(found, profile)
    installed = found or ("of an unknown version" if crd is not None else None)
    if installed and not agrees(f"Upgrade the Gateway API CRDs from {installed} to {wanted}?"
                                + _one_way(found or "", wanted)):
        raise RuntimeUnavailable(f"the cluster has Gateway API {installed}, not {wanted}",
                                 "rerun with consent to upgrade, or use a cluster with "
                                 f"Gateway API {wanted}")
    if fetch is None:
        from sandbox.http_client import fetch_text

        fetch = fetch_text
    text = await fetch(profile.pins.gateway_api_crds_url)
    documents = load_all(text)
    echo(f"$ kubectl apply --server-side -f {source or profile.pins.gateway_api_crds_url}")
    for doc in documents:  # cluster-wide and shared: changed only with consent (above)
        await stdio.in_thread(kube.apply, doc, False)
    return f"applied {len(documents)} objects"


def _usable(found: str, profile: Profile) -> bool:
    """In the profile's supported range, and not below the pinned minor."""
    low = max(_minor(profile.pins.gateway_api), _minor(profile.pins.gateway_api_range[0]))
    return bool(_minor(found)) and low <= _minor(found) <= _minor(
        profile.pins.gateway_api_range[1])


def newer_than_supported(found: str, profile: Profile) -> RuntimeUnavailable:
    low, high = profile.pins.gateway_api_range
    return RuntimeUnavailable(
        f"the cluster has the Gateway API {found} CRDs, newer than the {profile.name} profile "
        f"supports Gateway API {low} to {high}: the sandbox never installs older CRDs over "
        "newer ones",
        "use a cluster whose Gateway API CRDs are in that range (kind: the sandbox's own "
        f"cluster {profile.cluster_name}, with --runtime kind)")


def refused_downgrade(found: str, wanted: str) -> bool:
    """Whether the installed CRDs' admission policy refuses the CRDs ``wanted``."""
    installed = _minor(found)
    return installed >= SAFE_UPGRADES_FROM and _minor(wanted) < installed


def downgrade_refused(found: str, profile: Profile) -> RuntimeUnavailable:
    """A cluster with Gateway API >= v1.5 cannot take the older CRDs this profile pins."""
    fits = [p.name for p in PROFILES.values() if p.pins.gateway_api == found]
    return RuntimeUnavailable(
        f"the cluster has the Gateway API {found} CRDs, and their admission policy "
        "(ValidatingAdmissionPolicy safe-upgrades.gateway.networking.k8s.io) refuses the older "
        f"{profile.pins.gateway_api} CRDs that the {profile.name} profile needs",
        "use a separate cluster for each profile (kind: the default --cluster-name is "
        f"{profile.cluster_name} for {profile.name})"
        + (f", or use this cluster with --profile {fits[0]}" if fits else ""))


def _one_way(found: str, wanted: str) -> str:
    if _minor(found) < SAFE_UPGRADES_FROM <= _minor(wanted):
        return (f" (one way: from {wanted} on, the cluster refuses Gateway API CRDs older than "
                "v1.5.0, so it cannot go back)")
    return ""


def _minor(version: str) -> tuple[int, ...]:
    """``v1.6.0`` -> (1, 6)."""
    return tuple(int(n) for n in version.lstrip("v").split(".")[:2] if n.isdigit())


@record
class Charts:
    """Brings the profile's two releases to the pinned version, asking before any change.

    ``installation``: where they are (installation.py); the guide's names when not given.
    """

    profile: Profile
    kubeconfig: Path | None
    context: str | None
    agrees: Callable[[str], bool]
    echo: Echo
    # A chart's local .tgz (an offline bundle), by its pinned oci:// reference.
    local: Mapping[str, Path] = field(default_factory=dict)
    installation: Installation | None = None

    async def ensure(self) -> str:
        pins = self.profile.pins
        place = self.installation or Installation.guide(self.profile)
        crds, controller = self.profile.releases
        results = []
        for chart_name, target, chart, values in (
                (crds, place.crds, pins.crd_chart, ()),
                (controller, place.controller, pins.chart, pins.helm_values)):
            release = _Release(chart_name, target, self.profile)
            results.append(await self._ensure(release, str(self.local.get(chart, chart)),
                                              values))
        return ", ".join(results)

    async def _ensure(self, release: _Release, chart: str,
                      values: tuple[tuple[str, str], ...]) -> str:
        pins = self.profile.pins
        found = await cluster.helm_release(release.name, self.profile, self.kubeconfig,
                                           self.context, release.namespace)
        if found is not None and found.stuck:
            raise RuntimeUnavailable(
                f"the Helm release {release.name} in {release.namespace} is stuck in "
                f"{found.status} (an earlier install or upgrade was interrupted), so Helm "
                "refuses to touch it",
                f"repair it with `{self._repair(found, release)}`, then run `agw-sandbox up` "
                "again")
        version = found.version if found is not None and found.status == "deployed" else None
        if found is not None and version is None:  # e.g. an install that failed
            version = f"{found.version}, {found.status}"
        if version is not None and cluster.same_chart_version(version, pins.chart_version):
            return f"{release} present{release.where}" + await self._check_values(
                release, chart, values)
        if not self._may_install(release, version):
            raise RuntimeUnavailable(
                f"{release}{release.where_named} {pins.chart_version} is not installed in "
                f"context {self.context}" + (f" (found {version})" if version else ""),
                "rerun `agw-sandbox up --context ... --install` to let the sandbox install it, "
                "or install it yourself")
        await cluster.helm_install(release.name, chart, self.profile, self.kubeconfig,
                                   self.context, values, echo=self.echo,
                                   namespace=release.namespace)
        return f"{release} installed{release.where}"

    def _repair(self, found: cluster.Release, release: _Release) -> str:
        return cluster.repair_command(found, self.profile, self.kubeconfig, self.context,
                                      release.namespace)

    async def _check_values(self, release: _Release, chart: str,
                            wanted: tuple[tuple[str, str], ...]) -> str:
        """A release installed without our values (kgateway without agentgateway) is named now,
        not after minutes of waiting for a GatewayClass that never comes."""
        if not wanted:
            return ""
        values = await cluster.helm_values(release.name, self.profile, self.kubeconfig,
                                           self.context, release.namespace)
        missing = tuple((key, value) for key, value in wanted
                        if str(cluster.value_at(values, key)).lower() != value.lower())
        if not missing:
            return ""
        settings = ", ".join(f"{key}={value}" for key, value in missing)
        command = cluster.helm_command(
            "upgrade", release.name, chart, "--version", self.profile.pins.chart_version,
            "--reuse-values", *[a for k, v in missing for a in ("--set", f"{k}={v}")],
            profile=self.profile, kubeconfig=self.kubeconfig, context=self.context,
            namespace=release.namespace)
        if not self.agrees(f"The {release.name} release lacks {settings} (agentgateway is off). "
                           f"Run `{command}`?"):
            raise RuntimeUnavailable(
                f"{release}{release.where_named} {self.profile.pins.chart_version} is installed "
                f"in context {self.context} without {settings}: it runs only the Envoy gateway, "
                f"so there is no GatewayClass {self.profile.gateway_class} and nothing would "
                "serve the sandbox's Gateway",
                f"enable it with `{command}` (or rerun with --install to let the sandbox do it)")
        await cluster.helm_install(release.name, chart, self.profile, self.kubeconfig,
                                   self.context, missing, echo=self.echo, reuse_values=True,
                                   namespace=release.namespace)
        return f" ({settings} turned on)"

    def _may_install(self, release: _Release, found: str | None) -> bool:
        target = f"{self.profile.pins.chart_version} into context {self.context}"
        if found is None:
            return self.agrees(f"Install {release}{release.where_named} {target}?")
        if "," in found:  # there, but not deployed
            return self.agrees(f"Install {release}{release.where_named} {target} "
                               f"(found {found})?")
        return self.agrees(f"Upgrade {release}{release.where_named} from {found} to {target}?")


@record
class _Release:
    """One of the profile's charts (``chart_name``, the guide's release name) and the release
    that holds it on this cluster."""

    chart_name: str
    target: ReleaseRef
    profile: Profile

    @property
    def name(self) -> str:
        return self.target.name

    @property
    def namespace(self) -> str:
        return self.target.namespace

    @property
    def where(self) -> str:
        """`` as release X in namespace Y`` when not under the guide's names."""
        return f" as {self.target}" if self._moved else ""

    @property
    def where_named(self) -> str:
        return f" ({self.target})" if self._moved else ""

    @property
    def _moved(self) -> bool:
        return self.target.elsewhere(self.chart_name, self.profile)

    def __str__(self) -> str:
        return self.chart_name
