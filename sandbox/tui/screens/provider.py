"""The first screen: the welcome, the provider and its key (masked, with its source), the plan."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import ClassVar

from textual import events, on
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Input, Static

from sandbox.errors import SandboxError
from sandbox.profiles import DEFAULT_PROFILE, PROFILES
from sandbox.records import record
from sandbox.settings import Settings, check_key
from sandbox.tui.welcome import RUNTIME_LABELS, describe_key, key_for, key_origin, setup_plan
from sandbox.tui.widgets.light_button import LightButton
from sandbox.tui.widgets.light_options import LightOption, LightOptions
from sandbox.tui.widgets.plain import filled

# The hint line: what the keys do, and in the key field (which takes m and o as typed).
KEYS_HINT = "[$text-muted]m mock · o OpenAI · Enter start · Esc quit · F1 help[/]"
FIELD_KEYS_HINT = "[$text-muted]Enter start · Esc leave the key field · F1 help[/]"
UNCOVERED_GRACE = 0.5  # seconds after a palette or dialog closed in which Esc does not quit


@record
class ProviderChoice:
    """What the user chose on the first screen: the provider and the key it will use."""

    provider: str
    token: str
    profile: str = DEFAULT_PROFILE.name  # the API the walkthrough teaches


class ProviderScreen(Screen[None]):
    """Shown at once while the runtime is detected behind it; Start waits for the detection.

    It is the app's first screen (its default screen: no other is built before it paints) and
    stays under the walkthrough. It hands ``chosen`` the choice, or None when the user quits.
    """

    # Esc too is a priority: one that arrived while a palette or dialog was on top is theirs,
    # even when that screen has closed by the time the key has bubbled back to the app.
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "escape", "Quit", priority=True),
                # Priorities too, so that keys typed ahead act in the order they come: after
                # an `o`, the rest of the burst (a pasted key, then Enter) goes to the key field
                # it focused, not to this screen's letters, which the field then types.
                Binding("m", "pick('mock')", "Mock provider", priority=True),
                Binding("o", "pick('openai')", "OpenAI", priority=True),
                # Priority: handled as it arrives, in order with the keys after it. A plain
                # binding is looked up only once the key has bubbled back to the app, against
                # whatever screen is on top by then: in a burst (Enter, Ctrl+P) that is the
                # palette Ctrl+P opened meanwhile, which took the Enter meant for Start.
                Binding("enter", "enter", show=False, priority=True)]
    HELP = """
## Choose a provider

- **Mock provider**: runs on your machine, costs nothing, needs no internet. It accepts the
  sandbox's key and tells you (masked) which key reached it.
- **OpenAI**: real calls with your own key, taken like the CLI does: `--token`, then
  `AGW_SANDBOX_TOKEN`, then `OPENAI_API_KEY`, or typed in the masked field. It is never shown
  or written to disk.

Esc in the key field leaves it (what you typed stays, the focus goes back to Start); Esc
elsewhere quits.

## Choose an API profile

