"""Builds the Runtime a Settings object asks for."""

from __future__ import annotations

from sandbox.errors import RuntimeUnavailable
from sandbox.profiles import DEFAULT_PROFILE, Profile
from sandbox.runtime import Runtime
from sandbox.settings import Settings


def make_runtime(settings: Settings, name: str, profile: Profile = DEFAULT_PROFILE) -> Runtime:
    if name == "sim":
        from sandbox.simruntime import SimRuntime

        return SimRuntime(profile, settings.port, settings.provider, [settings.token])
    raise RuntimeUnavailable(f"the {name} runtime is not part of this version yet",
                             "use --runtime sim (offline) for now")
