"""What ``serve`` says on its console: one line for each thing a presenter should know about,
never a traceback (with AGW_SANDBOX_DEBUG set, the libraries' own logs are shown whole)."""

from __future__ import annotations

import logging
import os
import shlex
import signal
from collections.abc import Sequence

from sandbox import stdio
from sandbox.untrusted import visible


class ConsoleLog(logging.Handler):
    """What aiohttp and textual-serve log, on serve's console as one line each: a request that
    is not HTTP (``ignored``) is the client's business, and a traceback tells a presenter
    nothing."""

    def __init__(self, level: int, ignored: tuple[type[BaseException], ...]) -> None:
        super().__init__(level)
        self.ignored = ignored

    def emit(self, record: logging.LogRecord) -> None:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, self.ignored):
            return
        cause = f" ({type(error).__name__})" if error is not None else ""
        stdio.say(f"agw-sandbox: serve: {record.getMessage()}{cause}")


def quiet_logs(ignored: tuple[type[BaseException], ...]) -> None:
    """The web server's logs as :class:`ConsoleLog` lines, errors of ``ignored`` left out."""
    if os.environ.get("AGW_SANDBOX_DEBUG"):
        return
    for name in ("aiohttp", "textual-serve"):
        logger = logging.getLogger(name)
        logger.handlers = [ConsoleLog(logging.WARNING, ignored)]
        logger.propagate = False


def app_ended(returncode: int, argv: Sequence[str]) -> str:
    """The line for a tab's app that ended by itself (a crash, a kill) with ``returncode``;
    ``argv`` is how serve started it (``python -m sandbox ...``), which holds no key."""
    # A folder's name is text from elsewhere: shown with its hidden characters as escapes.
    options = argv[argv.index("sandbox") + 1:] if "sandbox" in argv else []
    command = visible(" ".join(shlex.quote(part) for part in ("agw-sandbox", *options)))
    return (f"agw-sandbox: serve: a tab's app ended unexpectedly ({_how(returncode)}); its tab "
            f"shows \"Session ended.\" (Restart there opens a new one); to see why, run the same "
            f"app in a terminal: {command}")


def _how(returncode: int) -> str:
    """How the app ended: a signal that killed it, one it caught and left on (exiting with
    128 + the signal, as a shell reports it), or an exit status."""
    if returncode < 0 and -returncode in signal.valid_signals():
        return f"killed by {stdio.signal_name(-returncode)}"
    caught = returncode - 128
    if caught in (signal.SIGINT, *stdio.STOP_SIGNALS):
        return f"stopped by {stdio.signal_name(caught)}, exit status {returncode}"
    return f"exit status {returncode}"
