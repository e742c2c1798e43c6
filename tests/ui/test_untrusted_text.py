"""The app shows text from outside as written: brackets are not markup, escapes do not act.

A scenario folder from someone else puts ``[/]``, ``[link=…]`` and lone ``[`` into every text
field; a provider answers with terminal escape sequences; the current directory has brackets in
its name. The app survives all of it and shows each text literally (escape sequences as
``\\u001b``), on every screen where it appears.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.widgets import Checkbox, TextArea

from sandbox.catalog.loader import load_catalog
from sandbox.profiles import DEFAULT_PROFILE
from sandbox.runtimes.runtime import Runtime
from sandbox.runtimes.sim.runtime import SimRuntime
from sandbox.settings import Settings
from sandbox.tui.app import SandboxApp, make_app
from sandbox.tui.screens.dialogs import CustomRequestForm, ErrorDialog, ManifestEditor
from sandbox.tui.screens.walkthrough import WalkthroughScreen
from sandbox.tui.widgets.exchange_panes import ResponsePane
from tests.conftest import REPO, TOKEN
from tests.ui.conftest import record_notifications, screen_text, settle
from tests.ui.test_app import run_scenario, start, until_dialog
from tests.untrusted_text import BIDI, C1, CSI, OSC0, OSC8, OSC52, echo_scenario, raw_in

SIZE = (200, 50)  # wide enough that no title below wraps
TITLE = "Rotate keys [/] the quick way [link=https://evil.example/login]click[/link]"
SUMMARY = "Summary [b]bold?[/b] \\[x] [$success]ok[/] 鍵の管理 🔑"
SECURITY = "The key is kept in memory only [see the README"
BACKEND = "open[/]ai [link=https://evil.example]x[/link]"
BRACKETS = f"""\
id: brackets
title: {json.dumps(TITLE)}
order: 15
needs: [setup]
summary: {json.dumps(SUMMARY, ensure_ascii=False)}
security: {json.dumps(SECURITY)}
steps:
  - id: intro
    title: "Keys [beta"
    explain: "explain [/] and [link=https://evil.example]LINK[/link] and [@click=app.quit]q[/]"
  - id: route
    title: "Apply [/] it"
    apply: [manifests/route.yaml]
  - id: unresolved
    title: "Wait [i]"
    wait:
      - resource: HTTPRoute/kgateway-system/openai
        conditions: {{ResolvedRefs: {{status: "False", reason: BackendNotFound}}}}
  - id: ask
    title: "Ask [bold]loudly[/bold]"
    request: {{method: GET, path: "/nothing[/]"}}
    expect: {{status: 200}}
