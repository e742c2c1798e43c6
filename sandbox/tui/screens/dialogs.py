"""Modal dialogs: errors with what to do next, the manifest editor, the custom request form,
and the profile diff viewer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static, TextArea
from textual.worker import get_current_worker

from sandbox.records import record
from sandbox.tui.screens import ASSETS
from sandbox.tui.widgets.key_fields import KeyHidingInput, KeyHidingTextArea
from sandbox.tui.widgets.plain import filled, plain
from sandbox.untrusted import visible
from sandbox.walkthrough.masking import Masker

CSS = ASSETS / "dialogs.tcss"


class ErrorDialog(ModalScreen[str]):
    """An error the user can act on: the message, a hint, and a choice of what to do.

    Dismissed with the chosen id ("close" on Escape). A long message scrolls; the buttons
    always stay on screen.
    """

    CSS_PATH = CSS

    tone = "-error"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "choose('close')", "Close")]

    def __init__(self, title: str, message: str, hint: str,
                 choices: tuple[tuple[str, str], ...] = (("close", "Close"),)) -> None:
        super().__init__()
        self.title_text, self.message, self.hint, self.choices = title, message, hint, choices

    def compose(self) -> ComposeResult:
        with Vertical(classes=f"dialog {self.tone}"):
            yield Static(plain(self.title_text), classes="dialog-title")
            with VerticalScroll(classes="dialog-body"):
                yield Static(plain(self.message))
            if self.hint:
                yield Static(plain(f"→ {self.hint}"), classes="hint")
            with Horizontal(classes="dialog-buttons"):
                for choice, label in self.choices:
                    yield Button(label, id=f"choice-{choice}",
                                 variant="primary" if choice == self.choices[0][0] else "default")

    def on_mount(self) -> None:
        self.query(Button).first().focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss((event.button.id or "choice-close").removeprefix("choice-"))

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice)


class DiffViewer(ModalScreen[None]):
    """What changed between two API profiles: a scenario's manifests as a unified diff."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss", "Close")]

    def __init__(self, title: str, diff: str) -> None:
        super().__init__()
        self.title_text, self.diff = title, diff

    def compose(self) -> ComposeResult:
        from rich.syntax import Syntax

        with Vertical(classes="dialog"):
            yield Static(filled("[b]$title[/b]", title=self.title_text), classes="dialog-title")
            with VerticalScroll(id="diff"):
                yield Static(Syntax(visible(self.diff), "diff", theme="ansi_dark", word_wrap=True),
                             id="diff-text")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Close", id="close", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#close", Button).focus()

    @on(Button.Pressed, "#close")
    def _close(self) -> None:
        self.dismiss(None)
class QuestionDialog(ErrorDialog):
    """The same layout for a question that is not an error (a neutral border)."""

    tone = "-question"


