"""Time to admit one manifest in the simulation, and what importing the app costs admission.

Run by hand: `python benchmarks/admission.py [--runs N]`. Admits each scenario manifest (and an
AgentgatewayBackend, the largest schema) N times after one warm-up and reports the median.
Target: under 5 ms each. It also starts a fresh interpreter with `-X importtime` to show that
importing the app loads neither jsonschema nor the CEL library (the schemas load on first use).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from sandbox.runtimes.sim.admission import admit
from sandbox.walkthrough.render import substitute

REPO = Path(__file__).resolve().parents[1]
TARGET_MS = 5.0
AGENTGATEWAY_BACKEND = {
    "apiVersion": "agentgateway.dev/v1alpha1", "kind": "AgentgatewayBackend",
    "metadata": {"name": "openai", "namespace": "agentgateway-system"},
    "spec": {"ai": {"provider": {"openai": {"model": "gpt-4o-mini"}, "host": "mock",
                                 "port": 8000}},
             "policies": {"auth": {"secretRef": {"name": "openai-secret"}}}},
}
LIBRARIES = ("jsonschema", "cel", "celpy")


def manifests() -> list[tuple[str, dict[str, Any], str | None]]:
    found: list[tuple[str, dict[str, Any], str | None]] = []
    for path in sorted((REPO / "scenarios" / "manifests").glob("*.yaml")):
        doc = substitute(yaml.safe_load(path.read_text()), {"token": "sk-test-benchmark"})
        found.append((path.name, doc, None))
    found.append(("AgentgatewayBackend", AGENTGATEWAY_BACKEND, "agentgateway-v1.4"))
    return found


def median_ms(doc: dict[str, Any], profile: str | None, runs: int) -> float:
    admit(doc, profile=profile)  # the first admission loads the schema and compiles the rules
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        admit(doc, profile=profile)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def libraries_loaded_by_app_import() -> list[str]:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import sandbox.tui.app"],
        capture_output=True, text=True, check=True)
    modules = {line.rpartition("|")[2].strip() for line in result.stderr.splitlines()}
    return sorted(m for m in modules if m.split(".")[0] in LIBRARIES)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    worst = 0.0
    for name, doc, profile in manifests():
        took = median_ms(doc, profile, args.runs)
        worst = max(worst, took)
        print(f"{name:28} {took:6.2f} ms (median of {args.runs})")
    loaded = libraries_loaded_by_app_import()
    print(f"importing the app loads: {', '.join(loaded) or 'neither jsonschema nor CEL'}")
    print(f"slowest: {worst:.2f} ms (target < {TARGET_MS:.0f} ms)")
    return 0 if worst < TARGET_MS and not loaded else 1


if __name__ == "__main__":
    sys.exit(main())
