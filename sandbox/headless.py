"""The headless subcommands: run, manifests, scenarios and doctor."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sandbox.catalog import Catalog, load_catalog
from sandbox.console import JsonReport, TextReport
from sandbox.documents import dump_all
from sandbox.errors import SandboxError
from sandbox.events import Event, ScenarioFinished
from sandbox.factory import make_runtime
from sandbox.render import check_overrides, make_context, render_manifest, upstream_note
from sandbox.scenarios import ApplyStep, Scenario
from sandbox.settings import Settings

if TYPE_CHECKING:
    from sandbox.kube.runtime import KubeRuntime


def _select(catalog: Catalog, ids: Sequence[str], everything: bool) -> list[Scenario]:
    if everything:
        return list(catalog.scenarios)
    chosen = []
    for scenario_id in ids:
        try:
            chosen.append(catalog.get(scenario_id))
        except KeyError as exc:
            raise SandboxError(str(exc.args[0]), "`agw-sandbox scenarios` lists them") from exc
    return chosen


async def run(settings: Settings, runtime_name: str, ids: Sequence[str], everything: bool,
              as_json: bool, verbose: bool) -> int:
    from sandbox.exchange import new_client
    from sandbox.runner import Walkthrough

    catalog = load_catalog(settings.scenario_dirs)
    chosen = _select(catalog, ids, everything)
    if not everything and "setup" in catalog.ids and chosen and chosen[0].id != "setup":
        chosen.insert(0, catalog.get("setup"))  # every scenario needs the Gateway first
    check_overrides(chosen, settings.overrides)
    runtime = make_runtime(settings, runtime_name, ask=ask_on_terminal)
    text = TextReport(sys.stdout, verbose) if not as_json else None
    report = JsonReport({"runtime": runtime.name, "label": runtime.label,
                         "provider": settings.provider})

    def emit(event: Event) -> None:
        report(event)
        if text is not None:
            text(event)

    def on_progress(message: str) -> None:
        print(f"  {message}", flush=True, file=sys.stdout if text is not None else sys.stderr)

    results: list[ScenarioFinished] = []
    if text is not None:
        print(f"agw-sandbox · runtime: {runtime.label} · provider: {settings.provider}")
    try:
        await runtime.up(on_progress)
        report.document["gateway_url"] = runtime.gateway_url
        async with new_client() as client:
            walkthrough = Walkthrough(runtime, client, emit, settings.token,
                                      settings.provider, settings.overrides)
            for scenario in chosen:
                results.append(await walkthrough.run(scenario))
    finally:
        await runtime.down()
    if text is not None:
        text.summary(results)
    else:
        report.dump(sys.stdout)
    return 0 if results and all(r.passed for r in results) else 1


def manifests(settings: Settings, scenario_id: str, show_secrets: bool) -> int:
    """Print what each apply step would apply, as the mock provider or OpenAI needs it."""
    catalog = load_catalog(settings.scenario_dirs)
    try:
        scenario = catalog.get(scenario_id)
    except KeyError as exc:
        raise SandboxError(str(exc.args[0]), "`agw-sandbox scenarios` lists them") from exc
    upstream = ("127.0.0.1", 0) if settings.provider == "mock" else None
    ctx = make_context(scenario, settings.token, settings.provider, upstream,
                       settings.overrides)
    docs = [doc for step in scenario.steps if isinstance(step, ApplyStep)
            for manifest in step.manifests for doc in render_manifest(manifest, ctx)]
    text = dump_all(docs)
    note = upstream_note(ctx)
    if note:
        print(f"# {note} (the port is chosen when the runtime starts)", file=sys.stderr)
    print(text if show_secrets else ctx.masker(text), end="")
    return 0


def scenarios(settings: Settings, check_dirs: Sequence[Path]) -> int:
    catalog = load_catalog([*settings.scenario_dirs, *check_dirs])
    for scenario in catalog.scenarios:
        origin = "" if scenario.source.parent.name == "scenarios" and not check_dirs else \
            f"  ({scenario.source})"
        print(f"{scenario.id:<14} {scenario.title}{origin}")
    if check_dirs:
        print(f"{len(check_dirs)} director{'y' if len(check_dirs) == 1 else 'ies'} checked: "
              "no problems")
    return 0


async def doctor(port: int, cluster_name: str) -> int:
    from sandbox.kube.preflight import diagnose

    checks = await diagnose(port, cluster_name)
    for check in checks:
        print(f"{'✓' if check.ok else '✗'} {check.name:<8} {check.detail}")
        if check.hint:
            print(f"  {'':<8} → {check.hint}")
    ready = all(c.ok for c in checks)
    print("\nready for --runtime kind" if ready else
          "\nnot ready for --runtime kind; the offline simulation (--runtime sim) works anyway")
    return 0 if ready else 1


def ask_on_terminal(question: str) -> bool:
    """Ask a yes/no question when a person is at the terminal; never assume yes otherwise."""
    if not sys.stdin.isatty():
        return False
    answer = input(f"{question} [y/N] ")
    return answer.strip().lower() in ("y", "yes")


async def cluster_command(command: str, settings: Settings) -> int:
    """up, forward, down and status for the kind runtime (or --context for your own)."""
    import asyncio

    name = settings.runtime
    if name == "auto":
        name = "cluster" if settings.context else "kind"
    if name == "sim":
        print("The simulated runtime keeps nothing running between commands: `agw-sandbox run "
              "--runtime sim` and the app start it and stop it themselves.")
        return 0
    if command == "down":
        return await _down(settings, name)
    from sandbox.kube.runtime import KubeRuntime

    runtime = make_runtime(settings, name, ask=ask_on_terminal)
    assert isinstance(runtime, KubeRuntime)
    if command == "status":
        return await _status(runtime)
    print(f"agw-sandbox {command} · runtime: {runtime.label} · provider: {settings.provider}")
    try:
        await runtime.up(lambda line: print(f"  {line}", flush=True),
                         forward=command == "forward")
        if command == "forward":
            print(f"\nThe gateway is at {runtime.gateway_url} — for example:\n  curl -i "
                  f"{runtime.gateway_url}/openai\nPress Ctrl+C to stop the port-forward.")
            shown = runtime.forward_state
            while True:  # report reconnects (a restarted pod) until Ctrl+C
                await asyncio.sleep(1.0)
                if runtime.forward_state != shown:
                    shown = runtime.forward_state
                    print(f"  port-forward: {shown}", flush=True)
    finally:
        await runtime.down()
    total = sum(seconds for _, seconds in runtime.timings)
    print(f"\nReady in {total:.1f}s. Next: `agw-sandbox run --all --runtime {name}` or "
          "`agw-sandbox forward` for a port-forward to the gateway.")
    return 0


async def _down(settings: Settings, name: str) -> int:
    from sandbox.kube import cluster

    if name == "cluster":
        print("agw-sandbox never deletes a cluster you brought (--context). Delete the "
              "sandbox's resources with `kubectl delete -n kgateway-system backend,httproute "
              "-l app=agentgateway` if you want them gone.")
        return 1
    clusters = await cluster.kind_clusters()
    if settings.cluster_name not in clusters:
        print(f"There is no kind cluster named {settings.cluster_name}; nothing to delete.")
        return 0
    print(f"Deleting the kind cluster {settings.cluster_name}…", flush=True)
    await cluster.delete_cluster(settings.cluster_name)
    cluster.kubeconfig_path(settings.cluster_name).unlink(missing_ok=True)
    print("Deleted.")
    return 0


async def _status(runtime: KubeRuntime) -> int:
    from sandbox.kube.runtime import KindRuntime

    if isinstance(runtime, KindRuntime):
        from sandbox.kube import cluster

        if runtime.cluster_name not in await cluster.kind_clusters():
            print(f"✗ kind cluster {runtime.cluster_name}: absent (run `agw-sandbox up`)")
            return 1
        runtime.kubeconfig = await cluster.export_kubeconfig(runtime.cluster_name)
        print(f"✓ kind cluster {runtime.cluster_name}: present")
    import asyncio

    from sandbox.kube.client import Kube
    from sandbox.scenarios import ResourceRef

    kube = await asyncio.to_thread(Kube.connect, str(runtime.kubeconfig) if runtime.kubeconfig
                                   else None, runtime.context, runtime.profile.controller_name)
    profile = runtime.profile
    print(f"✓ Kubernetes API: {await asyncio.to_thread(kube.server_version)}")
    healthy = True
    for name in (profile.controller_deployment, profile.proxy_deployment):
        ready, detail = await asyncio.to_thread(kube.deployment_ready, profile.namespace, name)
        healthy &= ready
        print(f"{'✓' if ready else '✗'} deployment {profile.namespace}/{name}: {detail}")
    gateway = await asyncio.to_thread(kube.status, ResourceRef(
        "Gateway", profile.gateway_name, profile.namespace))
    programmed = gateway.condition("Programmed")
    healthy &= programmed is not None and programmed.status == "True"
    print(f"{'✓' if healthy else '✗'} Gateway {profile.namespace}/{profile.gateway_name}: "
          + (", ".join(str(c) for c in gateway.conditions) or "absent"))
    return 0 if healthy else 1
