"""The experimenter's actions on the walkthrough: edit, send a request, copy curl, transcript.

A base class of :class:`~sandbox.tui.screens.walkthrough.WalkthroughScreen`, kept apart so the
guided path and the free-form one each read on their own.
"""

from __future__ import annotations

import io
import os
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on, work
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from sandbox.catalog.scenarios import ApplyStep, RequestStep, Scenario
from sandbox.errors import SandboxError
from sandbox.reports.transcript_file import default_name
from sandbox.settings import known_keys
from sandbox.tui.screens.dialogs import (
    CustomRequest,
    CustomRequestForm,
    ErrorDialog,
    ManifestEditor,
)
from sandbox.tui.session import parse_headers
from sandbox.tui.widgets.exchange_panes import ResponsePane
from sandbox.tui.widgets.status_bar import StatusBar
from sandbox.tui.widgets.step_panel import StepPanel
from sandbox.untrusted import visible
from sandbox.walkthrough.shell_equivalents import variables_in

if TYPE_CHECKING:
    from sandbox.tui.presenter import WalkthroughPresenter
    from sandbox.tui.session import Session

DEFAULT_BODY = ('{\n  "model": "",\n  "messages": [\n    {"role": "user", "content": '
                '"Write a short haiku about cloud computing."}\n  ]\n}')


