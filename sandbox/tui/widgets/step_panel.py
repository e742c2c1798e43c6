"""The current step: what it does, why, the manifest it applies, and how it went."""

from __future__ import annotations

from typing import ClassVar, Literal

from rich.syntax import Syntax
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Button, Static

from sandbox.tui.presenter import StepView
from sandbox.tui.widgets.plain import filled, plain
from sandbox.tui.widgets.shown_part import shown_text
from sandbox.untrusted import visible

Variant = Literal["default", "primary", "warning"]
# (button id, label, narrow label, variant): the narrow labels fit the panel at 80 columns.
BUTTONS: tuple[tuple[str, str, str, Variant], ...] = (
    ("run", "Run step (n)", "Run n", "primary"), ("skip", "Skip (s)", "Skip s", "default"),
    ("check", "Check (c)", "Check c", "default"), ("edit", "Edit (e)", "Edit e", "default"),
    ("reset", "Reset (x)", "Reset x", "warning"))
NARROW = 66  # below this width the long labels no longer fit on one line


class StepPanel(Vertical):
    """Shows a :class:`~sandbox.tui.presenter.StepView`; its buttons post the messages below.

    Colours come from the theme through classes and ``$variables`` (see assets/app.tcss).
    """

    HELP = """
## The current step

Read the explanation, then press **n** to run the step for you. Apply steps show the exact
manifest (keys masked; **v** reveals them for a presenter); **e** edits it before applying.

- **n** run this step · **s** skip · **c** check status · **x** reset the scenario
- **e** edit the manifest · **v** reveal keys · **t** send your own request · **y** copy as curl
"""

    class RunStep(Message):
        """The user asked to run the current step."""

    class SkipStep(Message):
        """The user asked to skip the current step."""

    class CheckStatus(Message):
        """The user asked to read the resources' conditions again."""

    class EditManifest(Message):
        """The user asked to edit the step's manifest."""

    class ResetScenario(Message):
        """The user asked to delete the scenario's resources and start again."""

    MESSAGES: ClassVar[dict[str, type[Message]]] = {
        "run": RunStep, "skip": SkipStep, "check": CheckStatus, "edit": EditManifest,
        "reset": ResetScenario}

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._shown: tuple[str, str] = ("", "")

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="step-scroll"):
            yield Static(id="step-header")
            yield Static(id="step-explain")
            yield Static(id="step-description")
            yield Static(id="step-revealed")
            yield Static(id="step-manifest")
            yield Static(id="step-note")
            yield Static(id="step-result")
        with Horizontal(id="step-buttons"):
            for button_id, label, _, variant in BUTTONS:
                yield Button(label, id=button_id, compact=True, variant=variant)

    def on_resize(self) -> None:
        narrow = self.size.width < NARROW
        for button_id, label, short, _ in BUTTONS:
            button = self.query_one(f"#{button_id}", Button)
            button.label = short if narrow else label
            button.refresh(layout=True)  # a new label changes the button's auto width

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        message = self.MESSAGES.get(event.button.id or "")
        if message is not None:
            self.post_message(message())

    def show(self, view: StepView) -> None:
        lines = ["[b]$scenario[/]"]
        if view.previous:
            lines.append("[$success]done: $previous[/]")
        if view.show_overview:
            lines += ["[i]$summary[/]", "[b $warning]Security:[/] $security"]
        lines.append("[$text-muted]$heading[/]  [b u]$title[/]")
        self._set("#step-header", filled(
            "\n".join(lines), scenario=view.scenario_title, previous=view.previous,
            summary=shown_text("the summary", view.summary.strip()),
            security=shown_text("the security note", view.security.strip()),
            heading=view.heading, title=view.title))
        self._set("#step-explain", plain(shown_text("the explanation", reflow(view.explain)))
                  if view.explain else Content())
        self._set("#step-description", plain(shown_text("the description", view.description)))
        self._set("#step-revealed", Content(" keys revealed on screen (v hides them) ")
                  if view.manifest is not None and view.revealed else Content())
        manifest = self.query_one("#step-manifest", Static)
        manifest.display = view.manifest is not None
        if view.manifest is not None:
            shown = shown_text("the manifest", visible(view.manifest.rstrip()))
            manifest.update(Syntax(shown, "yaml", theme="ansi_dark", word_wrap=True,
                                   background_color="default"))
        self._set("#step-note", plain("note: " + view.note) if view.note else Content())
        self._set("#step-result", _result(view))
        self.set_class(view.outcome == "failed", "-failed")
        scroll = self.query_one("#step-scroll")
        if view.done or view.outcome == "failed":  # what to do next, even on a short screen
            scroll.call_after_refresh(scroll.scroll_end, animate=False)
        elif (view.scenario_title, view.heading) != self._shown:  # a new step reads from the top
            scroll.scroll_home(animate=False)
        self._shown = (view.scenario_title, view.heading)
        self.query_one("#step-result").set_class(view.done, "-done")
        self.query_one("#edit", Button).disabled = not view.can_edit
        self.query_one("#run", Button).disabled = view.done
        self.query_one("#skip", Button).disabled = view.done

    def _set(self, selector: str, content: Content) -> None:
        """Empty parts take no room, so the panel reads top to bottom without gaps."""
        static = self.query_one(selector, Static)
        static.display = bool(content)
        static.update(content)

    def set_running(self, running: bool) -> None:
        """While a step runs only Reset stays live; ``show`` re-enables the rest after."""
        self.set_class(running, "-running")
        for button in self.query(Button):
            if button.id != "reset":
                button.disabled = running


def _result(view: StepView) -> Content:
    if view.done:
        return filled("[b]$closing[/]", closing=view.closing)
    if view.outcome == "failed":
        lines = ["[b $error]✗ $detail[/]"]
        if view.hint:
            lines.append("[$warning]→ $hint[/]")
        lines.append("[$text-muted]Fix it and press n to retry, or s to skip.[/]")
        return filled("\n".join(lines), detail=view.detail, hint=view.hint)
    return Content()


def reflow(text: str) -> str:
    """Join the hard-wrapped lines of each paragraph so the terminal wraps them to fit."""
    paragraphs = [" ".join(line.strip() for line in block.splitlines() if line.strip())
                  for block in text.strip().split("\n\n")]
    return "\n\n".join(p for p in paragraphs if p)
