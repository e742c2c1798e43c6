"""A set of one-line options for the first screen, which must paint at once.

Textual's ``RadioSet`` is a scrolling container of ``RadioButton``s that brings 3 KB of
stylesheet and a scroll view per set; for two options each, the first screen paid about a fifth
of the time its first frame takes beyond a bare app. This set looks like a compact ``RadioSet``
and is used the same ways: arrows move the highlight, Enter or Space picks, a click picks.
"""

from __future__ import annotations

from typing import ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.message import Message
from textual.style import Style
from textual.widget import Widget
from textual.widgets import Static

BUTTON = "●"  # the inside of an option's button, as RadioButton's


class LightOption(Static):
    """One option: its button (on when picked) and its label."""

    ALLOW_SELECT = False
    COMPONENT_CLASSES: ClassVar[set[str]] = {"option--button", "option--label"}

    def __init__(self, label: str, *, value: bool = False, id: str) -> None:
        super().__init__(id=id)
        self._label = Content(label)
        self._value = value
        self.set_class(value, "-on")

    @property
    def value(self) -> bool:
        """Whether it is the option picked; setting it True picks it (and posts the change)."""
        return self._value

    @value.setter
    def value(self, value: bool) -> None:
        if value and isinstance(self.parent, LightOptions):
            self.parent.pick(self)
        elif not value:
            self._turn(False)

    def _turn(self, value: bool) -> None:
        self._value = value
        self.set_class(value, "-on")
        self.refresh()

    def render(self) -> Content:
        button = self.get_visual_style("option--button")
        side = Style(foreground=button.background, background=self.background_colors[1])
        label = self._label.pad(1, 1).stylize_before(self.get_visual_style("option--label"))
        return Content.assemble(("▐", side), (BUTTON, button), ("▌", side), label)

    async def _on_click(self, event: events.Click) -> None:
        if isinstance(self.parent, LightOptions):
            self.parent.focus()
            self.parent.pick(self)


class LightOptions(Widget, can_focus=True, can_focus_children=False):
    """Options of which exactly one is picked; posts :class:`LightOptions.Changed`."""

    ALLOW_SELECT = False
    DEFAULT_CSS = """
    LightOptions {
        background: $surface;
        height: auto;
        width: 1fr;
        pointer: pointer;
        & > LightOption {
            width: 1fr;
            text-wrap: nowrap;
            text-overflow: ellipsis;
            & > .option--button { color: $panel-darken-2; background: $panel; }
            &.-on > .option--button { color: $text-success; }
        }
        &:blur > LightOption.-selected > .option--label {
            background: $block-cursor-blurred-background;
        }
        &:focus {
            background-tint: $foreground 5%;
            & > LightOption.-selected > .option--label {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
        }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down,right", "next_option", "Next option", show=False),
        Binding("enter,space", "pick_highlighted", "Pick", show=False),
        Binding("up,left", "previous_option", "Previous option", show=False),
    ]

    class Changed(Message):
        """Another option was picked."""

        def __init__(self, options: LightOptions, pressed: LightOption) -> None:
            super().__init__()
            self.options = options
            self.pressed = pressed

        @property
        def control(self) -> LightOptions:
            """The set (what ``@on(LightOptions.Changed, "#id")`` matches)."""
            return self.options

    def __init__(self, *options: LightOption, id: str) -> None:
        super().__init__(*options, id=id)
        picked = [option for option in options if option.value]
        for option in picked[1:]:  # one at most, the first
            option._turn(False)
        self._pressed = picked[0] if picked else None
        self._highlighted = options.index(self._pressed) if self._pressed is not None else 0
        if options:
            options[self._highlighted].add_class("-selected")

    @property
    def pressed_button(self) -> LightOption | None:
        """The option picked, if any."""
        return self._pressed

    def pick(self, option: LightOption) -> None:
        """Pick ``option`` (one of this set's), highlight it, and say so if it changed."""
        self._highlight(self._options().index(option))
        if option is self._pressed:
            return
        if self._pressed is not None:
            self._pressed._turn(False)
        option._turn(True)
        self._pressed = option
        self.post_message(self.Changed(self, option))

    def action_next_option(self) -> None:
        self._move(+1)

    def action_previous_option(self) -> None:
        self._move(-1)

    def action_pick_highlighted(self) -> None:
        options = self._options()
        if options:
            self.pick(options[self._highlighted])

    def _move(self, step: int) -> None:
        options = self._options()
        if options:
            self._highlight((self._highlighted + step) % len(options))

    def _highlight(self, index: int) -> None:
        options = self._options()
        options[self._highlighted].remove_class("-selected")
        self._highlighted = index
        options[index].add_class("-selected")

    def _options(self) -> list[LightOption]:
        return [child for child in self.children if isinstance(child, LightOption)]
