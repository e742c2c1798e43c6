"""A request's key cut into pieces across its JSON values (a key's beginning in one, its rest in
others), or between a header and the body, is masked as one text wherever the request is shown:
the request pane's view, `run -v`, `--json` and the transcript (as AE4 and AF5 for manifests)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandbox.catalog.scenarios import RequestSpec
from sandbox.walkthrough.exchange import view_request
from sandbox.walkthrough.render import Context, render_request
from tests.helpers import run_cli

# 31 characters: a beginning masked alone (a run of 15) and two pieces of 8 that are not
KEY = "sk-test-lanternV5c8X2k7R4m9Q1z6"
BEGINNING, PIECES = KEY[:15], [KEY[15:23], KEY[23:]]

BODIES = {
    "values": {"model": "gpt-4o-mini", "user": BEGINNING,
               "metadata": {"session": PIECES[0], "trace": PIECES[1]},
               "messages": [{"role": "user", "content": "hi"}]},
    "header-and-body": {"model": "gpt-4o-mini", "metadata": {"tag": PIECES[0]},
                        "messages": [{"role": "user", "content": PIECES[1]}]},
}
HEADERS = {"values": {}, "header-and-body": {"X-Client": BEGINNING}}


def shown_pieces(text: str) -> list[str]:
    return [piece for piece in PIECES if piece in text]


@pytest.mark.parametrize("case", sorted(BODIES))
def test_the_request_view_masks_the_request_as_one_text(case: str) -> None:
    from sandbox.profiles import PROFILES
    from sandbox.walkthrough.masking import Masker

    ctx = Context({"token": KEY}, frozenset({"token"}), "mock", PROFILES["kgateway-v2.1"],
                  masker=Masker([KEY]))
    spec = RequestSpec(method="POST", path="/ask", headers=tuple(HEADERS[case].items()),
                       body=BODIES[case], stream=False)
    view = view_request(render_request(spec, ctx), "http://127.0.0.1:8080", ctx)
    shown = "\n".join([view.url, *(f"{k}: {v}" for k, v in view.headers), view.body])
    assert shown_pieces(shown) == [], shown
    assert KEY[-4:] in shown and "gpt-4o-mini" in shown and '"role": "user"' in shown, shown


def test_run_masks_the_request_as_one_text(cli_env: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "s"
    folder.mkdir()
    steps = "".join(
        f"  - {{title: {case}, request: {{path: /nowhere, headers: {json.dumps(HEADERS[case])},"
        f" body: {json.dumps(BODIES[case])}}}, expect: {{status: 404}}}}\n"
        for case in sorted(BODIES))
    (folder / "s.yaml").write_text("id: asks\ntitle: T\norder: 70\nneeds: [setup]\nsummary: S\n"
                                   "security: s\nsteps:\n" + steps)
    cli_env = {**cli_env, "AGW_SANDBOX_TOKEN": KEY}
    common = ("run", "asks", "--scenarios", str(folder), "--runtime", "sim", "--port", "0")
    verbose = run_cli(*common, "-v", env=cli_env, timeout=90)
    assert verbose.returncode == 0, verbose.stdout + verbose.stderr
    assert "gpt-4o-mini" in verbose.stdout, verbose.stdout
    transcript = tmp_path / "t.md"
    as_json = run_cli(*common, "--json", "--transcript", str(transcript), env=cli_env, timeout=90)
    assert as_json.returncode == 0, as_json.stderr
    for channel, text in (("-v", verbose.stdout + verbose.stderr), ("--json", as_json.stdout),
                          ("transcript", transcript.read_text())):
        assert shown_pieces(text) == [], (channel, text)
