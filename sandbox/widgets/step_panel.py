"""The current step: what it does, why, the manifest it applies, and how it went."""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Group, RenderableType
from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Static


@dataclass(frozen=True)
class StepView:
    """Everything the panel shows, computed by the screen (attributes go down)."""

    scenario_title: str
    summary: str
    security: str
    heading: str  # "Step 2 of 7 · apply"
    title: str
    explain: str = ""
    manifest: str | None = None  # masked unless revealed
    revealed: bool = False
    description: str = ""
    note: str | None = None
    outcome: str | None = None  # only "failed" is shown
    detail: str = ""
    hint: str = ""
    can_edit: bool = False
    done: bool = False
    first: bool = False
    previous: str = ""  # how the step before this one went


class StepPanel(Vertical):
    HELP = """
## The current step

Read the explanation, then press **n** to run the step for you. Apply steps show the exact
manifest (keys masked; **v** reveals them for a presenter); **e** edits it before applying.

- **n** run this step · **s** skip · **c** check status · **x** reset the scenario
- **e** edit the manifest · **v** reveal keys · **t** send your own request · **y** copy as curl
"""

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="step-scroll"):
            yield Static(id="step-header")
            yield Static(id="step-body")
            yield Static(id="step-result")
        with Horizontal(id="step-buttons"):
            yield Button("Run step (n)", id="run", variant="primary", compact=True)
            yield Button("Skip (s)", id="skip", compact=True)
            yield Button("Check (c)", id="check", compact=True)
            yield Button("Edit (e)", id="edit", compact=True)
            yield Button("Reset (x)", id="reset", variant="warning", compact=True)

    def show(self, view: StepView) -> None:
        lines: list[RenderableType] = [Text(view.scenario_title, style="bold")]
        if view.previous:
            lines.append(Text("done: " + view.previous, style="green"))
        if view.first or view.done:  # the overview matters at the start and at the end
            lines += [Text(view.summary, style="italic"),
                      Text.assemble(("Security: ", "bold yellow"), view.security)]
        lines.append(Text.assemble((view.heading + "  ", "dim"),
                                   (view.title, "bold underline")))
        header = Group(*lines)
        self.query_one("#step-header", Static).update(header)
        body: list[RenderableType] = []
        if view.explain:
            body.append(Text(reflow(view.explain)))
        if view.description:
            body += [Text(""), Text(view.description, style="cyan")]
        if view.manifest is not None:
            if view.revealed:
                body += [Text(""), Text(" keys revealed on screen (v hides them) ",
                                        style="bold white on red")]
            body += [Text(""), Syntax(view.manifest.rstrip(), "yaml", theme="ansi_dark",
                                      word_wrap=True, background_color="default")]
        if view.note:
            body += [Text(""), Text("note: " + view.note, style="dim italic")]
        self.query_one("#step-body", Static).update(Group(*body))
        self.query_one("#step-result", Static).update(_result(view))
        self.set_class(view.outcome == "failed", "-failed")
        self.query_one("#edit", Button).disabled = not view.can_edit
        self.query_one("#run", Button).disabled = view.done
        self.query_one("#skip", Button).disabled = view.done

    def set_running(self, running: bool) -> None:
        """While a step runs only Reset stays live; ``show`` re-enables the rest after."""
        self.set_class(running, "-running")
        for button in self.query(Button):
            if button.id != "reset":
                button.disabled = running


def _result(view: StepView) -> RenderableType:
    if view.done:
        return Text("\nScenario complete. Pick the next one in the list, or press x to reset "
                    "this one.", style="bold green")
    if view.outcome == "failed":
        parts = [Text("\n✗ " + view.detail, style="bold red")]
        if view.hint:
            parts.append(Text("→ " + view.hint, style="yellow"))
        parts.append(Text("Fix it and press n to retry, or s to skip.", style="dim"))
        return Group(*parts)
    return Text("")


def reflow(text: str) -> str:
    """Join the hard-wrapped lines of each paragraph so the terminal wraps them to fit."""
    paragraphs = [" ".join(line.strip() for line in block.splitlines() if line.strip())
                  for block in text.strip().split("\n\n")]
    return "\n\n".join(p for p in paragraphs if p)
