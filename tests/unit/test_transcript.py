"""The Markdown transcript: what a CommonMark/GFM renderer makes of it, however hostile the text.

A transcript is pasted into pull requests, so it is checked the way GitHub reads it: parsed with
markdown-it (CommonMark plus GFM tables and strikethrough), not by looking at the source.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from sandbox.errors import SandboxError
from sandbox.reports.markdown import code, escape, fenced
from sandbox.reports.transcript import Transcript
from sandbox.reports.transcript_file import write_atomically
from sandbox.runtimes.runtime import Condition, ResourceRef
from sandbox.walkthrough.events import (
    CommandLogged,
    ManifestApplied,
    RequestSent,
    RequestView,
    ResponseReceived,
    ResponseView,
    ScenarioFinished,
    ScenarioStarted,
    StatusChanged,
    StepFinished,
    StepStarted,
)

NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
HOSTILE = ("*bold* _em_ `code` <script>alert(1)</script> <img src=x onerror=alert(1)> "
           "[link](http://evil.example) ![img](http://evil.example/x.png) &amp; &#x41; "
           "\\ $x^2$ ~~gone~~ | a | b | <!-- hidden --> # not a heading")
LINE_STARTS = ("1. not a list\n2) nor this\n- nor this\n+ nor this\n* nor this\n> not a quote\n"
               "    not code\n# not a heading\n===\n---\n| a | b |\n|---|---|")
FENCE_BREAKER = "```\n# escaped the block\n````\n$(touch /tmp/pwned) `id` ${HOME}\n~~~\n"
BLOCK_TOKENS = {"html_block", "heading_open", "bullet_list_open", "ordered_list_open",
                "blockquote_open", "code_block", "fence", "hr", "table_open"}
INLINE_TOKENS = {"html_inline", "link_open", "image", "em_open", "strong_open", "s_open"}


def parse(markdown: str) -> list[Token]:
    return MarkdownIt("commonmark").enable(["table", "strikethrough"]).parse(markdown)


def inline_tokens(tokens: list[Token]) -> list[Token]:
    return [child for token in tokens if token.type == "inline" for child in token.children or ()]


def shown_text(tokens: list[Token]) -> str:
    """The text a reader sees in the paragraphs, line breaks included."""
    parts = []
    for token in tokens:
        if token.type == "paragraph_close":
            parts.append("\n\n")
        for child in token.children or () if token.type == "inline" else ():
            parts.append("\n" if child.type == "softbreak" else child.content)
    return "".join(parts).strip("\n")


@pytest.mark.parametrize("text", [HOSTILE, LINE_STARTS, FENCE_BREAKER],
                         ids=["inline", "line starts", "fence breaker"])
def test_escaped_text_renders_as_written_and_nothing_else(text: str) -> None:
    tokens = parse(escape(text))
    assert {t.type for t in tokens} & BLOCK_TOKENS == set()
    assert {t.type for t in inline_tokens(tokens)} & INLINE_TOKENS == set()
    expected = "\n".join(line.strip() for line in text.strip().splitlines())
    assert shown_text(tokens) == expected


def test_a_fence_is_longer_than_any_backtick_run_inside() -> None:
    content = FENCE_BREAKER + "``````` seven\n"
    block = fenced(content, "yaml") + "\n\nafter the block\n"
    tokens = parse(block)
    fences = [t for t in tokens if t.type == "fence"]
    assert len(fences) == 1 and fences[0].info == "yaml"
    assert fences[0].content == content
    assert shown_text(tokens) == "after the block"
    assert fenced("plain").startswith("```\n")  # the usual three when nothing needs more


def test_an_inline_code_span_holds_backticks_and_stays_one_span() -> None:
    for text in ("a `b` c", "``x``", "`start", "end`", "$(id) <b>"):
        children = inline_tokens(parse(f"see {code(text)} here"))
        spans = [c for c in children if c.type == "code_inline"]
        assert [s.content for s in spans] == [text]
        assert {c.type for c in children} & INLINE_TOKENS == set()


def test_control_and_direction_characters_are_made_visible() -> None:
    text = "ok\x1b[31mred\x07 \u202eevil\u2066 end"
    for rendered in (escape(text), fenced(text), code(text)):
        assert not {"\x1b", "\x07", "\u202e", "\u2066"} & set(rendered)
        assert "\\u001b" in rendered and "\\u202e" in rendered


def events(body: str, yaml_text: str) -> list[Any]:
    ref = ResourceRef("Backend", "openai", "kgateway-system")
    curl = "curl -sS 'http://127.0.0.1:8080/openai' -H 'Authorization: Bearer '\"$TOKEN\""
    return [
        ScenarioStarted("inline", f"Inline {HOSTILE}", LINE_STARTS, "Security <b>note</b>",
                        "simulated"),
        StepStarted("inline", "explain", 1, 3, "explain", "How it works ```", LINE_STARTS),
        StepFinished("inline", "explain", "How it works ```", "explain", "passed"),
        StepStarted("inline", "apply", 2, 3, "apply", "Apply <it>", ""),
        CommandLogged("kubectl apply -f - <<'EOF'\n" + yaml_text + "EOF"),
        ManifestApplied(ref, "created", yaml_text, "note with [a link](http://x)"),
        StatusChanged(ref, True, (Condition("Accepted", "False", "Invalid", "<b>bad</b> ```"),)),
        StepFinished("inline", "apply", "Apply <it>", "apply", "passed", "created"),
        StepStarted("inline", "ask", 3, 3, "request", "Ask", ""),
        CommandLogged(curl),
        RequestSent(RequestView("POST", "http://127.0.0.1:8080/openai",
                                (("Authorization", "Bearer sk-…0001"),), "{}", curl)),
        ResponseReceived(ResponseView(200, "OK", 12.3, (
            ("date", "today"), ("content-type", "application/json"), ("x-ratelimit-limit", "9"),
            ("set-cookie", "session=1")), body, "", "gpt-3.5-turbo")),
        StepFinished("inline", "ask", "Ask", "request", "failed", "expected <401>", "*hint*"),
        ScenarioFinished("inline", False),
    ]


def test_a_transcript_renders_every_step_with_its_blocks_intact() -> None:
    yaml_text = "kind: Backend\nspec:\n  inline: sk-…0001\n  note: |\n    ```\n    $(id)\n"
    body = '{"content": "```\\n$(touch /tmp/x)\\n````"}\n```\n$(reboot)\n'
    transcript = Transcript()
    for event in events(body, yaml_text):
        transcript(event)
    markdown = transcript.markdown([("provider", "mock")], now=NOW)
    tokens = parse(markdown)

    assert {t.type for t in tokens} & {"html_block", "table_open"} == set()
    children = inline_tokens(tokens)
    assert {t.type for t in children} & (INLINE_TOKENS - {"strong_open"}) == set()
    bold = {children[i + 1].content for i, t in enumerate(children) if t.type == "strong_open"}
    assert bold == {"Result:", "Security:", "Applied", "Equivalent commands:", "Conditions seen:",
                    "Request:", "Response:", "Outcome:", "Hint:"}  # the transcript's own labels
    headings = [shown_text([tokens[i + 1]]) for i, t in enumerate(tokens)
                if t.type == "heading_open"]
    assert headings == ["agw-sandbox transcript", "Summary", f"1. Inline {HOSTILE} (inline)",
                        "Step 1 of 3 · explain · How it works ```",
                        "Step 2 of 3 · apply · Apply <it>", "Step 3 of 3 · request · Ask"]
    fences = {t.info: t.content for t in tokens if t.type == "fence"}
    assert fences["yaml"] == yaml_text
    assert fences["json"] == body
    assert fences["http"] == ("HTTP 200 OK\ncontent-type: application/json\n"
                              "x-ratelimit-limit: 9\n")  # the headers that matter, no cookie
    curls = [t.content for t in tokens if t.type == "fence" and t.content.startswith("curl")]
    assert curls == [events("", "")[9].command + "\n"]  # once, as the request
    assert "2026-11-27 09:30 UTC" in markdown and "provider: `mock`" in markdown
    assert "✗ failed" in markdown and "**Hint:** \\*hint\\*" in markdown


def test_steps_run_one_by_one_count_towards_the_verdict() -> None:
    """In the app there is no ScenarioFinished: the verdict comes from each step's last run."""
    transcript = Transcript()
    transcript(ScenarioStarted("s", "S", "", "", "simulated"))
    for outcome in ("failed", "passed"):  # a retried step
        transcript(StepStarted("s", "one", 1, 2, "apply", "One", ""))
        transcript(StepFinished("s", "one", "One", "apply", outcome))
    assert "▶ 1 of 2 steps run" in transcript.markdown(now=NOW)
    transcript(StepFinished("s", "two", "Two", "wait", "skipped", "skipped by the user"))
    assert "- S (`s`): ✓ passed" in transcript.markdown(now=NOW)


