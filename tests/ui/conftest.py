"""Fixtures for driving the terminal app: a real simulated runtime, no Docker probe."""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

import pytest
from textual.app import App
from textual.pilot import Pilot

from sandbox.catalog.loader import load_catalog
from sandbox.profiles import DEFAULT_PROFILE
from sandbox.runtimes.runtime import Runtime
from sandbox.runtimes.sim.runtime import SimRuntime
from sandbox.settings import Settings
from sandbox.tui.app import SandboxApp, make_app
from tests.conftest import TOKEN

AppFactory = Callable[..., SandboxApp]
SETTLE_LIMIT = 60.0  # seconds; generous for a loaded machine


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No user config, no real cache dir, no animations."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("AGW_SANDBOX_TOKEN", raising=False)


@pytest.fixture
def make() -> AppFactory:
    def factory(port: int = 0, mock_port: int = 0, provider: str = "mock",
                runtime: Runtime | None = None, token: str = TOKEN) -> SandboxApp:
        settings = Settings(runtime="sim", provider=provider, port=port, token=token)

        def runtime_factory(chosen: Settings, name: str) -> Runtime:
            assert name == "sim"
            return runtime or SimRuntime(DEFAULT_PROFILE, chosen.port, chosen.provider,
                                         [chosen.token], token_delay=0.0, mock_port=mock_port,
                                         preflight=False)  # no internet needed for openai

        app = make_app(settings, load_catalog, runtime_factory,
                       lambda requested: ("sim", "Docker is not reachable (test)"))
        record_notifications(app)
        return app
    return factory


_SVG_TEXT = re.compile(r'<text class="[^"]*" x="([\d.]+)" y="[\d.]+" textLength="([\d.]+)" '
                       r'clip-path="url\(#[\w-]+-line-(\d+)\)">([^<]*)</text>')


def screen_text(app: App[Any]) -> str:
    """What the terminal shows, line by line, as plain text: read from the public screenshot.

    The SVG leaves runs of blanks out and places each run of text by its x position.
    """
    runs = [(float(x), float(length), int(line), html.unescape(text).replace("\xa0", " "))
            for x, length, line, text in _SVG_TEXT.findall(app.export_screenshot())]
    cell = next((length / len(text) for _, length, _, text in runs if text), 1.0)
    lines: dict[int, str] = {}
    for x, _, line, text in sorted(runs):
        column = round(x / cell)
        current = lines.get(line, "")
        lines[line] = current + " " * max(0, column - len(current)) + text
    return "\n".join(lines.get(n, "") for n in range(max(lines, default=-1) + 1))


_NOTICES: WeakKeyDictionary[App[Any], list[str]] = WeakKeyDictionary()


def record_notifications(app: App[Any]) -> None:
    """Keep every notification's title and message (toasts vanish, and long ones wrap)."""
    seen = _NOTICES.setdefault(app, [])
    notify = app.notify

    def recording(message: str, *, title: str = "", **kwargs: Any) -> None:
        seen.append(f"{title}: {message}")
        notify(message, title=title, **kwargs)

    app.notify = recording  # type: ignore[method-assign]


def notices(app: App[Any]) -> str:
    """Every notification shown so far."""
    return "\n".join(_NOTICES.get(app, []))


async def settle(pilot: Pilot[None]) -> None:
    """Let messages flow and every running worker finish (no sleeping)."""
    for _ in range(3):
        await pilot.pause()
        # A worker waiting on a dialog never completes: fail then instead of hanging.
        await asyncio.wait_for(pilot.app.workers.wait_for_complete(), SETTLE_LIMIT)
    await pilot.pause()
