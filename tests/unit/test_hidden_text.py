"""Text a terminal would act on: refused in scenario files, shown as escapes everywhere else."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from sandbox import headless
from sandbox.catalog.loader import load_catalog
from sandbox.profiles import DEFAULT_PROFILE
from sandbox.reports import markdown
from sandbox.reports.console import JsonReport, TextReport
from sandbox.runtimes.kube.preflight import Check
from sandbox.runtimes.runtime import Condition, ResourceRef
from sandbox.untrusted import visible
from sandbox.walkthrough.events import (
    CommandLogged,
    ResponseChunk,
    ResponseReceived,
    ResponseView,
    ScenarioFinished,
    ScenarioStarted,
    StatusChanged,
    StepFinished,
    StepNote,
    StepStarted,
)
from tests.unit.test_catalog import GOOD, ROUTE, write
from tests.unit.test_untrusted_scenarios import problems_of
from tests.untrusted_text import HOSTILE, MARKUP, WIDE, raw_in

# -- loading: scenario files may not hold what a terminal acts on -------------------------------


@pytest.mark.parametrize(("old", "new", "line", "reason"), ids=[
    "osc52-title", "osc0-step-title", "csi-summary", "c1-security", "bidi-summary",
    "isolate-explain", "osc8-explain", "del-variable", "bel-expectation", "nul-body",
    "escape-in-a-key", "line-break-in-title", "tab-in-step-title", "cr-in-explain"], argvalues=[
    ("title: Mine", 'title: "Copy \\e]52;c;ZWNobyBvd25lZA==\\a me"', 2,
     "'title' holds the control character U+001B (ESC) at position 6"),
    ("  - title: Apply", '  - title: "Apply \\e]0;OWNED\\a"', 6,
     "'steps[0].title' holds the control character U+001B (ESC) at position 7"),
    ("summary: s", 'summary: "clear \\e[2J\\e[H"', 3,
     "'summary' holds the control character U+001B (ESC) at position 7"),
    ("security: t", 'security: "one-byte \\x9b31mCSI"', 4,
     "'security' holds the control character U+009B (CSI) at position 10"),
    ("summary: s", 'summary: "\\u202eevil"', 3,
     "'summary' holds the bidirectional control U+202E (RIGHT-TO-LEFT OVERRIDE) at position 1"),
    ("  - title: Apply", '  - title: Apply\n    explain: "a \\u2067b"', 7,
     "'steps[0].explain' holds the bidirectional control U+2067 (RIGHT-TO-LEFT ISOLATE) at "
     "position 3"),
    ("  - title: Apply", '  - title: Apply\n    explain: "see \\e]8;;https://e.x\\aLINK"', 7,
     "'steps[0].explain' holds the control character U+001B (ESC) at position 5"),
    ("steps:", 'variables:\n  v: {description: "d\\x7f", default: x}\nsteps:', 6,
     "'variables.v.description' holds the control character U+007F (DEL) at position 2"),
    ("expect: {status: 200}", 'expect: {status: 200, contains: ["\\a"]}', 11,
     "'steps[1].expect.contains[0]' holds the control character U+0007 (BEL) at position 1"),
    ("path: /openai", 'path: /openai\n      body: {model: "gpt\\0"}', 11,
     "'steps[1].request.body.model' holds the control character U+0000 (NUL) at position 4"),
    ("path: /openai", 'path: /openai\n      body: {"\\e": 1}', 11,
     "the key '\\u001b' holds the control character U+001B (ESC) at position 1"),
    ("title: Mine", 'title: "Mine\\nand more"', 2,
     "'title' holds a line break (U+000A) at position 5"),
    ("  - title: Apply", '  - title: "Ap\\tply"', 6,
     "'steps[0].title' holds a tab (U+0009) at position 3"),
    ("  - title: Apply", '  - title: Apply\n    explain: "a\\r\\nb"', 7,
     "'steps[0].explain' holds the control character U+000D (CR) at position 2"),
])
def test_loading_refuses_what_a_terminal_acts_on(tmp_path: Path, old: str, new: str, line: int,
                                                 reason: str) -> None:
    write(tmp_path / "manifests", "route.yaml", ROUTE)
    write(tmp_path, "s.yaml", GOOD.replace(old, new, 1))
    found = problems_of(tmp_path)
    assert [(p.path, p.line, p.reason.split(":")[0]) for p in found] == [
        (str(tmp_path / "s.yaml"), line, reason)]


def test_the_problem_says_why_and_what_to_do(tmp_path: Path) -> None:
    write(tmp_path / "manifests", "route.yaml", ROUTE)
    write(tmp_path, "s.yaml", GOOD.replace("title: Mine", 'title: "\\e]0;x\\a"')
          .replace("summary: s", 'summary: "\\u202ex"'))
    title, summary = (p.reason for p in problems_of(tmp_path))
    assert "it could set the clipboard or the window title" in title
    assert 'remove it (YAML escapes such as "\\e" or "\\x9b" write one)' in title
    assert "read in another order than it is written: remove it" in summary


def test_a_manifest_template_may_not_hold_them_either(tmp_path: Path) -> None:
    write(tmp_path / "manifests", "route.yaml",
          ROUTE.replace("spec: {}", 'spec:\n  note: "x\\e]52;c;b3duZWQ=\\a"'))
    write(tmp_path, "s.yaml", GOOD)
    found = problems_of(tmp_path)
    assert [(Path(p.path).name, p.line, p.reason.split(":")[0]) for p in found] == [
        ("route.yaml", 5, "'spec.note' holds the control character U+001B (ESC) at position 2")]


def test_brackets_wide_characters_tabs_and_line_breaks_load_as_written(tmp_path: Path) -> None:
    write(tmp_path / "manifests", "route.yaml", ROUTE)
    explain = f"{MARKUP}\n\tindented\n{WIDE}"
    def quoted(text: str) -> str:
        return json.dumps(text, ensure_ascii=False)  # JSON strings are YAML strings too

    write(tmp_path, "s.yaml", GOOD.replace("title: Mine", f"title: {quoted(MARKUP)}")
          .replace("summary: s", f"summary: {quoted(WIDE)}")
          .replace("  - title: Apply", f"  - title: Apply\n    explain: {quoted(explain)}"))
    scenario = load_catalog([tmp_path], include_builtin=False).get("my-scenario")
    assert (scenario.title, scenario.summary, scenario.steps[0].explain) == (
        MARKUP, WIDE, explain)


# -- showing: one way, everywhere -----------------------------------------------------------------

def test_visible_writes_each_hidden_character_as_an_escape() -> None:
    shown = visible(HOSTILE + "\r\n" + MARKUP + "\t" + WIDE + "\rend")
    assert raw_in(shown) == []
    for escape in ("\\u001b]52;c;", "\\u0007", "\\u009b31m", "\\u202edesrever\\u202c",
                   "\\u0000", "\\u0008", "\\u007f"):
        assert escape in shown
    assert f"\n{MARKUP}\t{WIDE}\nend" in shown  # line breaks, tabs, brackets, wide text stay
    assert visible(shown) == shown  # showing twice changes nothing


def test_the_transcript_shows_them_the_same_way() -> None:
    assert markdown.code(HOSTILE) == f"`{visible(HOSTILE)}`"


def _hostile_run() -> list[object]:
    ref = ResourceRef("Backend", "openai", "kgateway-system")
    response = ResponseView(200, f"OK{HOSTILE}", 3.0, (("x-note", HOSTILE),), HOSTILE,
                            f"answer {HOSTILE} {MARKUP}", f"gpt-4o {HOSTILE}")
    return [
        ScenarioStarted("echo", f"T {HOSTILE}", f"S {HOSTILE}", f"Sec {HOSTILE}", "simulated"),
        StepStarted("echo", "ask", 1, 1, "request", f"Ask {HOSTILE}", f"Explain {HOSTILE}"),
        CommandLogged(f"curl -sS 'http://127.0.0.1:1/{HOSTILE}'"),
        StatusChanged(ref, True, (Condition("Accepted", "False", HOSTILE, HOSTILE),)),
        StepNote("echo", "ask", f"waiting {HOSTILE}"),
        ResponseChunk(f"chunk {HOSTILE}"),
        ResponseReceived(response),
        StepFinished("echo", "ask", "Ask", "request", "failed", f"detail {HOSTILE}",
                     f"hint {HOSTILE}"),
        ScenarioFinished("echo", False),
    ]


def test_the_text_report_writes_no_control_character_from_outside() -> None:
    out = io.StringIO()
    report = TextReport(out, verbose=True)
    for event in _hostile_run():
        report(event)  # type: ignore[arg-type]
    text = out.getvalue()
    assert raw_in(text) == []
    assert "\\u001b]52;c;ZWNobyBvd25lZA==\\u0007" in text and "\\u009b31m" in text
    assert "model gpt-4o a\\u001b]52;c;" in text and "stream:   chunk a\\u001b" in text
    assert "[link=https://evil.example/login]click[/link]" in text  # brackets: plain text


def test_the_json_report_escapes_c1_and_bidirectional_controls_too() -> None:
    report = JsonReport({"profile": "p"})
    for event in _hostile_run():
        report(event)  # type: ignore[arg-type]
    out = io.StringIO()  # no encoding: written as for UTF-8, where JSON leaves U+009B raw
    report.dump(out)
    assert raw_in(out.getvalue()) == []
    document = json.loads(out.getvalue())
    step = document["scenarios"][0]["steps"][0]
    assert document["scenarios"][0]["title"] == f"T {HOSTILE}"  # the same text, escaped
    assert step["response"]["model"] == f"gpt-4o {HOSTILE}"


class _ClusterSaying:
    """A cluster runtime whose health report quotes what the cluster holds."""

    profile = DEFAULT_PROFILE

    async def health(self) -> list[Check]:
        return [Check(f"Gateway ns/{HOSTILE}", False, f"Accepted=False: {HOSTILE}", HOSTILE)]


async def test_status_shows_what_the_cluster_says_with_escapes(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert await headless._status(_ClusterSaying()) == 1  # type: ignore[arg-type]
    out = capsys.readouterr().out
    assert raw_in(out) == [] and "✗ Gateway ns/a\\u001b]52;c;" in out
