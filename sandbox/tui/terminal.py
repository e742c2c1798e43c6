"""The app's terminal driver: a terminal that goes away (closed window, killed tmux) ends the app.

Textual's ``LinuxDriver`` writes through a thread fed by a 30-slot queue. When the terminal has
gone, that thread dies on the first failed write, the queue fills, and the next write blocks the
app for good, half way through its shutdown (Textual issue 6692 describes the same deadlock).
Its input loop spins on end-of-file. Here a failed write or a read that finds the terminal gone
(EIO, end-of-file) drops every later write, stops reading, asks the app to exit as for SIGHUP and
arms the watchdog that ends the process should that exit not finish in time.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import selectors
import signal
import sys
import threading
from codecs import getincrementaldecoder
from collections.abc import Callable
from importlib.machinery import ModuleSpec, PathFinder
from typing import IO, Any

from textual._xterm_parser import XTermParser
from textual.app import App
from textual.driver import Driver
from textual.drivers.linux_driver import LinuxDriver

from sandbox import proc, stdio
from sandbox.errors import SandboxError
from sandbox.untrusted import quoted, visible

HANGUP_EXIT = 128 + signal.SIGHUP  # the exit code of a command whose terminal hung up


class TerminalDriver(LinuxDriver):
    """``LinuxDriver`` that never waits on a terminal that has gone."""

    def __init__(self, app: App[Any], *, debug: bool = False, mouse: bool = True,
                 size: tuple[int, int] | None = None) -> None:
        super().__init__(app, debug=debug, mouse=mouse, size=size)
        self.gone = threading.Event()
        if self._file is not None:
            # what the writer thread writes to: a stream that takes failure for the answer
            self._file = _Output(self._file, self.terminal_gone)  # type: ignore[assignment]

    def terminal_gone(self) -> None:
        """Stop reading, drop what is still to be written, exit as for SIGHUP, and arm the
        watchdog. Safe from any thread, and only the first call counts."""
        if self.gone.is_set():
            return
        self.gone.set()
        self.exit_event.set()  # the input loop ends; disable_input then writes nothing more
        stdio.discard_terminal_output()  # an error report at exit must not fail on it either
        stdio.end_process_within(stdio.EXIT_GRACE, HANGUP_EXIT, proc.stop_everything_started)
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(lambda: self._app.exit(return_code=HANGUP_EXIT))

    def run_input_thread(self) -> None:
        try:
            self._read_terminal()
        except OSError:  # EIO: the terminal was hung up under us
            self.terminal_gone()

    def _read_terminal(self) -> None:
        """Textual's input loop, except that end-of-file means the terminal has gone."""
        parser = XTermParser(self._debug)
        decode = getincrementaldecoder("utf-8")().decode
        with selectors.SelectSelector() as selector:
            selector.register(self.fileno, selectors.EVENT_READ)
            while not self.exit_event.is_set():
                if selector.select(0.1):
                    data = os.read(self.fileno, 4096)
                    if not data:
                        self.terminal_gone()
                        return
                    for event in parser.feed(decode(data)):
                        self.process_message(event)
                for event in parser.tick():
                    self.process_message(event)


class _Output:
    """The terminal's output stream for Textual's writer thread: a failed write means the
    terminal has gone, and from then on every write is dropped, so the thread never dies and
    its queue never fills."""

    def __init__(self, stream: IO[str], gone: Callable[[], None]) -> None:
        self._stream = stream
        self._gone = gone
        self._dropping = False

    def write(self, text: str) -> int:
        if not self._dropping:
            try:
                self._stream.write(text)
            except (OSError, ValueError):
                self._drop()
        return len(text)

    def flush(self) -> None:
        if not self._dropping:
            try:
                self._stream.flush()
            except (OSError, ValueError):
                self._drop()

    def fileno(self) -> int:
        return self._stream.fileno()

    def _drop(self) -> None:
        self._dropping = True
        self._gone()


NO_CLASS_WORDS = ("it has no :Class part: module:Class, such as "
                  "textual.drivers.linux_driver:LinuxDriver")
MODULE_NAME_WORDS = ("a module name is dotted words (textual.drivers.linux_driver, say), with no "
                     "'/' nor leading '.'")


def unloadable_driver(named: str, problem: str) -> SandboxError:
    """The error that says TEXTUAL_DRIVER (``named``) names no driver Textual can load."""
    return SandboxError(f"TEXTUAL_DRIVER is {quoted(named)}, which Textual cannot load as its "
                        f"driver ({visible(problem)})",
                        "it must name a Textual driver class as `module:Class`; or unset it "
                        "(`unset TEXTUAL_DRIVER`)")


def driver_problem(named: str) -> str | None:
    """Why Textual cannot load the driver ``named`` (``module:Class``) that can be told without
    running any code: a module name that is none, a module that is nowhere. None otherwise:
    whether the class is there and is a driver, only importing the module tells, and that
    import (any code of the module's) is Textual's, once, as the app starts; what it raises is
    said then (:func:`textual_driver_class`)."""
    module_name, _, class_name = named.partition(":")
    parts = module_name.split(".")
    if not all(part.isidentifier() for part in parts):
        return MODULE_NAME_WORDS
    if not class_name:  # Textual would look for a class named '' in the module
        return NO_CLASS_WORDS
    try:
        spec = _loaded_spec(parts[0]) or importlib.util.find_spec(parts[0])
        for depth in range(1, len(parts)):
            if spec is None:
                break
            locations = spec.submodule_search_locations
            name = ".".join(parts[:depth + 1])
            if locations is None:  # a module may put its own submodules in place (os.path)
                return None  # as it runs: only the import tells (:func:`load_driver`)
            # the parent's folders, read without importing the parent (its __init__ not run)
            spec = _loaded_spec(name) or PathFinder.find_spec(name, list(locations))
    except (ImportError, ValueError) as exc:
        return str(exc) or type(exc).__name__
    return None if spec is not None else f"No module named {module_name!r}"


def _loaded_spec(name: str) -> ModuleSpec | None:
    """The spec of module ``name`` when it is already imported (its ``__path__`` may have been
    extended as it ran)."""
    module = sys.modules.get(name)
    return getattr(module, "__spec__", None) if module is not None else None


def textual_driver_class(load: Callable[[], type[Driver]], named: str) -> type[Driver]:
    """The driver class Textual loads (``load``: its own ``get_driver_class``) for TEXTUAL_DRIVER
    ``named``, or :func:`unloadable_driver` saying why it could not (the module's import failed,
    it has no such class, the class is no driver)."""
    try:
        return load()
    except RuntimeError:  # Textual's "… is not a Driver class"
        module_name, _, class_name = named.partition(":")
        raise unloadable_driver(named, f"{class_name} in {module_name} is not a driver class"
                                ) from None
    except Exception as exc:  # whatever the module named raises as it is imported
        raise unloadable_driver(named, str(exc) or type(exc).__name__) from None


def load_driver(named: str) -> type[Driver]:
    """The driver class TEXTUAL_DRIVER (``named``) names, imported as Textual's
    ``App.get_driver_class`` imports it (which then finds the module imported: its code runs
    once), or :func:`unloadable_driver` saying why not: called before the app starts, so what
    the import raises is said whether or not there is a terminal."""

    def load() -> type[Driver]:
        module_name, _, class_name = named.partition(":")
        found = getattr(importlib.import_module(module_name), class_name)
        if not inspect.isclass(found) or not issubclass(found, Driver):
            raise RuntimeError(f"{found!r} is not a Driver class")  # Textual's words
        return found

    return textual_driver_class(load, named)
