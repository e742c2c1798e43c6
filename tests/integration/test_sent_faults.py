"""Core-dumping signals: sent with `kill` they reach the stop handler, a real fault still ends
the process at once (never a spin), and nothing is left blocked once the app has gone."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

import pytest

from sandbox.tui import sent_faults

pytestmark = pytest.mark.skipif(not sent_faults.SUPPORTED, reason="needs sigwaitinfo (Linux)")

# A program in the app's place: the signals blocked and taken, a stop handler for them that
# says which one came, then what the test asks for.
_PROGRAM = textwrap.dedent("""
    import ctypes, os, signal, sys, time
    from sandbox.tui import sent_faults

    def stop(signum, frame):
        print("stopped by", signal.Signals(signum).name, flush=True)
        sys.exit(128 + signum)

    with sent_faults.blocked():
        for signum in sent_faults.TAKEN:
            signal.signal(signum, stop)
        print("ready", flush=True)
        {action}
        print("not stopped", flush=True)
""")


def _run(action: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", _PROGRAM.format(action=action)],
                          capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("sent", sorted(sent_faults.CORE_DUMPS))
def test_a_core_dumping_signal_sent_with_kill_reaches_the_stop_handler(sent: int) -> None:
    # sent from another process (si_code SI_USER) while the main thread sleeps in a system call,
    # with a resize handler in place as the app's driver has one
    started = time.monotonic()
    done = _run("signal.signal(signal.SIGWINCH, lambda signum, frame: None); "
                f"os.system('(sleep 0.3; kill -{signal.Signals(sent).name[3:]} ' "
                "+ str(os.getpid()) + ') &'); time.sleep(20)")
    assert time.monotonic() - started < 10  # the sleep was cut short
    assert done.returncode == 128 + sent, done.stderr
    assert done.stdout.splitlines() == ["ready", f"stopped by {signal.Signals(sent).name}"]


@pytest.mark.parametrize(("fault", "ends_with"), [
    ("ctypes.string_at(0)", signal.SIGSEGV),  # a read at address 0
    ("os.abort()", signal.SIGABRT),
])
def test_a_real_fault_still_ends_the_process_with_its_default_action(fault: str,
                                                                     ends_with: int) -> None:
    done = _run(fault)  # a spin would run into the timeout instead
    assert done.returncode == -ends_with
    assert "stopped by" not in done.stdout and "not stopped" not in done.stdout


def test_after_the_app_a_sent_signal_has_its_default_action_again() -> None:
    program = textwrap.dedent("""
        import os, signal, time
        from sandbox.tui import sent_faults
        with sent_faults.blocked():
            pass
        os.kill(os.getpid(), signal.SIGSEGV)
        time.sleep(20)
    """)
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, timeout=30)
    assert done.returncode == -signal.SIGSEGV
