"""The headless subcommands: run, manifests, scenarios and doctor."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from sandbox.catalog import Catalog, load_catalog
from sandbox.console import JsonReport, TextReport
from sandbox.documents import dump_all
from sandbox.errors import SandboxError
from sandbox.events import Event, ScenarioFinished
from sandbox.factory import make_runtime
from sandbox.render import make_context, render_manifest, upstream_note
from sandbox.scenarios import ApplyStep, Scenario
from sandbox.settings import Settings


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
    runtime = make_runtime(settings, runtime_name)
    text = TextReport(sys.stdout, verbose) if not as_json else None
    report = JsonReport({"runtime": runtime.name, "label": runtime.label,
                         "provider": settings.provider})

    def emit(event: Event) -> None:
        report(event)
        if text is not None:
            text(event)

    def on_progress(message: str) -> None:
        if text is not None:
            print(f"  · {message}", flush=True)

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


async def doctor(port: int) -> int:
    from sandbox.doctor import diagnose

    checks = await diagnose(port)
    for check in checks:
        print(f"{'✓' if check.ok else '✗'} {check.name:<8} {check.detail}")
        if check.hint:
            print(f"  {'':<8} → {check.hint}")
    ready = all(c.ok for c in checks)
    print("\nready for --runtime kind" if ready else
          "\nnot ready for --runtime kind; the offline simulation (--runtime sim) works anyway")
    return 0 if ready else 1
