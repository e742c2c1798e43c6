"""A streamed answer of thousands of deltas is laid out once per frame, not once per delta.

12 000 deltas each re-laid out the whole answer so far: the app answered no key for 30 s.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from rich.console import Console
from textual.app import App, ComposeResult
from textual.widgets import Static

from sandbox.tui.widgets.exchange_panes import ResponsePane
from sandbox.walkthrough.events import ResponseView

DELTAS = ["hello ", "sk-test-cana ", "world\n"] * 1000


class PaneApp(App[None]):
    def compose(self) -> ComposeResult:
        yield ResponsePane()


def body_text(pane: ResponsePane) -> str:
    console = Console(width=100, record=True, file=io.StringIO())
    console.print(pane.query_one("#response-body", Static).content)
    return console.export_text()


def count_updates(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every renderable laid out in the response pane's body, in order."""
    laid_out: list[object] = []
    update = Static.update

    def recording(static: Static, content: Any = "", **kwargs: Any) -> None:
        if static.id == "response-body":
            laid_out.append(content)
        update(static, content, **kwargs)

    monkeypatch.setattr(Static, "update", recording)
    return laid_out


async def test_a_burst_of_deltas_is_laid_out_once_and_whole(
        monkeypatch: pytest.MonkeyPatch) -> None:
    laid_out = count_updates(monkeypatch)
    async with PaneApp().run_test(size=(100, 30)) as pilot:
        pane = pilot.app.query_one(ResponsePane)
        pane.waiting()
        before = len(laid_out)
        for delta in DELTAS:  # as the session's messages arrive back to back
            pane.chunk(delta)
        await pilot.pause(0.3)
        assert len(laid_out) - before <= 3, len(laid_out) - before
        shown = body_text(pane)
        assert shown.rstrip().endswith("sk-test-cana world"), shown[-200:]
        assert shown.count("hello") == 1000


async def test_the_answer_is_not_overwritten_by_a_late_frame(
        monkeypatch: pytest.MonkeyPatch) -> None:
    async with PaneApp().run_test(size=(100, 30)) as pilot:
        pane = pilot.app.query_one(ResponsePane)
        pane.waiting()
        for delta in DELTAS[:30]:
            pane.chunk(delta)
        pane.response = ResponseView(status=200, reason="OK", latency_ms=5.0, model="m",
                                     content="the whole answer", headers=(), body="{}")
        await pilot.pause(0.3)
        shown = body_text(pane)
        assert "200 OK" in shown and "streaming…" not in shown, shown[:300]
