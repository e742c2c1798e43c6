"""Keys in the app: masked in the step pane whatever they hold, refused at the key field when odd,
and the curl copied with y runs only curl when pasted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from textual.widgets import Input

from sandbox.catalog.loader import load_catalog
from sandbox.profiles import DEFAULT_PROFILE
from sandbox.runtimes.runtime import Runtime
from sandbox.runtimes.sim.runtime import SimRuntime
from sandbox.settings import Settings
from sandbox.tui.app import SandboxApp, make_app
from sandbox.tui.screens.provider import ProviderScreen
from sandbox.tui.screens.walkthrough import WalkthroughScreen
from tests.ui.conftest import notices, record_notifications, screen_text, settle

CORE = "canary-7f3a9c1e55d24b"
ODD_KEY = f"*sk-{CORE}'\"$(id)`id`\\"  # YAML quotes it and doubles the ', JSON escapes " and \


def app_with(token: str, provider: str = "mock") -> SandboxApp:
    settings = Settings(runtime="sim", provider=provider, port=0, token=token)

    def runtime_factory(chosen: Settings, name: str) -> Runtime:
        return SimRuntime(DEFAULT_PROFILE, chosen.port, chosen.provider, [chosen.token],
                          token_delay=0.0)

    app = make_app(settings, load_catalog, runtime_factory,
                   lambda requested: ("sim", "Docker is not reachable (test)"))
    record_notifications(app)
    return app


async def test_the_step_pane_masks_a_key_that_yaml_would_quote() -> None:
    app = app_with(ODD_KEY)
    async with app.run_test(size=(120, 60)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("g")  # setup first: the inline scenario needs its Gateway
        await settle(pilot)
        await pilot.press("down", "n")  # inline: past the explanation, at the Backend
        await settle(pilot)
        text = screen_text(app)
        assert CORE not in text
        assert "inline: '*sk-…id`\\'" in text  # the masked value, quoted by YAML


async def test_the_scenario_list_and_step_pane_mask_a_key_in_a_scenario_text(
        tmp_path: Path) -> None:
    key = f"sk-test-{CORE}"
    folder = tmp_path / "pasted"
    folder.mkdir()
    (folder / "pasted.yaml").write_text(
        f"id: pasted\ntitle: Title {key}\nsummary: Summary {key}\norder: -1\nsecurity: "
        f"Security {key}\nsteps:\n  - {{id: one, title: Step {key}, explain: Explained {key}}}\n")
    settings = Settings(runtime="sim", provider="mock", port=0, token=key)
    app = make_app(settings, lambda: load_catalog([folder]), lambda chosen, name: SimRuntime(
        DEFAULT_PROFILE, chosen.port, chosen.provider, [chosen.token], token_delay=0.0),
        lambda requested: ("sim", "Docker is not reachable (test)"))
    async with app.run_test(size=(160, 60)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        text = screen_text(app)
        assert CORE not in text, text
        for shown in ("Title sk-…d24b", "Summary sk-…d24b", "Explained sk-…d24b"):
            assert shown in text, (shown, text)


@pytest.mark.parametrize("typed", [f"sk-{CORE}-é", f"sk-{CORE}\u200b", f"Bearer sk-{CORE}"])
async def test_the_key_field_refuses_an_odd_key_without_showing_it(typed: str) -> None:
    app = app_with("sk-test-unused-key-000000000", provider="openai")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ProviderScreen)
        screen.query_one("#key", Input).value = typed
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ProviderScreen), "an odd key was taken"
        shown = notices(app)
        assert "the key from the key field" in shown
        assert "position" in shown or "Bearer" in shown
        assert CORE not in shown and CORE not in screen_text(app)


async def test_the_copied_curl_runs_only_curl_when_pasted(tmp_path: Path) -> None:
    hostile = "costs $(touch pwned-1) `touch pwned-2` it's \"quoted\" $HOME"
    app = app_with("sk-test-Zq8rTfW3nLp6Yx2Vb9Kd4Hs7Jm1Ac5Ge")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, WalkthroughScreen)
        await screen.session.send_custom(
            screen.selected, "POST", "/openai",
            [("X-Note", hostile), ("Authorization", "Bearer ${token}")],
            json.dumps({"model": "", "messages": [{"role": "user", "content": hostile}]}),
            False)
        await pilot.press("y")
        await settle(pilot)
        clipboard = app.clipboard
    saved = tmp_path / "cache" / "agw-sandbox" / "last-request.sh"
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    (stubs / "curl").write_text(f"#!{sys.executable}\nimport json, sys\n"
                                "print(json.dumps(sys.argv[1:]))\n")
    (stubs / "curl").chmod(0o755)
    work = tmp_path / "work"
    work.mkdir()
    env = {"PATH": f"{stubs}:/usr/bin:/bin", "AGW_SANDBOX_TOKEN": "sk-test-pasted-key-0000"}
    for pasted in (["bash", "-c", clipboard], ["sh", str(saved)]):
        done = subprocess.run(pasted, env=env, cwd=work, capture_output=True, text=True,
                              timeout=30, check=True)
        argv = json.loads(done.stdout)
        assert not list(tmp_path.rglob("pwned*")), "the pasted curl ran more than curl"
        headers = [argv[i + 1] for i, a in enumerate(argv) if a == "-H"]
        assert headers[:2] == [f"X-Note: {hostile}",
                               "Authorization: Bearer sk-test-pasted-key-0000"]
        assert json.loads(argv[argv.index("-d") + 1])["messages"][0]["content"] == hostile
