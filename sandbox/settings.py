"""Resolved settings for one invocation: runtime, provider, port and the key to use."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sandbox.errors import RuntimeUnavailable, SandboxError

DEMO_TOKEN = "sk-test-agw-sandbox-demo-key-0001"
RUNTIMES = ("auto", "kind", "cluster", "sim")
IMPLEMENTED_RUNTIMES = frozenset({"sim", "kind", "cluster"})
CLUSTER_TOOLS = ("kind", "helm", "kubectl")
PROVIDERS = ("mock", "openai")


@dataclass(frozen=True)
class Settings:
    runtime: str = "auto"
    provider: str = "mock"
    port: int = 8080
    token: str = DEMO_TOKEN
    scenario_dirs: tuple[Path, ...] = ()
    context: str | None = None
    cluster_name: str = "agw-sandbox"
    overrides: Mapping[str, str] = field(default_factory=dict)
    install_kgateway: bool = False  # consent to install kgateway into a cluster you brought
    assume_yes: bool = False  # agree in advance to write to the cluster you brought (--yes)
    namespace: str | None = None  # the sandbox's own namespace on a cluster you brought
    gateway: str | None = None  # ... and its own Gateway name


def resolve_token(provider: str, given: str | None, env: Mapping[str, str]) -> str:
    """--token, then AGW_SANDBOX_TOKEN, then OPENAI_API_KEY (openai) or the demo key (mock)."""
    token = given or env.get("AGW_SANDBOX_TOKEN")
    if provider == "openai":
        token = token or env.get("OPENAI_API_KEY")
        if not token:
            raise SandboxError(
                "--provider openai needs an OpenAI API key and none was given",
                "export OPENAI_API_KEY=... (or AGW_SANDBOX_TOKEN), or use --provider mock",
            )
    return (token or DEMO_TOKEN).strip()


def choose_runtime(requested: str, context: str | None = None) -> tuple[str, str | None]:
    """The runtime to use and, for ``auto``, a notice saying why it was chosen."""
    if requested == "auto" and context:
        return "cluster", None
    if requested != "auto":
        if requested not in IMPLEMENTED_RUNTIMES:
            raise RuntimeUnavailable(
                f"the {requested} runtime is not part of this version of agw-sandbox yet",
                "use --runtime sim (offline) for now")
        return requested, None
    from sandbox.kube.containers import probe_docker

    try:
        probe_docker(timeout=2.0)
    except RuntimeUnavailable as exc:
        return "sim", f"{exc.message}; using the simulated runtime (offline, in-process)"
    import shutil

    missing = [tool for tool in CLUSTER_TOOLS if shutil.which(tool) is None]
    if missing:
        return "sim", (f"Docker answers, but {', '.join(missing)} "
                       f"{'is' if len(missing) == 1 else 'are'} not installed (see "
                       "`agw-sandbox doctor`); using the simulated runtime")
    return "kind", None
