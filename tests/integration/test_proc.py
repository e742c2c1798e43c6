"""The one subprocess helper, with real processes: failures and hangs become our own errors."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from sandbox.errors import CommandFailed, CommandTimedOut, RuntimeUnavailable, SandboxError
from sandbox.proc import run


def _ends_soon(pid: int, within: float = 2.0) -> bool:
    """Whether ``pid`` has ended (or is a zombie) within ``within`` seconds: a process that has
    closed its pipes on SIGTERM may still be on its way out when the command returns."""
    deadline = time.monotonic() + within
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


async def test_a_hung_command_is_stopped_with_everything_it_started(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    script = f"echo pulling chart >&2; sleep 60 & echo $! > {pidfile}; wait"
    started = time.monotonic()
    with pytest.raises(CommandTimedOut) as caught:
        await run(["sh", "-c", script], timeout=0.5)
    assert time.monotonic() - started < 5
    assert isinstance(caught.value, SandboxError)  # the CLI shows it, no traceback
    message = caught.value.message
    assert message.startswith("`sh -c echo pulling chart")
    assert "did not finish within 0.5s and was stopped" in message
    assert "pulling chart" in message  # what it said before it hung
    assert caught.value.hint
    await asyncio.sleep(0.2)
    assert not _alive(int(pidfile.read_text())), "the hung command's child is still running"


async def test_a_failing_command_carries_its_stderr() -> None:
    with pytest.raises(CommandFailed, match=r"exited with 3: Error: no such release"):
        await run(["sh", "-c", "echo 'Error: no such release' >&2; exit 3"])


@pytest.mark.parametrize(("kill", "said"), [("-9", "was killed by SIGKILL"),
                                            ("-USR1", "was killed by SIGUSR1")])
async def test_a_command_killed_by_a_signal_is_said_so(kill: str, said: str) -> None:
    with pytest.raises(CommandFailed) as caught:
        await run(["sh", "-c", f"echo 'half done' >&2; kill {kill} $$"])
    assert caught.value.message == f"`sh -c echo 'half done' >&2; kill {kill} $$` {said}: half done"


async def test_a_missing_tool_is_named_with_how_to_install_it() -> None:
    with pytest.raises(RuntimeUnavailable, match="`helm-nonexistent` is not installed"):
        await run(["helm-nonexistent", "version"])


async def test_input_and_output_pass_through() -> None:
    result = await run(["sh", "-c", "cat; echo done >&2"], stdin=b"hello")
    assert (result.stdout, result.stderr, result.returncode) == ("hello", "done\n", 0)


async def test_a_hung_command_may_tidy_up_before_it_is_killed(tmp_path: Path) -> None:
    """kind and helm clean up after SIGTERM; a bare SIGKILL would leave half a cluster."""
    tidied = tmp_path / "tidied"
    script = f"trap 'echo yes > {tidied}; exit 143' TERM; sleep 60 & wait"
    with pytest.raises(CommandTimedOut):
        await run(["sh", "-c", script], timeout=0.3)
    assert tidied.read_text() == "yes\n"


async def test_cancelling_a_command_stops_it(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    task = asyncio.ensure_future(run(["sh", "-c", f"echo $$ > {pidfile}; sleep 60"]))
    while not pidfile.exists() or not pidfile.read_text().strip():
        await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not _alive(int(pidfile.read_text()))


async def test_a_command_ends_when_it_exits_though_a_child_keeps_its_output_open(
        tmp_path: Path) -> None:
    """A tool that leaves something running with its stdout (`sleep 300 &`) has still
    finished: its output is read, and what it left holding the pipe is stopped."""
    pidfile = tmp_path / "child.pid"
    script = f"sleep 300 & echo $! > {pidfile}; echo answer; echo said >&2"
    started = time.monotonic()
    result = await run(["sh", "-c", script], timeout=30)
    assert time.monotonic() - started < 5
    assert (result.returncode, result.stdout, result.stderr) == (0, "answer\n", "said\n")
    assert _ends_soon(int(pidfile.read_text())), "the child holding the output still runs"


async def test_a_child_in_a_session_of_its_own_holding_the_output_is_stopped_and_named(
        tmp_path: Path) -> None:
    """Out of reach of the command's process group (it called setsid), found by the pipe it
    holds; one that ignores SIGTERM is killed."""
    pidfile = tmp_path / "child.pid"
    script = (f"setsid sh -c 'trap \"\" TERM; exec sleep 300' 2>/dev/null & echo $! > {pidfile}; "
              "echo answer")
    started = time.monotonic()
    try:
        result = await run(["sh", "-c", script], timeout=30)
    finally:
        pid = int(pidfile.read_text())
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
            pytest.fail("the child holding the output still runs")
    assert time.monotonic() - started < 6
    assert (result.returncode, result.stdout) == (0, "answer\n")
    assert result.stopped == (f"pid {pid} (sleep)",)
    assert (await run(["sh", "-c", "sleep 300 & echo quick"])).stopped == ()  # in its group


async def test_output_that_never_ends_is_cut_at_the_deadline_and_leaves_no_pipe_open(
        tmp_path: Path) -> None:
    """`exec yes`: the deadline stops it; the pipes are closed before the loop that read them
    closes, so nothing complains later ("Event loop is closed")."""
    complaints: list[str] = []

    def timed_out() -> None:
        with pytest.raises(CommandTimedOut):
            asyncio.run(run(["sh", "-c", "exec yes '{\"kind\": '"], timeout=0.5, keep=4096))

    previous = sys.unraisablehook
    sys.unraisablehook = lambda hook: complaints.append(f"{hook.exc_value!r} {hook.object!r}")
    try:
        await asyncio.to_thread(timed_out)  # a loop of its own, as an exec plugin's
        gc.collect()
    finally:
        sys.unraisablehook = previous
    assert complaints == []