def test_a_custom_request_outside_the_steps_has_its_own_entry() -> None:
    transcript = Transcript()
    transcript.activity("secret", "Key in a Secret", "Status check")  # nothing seen: left out
    assert transcript.empty
    transcript.activity("secret", "Key in a Secret", "Custom request")
    transcript(RequestSent(RequestView("GET", "http://127.0.0.1:1/x", (), "", "curl -sS x")))
    assert not transcript.empty
    markdown = transcript.markdown(now=NOW)
    assert "### Custom request" in markdown and "Status check" not in markdown
    assert "## 1. Key in a Secret (`secret`)" in markdown and "No response." in markdown


def test_writing_replaces_the_file_whole_or_not_at_all(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "t.md"
    target.write_text("the previous transcript\n")
    target.chmod(0o640)

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(SandboxError, match="No space left on device") as failure:
        write_atomically(target, "# new\n" * 1000)
    assert "Traceback" not in str(failure.value)
    assert target.read_text() == "the previous transcript\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.md"]  # no temporary file left
    monkeypatch.undo()
    assert write_atomically(target, "# new\n") == target
    assert target.read_text() == "# new\n" and (target.stat().st_mode & 0o777) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.md"]


def test_a_symlink_is_written_through(tmp_path: Path) -> None:
    real = tmp_path / "notes" / "t.md"
    real.parent.mkdir()
    real.write_text("old\n")
    (tmp_path / "link.md").symlink_to(real)
    write_atomically(tmp_path / "link.md", "new\n")
    assert (tmp_path / "link.md").is_symlink() and real.read_text() == "new\n"


