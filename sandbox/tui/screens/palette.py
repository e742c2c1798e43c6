"""The command palette, closed once however many keys ask it to close in one burst."""

from __future__ import annotations

from textual.await_complete import AwaitComplete
from textual.command import CommandPalette


class OnceClosedPalette(CommandPalette):
    """Textual's palette, whose second dismissal in a burst is a no-op.

    Enter typed right after Ctrl+P (a `serve` tab delivers keys in bursts) can reach the
    palette twice before its first dismissal has run: the second one would pop the screen
    under it, the last one, and end the app with a ScreenStackError.
    """

    def dismiss(self, result: None = None) -> AwaitComplete:
        if self.app.screen is not self:  # already dismissed: the screen below stays
            return AwaitComplete(_nothing())
        return super().dismiss(result)


async def _nothing() -> None:
    """What a dismissal that does nothing awaits."""
