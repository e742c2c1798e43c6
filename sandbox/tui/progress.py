"""Where the user is in one scenario of the app's session: the step, each outcome, each edit."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ScenarioProgress:
    """Where the user is in one scenario."""

    index: int = 0
    outcomes: dict[str, str] = field(default_factory=dict)
    edits: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def mark(self, total: int) -> str:
        if self.outcomes and any(o == "failed" for o in self.outcomes.values()):
            return "✗"
        if self.index >= total:
            return "✓"
        return "▶" if self.outcomes else " "
