"""The library internals the sandbox builds on are still there, as the installed versions have
them: Textual's terminal driver (the app's TerminalDriver replaces its input loop and output
stream) and textual-serve's app service and server (``serve`` replaces how a tab's app is
started, relayed and stopped). A new release that moves one fails here, by name, rather than
breaking the app or ``serve`` quietly; pyproject.toml bounds both to the releases checked."""

from __future__ import annotations

import inspect

import pytest
from textual.drivers.linux_driver import LinuxDriver
from textual_serve.app_service import AppService
from textual_serve.server import Server


def test_textual_s_driver_keeps_what_the_terminal_driver_uses() -> None:
    from textual._xterm_parser import XTermParser

    assert callable(XTermParser(False).feed) and callable(XTermParser(False).tick)
    for name in ("run_input_thread", "process_message", "start_application_mode"):
        assert callable(getattr(LinuxDriver, name)), name
    from textual.driver import Driver

    source = inspect.getsource(LinuxDriver) + inspect.getsource(Driver)
    for attribute in ("self._file =", "self.exit_event =", "self._loop =", "self._debug ="):
        assert attribute in source, attribute


@pytest.mark.parametrize(("owner", "names"), [
    (AppService, ("_open_app_process", "_build_environment", "start", "stop")),
    (Server, ("_make_app", "_process_messages", "handle_websocket")),
])
def test_textual_serve_keeps_what_serve_overrides(owner: type, names: tuple[str, ...]) -> None:
    for name in names:
        assert callable(getattr(owner, name, None)), f"{owner.__name__}.{name}"


def test_textual_s_app_keeps_what_the_sandbox_app_overrides_for_a_bug() -> None:
    """The app replaces ``_fatal_error`` (Textual's prints each frame's locals) and reads the
    exception it ended on from ``_exception``."""
    from textual.app import App

    source = inspect.getsource(App._handle_exception)
    assert "self._fatal_error()" in source and "self._exception = error" in source
    assert callable(App._close_messages_no_wait)