"""
# An answer a provider could send: every escape sequence a terminal acts on, and markup.
ANSWER = f"gpt-4o {OSC52}{OSC0}{OSC8}{CSI}{C1}{BIDI} [/] [bold]b[/bold]"


def brackets_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "scenarios"
    (folder / "manifests").mkdir(parents=True)
    (folder / "brackets.yaml").write_text(BRACKETS)
    route = (REPO / "scenarios" / "manifests" / "httproute.yaml").read_text()
    (folder / "manifests" / "route.yaml").write_text(
        route.replace("  - name: openai\n", f"  - name: {json.dumps(BACKEND)}\n"))
    return folder


def app_with(folder: Path) -> SandboxApp:
    settings = Settings(runtime="sim", provider="mock", port=0, token=TOKEN,
                        scenario_dirs=(folder,))

    def runtime_factory(chosen: Settings, name: str) -> Runtime:
        return SimRuntime(DEFAULT_PROFILE, chosen.port, chosen.provider, [chosen.token],
                          token_delay=0.0, preflight=False)

    app = make_app(settings, lambda: load_catalog([folder]), runtime_factory,
                   lambda requested: ("sim", "Docker is not reachable (test)"))
    record_notifications(app)
    return app


def toasts(app: App[Any]) -> str:
    """The notifications on screen now, as shown (title and message; ``notifications=True``)."""
    return "\n".join(str(toast.render()) for toast in app.screen.query("Toast"))


def shown(app: App[Any]) -> str:
    """The whole screen as text, checked to hold nothing a terminal would act on."""
    text = screen_text(app)
    assert raw_in(text) == [], text
    return text


async def select(pilot: Any, screen: WalkthroughScreen, scenario_id: str) -> None:
    while screen.selected.id != scenario_id:
        await pilot.press("down")
    await settle(pilot)


async def test_every_text_field_shows_its_brackets_as_written(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    workdir = tmp_path / "dir[/]x [b]y"  # `w` notifies a path with brackets in it
    workdir.mkdir(parents=True)  # "dir[" holding "]x [b]y"
    monkeypatch.chdir(workdir)
    app = app_with(brackets_folder(tmp_path))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await start(pilot)
        await run_scenario(pilot, screen, "setup", [])
        await select(pilot, screen, "brackets")
        text = shown(app)
        for literal in (TITLE, SUMMARY, SECURITY, "Step 1 of 4 · explain  Keys [beta",
                        "explain [/] and [link=https://evil.example]LINK[/link] and "
                        "[@click=app.quit]q[/]"):
            assert literal in text, literal
        assert "Rotate keys [/] the quick" in text  # the scenario list, too

        for _ in range(3):  # explain, apply, wait: a condition message with brackets
            await pilot.press("n")
            await settle(pilot)
        await pilot.press("2")
        await pilot.pause()
        text = shown(app)
        assert "done: Wait [i]: passed" in text
        assert f"kgateway Backend not found: kgateway-system/{BACKEND}" in text

        await pilot.press("n")  # the request fails: its detail and the request pane
        await settle(pilot)
        await pilot.press("1")
        await pilot.pause()
        text = shown(app)
        assert "Step 4 of 4 · request  Ask [bold]loudly[/bold]" in text
        assert "✗ expected status 200, got 404 Not Found" in text
        assert "/nothing[/]" in text

        await pilot.press("e")  # the editor's title is the step's
        await until_dialog(pilot, ManifestEditor)
        assert "Edit: Apply [/] it" in shown(app)
        await pilot.click("#cancel")
        await settle(pilot)
        assert app.screen is screen, app.screen

        await pilot.press("d")  # no other profile: the notification quotes the title
        await pilot.pause()
        assert f"{TITLE} has no version for another API profile." in toasts(app)
        await pilot.press("w")
        await pilot.pause()
        [written] = workdir.glob("agw-sandbox-transcript-*.md")
        assert f"in Markdown: {written}" in toasts(app)
        await pilot.press("x")
        await settle(pilot)
        assert f"{TITLE}: resources deleted, back to step 1." in toasts(app)
        shown(app)
        assert app.is_running and isinstance(app.screen, WalkthroughScreen)


async def test_an_answer_with_escape_sequences_shows_them_as_text(tmp_path: Path) -> None:
    app = app_with(echo_scenario(tmp_path / "echo"))  # a Backend that keeps the asked model
    async with app.run_test(size=SIZE) as pilot:
        screen = await start(pilot)
        await run_scenario(pilot, screen, "setup", [])
        await select(pilot, screen, "echo")
        for _ in range(2):  # the Backend and the route, then the wait
            await pilot.press("n")
            await settle(pilot)
        for stream in (False, True):
            await pilot.press("t")
            await until_dialog(pilot, CustomRequestForm)
            body = {"model": ANSWER, "stream": stream, "messages": [{"role": "user",
                                                                     "content": "hi"}]}
            app.screen.query_one("#body", TextArea).text = json.dumps(body)
            app.screen.query_one("#stream", Checkbox).value = stream
            await pilot.press("ctrl+s")
            await settle(pilot)
            response = screen.query_one(ResponsePane).response
            assert response is not None and response.model == ANSWER  # what was received
            text = shown(app)  # the pane wraps the answer: each piece on a line of its own
            for piece in ("model gpt-4o", "\\u009b31m\\u202edesrever\\u202c [/]", "[bold]b[/bold]",
                          "\\u001b]52;c;ZWNobyBvd25lZA==\\u0007\\u001b]0;OWNED-TITLE\\u0007"):
                assert piece in text, piece
        assert app.is_running


async def test_a_broken_file_whose_name_holds_escapes_and_brackets(tmp_path: Path) -> None:
    folder = tmp_path / "scenarios"
    folder.mkdir()
    (folder / f"bad [b]x [link=evil.example]y [{OSC0}.yaml").write_text("id: [broken\n")
    app = app_with(folder)
    async with app.run_test(size=SIZE) as pilot:
        await until_dialog(pilot, ErrorDialog)
        await pilot.pause()
        text = shown(app)
        assert "bad [b]x [link=evil.example]y [\\u001b]0;OWNED-TITLE\\u0007.yaml" in text
        assert "agw-sandbox cannot start" in text


def test_no_notification_of_the_app_is_read_as_markup() -> None:
    """Notifications quote titles, paths and errors: each call says so, new ones included."""
    calls = []
    for path in sorted((REPO / "sandbox" / "tui").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr == "notify" and not isinstance(node.func.value, ast.Call):
                markup = next((k.value for k in node.keywords if k.arg == "markup"), None)
                calls.append((f"{path.name}:{node.lineno}",
                              isinstance(markup, ast.Constant) and markup.value is False))
    assert len(calls) >= 15 and [where for where, plain in calls if not plain] == []
