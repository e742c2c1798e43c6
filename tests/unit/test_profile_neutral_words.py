"""What the sandbox says holds for both profiles: the consent flag, the Helm hint, the README."""

from __future__ import annotations

import pytest

from sandbox.cli import build_parser, settings_from
from sandbox.profiles import AGENTGATEWAY_V1_4, DEFAULT_PROFILE, Profile
from sandbox.runtimes.kube.cluster import _install_hint
from tests.conftest import REPO


@pytest.mark.parametrize("flag", ["--install", "--install-kgateway"])
def test_the_consent_flag_is_install_and_the_old_name_still_works(flag: str) -> None:
    for argv in (["up", "--context", "mine", flag], [flag, "up", "--context", "mine"]):
        assert settings_from(build_parser().parse_args(argv)).install_kgateway
    assert not settings_from(build_parser().parse_args(["up", "--context", "mine"])
                             ).install_kgateway


def test_help_names_the_neutral_flag() -> None:
    text = build_parser().format_help()
    assert "--install " in text and "--install-kgateway" not in text


@pytest.mark.parametrize(("profile", "registry", "other"), [
    (DEFAULT_PROFILE, "cr.kgateway.dev", "cr.agentgateway.dev"),
    (AGENTGATEWAY_V1_4, "cr.agentgateway.dev", "cr.kgateway.dev"),
])
def test_the_helm_hint_names_the_profiles_own_registry(profile: Profile, registry: str,
                                                       other: str) -> None:
    stderr = (f'Error: failed to do request: Head "https://{registry}/v2/": dial tcp: lookup '
              f"{registry}: no such host")
    hint = _install_hint(stderr, profile.releases[1], profile.pins.chart, profile,
                         profile.namespace)
    assert f"OCI artifacts on {registry}" in hint and other not in hint


def test_the_readme_describes_both_profiles_where_it_describes_the_runtimes() -> None:
    readme = (REPO / "README.md").read_text()
    kind_row = next(line for line in readme.splitlines() if line.startswith("| `kind`"))
    assert "agentgateway v1.4.1" in kind_row and "kgateway v2.1.3" in kind_row
    assert "Gateway API v1.6.0" in kind_row
    cluster_row = next(line for line in readme.splitlines() if line.startswith("| `cluster`"))
    assert "`--install`" in cluster_row
    simulation = next(p for p in readme.split("\n\n") if p.startswith("The simulation enforces"))
    assert "agentgateway v1.4" in simulation and "kgateway v2.1" in simulation
    assert "service not found" in simulation
