"""The app's `w` key and palette entry: a Markdown transcript of what has run, keys masked."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import TOKEN
from tests.integration.test_canary import leaks
from tests.ui.conftest import AppFactory, notices, settle
from tests.ui.test_app import SIZE, run_scenario, start


async def test_w_writes_what_has_run_so_far(make: AppFactory, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        screen = await start(pilot)
        await pilot.press("w")
        await pilot.pause()
        assert "nothing has run yet" in notices(app)
        assert not list(tmp_path.glob("*.md"))

        await run_scenario(pilot, screen, "setup", [])
        await pilot.press("down", "n", "n")  # the first two steps of the inline scenario
        await settle(pilot)
        await pilot.press("w")
        await pilot.pause()
        [written] = tmp_path.glob("agw-sandbox-transcript-*.md")
        assert f"Transcript written: Everything run so far, keys masked, in Markdown: " \
               f"{written}" in notices(app)
        markdown = written.read_text()
        assert "- Set up the gateway (`setup`): ✓ passed" in markdown
        assert "- Key inline in the Backend (`inline`): ▶ 2 of 7 steps run" in markdown
        assert "**Response:** `404 Not Found`" in markdown
        assert "inline: sk-…c5Ge" in markdown and "${AGW_SANDBOX_TOKEN}" in markdown
        assert not leaks(markdown, TOKEN)


async def test_the_palette_entry_writes_it_too(make: AppFactory, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        screen = await start(pilot)
        await run_scenario(pilot, screen, "setup", [])
        [entry] = [c for c in app.get_system_commands(screen) if c.title == "Write transcript"]
        entry.callback()
        await pilot.pause()
        [written] = tmp_path.glob("agw-sandbox-transcript-*.md")
        assert "Step 4 of 4 · request · Knock on the door" in written.read_text()


async def test_a_read_only_directory_sends_it_to_the_cache(make: AppFactory, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    locked = Path("/sys/kernel") if os.geteuid() == 0 else tmp_path / "locked"
    if locked != Path("/sys/kernel"):
        locked.mkdir(mode=0o500)
    monkeypatch.chdir(locked)
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        screen = await start(pilot)
        await run_scenario(pilot, screen, "setup", [])
        await pilot.press("w")
        await pilot.pause()
        [written] = (tmp_path / "cache" / "agw-sandbox" / "transcripts").glob("*.md")
        assert str(written) in notices(app)
        assert "Set up the gateway" in written.read_text()
