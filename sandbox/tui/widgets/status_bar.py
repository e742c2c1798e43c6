"""The bottom status line: runtime, cluster state, gateway health and provider."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.timer import Timer
from textual.widgets import Static

from sandbox.tui.widgets.plain import filled

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
SPIN_FPS = 8  # smooth enough to say "working"; nothing ticks while idle


class StatusBar(Horizontal):
    """Reactive fields set by the walkthrough screen; ``busy`` shows a spinner while set."""

    runtime: reactive[str] = reactive("detecting…")
    cluster: reactive[str] = reactive("starting")
    gateway: reactive[str] = reactive("unknown")
    provider: reactive[str] = reactive("")
    profile: reactive[str] = reactive("")  # the API profile, e.g. agentgateway-v1.4
    busy: reactive[str] = reactive("")

    def __init__(self, **kwargs: str) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._spin_timer: Timer | None = None
        self._frame = 0

    def compose(self) -> ComposeResult:
        yield Static(id="busy-indicator")
        yield Static(id="status-text")

    def _refresh_text(self) -> None:
        # The fields hold names from outside (a step's title, a kubeconfig context, a URL):
        # they fill the markup's $variables as plain text.
        state = self.gateway.split(" ")[0]
        dot = {"healthy": "[$success]●[/]", "down": "[$error]●[/]"}.get(state, "[$warning]●[/]")
        port = self.gateway.rpartition(":")[2] if "://" in self.gateway else "?"
        if self.size.width and self.size.width < 100:
            parts = ["[b]$runtime[/]", "$cluster", f"gateway {dot} :$port", "[b]$provider[/]"]
        else:
            parts = ["runtime [b]$runtime[/]", "cluster $cluster", f"gateway {dot} $gateway",
                     "provider [b]$provider[/]"]
        if self.profile:
            parts.insert(0, "[b]$profile[/]")
        if self.busy:
            parts.insert(0, "[b]$busy[/]")
        self.query_one("#status-text", Static).update(filled(
            "  ·  ".join(parts), runtime=self.runtime, cluster=self.cluster, port=port,
            gateway=self.gateway, provider=self.provider, profile=self.profile, busy=self.busy))

    def _spin(self) -> None:
        self._frame = (self._frame + 1) % len(SPINNER)
        self.query_one("#busy-indicator", Static).update(SPINNER[self._frame])

    def watch_busy(self, busy: str) -> None:
        if not self.is_mounted:
            return
        indicator = self.query_one("#busy-indicator", Static)
        indicator.display = bool(busy)
        if busy and self._spin_timer is None:
            self._spin_timer = self.set_interval(1 / SPIN_FPS, self._spin)
        elif not busy and self._spin_timer is not None:
            self._spin_timer.stop()
            self._spin_timer = None
        self._refresh_text()

    def on_mount(self) -> None:
        self.watch_busy(self.busy)

    def on_resize(self) -> None:
        self._refresh_text()

    def watch_runtime(self) -> None:
        if self.is_mounted:
            self._refresh_text()

    watch_cluster = watch_gateway = watch_provider = watch_profile = watch_runtime
