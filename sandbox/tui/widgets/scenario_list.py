"""The list of scenarios with a progress mark and counter for each."""

from __future__ import annotations

from rich.table import Table
from textual import on
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from sandbox.tui.presenter import ScenarioRow
from sandbox.tui.widgets.plain import plain_rich


class ScenarioList(OptionList):
    """One line per scenario; posts :class:`Highlighted` and :class:`Chosen` with its id."""

    HELP = """
## Scenarios

Each line is one walkthrough. The mark says how far you got:
`✓` done, `▶` in progress, `✗` a step failed, blank: not started.

- **Up/Down** choose a scenario; the step panel follows.
- **Enter** on a finished scenario moves on to the next one.
- Run **setup** first: it creates the Gateway the others attach to.
"""

    class Highlighted(Message):
        """The cursor moved to the scenario ``scenario_id``."""

        def __init__(self, scenario_id: str) -> None:
            super().__init__()
            self.scenario_id = scenario_id

    class Chosen(Message):
        """Enter was pressed on the scenario ``scenario_id``."""

        def __init__(self, scenario_id: str) -> None:
            super().__init__()
            self.scenario_id = scenario_id

    def show(self, rows: list[ScenarioRow]) -> None:
        """Keeps the highlighted line where it was."""
        if self.option_count != len(rows):
            self.set_options(Option(_prompt(row), id=row.id) for row in rows)
            if rows and self.highlighted is None:
                self.highlighted = 0
            return
        for row in rows:
            self.replace_option_prompt(row.id, _prompt(row))

    def select_id(self, scenario_id: str) -> None:
        self.highlighted = self.get_option_index(scenario_id)

    @on(OptionList.OptionHighlighted)
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        if event.option.id is not None:
            self.post_message(self.Highlighted(event.option.id))

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            self.post_message(self.Chosen(event.option.id))


def _prompt(row: ScenarioRow) -> Table:
    """The counter keeps its place at the right; a long title wraps beside it."""
    grid = Table.grid(expand=True, padding=(0, 1, 0, 0))
    grid.add_column(width=1, no_wrap=True)
    grid.add_column(ratio=1)
    grid.add_column(justify="right", no_wrap=True, style="dim")
    grid.add_row(row.mark, plain_rich(row.title), row.progress)  # a str cell would be markup
    return grid
