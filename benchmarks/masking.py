"""Masking time against the text's length: `agw-sandbox scenarios` on a scenario whose summary
is 900 KiB of pieces of the key, against the same command on a summary of the same length that
holds none, paired run by run.

Run by hand: `python benchmarks/masking.py [--runs N]`. Each pair launches, one after the other,
the command on a folder whose summary is ordinary words and on one whose summary repeats pieces of
the key in ``AGW_SANDBOX_TOKEN`` (each long enough to be masked, none the whole key); the wall
time of each is read from outside. Then the same at half the size: masking is linear when the
extra time a pair takes doubles with the size, not quadruples. Targets: pieces at most 2.5x the
plain summary at 900 KiB, and the extra time there at most 2.5x the extra at half.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from environment import user_environment

KEY = "sk-test-canaryQ7z9X4m2W8p5R1v6"
PIECES = ("canaryQ7z9X4m2W8", "sk-test-canaryQ7z9X4", "z9X4m2W8p5R1v6",
          "S-K---T-E-S-T---C-A-N-A-R-Y-Q-7")
WORDS = ("gateway", "backend", "listener", "passthrough", "secretRef", "route", "kgateway")
RATIO_TARGET = 2.5
GROWTH_TARGET = 2.5
SIZE = 900 * 1024  # the summary: under the 1 MiB a scenario file may hold


def scenario(folder: Path, words: tuple[str, ...], size: int) -> Path:
    """A scenario folder whose summary repeats ``words`` to ``size`` characters (the listing
    masks every text of a scenario as it loads it)."""
    folder.mkdir()
    summary: list[str] = []
    filled = 0
    while filled < size:
        word = words[len(summary) % len(words)]
        summary.append(word)
        filled += len(word) + 1
    (folder / "s.yaml").write_text(
        f"id: long-summary\ntitle: T\norder: 70\nsummary: S {' '.join(summary)}\nsecurity: s\n"
        "steps:\n  - {title: one, explain: hello}\n")
    return folder


def seconds(folder: Path) -> float:
    command = [sys.executable, "-m", "sandbox", "scenarios", "--scenarios", str(folder)]
    environment = user_environment() | {"AGW_SANDBOX_TOKEN": KEY}
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, env=environment, timeout=600,
                            check=False)
    took = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stderr.decode()[-2000:]}")
    if any(piece.encode() in result.stdout for piece in PIECES):
        sys.exit("a piece of the key was shown")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        folders = {(kind, size): scenario(Path(root) / f"{kind}-{size}", words, size)
                   for kind, words in (("plain", WORDS), ("pieces", PIECES))
                   for size in (SIZE // 2, SIZE)}
        seconds(folders["plain", SIZE])  # warm-up: the bytecode caches, as a user's first run
        times: dict[tuple[str, int], list[float]] = {key: [] for key in folders}
        for _ in range(arguments.runs):
            for key, folder in folders.items():
                times[key].append(seconds(folder))
    median = {key: statistics.median(each) for key, each in times.items()}
    for (kind, size), took in median.items():
        print(f"{kind:6} summary of {size // 1024} KiB: {took:.2f} s")
    ratio = statistics.median(pieces / plain for pieces, plain in
                              zip(times["pieces", SIZE], times["plain", SIZE], strict=True))
    extra = {size: median["pieces", size] - median["plain", size] for size in (SIZE // 2, SIZE)}
    growth = extra[SIZE] / max(extra[SIZE // 2], 0.01)
    print(f"pieces / plain at {SIZE // 1024} KiB: {ratio:.2f}x (target ≤ {RATIO_TARGET}x)")
    print(f"extra time at {SIZE // 1024} KiB / at half: {growth:.2f}x (target ≤ {GROWTH_TARGET}x; "
          "4x would be quadratic)")


if __name__ == "__main__":
    main()
