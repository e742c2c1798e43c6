"""The list of scenarios with a progress mark for each."""

from __future__ import annotations

from textual.widgets import OptionList
from textual.widgets.option_list import Option


class ScenarioList(OptionList):
    HELP = """
## Scenarios

Each line is one walkthrough. The mark says how far you got:
`✓` done, `▶` in progress, `✗` a step failed, blank: not started.

- **Up/Down** choose a scenario; the step panel follows.
- Run **setup** first: it creates the Gateway the others attach to.
"""

    def show(self, rows: list[tuple[str, str, str, str]]) -> None:
        """Rows of (id, mark, title, detail); keeps the highlighted line where it was."""
        if self.option_count != len(rows):
            self.set_options(Option(self._prompt(*row[1:]), id=row[0]) for row in rows)
            if rows and self.highlighted is None:
                self.highlighted = 0
            return
        for scenario_id, mark, title, detail in rows:
            self.replace_option_prompt(scenario_id, self._prompt(mark, title, detail))

    @staticmethod
    def _prompt(mark: str, title: str, detail: str) -> str:
        return f"{mark} {title} [dim]{detail}[/]"
