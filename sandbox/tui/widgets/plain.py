"""Text from outside on screen, as written: never markup, and no character of it acts.

Titles, explanations, answers, conditions, file names: a ``[/]`` in them must show as ``[/]``
(not end a style, or crash the app), a ``[link=…]`` must not make a link, and a control character
must show as an escape rather than reach the terminal. Our own styling goes in the markup; what
comes from outside goes in as values.
"""

from __future__ import annotations

from rich.text import Text
from textual.content import Content

from sandbox.untrusted import visible


def plain(text: str, style: str = "") -> Content:
    """``text`` exactly as written, in ``style``."""
    return Content.styled(visible(text), style)


def plain_rich(text: str, style: str = "") -> Text:
    """The same for Rich renderables (table cells, which would read a ``str`` as markup)."""
    return Text(visible(text), style=style)


def filled(markup: str, **values: str) -> Content:
    """Our own ``markup`` with each ``$name`` filled in by ``values[name]`` as plain text."""
    return Content.from_markup(markup, **{name: visible(value) for name, value in values.items()})
