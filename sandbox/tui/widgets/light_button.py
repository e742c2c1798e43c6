"""A one-line button for the first screen, which must paint at once.

Textual's ``Button`` brings 7 KB of stylesheet for variants, borders and themes this screen
never shows; parsing it is a tenth of the time the first frame takes beyond a bare app. This
button looks like a compact ``Button`` and is pressed the same ways: a click, Enter or Space.
"""

from __future__ import annotations

from typing import ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Static

# How long a press shows on the button, as Textual's own.
PRESSED_FOR = 0.2


class LightButton(Static, can_focus=True):
    """A compact button: ``primary`` or not, that posts :class:`LightButton.Pressed`."""

    ALLOW_SELECT = False
    DEFAULT_CSS = """
    LightButton {
        width: auto;
        min-width: 10;
        height: 1;
        padding: 0 1;
        line-pad: 1;
        text-align: center;
        text-style: bold;
        color: $button-foreground;
        background: $surface;
        pointer: pointer;
        &:hover { background: $surface-darken-1; }
        &:focus { text-style: $button-focus-text-style; background-tint: $foreground 5%; }
        &.-primary {
            color: $button-color-foreground;
            background: $primary;
            &:hover { background: $primary-darken-2; }
        }
        &.-pressed { tint: $background 30%; }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "press", "Press button", show=False),
        Binding("space", "press", "Press button", show=False)]

    class Pressed(Message):
        """The button was pressed (clicked, or Enter or Space while it has the focus)."""

        def __init__(self, button: LightButton) -> None:
            super().__init__()
            self.button = button

        @property
        def control(self) -> LightButton:
            """The button pressed (what ``@on(LightButton.Pressed, "#id")`` matches)."""
            return self.button

    def __init__(self, label: str, *, id: str, primary: bool = False) -> None:
        super().__init__(label, id=id, classes="-primary" if primary else "", markup=False)

    def press(self) -> None:
        """Show the press for a moment and tell the screen."""
        if self.disabled or not self.display:
            return
        self.add_class("-pressed")
        self.set_timer(PRESSED_FOR, lambda: self.remove_class("-pressed"))
        self.post_message(self.Pressed(self))

    def action_press(self) -> None:
        self.press()

    async def _on_click(self, event: events.Click) -> None:
        event.stop()
        self.press()
