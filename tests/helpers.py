"""Helpers shared by tests: running and stopping the CLI as a user would, manifest fixtures."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import yaml


def run_cli(*args: str, env: Mapping[str, str], cwd: Path | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sandbox", *args], env=dict(env), cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, check=False)


def stop_with(process: subprocess.Popen[str], signum: int,
              within: float = 15) -> tuple[float, str, str]:
    """Send a stop signal and wait for the process to end: the seconds that took, and what it
    wrote to stdout and stderr. One still running after WITHIN seconds is killed, and the wait
    fails."""
    process.send_signal(signum)
    sent = time.monotonic()
    try:
        out, err = process.communicate(timeout=within)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    return time.monotonic() - sent, out, err


def readable_key(text: str, key: str) -> list[str]:
    """The pieces of ``key`` (8 characters each, after its first three) that a person could
    read in ``text`` once it is decoded as a disguised echo would be: JSON escapes (twice, as
    ``--json`` holds a body), percent-encoding, fullwidth forms, upper case, and what splits it
    (spaces, line breaks and the prefixes of SSE lines). This is the tests' own reading, not
    the masker's."""
    plain = text.replace("\\\\", "\\")
    plain = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), plain)
    plain = unicodedata.normalize("NFKC", unquote(plain)).lower()
    plain = re.sub(r"\\[nrt]|\n(?:data)?:?|[\s]", "", plain)
    key = key.lower()
    return [key[i:i + 8] for i in range(3, len(key) - 7) if key[i:i + 8] in plain]


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


# agentgateway v1.4 shapes, as the docs' "API keys" page writes them.
AGW_NAMESPACE = "agentgateway-system"


def agw_backend(auth: Mapping[str, Any] | None, host: str | None = None,
                port: int | None = None, path: str | None = "/v1/chat/completions",
                model: str = "gpt-3.5-turbo", name: str = "openai") -> dict[str, Any]:
    """An AgentgatewayBackend; ``auth`` is ``spec.policies.auth`` (None: no policies)."""
    provider: dict[str, Any] = {"openai": {"model": model}}
    if host is not None:
        provider.update(host=host, port=port)
        if path is not None:
            provider["path"] = path
    spec: dict[str, Any] = {"ai": {"provider": provider}}
    if auth is not None:
        spec["policies"] = {"auth": dict(auth)}
    return {"apiVersion": "agentgateway.dev/v1alpha1", "kind": "AgentgatewayBackend",
            "metadata": {"name": name, "namespace": AGW_NAMESPACE}, "spec": spec}


def agw_route(backend_name: str = "openai", prefix: str = "/openai", rewrite: bool = False,
              **ref_extra: Any) -> dict[str, Any]:
    """The docs' HTTPRoute; ``rewrite`` adds the inline section's ReplacePrefixMatch."""
    rule: dict[str, Any] = {
        "matches": [{"path": {"type": "PathPrefix", "value": prefix}}],
        "backendRefs": [{"name": backend_name, "namespace": AGW_NAMESPACE,
                         "group": "agentgateway.dev", "kind": "AgentgatewayBackend",
                         **ref_extra}]}
    if rewrite:
        rule["filters"] = [{"type": "URLRewrite", "urlRewrite": {"path": {
            "type": "ReplacePrefixMatch", "replacePrefixMatch": "/v1/chat/completions"}}}]
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
            "metadata": {"name": "openai", "namespace": AGW_NAMESPACE},
            "spec": {"parentRefs": [{"name": "agentgateway-proxy",
                                     "namespace": AGW_NAMESPACE}],
                     "rules": [rule]}}


def agw_secret(value: str, key: str = "Authorization") -> dict[str, Any]:
    return {**secret(value, key), "metadata": {"name": "openai-secret",
                                               "namespace": AGW_NAMESPACE}}


AGW_GATEWAY = {
    "apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
    "metadata": {"name": "agentgateway-proxy", "namespace": AGW_NAMESPACE},
    "spec": {"gatewayClassName": "agentgateway", "listeners": [
        {"protocol": "HTTP", "port": 80, "name": "http",
         "allowedRoutes": {"namespaces": {"from": "All"}}}]},
}
