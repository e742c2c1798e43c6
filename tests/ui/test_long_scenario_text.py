"""A scenario's long text is laid out in part, with a note, so selecting it keeps the app live.

An explain of 100 000 short paragraphs (300 KB, under the file cap) held the app for 20 s when
its scenario was selected: the Step pane laid out every paragraph.
"""

from __future__ import annotations

import json
from pathlib import Path

from textual.widgets import Static

from sandbox.tui.widgets.shown_part import SHOWN_LINES
from tests.ui.test_app import start
from tests.ui.test_untrusted_text import app_with, select

SIZE = (120, 40)


def long_folder(tmp_path: Path, explain: str, summary: str) -> Path:
    folder = tmp_path / "scenarios"
    folder.mkdir()
    (folder / "long.yaml").write_text(
        f"id: long\ntitle: Long text\norder: 15\nsummary: {json.dumps(summary)}\n"
        f"security: Nothing to see.\nsteps:\n  - id: read\n    title: Read it\n"
        f"    explain: {json.dumps(explain)}\n")
    return folder


def pane_lines(static: Static) -> int:
    return len(str(static.render()).splitlines())


async def test_a_long_explain_is_shown_in_part_with_a_note(tmp_path: Path) -> None:
    explain = "".join(f"para {n}\n\n" for n in range(30000))
    app = app_with(long_folder(tmp_path, explain, "A summary " + "s\n\n" * 5000))
    async with app.run_test(size=SIZE) as pilot:
        screen = await start(pilot)
        await select(pilot, screen, "long")
        shown = screen.query_one("#step-explain", Static)
        assert "para 0" in str(shown.render())
        assert "para 29999" not in str(shown.render())
        assert pane_lines(shown) <= SHOWN_LINES + 5
        text = str(shown.render())
        assert "only the first" in text and "agw-sandbox run -v" in text, text[-400:]
        header = str(screen.query_one("#step-header", Static).render())
        assert len(header.splitlines()) <= SHOWN_LINES + 20
        assert "agw-sandbox run -v" in header


async def test_a_short_explain_is_shown_whole_without_a_note(tmp_path: Path) -> None:
    app = app_with(long_folder(tmp_path, "one\n\ntwo\n\nthree", "short"))
    async with app.run_test(size=SIZE) as pilot:
        screen = await start(pilot)
        await select(pilot, screen, "long")
        text = str(screen.query_one("#step-explain", Static).render())
        assert "three" in text and "only the first" not in text
