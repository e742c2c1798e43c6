"""The bottom status line: runtime, cluster state, gateway health and provider."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widgets import LoadingIndicator, Static


class StatusBar(Horizontal):
    runtime: reactive[str] = reactive("detecting…")
    cluster: reactive[str] = reactive("starting")
    gateway: reactive[str] = reactive("unknown")
    provider: reactive[str] = reactive("")
    profile: reactive[str] = reactive("")  # the API profile, e.g. agentgateway-v1.4
    busy: reactive[str] = reactive("")

    def compose(self) -> ComposeResult:
        yield LoadingIndicator(id="busy-indicator")
        yield Static(id="status-text")

    def _refresh_text(self) -> None:
        dot = {"healthy": "[green]●[/]", "down": "[red]●[/]"}.get(self.gateway.split(" ")[0],
                                                                  "[yellow]●[/]")
        if self.size.width and self.size.width < 100:
            port = self.gateway.rpartition(":")[2] if "://" in self.gateway else "?"
            parts = [f"[b]{self.runtime}[/]", self.cluster, f"gateway {dot} :{port}",
                     f"[b]{self.provider}[/]"]
        else:
            parts = [f"runtime [b]{self.runtime}[/]", f"cluster {self.cluster}",
                     f"gateway {dot} {self.gateway}", f"provider [b]{self.provider}[/]"]
        if self.profile:
            parts.insert(0, f"[b]{self.profile}[/]")
        if self.busy:
            parts.insert(0, f"[b]{self.busy}[/]")
        self.query_one("#status-text", Static).update("  ·  ".join(parts))
        self.query_one("#busy-indicator").display = bool(self.busy)

    def on_mount(self) -> None:
        self._refresh_text()

    def on_resize(self) -> None:
        self._refresh_text()

    def watch_runtime(self) -> None:
        if self.is_mounted:
            self._refresh_text()

    watch_cluster = watch_gateway = watch_provider = watch_busy = watch_profile = watch_runtime
