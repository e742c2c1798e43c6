"""Wall time and peak memory of `agw-sandbox run --all --runtime sim`, interpreter start included.

Run by hand: `python benchmarks/run_all_sim.py [--runs N]`. Target: under 2 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    command = [sys.executable, "-m", "sandbox", "run", "--all", "--runtime", "sim",
               "--port", "0"]
    times = []
    for _ in range(args.runs):
        started = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - started)
        if result.returncode != 0:
            print(result.stdout[-2000:], result.stderr[-2000:], file=sys.stderr)
            return 1
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    imports = subprocess.run([sys.executable, "-X", "importtime", "-c", "import sandbox.cli, "
                              "sandbox.headless, sandbox.walkthrough.runner, "
                              "sandbox.runtimes.sim.runtime"],
                             capture_output=True, text=True, check=True).stderr
    heavy = [name for name in ("kubernetes", "docker", "textual")
             if f"| {name}\n" in imports or f" {name}\n" in imports]
    print(f"runs:             {args.runs}")
    print(f"wall time median: {statistics.median(times):.3f} s  "
          f"(min {min(times):.3f}, max {max(times):.3f}; target < 2 s)")
    print(f"peak RSS:         {peak_kib / 1024:.1f} MiB (largest single run)")
    print(f"heavy imports on the sim path: {', '.join(heavy) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
