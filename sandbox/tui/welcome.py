"""What the first screen says: which key will be used, masked, where it came from, and the plan.

Free of any UI import. The key follows the CLI's precedence
(:func:`sandbox.settings.resolve_token`): ``--token``, then ``AGW_SANDBOX_TOKEN``, then
``OPENAI_API_KEY`` for openai (the demo key for mock).
"""

from __future__ import annotations

from collections.abc import Mapping

from sandbox.errors import SandboxError
from sandbox.settings import DEMO_TOKEN, resolve_token
from sandbox.walkthrough.key_mask import mask_key

RUNTIME_LABELS = {"sim": "simulated", "kind": "kind", "cluster": "cluster"}


def key_origin(token: str, env: Mapping[str, str]) -> str:
    """Where the resolved key came from: "demo", an environment variable's name, or "--token"."""
    if token == DEMO_TOKEN:
        return "demo"
    for name in ("AGW_SANDBOX_TOKEN", "OPENAI_API_KEY"):
        if token and token == env.get(name, "").strip():
            return name
    return "--token"


def key_for(provider: str, token: str, env: Mapping[str, str]) -> str:
    """The key ``provider`` would use from the same sources as the CLI; "" when openai has none.

    ``token`` is the one the CLI resolved for its own provider: only a ``--token`` carries over,
    so switching to the mock never sends it a real OPENAI_API_KEY.
    """
    given = token if token and key_origin(token, env) == "--token" else None
    try:
        return resolve_token(provider, given, env)
    except SandboxError:
        return ""


def describe_key(token: str, origin: str) -> str:
    """One line for the first screen, the key masked: "sk-…abcd, from AGW_SANDBOX_TOKEN"."""
    if origin == "demo":
        return f"the sandbox's demo key {mask_key(token)}"
    where = {"--token": "from --token", "typed": "typed here"}.get(origin, f"from {origin}")
    return f"your key {mask_key(token)}, {where}"


def setup_plan(runtime: str | None, port: int, openai: bool,
               profile: str = "kgateway and agentgateway") -> list[str]:
    """What pressing Start will do, step by step (``runtime`` is None while still detecting);
    ``profile`` names what is installed or simulated (the API profile's title)."""
    upstream = "api.openai.com" if openai else "the mock provider on this machine"
    send = f"send requests through the gateway to {upstream}, with the key above"
    if runtime is None:
        return ["detect the runtime (kind when Docker answers, else simulated)", send]
    if runtime == "sim":
        where = f"127.0.0.1:{port}" if port else "a free local port"
        return [f"start the simulated gateway on {where}",
                f"start the simulated {profile} control plane (GatewayClass agentgateway)", send]
    forward = f"127.0.0.1:{port}" if port else "a free local port"
    first = (f"create (or reuse) the kind cluster with {profile}"
             if runtime == "kind" else f"use your cluster ({profile} installed only if you agree)")
    return [first, f"port-forward the gateway to {forward}", send]
