"""The app never stays on "detecting the runtime…" when the start-up fails, for any reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.catalog.loader import Catalog
from sandbox.settings import Settings
from sandbox.tui.app import make_app
from sandbox.tui.screens.dialogs import ErrorDialog
from sandbox.tui.screens.provider import ProviderScreen
from tests.conftest import TOKEN
from tests.fake_docker import answer, drip, fake_docker
from tests.ui.conftest import screen_text, settle
from tests.unit.test_catalog import GOOD, ROUTE, write

SIZE = (120, 40)


def no_runtime(settings: Settings, name: str) -> object:
    raise AssertionError("the start-up failed: no runtime should be made")


async def test_a_latin1_manifest_template_shows_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "mine" / "manifests").mkdir(parents=True)
    (tmp_path / "mine" / "manifests" / "route.yaml").write_bytes(
        ROUTE.replace("spec: {}", "spec: {note: café}").encode("latin-1"))
    write(tmp_path / "mine", "mine.yaml", GOOD)
    settings = Settings(runtime="sim", token=TOKEN, scenario_dirs=(tmp_path / "mine",))
    app = make_app(settings, runtime_factory=no_runtime,  # type: ignore[arg-type]
                   detect=lambda requested: ("sim", None))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, ErrorDialog)
        text = screen_text(app)
        assert "save it as UTF-8" in text and "Traceback" not in text


async def test_an_unexpected_error_while_starting_is_shown_not_swallowed() -> None:
    def broken_catalog() -> Catalog:
        raise UnicodeDecodeError("utf-8", b"\xe9", 0, 1, "invalid continuation byte")

    app = make_app(Settings(runtime="sim", token=TOKEN), broken_catalog,
                   no_runtime,  # type: ignore[arg-type]
                   lambda requested: ("sim", None))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, ErrorDialog)
        assert "unexpected UnicodeDecodeError" in screen_text(app)
        await pilot.press("enter")  # Quit
        await settle(pilot)
    assert app.return_code == 2


async def test_a_docker_config_nested_too_deeply_leaves_the_app_on_the_simulation(
        no_docker_env: Path) -> None:
    (no_docker_env / "config.json").write_text('{"x": ' + "[" * 5000 + "]" * 5000 + "}")
    app = make_app(Settings(runtime="auto", token=TOKEN))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, ProviderScreen), screen_text(app)
        shown = " ".join(screen_text(app).replace("│", " ").split())
        assert "Runtime: simulated" in shown, shown
        assert ("Docker's config file ~/.docker/config.json is nested too deeply to be a Docker "
                "config") in shown, shown
        assert app.detected == "sim"


@pytest.mark.parametrize(("setting", "value", "said"), [
    ("DOCKER_HOST", f"tcp://{TOKEN}@127.0.0.1:1",
     "DOCKER_HOST 'tcp://127.0.0.1:1' is not a Docker address (a Docker address cannot hold a "
     "user or password"),
    ("DOCKER_CONTEXT", TOKEN, "the Docker context sk-…c5Ge (DOCKER_CONTEXT) does not exist"),
])
async def test_the_welcome_screen_never_shows_the_key_in_docker_settings(
        no_docker_env: Path, monkeypatch: pytest.MonkeyPatch, setting: str, value: str,
        said: str) -> None:
    monkeypatch.setenv(setting, value)
    app = make_app(Settings(runtime="auto", token=TOKEN))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        shown = " ".join(screen_text(app).replace("│", " ").split())
        assert said in shown, shown
        assert TOKEN not in shown and TOKEN[8:-4] not in shown, shown


@pytest.mark.parametrize(("info", "said"), [
    (b'{"NCPU": 1e400, "MemTotal": -5}', "answered /info with NCPU Infinity, which is not what "
                                         "Docker answers"),
    (drip(every=0.5), "did not finish answering /info within 5 s, which Docker does at once"),
    (answer(b"404 Not Found", b'{"message": "page not found"}'),
     "answered /info with HTTP 404 (page not found), which is not what Docker answers"),
])
async def test_a_daemon_that_is_not_quite_docker_leaves_the_app_on_the_simulation(
        no_docker_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, info: object,
        said: str) -> None:
    socket_path = tmp_path / "docker.sock"
    monkeypatch.setenv("DOCKER_HOST", f"unix://{socket_path}")
    with fake_docker(socket_path, info=info):
        app = make_app(Settings(runtime="auto", token=TOKEN))
        async with app.run_test(size=SIZE) as pilot:
            for _ in range(80):  # the probe's deadline is 5 s
                if app.detected:
                    break
                await pilot.pause(0.1)
            await settle(pilot)
            shown = " ".join(screen_text(app).replace("│", " ").split())
            assert app.detected == "sim", shown
            assert "Runtime: simulated" in shown and said in shown, shown
