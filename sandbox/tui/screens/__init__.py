"""Screens of the terminal app, and where their stylesheets live."""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path


def _assets() -> Path:
    """The assets folder, found without importlib.resources: it is read before the first paint."""
    spec = find_spec("sandbox.assets")
    assert spec is not None and spec.submodule_search_locations is not None
    return Path(next(iter(spec.submodule_search_locations)))


ASSETS = _assets()
