"""The request pane and the response pane, shown side by side (stacked when narrow).

Everything in them came from outside (a scenario, a typed request, the gateway, the provider):
it is shown as written, never as markup, with hidden characters as escapes.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.reactive import reactive
from textual.widgets import Static

from sandbox.tui.widgets.plain import plain_rich
from sandbox.tui.widgets.shown_part import SHOWN_CHARS, SHOWN_LINES, ShownPart
from sandbox.tui.widgets.theme import theme_style
from sandbox.untrusted import visible
from sandbox.walkthrough.events import RequestView, ResponseView, part_of

FRAME_SECONDS = 1 / 20  # how often a stream's deltas are laid out: smooth, and cheap

__all__ = ["SHOWN_CHARS", "SHOWN_LINES", "RequestPane", "ResponsePane"]


def _headers(headers: tuple[tuple[str, str], ...], name_style: str) -> Table:
    table = Table.grid(padding=(0, 1))
    table.add_column(style=name_style, no_wrap=True)
    table.add_column(overflow="fold")
    for name, value in headers:  # Text cells: a str cell would be read as markup
        table.add_row(plain_rich(f"{name}:"), plain_rich(value))
    return table


def _body(text: str, theme: str = "ansi_dark") -> RenderableType:
    text = visible(text)
    if text.lstrip().startswith(("{", "[")):
        return Syntax(text, "json", theme=theme, word_wrap=True, background_color="default")
    return Text(text)


def _left_out(part: ShownPart, complete: bool = True) -> list[RenderableType]:
    """Where a text was cut, what was left out (the reader is there when a stream is cut)."""
    return [plain_rich(f"… {part.note(complete)}", style="italic")] if part.cut else []


class RequestPane(VerticalScroll):
    """Shows the ``request`` set on it: method, URL, headers (masked) and body."""

    HELP = """
## Request

What the sandbox sent to the gateway: method, URL, headers (keys masked) and body.
Press **y** to copy it as a `curl` command; the command refers to `$AGW_SANDBOX_TOKEN`
(or `$OPENAI_API_KEY`) instead of containing the key.
"""
    request: reactive[RequestView | None] = reactive(None)

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static("[dim]No request sent yet. Run a request step, or press t to send your "
                     "own.[/]", id="request-body")

    def watch_request(self, request: RequestView | None) -> None:
        if request is None:
            return
        parts: list[RenderableType] = [
            Text.assemble((visible(request.method), theme_style(self.app, "secondary", "bold")),
                          " ", (visible(request.url), "bold")),
            _headers(request.headers, theme_style(self.app, "accent", "bold"))]
        if request.body:
            body = ShownPart("the request body", request.body)
            parts += [Text(""), _body(body.kept), *_left_out(body)]
        self.query_one("#request-body", Static).update(Group(*parts))


class ResponsePane(VerticalScroll):
    """Shows the ``response`` set on it, or the chunks of a stream as they arrive."""

    HELP = """
## Response

What came back through the gateway: status, latency, headers and the body (JSON pretty
printed). With streaming, the tokens appear as they arrive. The mock provider names the key it
received, masked, so you can see where the key came from.
"""
    response: reactive[ResponseView | None] = reactive(None)

    def compose(self):  # type: ignore[no-untyped-def]
        self._streamed = ShownPart("the answer")
        yield Static("[dim]No response yet.[/]", id="response-body")

    _waiting = False  # a request is out and its answer not (wholly) in
    _frame_due = False  # a delta came and the pane shows it on the next frame
    _streamed: ShownPart  # what a stream brought so far (set in compose: one for each pane)
    _note = ""

    def waiting(self) -> None:
        self.remove_class("-ok", "-error")
        self._waiting, self._streamed, self._note = True, ShownPart("the answer"), ""
        self._show_progress()

    def note(self, text: str) -> None:
        """Why the answer takes long, shown under the wait (ignored once it is in)."""
        if self._waiting:
            self._note = text
            self._show_progress()

    def no_answer(self, text: str) -> None:
        """The request got no answer: say so where the answer would be."""
        if self._waiting:
            self._waiting = False
            self.set_class(True, "-error")
            self.query_one("#response-body", Static).update(Group(
                Text("no answer", style=theme_style(self.app, "error", "bold")),
                plain_rich(text)))

    def chunk(self, text: str) -> None:
        """Take a delta; the pane shows what came so far at most once a frame.

        Laying out the whole answer for each delta held the app for 30 s on 12 000 deltas,
        deaf to keys; now a burst costs one layout, however many deltas it holds.
        """
        self._streamed.add(text)
        if not self._frame_due:
            self._frame_due = True
            self.set_timer(FRAME_SECONDS, self._show_stream)

    def _show_stream(self) -> None:
        self._frame_due = False
        if self._waiting:  # the whole answer (or no answer) may have come meanwhile
            self._show_progress()
            self.scroll_end(animate=False)

    def _show_progress(self) -> None:
        streamed = self._streamed
        parts: list[RenderableType] = [
            Text("streaming…" if streamed.chars else "waiting for the gateway…", style="italic")]
        if self._note:
            parts.append(plain_rich(self._note, style="dim"))
        if streamed.chars:
            parts += [plain_rich(streamed.kept), *_left_out(streamed, complete=False)]
        self.query_one("#response-body", Static).update(Group(*parts))

    def watch_response(self, response: ResponseView | None) -> None:
        if response is None:
            return
        ok = response.status < 400
        self.set_class(ok, "-ok")
        self.set_class(not ok, "-error")
        style = theme_style(self.app, "success" if ok else "error", "bold")
        parts: list[RenderableType] = [
            Text.assemble((visible(f"{response.status} {response.reason}"), style),
                          f"  {response.latency_ms:.0f} ms",
                          (visible(f"  model {response.model}") if response.model else "", "dim"))]
        content = ShownPart("the answer", response.content)
        notes = [*response.notes, content.note()] if content.cut else response.notes
        parts += [plain_rich(f"note: {note}", style="italic") for note in notes]
        if response.content:  # the answer (or the provider's error message) first
            parts += [Text(""), plain_rich(content.kept, style="bold"), *_left_out(content)]
        parts += [Text(""), _headers(response.headers, theme_style(self.app, "accent", "bold"))]
        if not self._streamed.chars:
            parts += [Text(""), _body(part_of(response.body, SHOWN_CHARS, SHOWN_LINES))]
        self._waiting, self._streamed, self._note = False, ShownPart("the answer"), ""
        self.query_one("#response-body", Static).update(Group(*parts))
        self.scroll_home(animate=False)  # its status and notes first, where a stream left off
