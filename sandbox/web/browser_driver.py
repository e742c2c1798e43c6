"""The Textual driver of an app served to a browser: the app ends when its web session ends.

Textual's ``WebDriver`` reads the session from stdin and draws on stdout. When the session goes
away (the server stopped, or was killed) its input thread ends quietly on end-of-file and a write
to the closed stdout fails, yet the app runs on with nobody to see it. Here either one asks the
app to exit, and a watchdog ends the process and everything it started if that takes too long
(its main thread may be stuck writing to a pipe nobody reads). What the app draws reaches the
browser as it reaches a terminal: a character UTF-8 cannot carry (a lone surrogate) as ``?``,
never as an error that ends the app.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from typing import Any

from textual import messages
from textual.app import App
from textual.drivers.web_driver import WebDriver

from sandbox.stdio import FALLBACK_ERRORS

EXIT_GRACE = 5.0  # seconds the app has to leave the usual way once its session is gone


class BrowserDriver(WebDriver):
    """``WebDriver`` that treats end-of-file on stdin and a broken stdout as "the tab closed"."""

    def __init__(self, app: App[Any], *, debug: bool = False, mouse: bool = True,
                 size: tuple[int, int] | None = None) -> None:
        super().__init__(app, debug=debug, mouse=mouse, size=size)
        self._write = self._write_or_end  # type: ignore[assignment]  # same call, other type
        self._ended = threading.Event()

    def start_application_mode(self) -> None:
        """Textual's, but SIGTERM and SIGINT go to the handlers the app's command installed:
        Textual's own would end the app as if its tab had quit it (exit status 0), where the
        command ends it as in a terminal (128 + the signal) and stops what it started."""
        ours = {signum: handler for signum in (signal.SIGTERM, signal.SIGINT)
                if callable(handler := signal.getsignal(signum))
                and handler is not signal.default_int_handler}
        super().start_application_mode()
        loop = asyncio.get_running_loop()
        for signum, handler in ours.items():  # through the loop, which its wake-up fd wakes
            loop.add_signal_handler(signum, handler, signum, None)

    def write(self, data: str) -> None:
        """What the app draws, as a terminal's stream takes it (``stdio.prepare_streams``)."""
        data_bytes = data.encode("utf-8", errors=FALLBACK_ERRORS)
        self._write(b"D%s%s" % (len(data_bytes).to_bytes(4, "big"), data_bytes))

    def run_input_thread(self) -> None:
        try:
            super().run_input_thread()
        finally:
            if not self.exit_event.is_set():  # the input ended, not the app: the session is gone
                self.session_ended()

    def _write_or_end(self, data: bytes) -> int:
        try:
            return os.write(self.fileno, data)
        except OSError:  # EPIPE and the like: the server that read us has gone
            self.session_ended()
            return len(data)

    def session_ended(self) -> None:
        """Ask the app to exit and, should it not manage within :data:`EXIT_GRACE`, end it."""
        if self._ended.is_set():
            return
        self._ended.set()
        if not self._loop.is_closed():
            asyncio.run_coroutine_threadsafe(self._app._post_message(messages.ExitApp()),
                                             self._loop)
        watchdog = threading.Timer(EXIT_GRACE, end_process_group)
        watchdog.daemon = True  # a clean exit does not wait for it
        watchdog.start()


def end_process_group() -> None:
    """Kill this process and, when it leads its group (``serve`` starts it so), its children."""
    if os.getpgrp() == os.getpid():
        os.killpg(os.getpgrp(), signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)
