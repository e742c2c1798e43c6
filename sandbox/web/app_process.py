"""One tab's app process: started without a shell in a process group of its own, its output
relayed to the tab (never its stderr), stopped in time (quit, then SIGTERM, then SIGKILL), and
one line on serve's console when it ends without being asked to."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from textual_serve.app_service import AppService

from sandbox import proc, stdio
from sandbox.web import console

QUIT_GRACE = 3.0  # seconds an app has to leave after "quit", before SIGTERM
TERM_GRACE = 2.0  # and after SIGTERM, before SIGKILL


class AppProcess(AppService):
    """One tab's app: started without a shell, in its own group, and always stopped in time."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str], **kwargs: Any) -> None:
        super().__init__(" ".join(argv[1:]), **kwargs)
        self.argv = tuple(argv)
        self.env = dict(env)
        self._stopping: asyncio.Future[None] | None = None
        self._leaving = False  # the app began to end by itself: its exit packet, or its output
        self._asked = False  # serve asked it to stop (its tab closed, serve stopping) before that

    async def _open_app_process(self, width: int = 80, height: int = 24) -> Any:
        env = {**self._build_environment(width, height), **self.env}
        # What an app says on stderr (a crash report) is not for serve's console: the tab shows
        # "Session ended", and a crash report could be anything its page made the app print.
        self._process = process = await proc.start_piped(self.argv, env, stderr=False)
        self._stdin = process.stdin
        return process

    async def on_data(self, payload: bytes) -> None:
        # Keep reading after the tab closed: an app blocked writing to us could not quit.
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self.remote_write_bytes(payload)

    async def run(self) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            await self._relay()
        self._leaving = True
        await self._say_if_it_died()
        # The app has gone (quit, failed to start, killed): the page says "Session ended".
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self.remote_close()

    async def _say_if_it_died(self) -> None:
        """One line on serve's console for an app that failed or was stopped from outside (a
        crash, an administrator's kill, a hang-up) rather than quitting or being stopped by us:
        its tab only shows "Session ended.", and its stderr is not ours to pass on."""
        process = self._process
        if process is None or not await _exited(process, QUIT_GRACE):
            return  # its output closed, yet it runs: stop() ends it, as it was asked to
        if process.returncode not in (0, None) and not self._asked:
            stdio.say(console.app_ended(process.returncode, self.argv))

    async def _relay(self) -> None:
        """textual-serve's loop, without passing the app's stderr on to serve's console: the
        app's greeting line, then its packets (data, meta, packed) until it closes stdout."""
        assert self._process is not None and self._process.stdout is not None
        stdout = self._process.stdout
        for _ in range(10):
            line = await stdout.readline()
            if not line:
                return
            if line == b"__GANGLION__\n":
                break
        handlers = {b"D": self.on_data, b"M": self.on_meta, b"P": self.on_packed}
        while True:
            kind = await stdout.readexactly(1)
            size = int.from_bytes(await stdout.readexactly(4), "big")
            payload = await stdout.readexactly(size)
            if kind in handlers:
                await handlers[kind](payload)

    async def on_meta(self, data: bytes) -> None:
        # An app that leaves (its quit key, or a signal it was sent) says so before it ends;
        # textual-serve then closes its tab, whose handler stops the app: not a stop we asked.
        if _says_exit(data):
            self._leaving = True
        with contextlib.suppress(ConnectionError, RuntimeError):
            await super().on_meta(data)

    async def stop(self) -> None:
        """Idempotent, and shielded: a cancelled caller does not leave the app running."""
        if self._stopping is None:
            running = self._process is not None and self._process.returncode is None
            self._asked = running and not self._leaving
            self._stopping = asyncio.ensure_future(self._stop())
        await asyncio.shield(self._stopping)

    async def _stop(self) -> None:
        process, reader = self._process, self._task
        if process is None or reader is None:
            return
        with contextlib.suppress(ConnectionError, RuntimeError, OSError):
            await self.send_meta({"type": "quit"})
        for grace, signum in ((QUIT_GRACE, signal.SIGTERM), (TERM_GRACE, signal.SIGKILL)):
            if await _exited(process, grace):
                break
            _signal_group(process.pid, signum)
        await process.wait()
        _signal_group(process.pid, signal.SIGKILL)  # whatever it started and left behind
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(reader, TERM_GRACE)


class _Process(Protocol):
    async def wait(self) -> int: ...


async def _exited(process: _Process, within: float) -> bool:
    try:
        await asyncio.wait_for(process.wait(), within)
    except TimeoutError:
        return False
    return True


def _says_exit(meta: bytes) -> bool:
    """Whether a meta packet is the app's "exit" (what it sends as it ends)."""
    try:
        packet = json.loads(meta)
    except ValueError:
        return False
    return isinstance(packet, dict) and packet.get("type") == "exit"


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)
