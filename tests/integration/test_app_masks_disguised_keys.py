"""The app's panes, status table and step panel mask a key written disguised in a scenario (a
resource named with it lower-cased, a request header spelled out with dashes) or typed into a
custom request, as `run` does: what the screen is handed never holds it."""

from __future__ import annotations

from pathlib import Path

from sandbox.catalog.loader import load_catalog
from sandbox.profiles import DEFAULT_PROFILE
from sandbox.runtimes.sim.runtime import SimRuntime
from sandbox.settings import Settings
from sandbox.tui.presenter import WalkthroughPresenter
from sandbox.tui.session import Session
from sandbox.walkthrough.events import Event, RequestSent
from tests.conftest import TOKEN
from tests.integration.test_run_masks_disguised_keys import MASK, disguised_folder, readable


async def test_what_the_screen_is_handed_holds_no_disguised_key(tmp_path: Path) -> None:
    catalog = load_catalog([disguised_folder(tmp_path)])
    handed: list[Event] = []
    settings = Settings(runtime="sim", provider="mock", port=0, token=TOKEN)
    session = Session(settings, catalog, SimRuntime(DEFAULT_PROFILE, 0, "mock", [TOKEN],
                                                    token_delay=0.0), handed.append)
    presenter = WalkthroughPresenter(session)
    await session.start(lambda line: None)
    try:
        setup, disguised = catalog.get("setup"), catalog.get("disguised")
        while session.current_step(setup) is not None:
            await session.run_current(setup)
        await session.run_current(disguised)  # the apply step: the wait is next
        description = presenter.step_view(disguised).description
        while session.current_step(disguised) is not None:
            assert await session.run_current(disguised) == "passed"
        await session.send_custom(disguised, "POST", "/disguised",
                                  [("X-Typed", "_".join(TOKEN.lower()))], "", False)
        markdown = session.transcript_markdown()
    finally:
        await session.close()

    assert description == f"wait for Backend kgateway-system/{MASK}: Accepted=True (up to 180s)"
    assert readable(repr(handed)) == [], repr(handed)
    typed = [e.request for e in handed if isinstance(e, RequestSent)][-1]
    assert ("X-Typed", MASK) in typed.headers and f"'X-Typed: {MASK}'" in typed.curl
    assert readable(markdown) == [] and f"kgateway-system/{MASK}" in markdown