class ExperimentActions(Screen[None]):
    """Edit, custom request, copy curl, transcript, reveal and the profile diff, for a screen
    with a session.

    Also what every action needs: the runtime-started check and the report of a failed worker.
    """

    session: Session
    presenter: WalkthroughPresenter
    selected: Scenario

    def _refresh(self) -> None:
        raise NotImplementedError

    def action_reveal(self) -> None:
        if self.app.is_web:  # `serve`: whoever reaches the page must not read the key
            self.notify("Keys stay masked in a browser session.", title="Keys masked", markup=False)
            return
        self.presenter.revealed = not self.presenter.revealed
        self._refresh()
        if self.presenter.revealed:
            self.notify("Keys are visible in the manifest. Press v again to hide them.",
                        title="Keys revealed", severity="warning", markup=False)

    def _ready(self) -> bool:
        if not self.session.started:
            self.notify("The runtime is still starting…", severity="warning", markup=False)
        return self.session.started

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        masker = self.session.context(self.selected).masker
        if isinstance(error, SandboxError):
            if event.worker.group == "request":  # your own request got no answer
                self.query_one(ResponsePane).no_answer(masker(error.message))
            self.notify(masker(error.hint or "see the step panel"), title=masker(error.message),
                        severity="error", timeout=10, markup=False)
        else:
            self.app.push_screen(ErrorDialog(
                "Something went wrong", masker(f"{type(error).__name__}: {error}"),
                "this is a bug in agw-sandbox; the session is still usable"))

    @on(StepPanel.EditManifest)
    def action_edit(self) -> None:
        step = self.presenter.editable_step(self.selected)
        if step is None or not self._ready():
            self.notify("This scenario has no manifest to edit at this point.", markup=False)
            return
        scenario, session = self.selected, self.session

        def validate(text: str) -> str | None:  # runs in the editor's worker thread
            try:
                session.parse_edit(scenario, text)
            except SandboxError as exc:
                return f"{exc.message}" + (f"\n→ {exc.hint}" if exc.hint else "")
            return None

        def applied(text: str | None) -> None:
            if text is not None:
                self._apply_edit(scenario, step, text)

        self.app.push_screen(ManifestEditor(step.title, session.editable_text(scenario, step),
                                            validate), applied)

    @work(exclusive=True, group="step", exit_on_error=False)
    async def _apply_edit(self, scenario: Scenario, step: ApplyStep, text: str) -> None:
        docs = self.session.parse_edit(scenario, text)
        self.session.save_edit(scenario, step, docs)
        outcome = await self.session.apply_edit(scenario, step)
        self._refresh()
        if outcome != "failed":
            self.notify("Applied. Watch the status; the next request uses the new manifest.",
                        title="Manifest applied", markup=False)

    def action_custom_request(self) -> None:
        if not self._ready():
            return
        spec = next((s.request for s in self.selected.steps if isinstance(s, RequestStep)
                     and s.request.path != "/"), None)
        headers = "\n".join(f"{k}: {v}" for k, v in spec.headers) if spec else ""
        initial = CustomRequest("POST", spec.path if spec else "/openai", headers,
                                DEFAULT_BODY, False)

        def send(request: CustomRequest | None) -> None:
            if request is not None:
                self._send(request)

        keys = known_keys(self.session.settings.token, os.environ)
        masker = self.session.context(self.selected).masker  # the request pane's
        self.app.push_screen(CustomRequestForm(initial, keys, masker), send)

    @work(exclusive=True, group="request", exit_on_error=False)
    async def _send(self, request: CustomRequest) -> None:
        headers = parse_headers(request.headers)
        bar = self.query_one(StatusBar)
        bar.busy = f"{request.method} {request.path}…"
        try:
            await self.session.send_custom(self.selected, request.method, request.path,
                                           headers, request.body, request.stream)
        finally:
            bar.busy = ""

    def action_copy_curl(self) -> None:
        request = self.session.last_request
        if request is None:
            self.notify("Nothing sent yet: run a request step or press t.", markup=False)
            return
        self.app.copy_to_clipboard(request.curl)
        note = self.session.last_request_note()  # a later step removed its route
        try:
            saved = save_last_curl(request.curl, note)
        except OSError as exc:  # a read-only or full cache: the clipboard copy still happened
            self.notify(f"Copied as curl (terminal clipboard), but the fallback file "
                        f"{last_curl_path()} could not be written: {exc.strerror or exc}. "
                        "Check that $XDG_CACHE_HOME (or ~/.cache) is writable."
                        + (f" {note}" if note else ""),
                        title="Copied", severity="warning", markup=False)
            return
        self.notify(f"Copied as curl (terminal clipboard). Also saved to {saved} in case your "
                    "terminal has no clipboard support." + (f" {note}" if note else ""),
                    title="Copied", severity="warning" if note else "information",
                    timeout=15 if note else None, markup=False)

    def action_compare_profiles(self) -> None:
        """The selected scenario's manifests under the other API profile, as a diff."""
        from sandbox.reports.profile_diff import manifests_diff
        from sandbox.tui.screens.dialogs import DiffViewer

        scenario = self.selected
        others = [s for s in self.session.catalog.others if s.id == scenario.id]
        if not others:
            self.notify(f"{scenario.title} has no version for another API profile.", markup=False)
            return
        diff = "".join(manifests_diff(scenario, other, self.session.settings.token)
                       for other in others)
        self.app.push_screen(DiffViewer(
            f"What changed: {scenario.id} from {scenario.profile} to "
            f"{', '.join(o.profile for o in others)}", diff))

    def action_write_transcript(self) -> None:
        if self.app.is_web:  # `serve`: the browser gets the file; the server keeps nothing
            self._deliver_transcript()
            return
        try:
            path = self.session.write_transcript()
        except SandboxError as exc:
            self.notify(exc.hint, title=exc.message, severity="error", timeout=10, markup=False)
            return
        self.notify(f"Everything run so far, keys masked, in Markdown: {path}",
                    title="Transcript written", timeout=10, markup=False)

    def _deliver_transcript(self) -> None:
        try:
            text = self.session.transcript_markdown()
        except SandboxError as exc:
            self.notify(exc.hint, title=exc.message, severity="error", timeout=10, markup=False)
            return
        name = default_name(tab=f"tab{os.getpid()}")  # one app per tab: its own name
        self.app.deliver_text(io.StringIO(text), save_filename=name, mime_type="text/markdown")
        self.notify(f"Everything run so far, keys masked, in Markdown: your browser saves it "
                    f"as {name}", title="Transcript sent to your browser", timeout=10,
                    markup=False)


def last_curl_path() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "agw-sandbox" / "last-request.sh"


def save_last_curl(command: str, note: str | None = None) -> Path:
    """The clipboard fallback: a keyless script file the user can open or run.

    It says which variables to export (only those the command reads) and, with ``note``, why
    the request would not get the answer it got.
    """
    lines = ["#!/bin/sh", "# The last request agw-sandbox sent through the gateway."]
    variables = variables_in(command)
    if variables:
        lines.append(f"# export {' and '.join(variables)} first: the command reads the key from "
                     f"{'it' if len(variables) == 1 else 'them'} (it holds no key itself).")
    if note:  # on comment lines whatever it quotes: a line break must not end the comment
        lines += [f"# {line}" for line in textwrap.wrap(" ".join(visible(note).split()), 96,
                                                         break_on_hyphens=False)]
    path = last_curl_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([*lines, command]) + "\n", encoding="utf-8",
                    errors="backslashreplace")  # a lone surrogate never stops the write
    return path
