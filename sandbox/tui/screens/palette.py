"""The command palette, closed once however many keys ask it to close in one burst, and
hiding a key pasted into its search."""

from __future__ import annotations

from collections.abc import Sequence

from textual.await_complete import AwaitComplete
from textual.command import CommandInput, CommandPalette
from textual.widgets import Input

from sandbox.tui.widgets.key_fields import KEY_SHAPED


class OnceClosedPalette(CommandPalette):
    """Textual's palette, whose second dismissal in a burst is a no-op.

    Enter typed right after Ctrl+P (a `serve` tab delivers keys in bursts) can reach the
    palette twice before its first dismissal has run: the second one would pop the screen
    under it, the last one, and end the app with a ScreenStackError.
    """

    def __init__(self, keys: Sequence[str], *, id: str) -> None:
        super().__init__(id=id)
        self._keys = [key for key in keys if key]

    def on_mount(self) -> None:
        # Watched as the value changes, before the next frame: a key pasted in one piece would
        # be drawn once if it were hidden when the change is told (Input.Changed).
        search = self.query_one(CommandInput)
        self.watch(search, "value", lambda value: self._hide_a_key(search, value), init=False)

    def _hide_a_key(self, search: Input, value: str) -> None:
        """The search shows dots while it holds a key (Textual's own handler still matches
        the commands against what was typed)."""
        search.password = bool(KEY_SHAPED.search(value)) or any(key in value for key in self._keys)

    def dismiss(self, result: None = None) -> AwaitComplete:
        if self.app.screen is not self:  # already dismissed: the screen below stays
            return AwaitComplete(_nothing())
        return super().dismiss(result)


async def _nothing() -> None:
    """What a dismissal that does nothing awaits."""
