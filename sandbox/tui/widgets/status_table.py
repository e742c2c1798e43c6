"""Resource status conditions, updated as the controller writes them."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from sandbox.runtimes.runtime import Condition, ResourceRef
from sandbox.tui.widgets.plain import plain_rich
from sandbox.tui.widgets.theme import theme_style

STYLES = {"True": ("success", "bold"), "False": ("error", "bold"), "Unknown": ("warning", "")}


class StatusTable(DataTable[Text | str]):
    """One row per condition of each resource, replaced as new status arrives.

    Names, reasons and messages come from the cluster: every cell is a ``Text``, since the table
    reads a ``str`` cell as markup.
    """

    HELP = """
## Resource status

The conditions the controller (real or simulated) wrote on each resource, newest state only.
`Accepted=False` with a reason such as `Invalid` or `BackendNotFound` tells you what is missing;
the message column says which object. Press **c** to read them again.
"""

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        self.add_columns("resource", "condition", "status", "reason", "message")

    def update_resource(self, ref: ResourceRef, exists: bool,
                        conditions: tuple[Condition, ...]) -> None:
        name = f"{ref.kind}/{ref.name}"
        for key in [k for k in self.rows if str(k.value).startswith(f"{name}|")]:
            self.remove_row(key)
        if not exists:
            self.add_row(plain_rich(name), "—", Text("absent", style="dim"), "", "",
                         key=f"{name}|-")
            return
        if not conditions:
            self.add_row(plain_rich(name), "—",
                         Text("no status yet", style=theme_style(self.app, "warning")), "", "",
                         key=f"{name}|-")
        for condition in conditions:
            self.add_row(plain_rich(name), plain_rich(condition.type),
                         plain_rich(condition.status, style=self._style(condition.status)),
                         plain_rich(condition.reason), plain_rich(condition.message),
                         key=f"{name}|{condition.type}")

    def _style(self, status: str) -> str:
        variable, extra = STYLES.get(status, ("", ""))
        return theme_style(self.app, variable, extra) if variable else ""

    def forget(self, ref: ResourceRef) -> None:
        name = f"{ref.kind}/{ref.name}"
        for key in [k for k in self.rows if str(k.value).startswith(f"{name}|")]:
            self.remove_row(key)
