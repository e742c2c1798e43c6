"""The app's session keeps a transcript of whatever order the user runs things in."""

from __future__ import annotations

from pathlib import Path

from markdown_it import MarkdownIt

from sandbox.catalog.loader import load_catalog
from sandbox.profiles import DEFAULT_PROFILE
from sandbox.runtimes.sim.runtime import SimRuntime
from sandbox.settings import Settings
from sandbox.tui.session import Session
from tests.conftest import TOKEN
from tests.integration.test_canary import leaks


async def test_steps_custom_requests_checks_and_resets_are_all_recorded(tmp_path: Path) -> None:
    catalog = load_catalog()
    settings = Settings(runtime="sim", provider="mock", port=0, token=TOKEN)
    session = Session(settings, catalog, SimRuntime(DEFAULT_PROFILE, 0, "mock", [TOKEN],
                                                    token_delay=0.0), lambda event: None)
    await session.start(lambda line: None)
    try:
        setup, inline = catalog.get("setup"), catalog.get("inline")
        while session.current_step(setup) is not None:
            await session.run_current(setup)
        await session.run_current(inline)
        session.skip_current(inline)
        body = '{"messages": [{"role": "user", "content": "```$(id)"}]}'
        await session.send_custom(inline, "POST", "/openai",
                                  [("Authorization", f"Bearer {TOKEN}")], body, False)
        await session.check(inline)
        await session.reset(inline)
        await session.run_current(inline)
        written = session.write_transcript(tmp_path / "t.md")
    finally:
        await session.close()

    markdown = written.read_text()
    assert "- Key inline in the Backend (`inline`): ↺ reset" in markdown
    assert "- Key inline in the Backend (`inline`): ▶ 1 of 7 steps run" in markdown
    tokens = MarkdownIt("commonmark").parse(markdown)
    titles = [tokens[i + 1].content for i, t in enumerate(tokens)
              if t.type == "heading_open" and t.tag == "h3"]
    assert titles[4:] == [
        "Step 1 of 7 · explain · How the inline key works",
        "apply · Create the Backend with the key inline",  # skipped, so never started
        "Custom request", "Status check", "cleanup · Reset the scenario",
        "Step 1 of 7 · explain · How the inline key works"]
    [curl] = [t for t in tokens if t.type == "fence" and "$(id)" in t.content]
    assert curl.markup == "````"  # one more than the ``` in the body
    assert "'Authorization: Bearer '\"$AGW_SANDBOX_TOKEN\"" in curl.content
    assert "- `Backend kgateway-system/openai`: does not exist" in markdown
    assert not leaks(markdown, TOKEN)