class ManifestEditor(ModalScreen[str | None]):
    """Edit a step's manifest; keys stay as ${token} placeholders so none is shown."""

    CSS_PATH = CSS

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel"),
                Binding("ctrl+s", "apply", "Validate and apply", priority=True),
                Binding("ctrl+t", "validate", "Validate", priority=True)]
    HELP = """
## Edit the manifest

Change any field, then **ctrl+t** to validate (the same schema rules as the API server, plus
the sandbox's own checks) or **ctrl+s** to validate and apply. Keys appear as `${token}`
placeholders and are filled in when applied. **Escape** cancels.
"""

    def __init__(self, title: str, text: str, validate: Callable[[str], str | None]) -> None:
        """``validate`` returns None when the text is valid, else what is wrong."""
        super().__init__()
        self.title_text, self.text = title, text
        self._validate = validate

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -editor"):
            yield Static(filled("Edit: $title   [$text-muted]ctrl+t validate · ctrl+s apply · "
                                "esc cancel[/]", title=self.title_text), classes="dialog-title")
            yield TextArea(self.text, id="manifest-editor", tab_behavior="indent",
                           show_line_numbers=True)
            yield Static(id="editor-result", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Apply (ctrl+s)", id="apply", variant="primary")
                yield Button("Validate (ctrl+t)", id="validate")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    def _check(self, then_apply: bool) -> None:
        result = self.query_one("#editor-result", Static)
        result.remove_class("-failed")
        result.update("validating…")
        self._validate_off_the_ui_thread(self.query_one(TextArea).text, then_apply)

    @work(thread=True, exclusive=True, group="validate", exit_on_error=False)
    def _validate_off_the_ui_thread(self, text: str, then_apply: bool) -> None:
        """Validation parses YAML and checks a schema: it must never freeze the screen, and a
        bug in it must not leave the screen on "validating…" for ever."""
        try:
            problem = self._validate(text)
        except Exception as exc:  # said where the answer goes: the person can edit or cancel
            problem = (f"the sandbox could not validate this ({type(exc).__name__}): this is a "
                       "bug in agw-sandbox; `agw-sandbox manifests` shows the scenario's "
                       "manifests, and Esc cancels")
        if not get_current_worker().is_cancelled:  # a newer validation replaced this one
            self.app.call_from_thread(self._validated, text, problem, then_apply)

    def _validated(self, text: str, problem: str | None, then_apply: bool) -> None:
        result = self.query_one("#editor-result", Static)
        result.set_class(problem is not None, "-failed")
        result.update(plain(f"✗ {problem}" if problem else "✓ valid: ready to apply"))
        if problem is None and then_apply:
            self.dismiss(text)

    @on(Button.Pressed, "#validate")
    def action_validate(self) -> None:
        self._check(then_apply=False)

    @on(Button.Pressed, "#apply")
    def action_apply(self) -> None:
        self._check(then_apply=True)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


@record
class CustomRequest:
    """What the custom request form holds: headers are ``Name: value`` lines as typed."""

    method: str
    path: str
    headers: str
    body: str
    stream: bool


class CustomRequestForm(ModalScreen[CustomRequest | None]):
    """Method, path, headers and body of a request of your own; dismissed with it, or None."""

    CSS_PATH = CSS

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel"),
                Binding("ctrl+s", "send", "Send", priority=True)]
    HELP = """
## Send your own request

Method, path, one header per line (`Name: value`) and a body. `${token}` stands for the
sandbox's key and is filled in when sent; the panes show it masked. A key typed or pasted in
a field is drawn as dots (it is sent as typed). **ctrl+s** sends.
"""

    def __init__(self, initial: CustomRequest, keys: Sequence[str] = (),
                 masker: Masker | None = None) -> None:
        """``keys``: the keys the app holds, drawn as dots wherever they are typed (as any
        text shaped like a provider's key is), and wherever ``masker`` (the request pane's;
        one of ``keys`` when None) masks a field's text."""
        super().__init__()
        self.initial, self.keys = initial, keys
        self.masker = masker if masker is not None else Masker(keys)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -request"):
            yield Static("Send a request to the gateway   [$text-muted]ctrl+s send · esc "
                         "cancel[/]", classes="dialog-title")
            with Horizontal(id="request-line"):
                yield Select([(m, m) for m in ("POST", "GET", "PUT", "DELETE")],
                             value=self.initial.method, allow_blank=False, id="method")
                yield KeyHidingInput(self.initial.path, self.keys, self.masker,
                                     placeholder="/openai", id="path")
                yield Checkbox("stream", self.initial.stream, id="stream")
            yield Label("Headers (Name: value, one per line)")
            yield KeyHidingTextArea(self.initial.headers, self.keys, self.masker,
                                    id="headers")
            yield Label("Body")
            yield KeyHidingTextArea(self.initial.body, self.keys, self.masker, id="body")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Send (ctrl+s)", id="send", variant="primary")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#path", Input).focus()

    @on(Button.Pressed, "#send")
    def action_send(self) -> None:
        method = self.query_one("#method", Select).value
        self.dismiss(CustomRequest(
            str(method), self.query_one("#path", Input).value.strip() or "/",
            self.query_one("#headers", TextArea).text, self.query_one("#body", TextArea).text,
            self.query_one("#stream", Checkbox).value))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