@pytest.mark.parametrize(("name", "message"), [
    ("missing/t.md", "directory .* does not exist"),
    ("file.txt/t.md", "directory .* is not a directory"),
    ("folder", "is a directory"),
    ("nul\0.md", "NUL character"),
    ("a" * 300 + ".md", "cannot write the transcript to .*: File name too long"),
    ("loop.md", "cannot write the transcript to .*: Too many levels of symbolic links"),
    ("~no-such-user-here/t.md", "starts with a ~ that names no home directory"),
])
def test_a_bad_path_is_refused_with_the_reason(tmp_path: Path, name: str, message: str) -> None:
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "folder").mkdir()
    (tmp_path / "loop.md").symlink_to(tmp_path / "loop.md")
    with pytest.raises(SandboxError, match=message) as refused:
        write_atomically(Path(name) if name.startswith("~") else tmp_path / name, "x")
    assert refused.value.hint
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt", "folder", "loop.md"]


def test_a_device_is_not_written_over() -> None:
    with pytest.raises(SandboxError, match="not a regular file"):
        write_atomically(Path("/dev/null"), "x")
    assert Path("/dev/null").is_char_device()


def test_an_existing_file_that_is_not_markdown_is_not_written_over(tmp_path: Path) -> None:
    from sandbox.reports.transcript_file import check_writable

    scenario = tmp_path / "scenario.yaml"
    scenario.write_text("id: mine\n")
    with pytest.raises(SandboxError, match="exists and is not a Markdown file"):
        check_writable(scenario)
    assert scenario.read_text() == "id: mine\n"
    (tmp_path / "old.md").write_text("# old\n")
    assert check_writable(tmp_path / "old.md") == tmp_path / "old.md"  # a transcript: replaced


BARE_LINKS = ("Log in at https://evil.example/login or HTTP://EVIL.EXAMPLE, www.evil.com, "
              "evil.com/path, mailto:root@evil.example, ftp://files.evil.example and "
              "//evil.example/x; versions v2.1.3 and 0.10.3 stay as they are")
MENTIONS = "cc @octocat @everyone @org/team (mail admin@evil.example)"


@pytest.mark.parametrize("text", [BARE_LINKS, MENTIONS], ids=["bare links", "mentions"])
def test_bare_links_and_mentions_stay_text(text: str) -> None:
    """Pasted into a pull request, a transcript must not link elsewhere or notify anyone."""
    markdown = escape(text)
    tokens = MarkdownIt("gfm-like").parse(markdown)  # with linkify, as GitHub autolinks
    assert {t.type for t in inline_tokens(tokens)} & INLINE_TOKENS == set()
    assert shown_text(tokens) == text
    assert re.findall(r"(?<!\\)@", markdown) == []  # every @ escaped: no mention


def test_version_numbers_keep_their_dots() -> None:
    assert escape("kgateway v2.1.3 and agentgateway 0.10.3") == (
        "kgateway v2.1.3 and agentgateway 0.10.3")


def test_zero_width_characters_are_made_visible() -> None:
    text = "sk\u200b-\u200c\u200dkey\u2060 \ufeffend"
    rendered = escape(text)
    assert not {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"} & set(rendered)
    for code_point in ("200b", "200c", "200d", "2060", "feff"):
        assert f"\\u{code_point}" in shown_text(parse(rendered))
