"""Every command and API call, as text a user can paste into a shell."""

from __future__ import annotations

from rich.syntax import Syntax
from textual.widgets import RichLog

from sandbox.untrusted import visible


class CommandLog(RichLog):
    """A scrolling log of shell-pasteable commands, highlighted as bash."""

    HELP = """
## Commands

Everything the sandbox did, as the `kubectl` / `curl` command you could type yourself.
Keys never appear: commands use `$AGW_SANDBOX_TOKEN` (or `$OPENAI_API_KEY`) in their place, so
export that variable and paste.
"""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(wrap=True, markup=False, highlight=False, **kwargs)  # type: ignore[arg-type]

    def add(self, command: str) -> None:
        """``command`` holds names and text from scenarios: hidden characters become escapes."""
        self.write(Syntax(visible(command), "bash", theme="ansi_dark", word_wrap=True,
                          background_color="default"))
