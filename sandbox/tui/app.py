"""The Textual app: a thin shell that shows the welcome, detects the runtime, hands over."""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.driver import Driver
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widget import AwaitMount
from textual.worker import WorkerFailed

from sandbox.errors import SandboxError
from sandbox.settings import Settings, known_keys
from sandbox.tui.screens import ASSETS
from sandbox.tui.screens.provider import ProviderChoice, ProviderScreen
from sandbox.tui.welcome import RUNTIME_LABELS
from sandbox.untrusted import visible

if TYPE_CHECKING:  # the rest loads after the first paint
    from rich.console import RenderableType

    from sandbox.catalog.loader import Catalog
    from sandbox.runtimes.runtime import Runtime

def collect_from_now_on() -> None:
    """Garbage collection back on, when the command line turned it off until the first frame,
    with what start-up built set aside: it lives as long as the app, and each collection of
    the old generation would walk it all again."""
    if not gc.isenabled():  # (an app made by a test leaves the collector alone)
        gc.freeze()
        gc.enable()


RuntimeFactory = Callable[[Settings, str], "Runtime"]
Detect = Callable[[str], tuple[str, "str | None"]]
CatalogLoader = Callable[[], "Catalog"]
MOUNT_WAIT = 2.0  # seconds a quit waits, at most, for a screen being mounted

ACTIONS = (
    ("Run step", "Run the current step for me", "run_step"),
    ("Run the rest of the scenario", "Run every remaining step until one fails", "run_rest"),
    ("Skip step", "Move on without running the current step", "skip"),
    ("Check status", "Read the resources' conditions again", "check"),
    ("Edit manifest", "Edit, validate and re-apply the step's manifest", "edit"),
    ("Send a custom request", "Your own path, headers and body, through the gateway",
     "custom_request"),
    ("Copy request as curl", "Copy the last request as a keyless curl command", "copy_curl"),
    ("Write transcript", "Save everything run so far as Markdown, keys masked", "write_transcript"),
    ("Reveal or hide keys", "Show the keys in the manifest (for presenters)", "reveal"),
    ("What changed between profiles", "This scenario's manifests under the other API profile, "
     "as a diff", "compare_profiles"),
    ("Reset scenario", "Delete the scenario's resources and start it again", "reset"),
)


