"""The CI's cluster-state collector through a fake kind and kubectl: what a failed run uploads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import OTHER_TOKEN, TOKEN

CANARY = "sk-test-Canary7Kq2Wv9Xe4Rt6Yu8Io0PaSd"  # in no key variable: only masking hides it

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / ".ci" / "collect-cluster-state.py"
FAKES = REPO / "tests" / "fakes" / "bin"

# A kubectl that knows one Backend with an inline key (not the run's own key), two pods (one
# restarted) and nothing else.
FAKE_KUBECTL = r'''#!/usr/bin/env python3
import json, os, sys
args = sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(" ".join(args) + "\n")
TOKEN = os.environ["FAKE_TOKEN"]
def pod(name, restarts):
    return {"kind": "Pod", "metadata": {"name": name, "namespace": "kgateway-system",
            "managedFields": [{"manager": "kubelet"}]},
            "status": {"containerStatuses": [{"name": "c", "restartCount": restarts}]}}
ITEMS = {
    "backends.gateway.kgateway.dev": [{"kind": "Backend", "metadata": {
        "name": "openai", "namespace": "kgateway-system"}, "spec": {"type": "AI", "ai": {"llm": {
        "openai": {"authToken": {"kind": "Inline", "inline": os.environ["FAKE_INLINE"]}}}}}}],
    "pods": [pod("kgateway-7d9f", 0), pod("agentgateway-5c8b", 2)],
    # agentgateway v1.4: the key inline in a backend's policies, and in a policy's backend auth
    "agentgatewaybackends.agentgateway.dev": [{"kind": "AgentgatewayBackend", "metadata": {
        "name": "openai", "namespace": "agentgateway-system"}, "spec": {"ai": {"provider": {
        "openai": {"model": "gpt-3.5-turbo"}}}, "policies": {"auth": {
        "key": os.environ["FAKE_CANARY"]}}}}],
    "agentgatewaypolicies.agentgateway.dev": [{"kind": "AgentgatewayPolicy", "metadata": {
        "name": "openai-auth", "namespace": "agentgateway-system"}, "spec": {"targetRefs": [
        {"group": "agentgateway.dev", "kind": "AgentgatewayBackend", "name": "openai"}],
        "backend": {"auth": {"key": os.environ["FAKE_CANARY"]}}}}],
    "agentgatewayparameters.agentgateway.dev": [{"kind": "AgentgatewayParameters", "metadata": {
        "name": "proxy", "namespace": "agentgateway-system"}, "spec": {"logging": {
        "level": "debug"}}}],
}
if args[0] == "--kubeconfig":
    assert open(args[1]).read().startswith("apiVersion: v1"), "kind's kubeconfig"
    args = args[2:]
if args[:2] == ["get", "gatewayclasses.gateway.networking.k8s.io"]:
    sys.exit("error: the server doesn't have a resource type \"gatewayclasses\"")
if args[0] == "get" and args[-2:] == ["-o", "json"]:
    print(json.dumps({"items": ITEMS.get(args[1], [])}))
elif args[0] == "logs":
    print(f"2026-11-27T10:00:00Z {args[3]} started; upstream said Bearer {TOKEN}")
elif args[:2] == ["get", "secrets"]:
    print("NAMESPACE         NAME            TYPE     DATA   AGE\n"
          "kgateway-system   openai-secret   Opaque   1      3m")
elif args[0] in ("get", "describe"):
    print(f"output of {' '.join(args)}")
else:
    sys.exit(f"fake kubectl: unsupported: {args}")
'''


def test_a_failed_run_leaves_resources_events_and_logs_but_no_key(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "kubectl").write_text(FAKE_KUBECTL)
    (bin_dir / "kubectl").chmod(0o755)
    out = tmp_path / "state"
    env = {"PATH": f"{bin_dir}:{FAKES}:/usr/bin:/bin", "FAKE_LOG": str(tmp_path / "calls"),
           "FAKE_TOKEN": TOKEN, "FAKE_INLINE": OTHER_TOKEN, "FAKE_STATE": str(tmp_path / "kind"),
           "FAKE_CANARY": CANARY,
           "AGW_SANDBOX_TOKEN": TOKEN}
    done = subprocess.run([sys.executable, str(SCRIPT), "--cluster-name", "agw-sandbox-e2e",
                           "--out", str(out)], env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    documents = list(yaml.safe_load_all((out / "resources.yaml").read_text()))
    by_kind = {d["kind"]: d for d in documents}
    assert by_kind["Backend"]["spec"]["ai"]["llm"]["openai"]["authToken"] == {
        "kind": "Inline", "inline": "<redacted by collect-cluster-state>"}
    assert by_kind["AgentgatewayBackend"]["spec"]["policies"]["auth"] == {
        "key": "<redacted by collect-cluster-state>"}
    assert by_kind["AgentgatewayPolicy"]["spec"]["backend"]["auth"] == {
        "key": "<redacted by collect-cluster-state>"}
    assert by_kind["AgentgatewayParameters"]["spec"] == {"logging": {"level": "debug"}}
    pods = [d for d in documents if d["kind"] == "Pod"]
    assert [p["metadata"]["name"] for p in pods] == ["kgateway-7d9f", "agentgateway-5c8b"]
    assert "managedFields" not in pods[0]["metadata"]
    assert "openai-secret" in (out / "secrets.txt").read_text()
    assert (out / "events.txt").read_text().startswith("output of get events --all-namespaces")
    assert (out / "logs/kgateway-system/kgateway-7d9f.log").read_text().startswith(
        "2026-11-27T10:00:00Z kgateway-7d9f started")
    assert (out / "logs/kgateway-system/agentgateway-5c8b.previous.log").exists()
    assert not (out / "logs/kgateway-system/kgateway-7d9f.previous.log").exists()
    # What failed is said, not hidden: no GatewayClass API, no helm on PATH.
    log = (out / "collect.log").read_text()
    assert "✗ kubectl --kubeconfig" in log and "gatewayclasses" in log
    assert "✗ helm" in log
    written = [p for p in out.rglob("*") if p.is_file()]
    assert all(TOKEN not in p.read_text() and OTHER_TOKEN not in p.read_text()
               and CANARY not in p.read_text() for p in written)
    assert not any("kubeconfig" in p.name for p in written)
    calls = (tmp_path / "calls").read_text()
    assert "get secrets --all-namespaces\n" in calls and "secrets -o" not in calls