- **kgateway v2.1**: the `Backend` API of kgateway's "Manage API keys" guide.
- **agentgateway v1.4**: today's release, with its own `AgentgatewayBackend` API.
"""
    # Enter starts, even when pressed before the runtime is known: Start waits for it. (Given
    # focus as the screen is composed: focusing it after would style the screen once more.)
    AUTO_FOCUS = "#start"
    runtime: reactive[str | None] = reactive(None, init=False)

    def __init__(self, settings: Settings, env: Mapping[str, str],
                 chosen: Callable[[ProviderChoice | None], None]) -> None:
        super().__init__()
        self.settings = settings
        self.env = env
        self.chosen = chosen
        self.notice: str | None = None
        self._start_when_detected = False
        self._prefilled = key_for("openai", settings.token, env)
        self._hint_for_field = False  # what the hint line says: the key field's keys, or not
        self._start_after_typing = False  # Enter in the key field waits for what came before
        self._covered = False  # a palette or dialog is over this screen
        self._uncovered_at = -UNCOVERED_GRACE  # when the last one over it closed

    def compose(self) -> ComposeResult:
        # No header or footer here: the welcome is the title and the keys are in the hint
        # line; they are the slowest widgets to style, and this screen must paint at once.
        with VerticalScroll(id="provider-form"):
            yield Static("[b]Welcome to agw-sandbox[/b]\nA guided tour of the three ways to "
                         "give agentgateway an LLM provider API key: inline, in a Secret, "
                         "and passthrough.", id="welcome")
            yield Static("Runtime: [b]detecting…[/b]", id="runtime-line")
            yield Static("Provider", classes="field")
            yield LightOptions(
                LightOption("Mock provider (offline, free)",
                            value=self.settings.provider != "openai", id="mock"),
                LightOption("OpenAI (your key, real calls)",
                            value=self.settings.provider == "openai", id="openai"),
                id="provider")
            openai = self.settings.provider == "openai"
            if openai:  # the field comes with OpenAI: mock needs none, and paints sooner
                with Vertical(id="key-row"):
                    yield from self._key_row(self._new_key_input())
            # what chosen_key() will say once the widgets are there
            key = self._prefilled if openai else key_for("mock", self.settings.token, self.env)
            yield Static(self._key_text(key, key_origin(key, self.env)), id="key-source")
            yield Static("API profile", classes="field")
            yield LightOptions(*(LightOption(f"{profile.title} ({profile.backend_kind})",
                                             value=profile.name == self.settings.profile,
                                             id=profile.name.replace(".", "_"))
                                 for profile in PROFILES.values()), id="profile")
            yield Static(self._plan_text(openai, self.settings.profile), id="plan")
            with Horizontal(id="provider-buttons"):
                yield LightButton("Start", id="start", primary=True)
                yield LightButton("Quit", id="quit")
            yield Static(KEYS_HINT, id="provider-keys")

    def on_resize(self) -> None:
        self.set_class(self.size.height < 30, "-short")

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """The hint line says what the keys do where the focus is: in the key field, m and o
        are typed and Esc leaves it."""
        in_field = isinstance(event.widget, Input)
        if in_field != self._hint_for_field:  # Start's focus at the first paint changes nothing
            self._hint_for_field = in_field
            self.query_one("#provider-keys", Static).update(
                FIELD_KEYS_HINT if in_field else KEYS_HINT)

    def on_mount(self) -> None:
        # AUTO_FOCUS applies only while the app has the focus; a browser tab (serve) starts
        # without it, and Enter must start there too.
        if self.focused is None:
            self.query_one("#start").focus()

    def runtime_detected(self, runtime: str, notice: str | None) -> None:
        """Attributes down: the app tells the screen which runtime it found, and why."""
        self.notice = notice
        self.runtime = runtime

    def watch_runtime(self, runtime: str | None) -> None:
        text = "Runtime: [b]$runtime[/b]" + ("\n[$text-muted]$notice[/]" if self.notice else "")
        label = RUNTIME_LABELS.get(runtime or "", runtime or "")
        self.query_one("#runtime-line", Static).update(filled(text, runtime=label,
                                                              notice=self.notice or ""))
        self._provider_changed()
        if self._start_when_detected:
            self.action_start()

    @property
    def start_pending(self) -> bool:
        """Whether Start was pressed and waits: for the runtime to be detected, or for the keys
        typed ahead of it into the key field."""
        return self._start_when_detected or self._start_after_typing

    def action_pick(self, provider: str) -> None:
        if isinstance(self.focused, Input):  # a letter of what is typed there
            raise SkipAction()
        self.query_one(f"#{provider}", LightOption).value = True
        if provider == "openai":
            # At once, not after a refresh: the next key of a burst is already on its way to
            # whatever has the focus when it is handled, and it belongs to the field.
            self.set_focus(self._key_input())

    def action_quit(self) -> None:
        self.chosen(None)

    def action_escape(self) -> None:
        """Quit, unless the key field has the focus (Esc leaves it: a person clearing what they
        typed must not end the session; the next Esc quits) or something over this screen has
        just closed: a second Esc typed to make sure it closed (or sent in the same burst) must
        not end the session."""
        if isinstance(self.focused, Input):
            self.set_focus(self.query_one("#start"))  # at once: the next key is not the field's
            self.notify("Esc left the key field (what you typed stays); press Esc again to "
                        "quit.", timeout=3, markup=False)
            return
        if time.monotonic() - self._uncovered_at < UNCOVERED_GRACE:
            self.notify("Esc closed what was open; press Esc again to quit.", timeout=3,
                        markup=False)
            self._uncovered_at = -UNCOVERED_GRACE  # the next Esc quits
            return
        self.action_quit()

    def on_screen_suspend(self) -> None:
        self._covered = True

    def on_screen_resume(self) -> None:
        if self._covered:  # not the first showing
            self._covered = False
            self._uncovered_at = time.monotonic()

    @property
    def provider(self) -> str:
        return "openai" if self.query_one("#openai", LightOption).value else "mock"

    @property
    def profile(self) -> str:
        pressed = self.query_one("#profile", LightOptions).pressed_button
        return next((name for name in PROFILES
                     if pressed is not None and pressed.id == name.replace(".", "_")),
                    self.settings.profile)

    def chosen_key(self) -> tuple[str, str]:
        """The key Start would use and where it came from."""
        if self.provider == "openai":
            key = self._key_input().value.strip()
            origin = key_origin(key, self.env) if key == self._prefilled else "typed"
            return key, origin
        key = key_for("mock", self.settings.token, self.env)
        return key, key_origin(key, self.env)

    def _key_input(self) -> Input:
        """The masked key field, created the first time OpenAI is chosen."""
        for key in self.query("#key").results(Input):
            return key
        key, row = self._new_key_input(), Vertical(id="key-row")
        self.query_one("#provider-form").mount(row, before="#key-source")
        # Into the row now, not as its children once it is mounted: the field can then take
        # the focus at once.
        row.mount(*self._key_row(key))
        return key

    def _new_key_input(self) -> Input:
        return Input(self._prefilled, password=True, compact=True,
                     placeholder="sk-… (or set OPENAI_API_KEY)", id="key")

    @staticmethod
    def _key_row(key: Input) -> tuple[Static, Input]:
        """What the key row holds: its label, then the field."""
        return Static("OpenAI API key", classes="field", id="key-label"), key

    @on(LightOptions.Changed)
    @on(Input.Changed, "#key")
    def _provider_changed(self) -> None:
        openai = self.provider == "openai"
        for row in self.query("#key-row"):
            row.display = openai
        if openai:
            self._key_input()
        self.query_one("#key-source", Static).update(self._key_text(*self.chosen_key()))
        self.query_one("#plan", Static).update(self._plan_text(openai, self.profile))

    def _key_text(self, key: str, origin: str) -> Content:
        """Which key Start would use, masked, and where it came from."""
        described = describe_key(key, origin) if key else "your OpenAI key (none given yet)"
        return filled("Key: $key", key=described)

    def _plan_text(self, openai: bool, profile: str) -> str:
        steps = setup_plan(self.runtime, self.settings.port, openai, PROFILES[profile].title)
        return "[b]What the setup will do[/b]\n" + "\n".join(
            f"  {n}. {s}" for n, s in enumerate(steps, start=1))

    def action_enter(self) -> None:
        """Enter on Start or Quit acts at once; in the key field, once the keys typed ahead of
        it are in (a Ctrl+P after it still opens over the walkthrough); elsewhere the widget's
        own."""
        focused = self.focused
        if isinstance(focused, Input):
            self._start_after_typing = True
            focused.call_later(self._start_typed)
            return
        acting_on = focused.id if isinstance(focused, LightButton) else None
        if acting_on == "start":
            self.action_start()
        elif acting_on == "quit":
            self.chosen(None)
        else:  # an option set's own Enter, in order with the arrows before it in a burst
            raise SkipAction()

    def _start_typed(self) -> None:
        self._start_after_typing = False
        self.action_start()

    @on(LightButton.Pressed, "#quit")
    def _quit(self) -> None:
        self.chosen(None)

    @on(LightButton.Pressed, "#start")
    @on(Input.Submitted, "#key")
    def action_start(self) -> None:
        if self.runtime is None:  # pressed before detection ended: start as soon as it has
            self._start_when_detected = True
            self.query_one("#runtime-line", Static).update("Runtime: detecting… then starting")
            return
        key, _ = self.chosen_key()
        if not key:
            self.notify("Type your OpenAI API key, set AGW_SANDBOX_TOKEN or OPENAI_API_KEY, "
                        "or choose the mock provider.", title="A key is needed",
                        severity="error", markup=False)
            self._key_input().focus()
            return
        try:
            key = check_key(key, "the key field")
        except SandboxError as exc:  # named by position, never shown
            self.notify(exc.hint, title=exc.message, severity="error", markup=False)
            self._key_input().focus()
            return
        self.chosen(ProviderChoice(self.provider, key, self.profile))
