#!/usr/bin/env python3
"""Snapshot a sandbox cluster after a failed run: resources as YAML, events, controller and proxy
logs, for a CI artifact. Keys never reach the snapshot: Secrets are listed by name only, inline keys
(kgateway's Backend ``authToken.inline``, agentgateway's ``policies.auth.key`` and an
AgentgatewayPolicy's ``backend.auth.key``) are replaced before anything is written, and the
values of $AGW_SANDBOX_TOKEN and $OPENAI_API_KEY are replaced in the logs.

    .ci/collect-cluster-state.py --cluster-name agw-sandbox-e2e --out cluster-state
    .ci/collect-cluster-state.py --context my-cluster --out cluster-state

Needs kubectl (and kind with --cluster-name). Collects what it can and always exits 0, so that
it never hides the failure it was called for; collect.log says what could not be read.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

# The sandbox's kinds, the workloads behind them, and what the controller decided about them.
KINDS = (
    "gatewayclasses.gateway.networking.k8s.io",
    "gateways.gateway.networking.k8s.io",
    "httproutes.gateway.networking.k8s.io",
    "backends.gateway.kgateway.dev",
    "trafficpolicies.gateway.kgateway.dev",
    "agentgatewaybackends.agentgateway.dev",
    "agentgatewaypolicies.agentgateway.dev",
    "agentgatewayparameters.agentgateway.dev",
    "deployments.apps",
    "replicasets.apps",
    "pods",
    "services",
    "endpointslices.discovery.k8s.io",
    "configmaps",
)
REDACTED = "<redacted by collect-cluster-state>"
KEY_VARIABLES = ("AGW_SANDBOX_TOKEN", "OPENAI_API_KEY")
TIMEOUT = 60


class Collector:
    def __init__(self, out: Path) -> None:
        self.out = out
        self.kubectl = ["kubectl"]
        self.helm = ["helm"]
        self.pods: list[dict[str, Any]] = []
        self.log: list[str] = []

    def use(self, kubeconfig: Path | None, context: str | None) -> None:
        if kubeconfig is not None:
            self.kubectl += ["--kubeconfig", str(kubeconfig)]
            self.helm += ["--kubeconfig", str(kubeconfig)]
        if context is not None:
            self.kubectl += ["--context", context]
            self.helm += ["--kube-context", context]

    def run(self, argv: list[str]) -> str | None:
        """stdout of one command, or None (noted in collect.log) when it fails."""
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT,
                                  check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            self.log.append(f"✗ {' '.join(argv)}: {exc}")
            return None
        if done.returncode != 0:
            self.log.append(f"✗ {' '.join(argv)}: exit {done.returncode}: "
                            f"{done.stderr.strip()[:300]}")
            return None
        self.log.append(f"✓ {' '.join(argv)}")
        return done.stdout

    def k(self, *args: str) -> str | None:
        return self.run([*self.kubectl, *args])

    def save(self, name: str, text: str | None) -> None:
        if text is None:
            return
        # Logs are the controller's and proxy's own text: a last guard for the keys we know.
        for key in KEY_VARIABLES:
            if len(os.environ.get(key, "")) >= 8:
                text = text.replace(os.environ[key], REDACTED)
        path = self.out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def resources(self) -> None:
        documents: list[Any] = []
        for kind in KINDS:
            listing = self.k("get", kind, "--all-namespaces", "-o", "json")
            if listing is None:
                continue
            items = json.loads(listing).get("items", [])
            if kind == "pods":
                self.pods = items
            for item in items:
                item.get("metadata", {}).pop("managedFields", None)
                documents.append(redact(item))
        self.save("resources.yaml", yaml.safe_dump_all(documents, sort_keys=False))

    def logs(self) -> None:
        """Every pod outside kind's own namespaces: the controller, the proxy, the mock."""
        for pod in self.pods:
            namespace, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
            if namespace in ("kube-system", "local-path-storage"):
                continue
            common = ["logs", "-n", namespace, name, "--all-containers", "--timestamps"]
            self.save(f"logs/{namespace}/{name}.log", self.k(*common))
            statuses = pod.get("status", {}).get("containerStatuses") or []
            if any(status.get("restartCount") for status in statuses):
                self.save(f"logs/{namespace}/{name}.previous.log", self.k(*common, "--previous"))

    def collect(self) -> None:
        self.save("nodes.txt", self.k("get", "nodes", "-o", "wide"))
        self.resources()
        # Names, types and sizes only: the values are keys.
        self.save("secrets.txt", self.k("get", "secrets", "--all-namespaces"))
        self.save("events.txt", self.k("get", "events", "--all-namespaces",
                                       "--sort-by=.lastTimestamp", "-o", "wide"))
        self.save("pods-describe.txt", self.k("describe", "pods", "--all-namespaces"))
        self.logs()
        self.save("helm-releases.txt", self.run([*self.helm, "list", "--all-namespaces", "-a"]))


def redact(value: Any, key: str = "") -> Any:
    """A copy with every inline key replaced: kgateway's ``authToken.inline`` and agentgateway's
    ``auth.key`` (BackendAuth, under an AgentgatewayBackend's ``policies`` or an
    AgentgatewayPolicy's ``backend``), wherever they are nested."""
    if isinstance(value, dict):
        if key == "authToken" and "inline" in value:
            return {**value, "inline": REDACTED}
        if key == "auth" and value.get("key"):  # `key: ""` means no auth: left to be seen
            return {**{k: redact(v, k) for k, v in value.items()}, "key": REDACTED}
        return {k: redact(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, key) for v in value]
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="directory to write into")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--cluster-name", help="a kind cluster (its kubeconfig comes from kind)")
    where.add_argument("--context", help="a context of the current kubeconfig")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    collector = Collector(args.out)
    with tempfile.TemporaryDirectory() as private:  # the kubeconfig holds credentials: not out
        kubeconfig = None
        if args.cluster_name:
            config = collector.run(["kind", "get", "kubeconfig", "--name", args.cluster_name])
            if config is not None:
                kubeconfig = Path(private) / "kubeconfig"
                kubeconfig.touch(mode=0o600)
                kubeconfig.write_text(config)
        collector.use(kubeconfig, args.context)
        collector.collect()
    (args.out / "collect.log").write_text("\n".join(collector.log) + "\n")
    failed = sum(line.startswith("✗") for line in collector.log)
    print(f"cluster state in {args.out} ({len(collector.log) - failed} read, {failed} not "
          "available; see collect.log)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
