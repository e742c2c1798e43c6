"""Time until the first useful screen: `agw-sandbox --port 0` against a bare Textual app.

Run by hand: `python benchmarks/first_paint.py [--runs N]` (needs tmux). Each launch is a fresh
process in a fresh 120x40 tmux pane; the clock stops when the whole first screen is there, from
"Welcome to agw-sandbox" to the key hints on its last line (for the bare app: its one line of
text), read from outside with `tmux capture-pane`.
The two are launched alternately and the medians compared. Target: at most 1.25x the bare app.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from terminal import HELLO_APP, HELLO_TEXT, Server, paint_time

# The first screen's title and the hint line that ends it: a screen painted in parts would not
# count before its last part is there.
FIRST_SCREEN = "Welcome to agw-sandbox", "Esc quit · F1 help"
TARGET = 1.25


def sandbox_command() -> list[str]:
    found = Path(sys.executable).with_name("agw-sandbox")
    return [str(found) if found.exists() else shutil.which("agw-sandbox") or "agw-sandbox",
            "--port", "0"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7, help="launches of each (at least 5)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Server():
        hello_file = Path(tmp) / "hello.py"
        hello_file.write_text(HELLO_APP)
        hello_cmd = [sys.executable, str(hello_file)]
        paint_time(HELLO_TEXT, hello_cmd)  # warm the file cache for both
        paint_time(FIRST_SCREEN, sandbox_command())
        hello: list[float] = []
        sandbox: list[float] = []
        for _ in range(max(args.runs, 5)):
            hello.append(paint_time(HELLO_TEXT, hello_cmd))
            sandbox.append(paint_time(FIRST_SCREEN, sandbox_command()))
    bare, ours = statistics.median(hello), statistics.median(sandbox)
    ratio = ours / bare
    print(f"bare Textual app: {bare * 1000:.0f} ms (median of {len(hello)}: "
          f"{', '.join(f'{t * 1000:.0f}' for t in hello)})")
    print(f"agw-sandbox:      {ours * 1000:.0f} ms (median of {len(sandbox)}: "
          f"{', '.join(f'{t * 1000:.0f}' for t in sandbox)})")
    print(f"ratio:            {ratio:.2f}x (target <= {TARGET}x)")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
