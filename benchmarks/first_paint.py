"""Time from launch to first paint: the agw-sandbox app against a bare Textual "hello" app.

Run by hand: `python benchmarks/first_paint.py [--runs N]`. Each run is a fresh interpreter that
starts the app headless and reports when its first frame has been displayed. Target: within 1.5x
of the bare app measured in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

# Both apps report on Textual's Ready event ("the first frame has been displayed"); the clock stops
# when that line arrives, so neither shutdown nor work started after the paint is counted.
REPORT_READY = """
import sys

def report_ready(self):
    sys.stderr.write("PAINTED\\n")
    sys.stderr.flush()
    self.exit()
"""

HELLO = REPORT_READY + """
from textual.app import App
from textual.widgets import Static

class Hello(App[None]):
    def compose(self):
        yield Static("hello")

Hello.on_ready = report_ready
Hello().run(headless=True, size=(120, 40))
"""

SANDBOX = REPORT_READY + """
from sandbox.app import SandboxApp, make_app
from sandbox.settings import Settings

SandboxApp.on_ready = report_ready
make_app(Settings(runtime="sim", port=0), detect=lambda r: ("sim", None)).run(
    headless=True, size=(120, 40))
"""


def measure(code: str, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True)
        assert child.stderr is not None
        for line in child.stderr:
            if line.strip() == "PAINTED":
                times.append(time.perf_counter() - started)
                break
        else:
            raise RuntimeError("the app exited without painting")
        child.wait(timeout=30)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    measure(HELLO, 1)  # warm the file cache for both
    hello = statistics.median(measure(HELLO, args.runs))
    sandbox = statistics.median(measure(SANDBOX, args.runs))
    ratio = sandbox / hello
    print(f"bare Textual app: {hello * 1000:.0f} ms (median of {args.runs})")
    print(f"agw-sandbox app:  {sandbox * 1000:.0f} ms (median of {args.runs})")
    print(f"ratio:            {ratio:.2f}x (target <= 1.5x)")
    return 0 if ratio <= 1.5 else 1


if __name__ == "__main__":
    sys.exit(main())
