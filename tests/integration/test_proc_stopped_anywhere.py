"""A stop signal may land at any moment of a command's run: wherever it lands, the command and
all it started are stopped, its pipes are closed before the loop, and no coroutine is left
"never awaited".

A signal's handler raises where the main thread is, at the start of a function or as a
coroutine resumes. The test raises there, at each such moment of :func:`sandbox.proc.run` in
turn (its own code and what it calls), as the CLI's handler would, then ends the loop as
``asyncio.run`` does.
"""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import sys
import time
import warnings
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from sandbox import proc, stdio
from sandbox.proc import held
from tests.integration.test_exec_plugin_stopped import marker, of_the_test

__all__ = ["marker"]  # a fixture, used by name
PROC = str(Path(proc.__file__).parent)
# The moments tried: the start, the output's readers, and the first looks at its exit.
MOMENTS = 36


def stops_at(moment: int) -> tuple[Any, list[int]]:
    """A trace function that raises the CLI's stop at the ``moment``-th function start or
    coroutine resumption in proc's code or called from it, and the count of those seen. While
    proc holds the stop signals, no signal can land: those moments are not counted."""
    seen = [0]

    def trace(frame: FrameType, event: str, arg: object) -> None:
        if event != "call" or held._holding:
            return
        if not (frame.f_code.co_filename.startswith(PROC) or (
                frame.f_back is not None and frame.f_back.f_code.co_filename.startswith(PROC))):
            return
        seen[0] += 1
        if seen[0] == moment:
            sys.settrace(None)
            raise stdio.Terminated(signal.SIGTERM)

    return trace, seen


def run_stopped_at(moment: int, argv: list[str]) -> tuple[int, list[str]]:
    """Run ``argv`` through proc.run, stopped at ``moment``: the moments counted, and what was
    reported on the way (warnings, and what Python could only print as "Exception ignored")."""
    complaints: list[str] = []
    previous = sys.unraisablehook
    sys.unraisablehook = lambda hook: complaints.append(f"{hook.exc_value!r} {hook.object!r}")
    trace, seen = stops_at(moment)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            runner = asyncio.Runner()
            try:
                sys.settrace(trace)
                runner.run(proc.run(argv, timeout=20, check=False))
            except stdio.Terminated:
                pass
            finally:
                sys.settrace(None)
                runner.close()  # as asyncio.run ends: every task left is cancelled
            gc.collect()
        complaints += [str(warning.message) for warning in caught]
    finally:
        sys.unraisablehook = previous
    return seen[0], complaints


@pytest.mark.skipif(sys.platform != "linux", reason="finds the test's processes in /proc")
def test_a_stop_at_any_moment_of_a_run_stops_everything_and_leaves_nothing_unawaited(
        tmp_path: Path, marker: str) -> None:
    nap = tmp_path / "nap"
    nap.symlink_to("/bin/sleep")
    # A child that ignores SIGTERM, one in its own session
    script = tmp_path / "command.sh"
    script.write_text(f"#!/bin/bash\nbash -c \"trap '' TERM; {nap} 30\" &\n"
                      f"setsid {nap} 31 &\necho started\n{nap} 32\n")
    script.chmod(0o755)
    for moment in range(1, MOMENTS + 1):
        seen, complaints = run_stopped_at(moment, [str(script)])
        assert seen == moment, "the stop never came"
        assert complaints == [], f"stopped at moment {moment}: {complaints}"
        deadline = time.monotonic() + 1
        while of_the_test(marker) and time.monotonic() < deadline:
            time.sleep(0.05)
        left = of_the_test(marker)
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        assert left == [], f"stopped at moment {moment}: its processes {left} still run"
