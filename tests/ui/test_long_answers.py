"""An answer of many short lines (a few hundred KB, under the 1 MiB cap): the panes lay out only
its beginning, say so and where the rest is, and the app answers the next key at once."""

from __future__ import annotations

import asyncio
import socket
import threading
from pathlib import Path

import pytest
from textual.app import App
from textual.widgets import Static

from sandbox.tui.widgets.exchange_panes import SHOWN_LINES, RequestPane, ResponsePane
from sandbox.walkthrough.events import RequestView
from tests.hostile_provider import completion, hostile_folder, hostile_provider, stream, whole
from tests.ui.conftest import screen_text, settle
from tests.ui.test_endless_stream import STEP_LIMIT, _app, _at_the_request

LINES = 200000
# What the pane may lay out besides the answer's shown lines: status, headers, the body cut by
# characters (a JSON line of the whole answer, wrapped), notes.
AROUND = 2500


def _laid_out(pane: RequestPane | ResponsePane, body_id: str) -> int:
    """How many lines the pane's content holds once laid out at its width."""
    return pane.query_one(f"#{body_id}", Static).virtual_size.height


async def _ask_and_press_f1(tmp_path: Path, answer: object, stream_step: bool,
                            lines: int = LINES) -> str:
    with hostile_provider(answer) as (_, port):  # type: ignore[arg-type]
        app = _app(hostile_folder(tmp_path / "scenarios", port, stream=stream_step))
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await _at_the_request(pilot)
            await pilot.press("n")
            await asyncio.wait_for(app.workers.wait_for_complete(), STEP_LIMIT)
            await pilot.press("f1")  # answered once the answer is on screen
            await settle(pilot)
            assert app.screen.query("HelpPanel")
            pane = screen.query_one(ResponsePane)
            response = pane.response
            assert response is not None and response.content.count("\n") >= lines - 1
            assert _laid_out(pane, "response-body") < SHOWN_LINES + AROUND
            await pilot.press("f1")  # help away
            await settle(pilot)
            return _right_pane(screen_text(app))


def _right_pane(text: str) -> str:
    """The words of the right-hand pane (the response pane beside the request pane), in order,
    on one line: what a person reads there."""
    rows = [line.rpartition("││")[2].rstrip().removesuffix("│") for line in text.splitlines()
            if "││" in line]
    return " ".join(" ".join(rows).split())


@pytest.mark.parametrize("lines", [LINES, 50000])
async def test_an_answer_of_many_short_lines_shows_its_beginning_with_a_note(
        tmp_path: Path, lines: int) -> None:
    def provider(conn: socket.socket, key: str, stop: threading.Event) -> None:
        whole(conn, completion("x\n" * lines))

    text = await _ask_and_press_f1(tmp_path, provider, stream_step=False, lines=lines)
    assert f"only the first {SHOWN_LINES} lines of the answer are shown here ({lines} in all)" \
        in text


async def test_a_streamed_answer_of_many_short_lines_shows_its_beginning_with_a_note(
        tmp_path: Path) -> None:
    def provider(conn: socket.socket, key: str, stop: threading.Event) -> None:
        stream(conn, ["y\n" * 500] * (LINES // 500))  # 400 events of 500 lines

    text = await _ask_and_press_f1(tmp_path, provider, stream_step=True)
    assert f"only the first {SHOWN_LINES} lines of the answer are shown here ({LINES} in all)" \
        in text


class _RequestOnly(App[None]):
    def compose(self):  # type: ignore[no-untyped-def]
        yield RequestPane(id="request")


async def test_a_request_body_of_many_short_lines_shows_its_beginning_with_a_note() -> None:
    """A body typed or pasted with ``t`` (or a scenario's) may be as long: the same bound."""
    app = _RequestOnly()
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.query_one(RequestPane)
        body = '{"messages": [' + '{"content": "z"},\n' * 120000 + "{}]}"
        pane.request = RequestView("POST", "http://127.0.0.1:1/openai",
                                   (("content-type", "application/json"),), body, "curl")
        await settle(pilot)
        assert _laid_out(pane, "request-body") < SHOWN_LINES + 20
        pane.scroll_end(animate=False)
        await settle(pilot)
        text = " ".join(screen_text(app).replace("│", " ").split())
        assert (f"… only the first {SHOWN_LINES} lines of the request body are shown here "
                "(120001 in all)") in text
