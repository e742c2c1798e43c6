"""CPU the app burns while it sits on its main screen doing nothing, read from /proc.

Run by hand: `python benchmarks/idle_cpu.py [--seconds N]` (needs tmux, Linux). Launches
`agw-sandbox --runtime sim --port 0` in a 120x40 tmux pane, starts it with the mock provider,
runs the setup scenario with the keyboard, waits for the screen to settle and then counts the
CPU ticks (100 = one CPU-second) the process uses over 10 s. A bare Textual app is measured the
same way for reference. Target: at most 10 ticks in 10 s.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from terminal import HELLO_APP, HELLO_TEXT, Pane, Server, idle_ticks

TARGET = 10  # ticks in 10 s
SETTLE = 3.0  # seconds for the last notification and status updates to pass


def sandbox_command() -> list[str]:
    found = Path(sys.executable).with_name("agw-sandbox")
    return [str(found) if found.exists() else shutil.which("agw-sandbox") or "agw-sandbox",
            "--runtime", "sim", "--port", "0"]


def sandbox_after_setup(seconds: float) -> int:
    with Pane(sandbox_command()) as pane:
        pane.wait_for("Welcome to agw-sandbox")
        pane.wait_for("Runtime: simulated")
        pane.keys("Enter")
        pane.wait_for("cluster ready")
        for step in range(1, 5):  # the setup scenario's four steps, one key each
            pane.keys("n")
            pane.wait_for(f"{step}/4")
        time.sleep(SETTLE)
        return idle_ticks(pane.pid(), seconds)


def bare_app(seconds: float) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        hello = Path(tmp) / "hello.py"
        hello.write_text(HELLO_APP)
        with Pane([sys.executable, str(hello)]) as pane:
            pane.wait_for(HELLO_TEXT)
            time.sleep(SETTLE)
            return idle_ticks(pane.pid(), seconds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    with Server():
        bare = bare_app(args.seconds)
        ours = sandbox_after_setup(args.seconds)
    print(f"bare Textual app: {bare} ticks in {args.seconds:g} s")
    print(f"agw-sandbox:      {ours} ticks in {args.seconds:g} s, idle on the main screen "
          f"after setup (target <= {TARGET})")
    return 0 if ours <= TARGET * args.seconds / 10 else 1


if __name__ == "__main__":
    sys.exit(main())