class SandboxApp(App[None]):
    """The agw-sandbox terminal app.

    The welcome screen paints first; the scenarios and the runtime detection (the Docker probe
    can take seconds) load behind it after the first frame. Start hands the chosen provider to
    a :class:`~sandbox.tui.session.Session` shown by the walkthrough screen. Exits with 2 when it
    cannot start (bad scenario files, a runtime that failed to come up).
    """

    TITLE = "agw-sandbox"
    CSS_PATH = ASSETS / "app.tcss"
    # ctrl+q has priority: a dialog (a modal screen) or a text area would otherwise keep it.
    BINDINGS: ClassVar[list[BindingType]] = [Binding("f1", "toggle_help", "Help"),
                                             Binding("ctrl+q", "quit", "Quit", priority=True)]

    def __init__(self, settings: Settings, load_catalog: CatalogLoader,
                 runtime_factory: RuntimeFactory, detect: Detect) -> None:
        super().__init__()
        self.settings = settings
        self.load_catalog = load_catalog
        self.runtime_factory = runtime_factory
        self.detect = detect
        self.catalog: Catalog | None = None
        self.detected: str | None = None
        self._choice: ProviderChoice | None = None
        self._started = False  # the walkthrough: started once, whichever of choice and
        # detection comes last (a Start pressed while detecting is handed over during it)
        self._leaving = False  # exit() called: keys still queued open nothing more
        self._palette_after_start = False  # Ctrl+P while Start waits for the detection
        self._mount_wait_ends: float | None = None  # set when a quit waits for a screen
        self._exiting = False  # Textual's exit called

    def get_driver_class(self) -> type[Driver]:
        """Ours where Textual picks its ``LinuxDriver``, which cannot survive a terminal that
        goes away; Textual's choice otherwise (Windows, serve's web driver, tests)."""
        from sandbox.tui.terminal import textual_driver_class

        named = os.environ.get("TEXTUAL_DRIVER")
        load = super().get_driver_class
        chosen = textual_driver_class(load, named) if named else load()
        if sys.platform == "win32":
            return chosen
        from sandbox.tui.terminal import TerminalDriver

        return TerminalDriver if issubclass(TerminalDriver, chosen) else chosen

    @property
    def terminal_gone(self) -> bool:
        """Whether the app ended because its terminal went away (its exit code is then 129, as
        for SIGHUP, whatever else went wrong on the way out)."""
        gone = getattr(self._driver, "gone", None)
        return gone is not None and bool(gone.is_set())

    @property
    def crashed(self) -> BaseException | None:
        """The unhandled exception the app ended on, if it did (a worker's own, not the wrapper
        Textual puts around it, whose text is the exception's repr)."""
        error = self._exception
        return error.error if isinstance(error, WorkerFailed) else error

    def _fatal_error(self) -> None:
        """Textual's prints a traceback with every frame's local variables, where a key may
        well be (a request being built, a token being masked): the app only ends, and the
        command line says it as a bug once the terminal is restored, with nothing unmasked."""
        self.bell()
        self._close_messages_no_wait()

    def get_default_screen(self) -> ProviderScreen:
        """The first screen is the provider choice itself, not a blank screen it would be
        pushed onto: one screen less to build and style before the first paint."""
        return ProviderScreen(self.settings, os.environ, self._chosen)

    def on_mount(self) -> None:
        self.sub_title = "detecting the runtime…"

    def on_ready(self) -> None:
        """The first frame is on screen: now the slow part."""
        collect_from_now_on()
        self.prepare()

    @work(exit_on_error=False)
    async def prepare(self) -> None:
        """Load the scenarios and detect the runtime, off the UI thread, in daemon threads: a
        quit meanwhile leaves at once (a pool thread would hold the exit while a Docker daemon
        drips its answer, until the probe's deadline)."""
        from sandbox.stdio import in_thread
        from sandbox.walkthrough.masking import Masker  # after the first paint: its patterns

        masked = Masker(known_keys(self.settings.token, os.environ))
        try:
            # Its text masked once, here: a key pasted into a title is never on screen.
            prose = Masker(known_keys(self.settings.token, os.environ), short=False)
            self.catalog = await in_thread(lambda: self.load_catalog().masked(prose.each))
            runtime, notice = await in_thread(self.detect, self.settings.runtime)
        except SandboxError as exc:  # it may quote a Docker setting, which may hold a key
            exc.message, exc.hint = masked(exc.message), masked(exc.hint)
            self._cannot_start(exc)
            return
        except Exception as exc:  # a bug must not leave the app on "detecting the runtime…"
            self._cannot_start(SandboxError(
                f"unexpected {type(exc).__name__} while loading the scenarios or detecting the "
                "runtime", "this is a bug in agw-sandbox; `agw-sandbox scenarios` shows the "
                "details"))
            return
        self._detected(runtime, notice and masked(notice))

    def _cannot_start(self, error: SandboxError) -> None:
        from sandbox.tui.screens.dialogs import ErrorDialog

        self.push_screen(ErrorDialog("agw-sandbox cannot start", error.message, error.hint,
                                     (("quit", "Quit"),)), lambda _: self.exit(return_code=2))

    def _detected(self, runtime: str, notice: str | None) -> None:
        self.detected = runtime
        self.sub_title = RUNTIME_LABELS.get(runtime, runtime)
        for screen in self.screen_stack:
            if isinstance(screen, ProviderScreen):
                screen.runtime_detected(runtime, notice)
        if self._choice is not None:
            self._start()

    def _chosen(self, choice: ProviderChoice | None) -> None:
        if choice is None:
            self.exit()
            return
        self._choice = choice
        if self.detected is not None:
            self._start()

    @property
    def _start_pending(self) -> bool:
        """Start was pressed and waits for the runtime to be detected (in the app, or still on
        the first screen, which hands its choice over once the runtime is known)."""
        if self._started:
            return False
        first = self.screen
        return self._choice is not None or (isinstance(first, ProviderScreen)
                                            and first.start_pending)

    def _start(self) -> None:
        from sandbox.tui.screens.walkthrough import WalkthroughScreen
        from sandbox.tui.session import Session

        assert self._choice is not None and self.catalog is not None and self.detected
        if self._started or self._leaving:  # Quit was chosen meanwhile: it wins
            return
        self._started = True
        self.settings = replace(self.settings, provider=self._choice.provider,
                                token=self._choice.token, profile=self._choice.profile)
        runtime = self.runtime_factory(self.settings, self.detected)
        screen: WalkthroughScreen | None = None

        def emit(event: object) -> None:
            if screen is not None:
                screen.emit(event)  # type: ignore[arg-type]

        session = Session(self.settings, self.catalog.for_profile(self.settings.profile),
                          runtime, emit, runtime_factory=self.runtime_factory)
        screen = WalkthroughScreen(session)
        self.push_screen(screen)
        if self._palette_after_start:  # asked for after Start: it opens over the walkthrough
            self.action_command_palette()

    def exit(self, result: None = None, return_code: int = 0,
             message: RenderableType | None = None) -> None:
        self._leaving = True
        if self._exiting or self._waits_for_a_mount(lambda: self.exit(result, return_code,
                                                                      message)):
            return
        self._exiting = True
        super().exit(result, return_code, message)

    def push_screen(self, screen: Any, callback: Any = None, wait_for_dismiss: bool = False,
                    *, mode: str | None = None) -> Any:
        """Textual's, but a screen pushed once the app exits is not shown: Textual would mount
        it without composing its widgets, and its ``on_mount`` would find none of them."""
        if not self._exiting and wait_for_dismiss:
            return super().push_screen(screen, callback, True, mode=mode)
        if not self._exiting:
            return super().push_screen(screen, callback, False, mode=mode)
        if not wait_for_dismiss:
            return AwaitMount(self.screen, [])
        never: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        never.cancel()  # whoever waits for its answer is stopped, as the app's workers are
        return never

    def _waits_for_a_mount(self, leave: Callable[[], None]) -> bool:
        """Whether a quit waits for a screen pushed just before it (Start, then a click on Quit
        in one burst) to mount first: Textual composes nothing once the app exits, yet still
        mounts such a screen, whose ``on_mount`` would then find none of its widgets."""
        mounting = [screen for screen in self.screen_stack if not screen.is_mounted]
        if self._mount_wait_ends is None:
            self._mount_wait_ends = time.monotonic() + MOUNT_WAIT
            if mounting:  # a screen that never mounts (its mount failed) keeps no one waiting
                self.set_timer(MOUNT_WAIT, leave)
        if not mounting or time.monotonic() >= self._mount_wait_ends:
            return False
        mounting[-1].call_later(leave)  # run once it has mounted: then look again
        return True

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = True) -> None:
        """Notifications quote titles, paths and errors: hidden characters show as escapes.

        (Our screens also pass ``markup=False``: what they quote is never markup.)
        """
        super().notify(visible(message), title=visible(title), severity=severity,
                       timeout=timeout, markup=markup)

    def action_command_palette(self) -> None:
        """Textual's, with a palette that a burst of keys cannot dismiss twice, none once the
        app is leaving (Enter on Quit, then Ctrl+P, in one burst), and one asked for while
        Start waits for the runtime opened over the walkthrough Start shows."""
        from textual.command import CommandPalette

        from sandbox.tui.screens.palette import OnceClosedPalette

        open_already = any(isinstance(screen, CommandPalette) for screen in self.screen_stack)
        self._palette_after_start = self._start_pending
        if self._palette_after_start:  # Start waits for the detection: the walkthrough first
            self.notify("The command palette opens once the walkthrough is shown.", timeout=3,
                        markup=False)
            return
        if self.use_command_palette and not open_already and not self._leaving:
            self.push_screen(OnceClosedPalette(known_keys(self.settings.token, os.environ),
                                               id="--command-palette"))

    def action_toggle_help(self) -> None:
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if hasattr(screen, "session"):
            for title, help_text, action in ACTIONS:
                yield SystemCommand(title, help_text, getattr(screen, f"action_{action}"))


def make_app(settings: Settings, load_catalog: CatalogLoader | None = None,
             runtime_factory: RuntimeFactory | None = None,
             detect: Detect | None = None) -> SandboxApp:
    """The composition root's factory; tests pass fakes for the runtime and the detection."""
    if load_catalog is None:
        def load_catalog() -> Catalog:
            from sandbox.catalog.loader import load_catalog as load

            return load(settings.scenario_dirs)
    if runtime_factory is None:
        def runtime_factory(chosen: Settings, name: str) -> Runtime:
            from sandbox.runtimes.factory import make_runtime

            return make_runtime(chosen, name)
    if detect is None:
        def detect(requested: str) -> tuple[str, str | None]:
            from sandbox.runtimes.factory import choose_runtime

            return choose_runtime(requested, settings.context)
    return SandboxApp(settings, load_catalog, runtime_factory, detect)
