"""Helpers shared by tests: running the CLI as a user would, manifest fixtures."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml


def run_cli(*args: str, env: Mapping[str, str], cwd: Path | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sandbox", *args], env=dict(env), cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, check=False)


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def backend(auth: Mapping[str, Any], host: str | None = None, port: int | None = None,
            model: str = "gpt-3.5-turbo") -> dict[str, Any]:
    llm: dict[str, Any] = {"openai": {"authToken": dict(auth), "model": model}}
    if host is not None:
        llm.update(host=host, port=port)
    return {"apiVersion": "gateway.kgateway.dev/v1alpha1", "kind": "Backend",
            "metadata": {"name": "openai", "namespace": "kgateway-system"},
            "spec": {"type": "AI", "ai": {"llm": llm}}}


def route(backend_name: str = "openai", prefix: str = "/openai",
          **ref_extra: Any) -> dict[str, Any]:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
        "metadata": {"name": "openai", "namespace": "kgateway-system"},
        "spec": {
            "parentRefs": [{"name": "agentgateway", "namespace": "kgateway-system"}],
            "rules": [{
                "matches": [{"path": {"type": "PathPrefix", "value": prefix}}],
                "filters": [{"type": "URLRewrite", "urlRewrite": {"path": {
                    "type": "ReplaceFullPath", "replaceFullPath": "/v1/chat/completions"}}}],
                "backendRefs": [{"name": backend_name, "namespace": "kgateway-system",
                                 "group": "gateway.kgateway.dev", "kind": "Backend",
                                 **ref_extra}],
            }],
        },
    }


def secret(value: str, key: str = "Authorization") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "openai-secret", "namespace": "kgateway-system"},
            "type": "Opaque", "stringData": {key: value}}


GATEWAY = {
    "apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
    "metadata": {"name": "agentgateway", "namespace": "kgateway-system"},
    "spec": {"gatewayClassName": "agentgateway", "listeners": [
        {"name": "http", "port": 8080, "protocol": "HTTP",
         "allowedRoutes": {"namespaces": {"from": "All"}}}]},
}
