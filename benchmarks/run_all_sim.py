"""`agw-sandbox run --all --runtime sim` against a bare interpreter, paired run by run.

Run by hand: `python benchmarks/run_all_sim.py [--runs N]`. Each pair launches, one after the
other, a bare interpreter that only imports the third-party libraries the run needs (httpx, yaml,
jsonschema: what a script doing the same work would pay before doing anything) and the real
command, interpreter start included; the wall time and the peak memory of each process are read
from outside (``os.wait4``). Targets: the run at most 2x the bare interpreter (median of the
per-pair ratios), peak memory under 45 MiB.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).parent))

from environment import user_environment

BARE = [sys.executable, "-c", "import httpx, yaml, jsonschema"]
RUN = [sys.executable, "-m", "sandbox", "run", "--all", "--runtime", "sim", "--port", "0"]
RATIO_TARGET = 2.0
MEMORY_TARGET_MIB = 45.0


class Run(NamedTuple):
    seconds: float  # from launch to exit
    cpu: float  # user plus system CPU seconds: what other load on the machine hardly changes
    mib: float  # peak resident memory


def measure(command: list[str]) -> Run:
    """One launch, read from outside; fails loudly."""
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                   env=user_environment())
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            out.seek(0)
            sys.exit(f"{' '.join(command)} failed:\n{out.read().decode()[-2000:]}")
    return Run(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def heavy_imports() -> list[str]:
    """Libraries the sim path has no use for, if anything imports them."""
    code = ("import sys; import sandbox.cli, sandbox.headless, sandbox.walkthrough.runner, "
            "sandbox.runtimes.sim.runtime, sandbox.runtimes.sim.admission as a; "
            "a.admit({'apiVersion': 'v1', 'kind': 'Secret', 'metadata': {'name': 'x'}}); "
            "import sandbox.http_client; "
            "print(' '.join(sorted(m for m, v in sys.modules.items() if v is not None)))")
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                check=True).stdout.split())
    unwanted = ("kubernetes", "docker", "textual", "prompt_toolkit", "typer", "click",
                "pygments", "rich", "cel.cli", "httpx._main")
    return [name for name in unwanted if name in loaded]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7, help="pairs to launch (at least 5)")
    args = parser.parse_args()
    measure(BARE), measure(RUN)  # warm the file cache for both
    bare: list[Run] = []
    ours: list[Run] = []
    for _ in range(max(args.runs, 5)):
        bare.append(measure(BARE))
        ours.append(measure(RUN))
    ratios = [run.seconds / base.seconds for base, run in zip(bare, ours, strict=True)]
    ratio = statistics.median(ratios)
    cpu_ratio = statistics.median(run.cpu / base.cpu for base, run in zip(bare, ours, strict=True))
    peak = max(run.mib for run in ours)
    heavy = heavy_imports()
    print(f"pairs:            {len(ratios)}")
    print(f"bare interpreter: {statistics.median(r.seconds for r in bare) * 1000:.0f} ms median "
          f"({' '.join(f'{r.seconds * 1000:.0f}' for r in bare)}), "
          f"{max(r.mib for r in bare):.1f} MiB ({' '.join(BARE[1:])})")
    print(f"run --all (sim):  {statistics.median(r.seconds for r in ours) * 1000:.0f} ms median "
          f"({' '.join(f'{r.seconds * 1000:.0f}' for r in ours)})")
    print(f"ratio:            {ratio:.2f}x median of pairs "
          f"({' '.join(f'{r:.2f}' for r in ratios)}; target <= {RATIO_TARGET:g}x)")
    print(f"CPU time ratio:   {cpu_ratio:.2f}x median of pairs (not a target: a check of the "
          "ratio above on a machine busy with other work)")
    print(f"peak memory:      {peak:.1f} MiB (largest run; target < {MEMORY_TARGET_MIB:g} MiB)")
    print(f"heavy imports on the sim path: {', '.join(heavy) or 'none'}")
    met = ratio <= RATIO_TARGET and peak < MEMORY_TARGET_MIB and not heavy
    print("targets met" if met else "targets NOT met")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
