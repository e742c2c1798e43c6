"""Copying the last request (y) after the scenario's cleanup: the copy says the route is gone and
how to bring it back, and the saved script says only what the command needs."""

from __future__ import annotations

import subprocess
from pathlib import Path

from textual.widgets import Input

from sandbox.tui.screens.dialogs import CustomRequestForm
from tests.conftest import TOKEN
from tests.ui.conftest import AppFactory, notices, settle
from tests.ui.test_app import SIZE, run_scenario, start, until_dialog

PASSTHROUGH = "“Passthrough of the client's own token”"


def script(tmp_path: Path) -> str:
    return (tmp_path / "cache" / "agw-sandbox" / "last-request.sh").read_text()


async def test_after_the_cleanup_the_copy_says_the_route_is_gone_and_how_to_get_it_back(
        make: AppFactory, tmp_path: Path) -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        screen = await start(pilot)
        await run_scenario(pilot, screen, "setup", [])
        await run_scenario(pilot, screen, "passthrough", [])  # its last step is the cleanup
        await pilot.press("y")
        await pilot.pause()
        gone = (f"The cleanup step of {PASSTHROUGH} removed HTTPRoute kgateway-system/openai, "
                "the route this request was sent through: sent again, it gets 404 (route not "
                f"found). To bring the route back, select {PASSTHROUGH}, press x to reset it "
                "and n to run its steps again.")
        assert gone in notices(app)
        saved = script(tmp_path)
        comments = [line[2:] for line in saved.splitlines() if line.startswith("# ")]
        assert comments[1].startswith("export AGW_SANDBOX_TOKEN first")
        assert " ".join(comments[2:]) == gone  # the same words, wrapped on comment lines
        assert saved.splitlines()[-1] == app.clipboard and TOKEN not in saved
        # Shell sees comments only: the note cannot run, however it is worded.
        assert subprocess.run(["sh", "-n", str(tmp_path / "cache" / "agw-sandbox" /
                                             "last-request.sh")], check=False).returncode == 0

        await pilot.press("up", "up")  # inline's route step puts the same route back
        for _ in range(3):
            await pilot.press("n")
            await settle(pilot)
        await pilot.press("y")
        await pilot.pause()
        assert notices(app).count("removed HTTPRoute") == 1
        assert "removed" not in script(tmp_path)


async def test_a_reset_says_so_and_only_asks_to_run_the_steps_again(make: AppFactory,
                                                                     tmp_path: Path) -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        screen = await start(pilot)
        await run_scenario(pilot, screen, "setup", [])
        await pilot.press("down")  # inline, up to its first request
        for _ in range(5):
            await pilot.press("n")
            await settle(pilot)
        await pilot.press("x")
        await settle(pilot)
        await pilot.press("y")
        await pilot.pause()
        assert ("Resetting “Key inline in the Backend” removed HTTPRoute kgateway-system/openai"
                in notices(app))
        assert "To bring the route back, run its steps again (n)." in notices(app)


async def test_the_script_asks_for_the_key_only_when_the_command_reads_it(
        make: AppFactory, tmp_path: Path) -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        screen = await start(pilot)
        await run_scenario(pilot, screen, "setup", [])  # its request carries no key
        await pilot.press("y")
        await pilot.pause()
        assert "AGW_SANDBOX_TOKEN" not in app.clipboard
        assert "export" not in script(tmp_path)
        assert "removed" not in notices(app)  # nothing removed the gateway's answer since

        await pilot.press("down", "down", "down")  # passthrough: the client sends the key
        for _ in range(5):
            await pilot.press("n")
            await settle(pilot)
        await pilot.press("y")
        await pilot.pause()
        assert '"$AGW_SANDBOX_TOKEN"' in app.clipboard
        assert "# export AGW_SANDBOX_TOKEN first: the command reads the key from it" in \
            script(tmp_path)


async def test_a_request_no_route_took_gets_no_such_note(make: AppFactory) -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        screen = await start(pilot)
        await run_scenario(pilot, screen, "setup", [])
        await pilot.press("down")  # inline, up to its route being ready
        for _ in range(4):
            await pilot.press("n")
            await settle(pilot)
        await pilot.press("t")  # a path no route matches: the gateway's own 404
        await until_dialog(pilot, CustomRequestForm)
        app.screen.query_one("#path", Input).value = "/elsewhere"
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.press("x", "y")
        await settle(pilot)
        assert "Copied as curl" in notices(app) and "removed" not in notices(app)
