"""The first screen: choose the provider (and key) and see what the setup will do."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input, Label, RadioButton, RadioSet, Static

from sandbox.errors import SandboxError
from sandbox.profiles import DEFAULT_PROFILE, PROFILES
from sandbox.settings import DEMO_TOKEN, Settings, check_key


@dataclass(frozen=True)
class ProviderChoice:
    provider: str
    token: str
    runtime: str
    notice: str | None
    profile: str = DEFAULT_PROFILE.name


class ProviderScreen(Screen[ProviderChoice]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "app.quit", "Quit"),
                Binding("m", "pick('mock')", "Mock provider"),
                Binding("o", "pick('openai')", "OpenAI")]
    HELP = """
## Choose a provider

- **Mock provider**: runs on your machine, costs nothing, needs no internet. It accepts the
  sandbox's demo key and tells you (masked) which key reached it.
- **OpenAI**: real calls with your own key. The key is read from `OPENAI_API_KEY` or typed in
  the masked field; it is never shown or written to disk.

## Choose an API profile

- **kgateway v2.1**: the `Backend` API of kgateway's "Manage API keys" guide.
- **agentgateway v1.4**: today's release, with its own `AgentgatewayBackend` API.
"""

    def __init__(self, settings: Settings, runtime: str, notice: str | None) -> None:
        super().__init__()
        self.settings = settings
        self.runtime = runtime
        self.notice = notice

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="provider-form"):
            yield Static("[b]Welcome to agw-sandbox[/b]\nA guided tour of the three ways to "
                         "give agentgateway an LLM provider API key: inline, in a Secret, "
                         "and passthrough.", id="welcome")
            yield Static(id="runtime-line")
            yield Label("Provider")
            with RadioSet(id="provider"):
                yield RadioButton("Mock provider (offline, free)", value=True, id="mock")
                yield RadioButton("OpenAI (your key, real calls)", id="openai")
            with Vertical(id="key-row"):
                yield Label("OpenAI API key", id="key-label")
                yield Input(password=True, placeholder="sk-… (or set OPENAI_API_KEY)",
                            id="key")
                yield Static(id="key-source")
            yield Label("API profile")
            with RadioSet(id="profile"):
                for profile in PROFILES.values():
                    yield RadioButton(f"{profile.title} ({profile.backend_kind})",
                                      value=profile.name == self.settings.profile,
                                      id=profile.name.replace(".", "_"))
            yield Static(id="plan")
            with Horizontal(id="provider-buttons"):
                yield Button("Start", id="start", variant="primary")
                yield Button("Quit", id="quit")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#runtime-line", Static).update(self._runtime_text())
        env_key = os.environ.get("OPENAI_API_KEY", "")
        if self.settings.provider == "openai":
            self.query_one("#openai", RadioButton).value = True
        if env_key:
            self.query_one("#key", Input).value = env_key
        self._provider_changed()
        self.query_one("#start", Button).focus()

    def action_pick(self, provider: str) -> None:
        self.query_one(f"#{provider}", RadioButton).value = True
        if provider == "openai":
            self.query_one("#key", Input).focus()

    def _runtime_text(self) -> str:
        label = {"sim": "simulated", "kind": "kind", "cluster": "cluster"}.get(self.runtime,
                                                                             self.runtime)
        text = f"Runtime: [b]{label}[/b]"
        if self.notice:
            text += f"\n[dim]{self.notice}[/]"
        return text

    @property
    def provider(self) -> str:
        return "openai" if self.query_one("#openai", RadioButton).value else "mock"

    @property
    def profile(self) -> str:
        pressed = self.query_one("#profile", RadioSet).pressed_button
        return next((name for name in PROFILES
                     if pressed is not None and pressed.id == name.replace(".", "_")),
                    self.settings.profile)

    @on(RadioSet.Changed)
    def _provider_changed(self) -> None:
        openai = self.provider == "openai"
        self.query_one("#key-row").display = openai
        source = ""
        if openai and os.environ.get("OPENAI_API_KEY"):
            source = "[dim]read from OPENAI_API_KEY[/]"
        self.query_one("#key-source", Static).update(source)
        self.query_one("#plan", Static).update(self._plan(openai))

    def _plan(self, openai: bool) -> str:
        port = self.settings.port
        upstream = ("api.openai.com, with your key" if openai
                    else "the mock provider on this machine, with a demo key")
        if self.runtime == "sim":
            where = f"127.0.0.1:{port}" if port else "a free local port"
            steps = [f"start the simulated gateway on {where}",
                     f"start the simulated {PROFILES[self.profile].title} control plane "
                     "(GatewayClass agentgateway)",
                     f"send requests through the gateway to {upstream}"]
        else:
            steps = [f"create (or reuse) the kind cluster with {PROFILES[self.profile].title}",
                     f"port-forward the gateway to 127.0.0.1:{port}",
                     f"send requests through the gateway to {upstream}"]
        return "[b]What the setup will do[/b]\n" + "\n".join(
            f"  {n}. {s}" for n, s in enumerate(steps, start=1))

    @on(Button.Pressed, "#quit")
    def _quit(self) -> None:
        self.app.exit()

    @on(Button.Pressed, "#start")
    @on(Input.Submitted, "#key")
    def action_start(self) -> None:
        token = self.settings.token
        if self.provider == "openai":
            token = self.query_one("#key", Input).value.strip()
            if not token:
                self.notify("Type your OpenAI API key, or set OPENAI_API_KEY, or choose the mock "
                            "provider.", title="A key is needed", severity="error")
                self.query_one("#key", Input).focus()
                return
            try:
                token = check_key(token, "the key field")
            except SandboxError as exc:
                self.notify(exc.hint, title=exc.message, severity="error")
                self.query_one("#key", Input).focus()
                return
        elif token == "":
            token = DEMO_TOKEN
        self.dismiss(ProviderChoice(self.provider, token, self.runtime, self.notice,
                                    self.profile))

