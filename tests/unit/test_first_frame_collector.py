"""No garbage collection from the app's start until its first frame: the command line turns the
collector off, the app turns it back on at the first frame with start-up's objects set aside,
and it is back on whatever way the app ends before then."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from sandbox import cli
from sandbox.errors import SandboxError
from sandbox.settings import Settings
from sandbox.tui import app as tui_app


@pytest.fixture(autouse=True)
def collector_restored() -> Iterator[None]:
    yield
    gc.enable()
    gc.unfreeze()


def test_the_first_frame_turns_the_collector_back_on_with_start_up_set_aside() -> None:
    gc.disable()
    frozen = gc.get_freeze_count()
    tui_app.collect_from_now_on()
    assert gc.isenabled()
    assert gc.get_freeze_count() > frozen


def test_an_app_the_command_line_did_not_start_leaves_the_collector_alone() -> None:
    """A test's app, or one embedded elsewhere: nothing is frozen for the rest of the process."""
    frozen = gc.get_freeze_count()
    tui_app.collect_from_now_on()
    assert gc.isenabled() and gc.get_freeze_count() == frozen


def test_the_collector_is_on_again_when_the_app_ends_before_its_first_frame(
        monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []

    def cannot_start(settings: Settings) -> tui_app.SandboxApp:
        seen.append(gc.isenabled())
        raise SandboxError("the app could not start (test)", "nothing to do")

    monkeypatch.setattr(cli, "_on_a_terminal", lambda: True)
    monkeypatch.setattr(tui_app, "make_app", cannot_start)
    with pytest.raises(SandboxError):
        cli._open_app(Settings(runtime="sim", port=0))
    assert seen == [False]  # off while it started
    assert gc.isenabled()
