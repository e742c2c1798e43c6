"""Fixtures for driving the terminal app: a real simulated runtime, no Docker probe."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console
from textual.app import App
from textual.pilot import Pilot

from sandbox.app import SandboxApp, make_app
from sandbox.catalog import load_catalog
from sandbox.profiles import DEFAULT_PROFILE
from sandbox.runtime import Runtime
from sandbox.settings import Settings
from sandbox.sim.runtime import SimRuntime
from tests.conftest import TOKEN

AppFactory = Callable[..., SandboxApp]


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No user config, no real cache dir, no animations."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


@pytest.fixture
def make() -> AppFactory:
    def factory(port: int = 0, mock_port: int = 0, provider: str = "mock",
                runtime: Runtime | None = None) -> SandboxApp:
        settings = Settings(runtime="sim", provider=provider, port=port, token=TOKEN)

        def runtime_factory(chosen: Settings, name: str) -> Runtime:
            assert name == "sim"
            return runtime or SimRuntime(DEFAULT_PROFILE, chosen.port, chosen.provider,
                                         [chosen.token], token_delay=0.0, mock_port=mock_port,
                                         preflight=False)  # no internet needed for openai

        return make_app(settings, load_catalog, runtime_factory,
                        lambda requested: ("sim", "Docker is not reachable (test)"))
    return factory


def screen_text(app: App[object]) -> str:
    """What the terminal shows, line by line, as plain text (as Textual's screenshots do)."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True,
                      record=True, legacy_windows=False, safe_box=False)
    console.print(app.screen._compositor.render_update(
        full=True, screen_stack=app._background_screens))
    return console.export_text()


def notices(app: App[object]) -> str:
    """Every notification shown so far (toasts float above the screen's own text)."""
    return "\n".join(f"{n.title}: {n.message}" for n in app._notifications)


async def settle(pilot: Pilot[None]) -> None:
    """Let messages flow and every running worker finish (no sleeping)."""
    for _ in range(3):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()
