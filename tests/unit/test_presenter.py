"""The step panel's contents and the scenario rows, computed without a terminal."""

from __future__ import annotations

from sandbox.catalog.loader import load_catalog
from sandbox.profiles import DEFAULT_PROFILE
from sandbox.runtimes.sim.runtime import SimRuntime
from sandbox.settings import Settings
from sandbox.tui.presenter import WalkthroughPresenter
from sandbox.tui.session import Session
from sandbox.walkthrough.events import StepFinished
from tests.conftest import TOKEN


def presenter() -> WalkthroughPresenter:
    settings = Settings(runtime="sim", port=0, token=TOKEN)
    runtime = SimRuntime(DEFAULT_PROFILE, 0, "mock", [TOKEN])
    return WalkthroughPresenter(Session(settings, load_catalog(()), runtime, lambda e: None))


def test_rows_carry_mark_title_and_counter_apart() -> None:
    rows = presenter().rows()
    assert [(r.id, r.mark, r.progress) for r in rows][:2] == [("setup", " ", "0/4"),
                                                              ("inline", " ", "0/7")]


def test_a_finished_scenario_offers_the_next_unfinished_one() -> None:
    view = presenter()
    setup = view.session.catalog.get("setup")
    view.session.progress["setup"].index = len(setup.steps)
    step = view.step_view(setup)
    assert step.done and step.next_title == "Key inline in the Backend"
    assert "Press Enter for the next one: Key inline in the Backend" in step.closing
    for scenario in view.scenarios:
        view.session.progress[scenario.id].index = len(scenario.steps)
    assert view.next_scenario(setup) is None
    assert "Every scenario is complete" in view.step_view(setup).closing


def test_the_next_scenario_wraps_round_to_an_earlier_unfinished_one() -> None:
    view = presenter()
    last = view.scenarios[-1]
    view.session.progress[last.id].index = len(last.steps)
    following = view.next_scenario(last)
    assert following is not None and following.id == "setup"


def test_a_failure_shows_on_its_own_step_only_and_a_pass_clears_it() -> None:
    view = presenter()
    inline = view.session.catalog.get("inline")
    first = inline.steps[0]
    view.step_finished(StepFinished("inline", first.id, first.title, "explain", "failed",
                                    "it broke", "do this", 0.0))
    shown = view.step_view(inline)
    assert shown.outcome == "failed" and shown.detail == "it broke" and shown.hint == "do this"
    view.step_finished(StepFinished("inline", first.id, first.title, "explain", "passed",
                                    "", "", 0.0))
    view.session.progress["inline"].index = 1
    shown = view.step_view(inline)
    assert shown.outcome is None and shown.previous == f"{first.title}: passed"


def test_the_manifest_is_masked_unless_revealed() -> None:
    view = presenter()
    inline = view.session.catalog.get("inline")
    view.session.progress["inline"].index = 1  # the Backend with the key inline
    assert TOKEN not in (view.step_view(inline).manifest or "")
    view.revealed = True
    assert TOKEN in (view.step_view(inline).manifest or "")
