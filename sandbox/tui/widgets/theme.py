"""Theme colours for Rich renderables (tables, syntax), which cannot read ``$variables``."""

from __future__ import annotations

from textual.app import App


def theme_style(app: App[object], variable: str, extra: str = "") -> str:
    """A Rich style from the current theme's ``$variable``: ``theme_style(app, "success")``."""
    colour = app.theme_variables.get(variable) or app.get_css_variables().get(variable, "")
    return f"{extra} {colour}".strip()
