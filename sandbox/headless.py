"""The headless subcommands: run, manifests, scenarios and doctor."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from sandbox import stdio
from sandbox.catalog.loader import Catalog, load_catalog
from sandbox.catalog.scenarios import ApplyStep, Scenario
from sandbox.documents import dump_all
from sandbox.errors import SandboxError
from sandbox.profiles import PROFILES, Profile
from sandbox.reports.console import JsonReport, TextReport
from sandbox.runtimes.factory import make_runtime
from sandbox.settings import Settings, known_keys
from sandbox.untrusted import one_line, quoted, visible
from sandbox.walkthrough.events import Event, ScenarioFinished
from sandbox.walkthrough.masking import Masker
from sandbox.walkthrough.render import (
    check_overrides,
    make_context,
    render_manifest,
    shown_yaml,
    upstream_note,
)

if TYPE_CHECKING:
    from sandbox.reports import transcript
    from sandbox.runtimes.kube.runtime import KubeRuntime


def show(text: str = "", *, file: TextIO | None = None, end: str = "\n",
         flush: bool = False) -> None:
    """``print`` for text that holds names, titles or answers from outside: each hidden
    character (a control character, a bidirectional override) is shown as an escape."""
    print(visible(text), file=file or sys.stdout, end=end, flush=flush)


def _keys_masker(token: str | None, short: bool = True) -> Masker:
    """A masker of every key this process holds (``--token`` and the environment's);
    ``short=False`` for prose (see :class:`Masker`)."""
    return Masker(known_keys(token, os.environ), short=short)


def _catalog(settings: Settings, dirs: Sequence[Path], **options: Any) -> Catalog:
    """The scenarios of ``dirs``, their text masked with the keys this process holds: a key
    pasted into a title or an explanation is shown as the rest are."""
    masker = _keys_masker(settings.token, short=False)  # prose
    return load_catalog(dirs, profile=settings.profile, **options).masked(masker.each)


def _select(catalog: Catalog, ids: Sequence[str], everything: bool) -> list[Scenario]:
    if everything:
        return list(catalog.scenarios)
    return [_scenario(catalog, scenario_id) for scenario_id in ids]


def _scenario(catalog: Catalog, scenario_id: str) -> Scenario:
    """The scenario by id, or a message that says whether another profile has it."""
    try:
        return catalog.get(scenario_id)
    except KeyError as exc:
        elsewhere = [p for s, profiles in catalog.missing if s.id == scenario_id for p in profiles]
        if elsewhere:
            raise SandboxError(
                f"scenario {quoted(scenario_id)} has no version for the {catalog.profile} profile "
                f"(it is written for {', '.join(elsewhere)})",
                f"rerun with --profile {elsewhere[0]}") from exc
        raise SandboxError(str(exc.args[0]), "`agw-sandbox scenarios` lists them") from exc


async def run(settings: Settings, runtime_name: str, ids: Sequence[str], everything: bool,
              as_json: bool, verbose: bool, compare_sim: bool = False,
              transcript_path: Path | None = None) -> int:
    from sandbox.walkthrough.exchange import new_client
    from sandbox.walkthrough.runner import Walkthrough

    if compare_sim:
        from sandbox.reports import compare

        compare.check_usable(runtime_name, settings.provider)

    catalog = _catalog(settings, settings.scenario_dirs, other_builtins=False)
    try:
        chosen = _select(catalog, ids, everything)
    except SandboxError:  # say whether another profile has it: that needs them all
        _select(_catalog(settings, settings.scenario_dirs), ids, everything)
        raise
    # What is printed beside the events (which come masked): paths, progress, comparisons.
    masked = _keys_masker(settings.token, short=False)
    # Checked before anything runs: a typo in the path must not cost a whole walkthrough.
    target = TranscriptTarget(transcript_path, as_json, masked) if transcript_path else None
    stdio.name_stdout("the transcript" if target is not None and target.to_stdout
                      else "the report")
    if not everything:  # what they need first, as the scenarios declare it (`needs:`)
        wanted = dict.fromkeys(needed.id for scenario in chosen
                               for needed in (*catalog.prerequisites(scenario), scenario))
        chosen = [catalog.get(scenario_id) for scenario_id in wanted]
    check_overrides(chosen, settings.overrides)
    runtime = make_runtime(settings, runtime_name, ask=ask_on_terminal)
    # With --transcript -, standard output is the transcript's: the report goes to stderr.
    out = sys.stderr if target is not None and target.to_stdout else sys.stdout
    text = TextReport(out, verbose) if not as_json else None
    report = JsonReport({"profile": settings.profile, "runtime": runtime.name,
                         "label": runtime.label, "provider": settings.provider})

    # What only --compare-sim and --transcript need is loaded and kept only for them.
    recorder = compare.Recorder() if compare_sim else None
    record = _new_transcript() if target is not None else None

    def emit(event: Event) -> None:
        report(event)
        if recorder is not None:
            recorder(event)
        if record is not None:
            record(event)
        if text is not None:
            text(event)

    def on_progress(message: str) -> None:
        show(f"  {one_line(masked(message))}", flush=True,
             file=out if text is not None else sys.stderr)

    def details() -> list[tuple[str, str]]:
        return [("provider", settings.provider),
                ("gateway", str(report.document.get("gateway_url", "")))]

    results: list[ScenarioFinished] = []
    if text is not None:
        show(f"agw-sandbox · profile: {settings.profile} · runtime: {runtime.label} · "
             f"provider: {settings.provider}", file=out)
    try:
        await runtime.up(on_progress)
        report.document["gateway_url"] = runtime.gateway_url
        async with new_client() as client:
            walkthrough = Walkthrough(runtime, client, emit, settings.token,
                                      settings.provider, settings.overrides)
            for scenario in chosen:
                results.append(await walkthrough.run(scenario))
    except (asyncio.CancelledError, KeyboardInterrupt):  # Ctrl+C, SIGTERM, SIGHUP: keep what
        if target is not None and record is not None:  # ran, and say so
            target.write_stopped(record, details())
        if text is None:  # a script reading the JSON gets a document, not nothing
            report.document.update(passed=False, stopped_by=stdio.stop_reason())
            report.dump(sys.stdout)
        raise
    finally:
        await runtime.down()
    comparison = (await compare.compare(settings, chosen, recorder.steps)
                  if recorder is not None else None)
    if comparison is not None:
        report.document["compare_sim"] = comparison.as_json()
    if text is not None:  # an id may be the key, lower-cased (the emitted events are masked)
        text.summary([replace(result, scenario_id=masked(result.scenario_id))
                      for result in results])
        for line in comparison.lines() if comparison is not None else ():
            show(masked(line), file=out)
    # After the summary: if the disk is full, the results have been shown.
    if target is not None and record is not None:
        written = masked(target.write(record, details()))
        report.document["transcript"] = written
        if text is not None and not target.to_stdout:
            show(f"Transcript (keys masked) written to {one_line(written)}", file=out)
    if text is None:
        report.dump(sys.stdout)
    disagree = comparison is not None and bool(comparison.disagreements)
    return 0 if results and all(r.passed for r in results) and not disagree else 1


def _new_transcript() -> transcript.Transcript:
    from sandbox.reports import transcript

    return transcript.Transcript()


class TranscriptTarget:
    """Where ``run --transcript`` writes: a file, checked before the run, or standard output
    (``-``, ``/dev/stdout``)."""

    def __init__(self, path: Path, as_json: bool, mask: Masker) -> None:
        from sandbox.reports import transcript_file  # only a run with --transcript needs it

        self._mask = mask  # the path may name the key: it is said masked
        self.to_stdout = transcript_file.means_standard_output(path)
        if self.to_stdout and as_json:
            raise SandboxError(f"--transcript {path} and --json both want standard output",
                               "write the transcript to a file (--transcript FILE.md), or "
                               "leave out one of them")
        self.path = path if self.to_stdout else transcript_file.check_writable(path)

    def write(self, record: transcript.Transcript, details: Sequence[tuple[str, str]],
              stopped: str = "") -> str:
        """Write the record; return where it went, as a person would say it."""
        if self.to_stdout:
            sys.stdout.write(record.markdown(details, stopped=stopped))
            sys.stdout.flush()
            return "standard output"
        return str(record.write(self.path, details, stopped=stopped))

    def write_stopped(self, record: transcript.Transcript,
                      details: Sequence[tuple[str, str]]) -> None:
        """After a stop: what ran until then, marked as such, and a word about it."""
        reason = f"stopped by {stdio.stop_reason()}"
        try:
            where = self.write(record, details, stopped=reason)
        except SandboxError as exc:
            stdio.say(f"agw-sandbox: {reason}; no transcript was written "
                      f"({self._mask(exc.shown_message())})")
            return
        stdio.say(f"agw-sandbox: {reason}; the transcript of what ran until then (keys masked) "
                  f"is in {one_line(self._mask(where))}")


def manifests(settings: Settings, scenario_id: str, show_secrets: bool,
              compare: bool = False) -> int:
    """Print what each apply step would apply, as the mock provider or OpenAI needs it."""
    catalog = _catalog(settings, settings.scenario_dirs)
    if compare:
        return _compare_profiles(catalog, scenario_id, settings)
    scenario = _scenario(catalog, scenario_id)
    from sandbox.runtimes.kube.mock_deployment import in_cluster_address
    from sandbox.runtimes.placement import Placement

    # Nothing runs here: render for a cluster (kind or yours), where a manifest can be applied,
    # with the objects where --namespace and --gateway put them, as `run` would apply them.
    placement = Placement.of(PROFILES[scenario.profile], settings.namespace, settings.gateway)
    upstream = in_cluster_address(placement.namespace) if settings.provider == "mock" else None
    ctx = make_context(scenario, settings.token, settings.provider, upstream,
                       settings.overrides)
    docs = [placement.doc(doc) for step in scenario.steps if isinstance(step, ApplyStep)
            for manifest in step.manifests for doc in render_manifest(manifest, ctx)]
    note = upstream_note(ctx, docs)
    if note:  # it names the mock's address in --namespace, which may be a key lower-cased
        show(f"# {ctx.masker(note)} Rendered for the kind and cluster runtimes, where `up` runs "
             "the mock provider as a Service; the simulated runtime uses a loopback address "
             "instead.",
             file=sys.stderr)
    show(dump_all(docs) if show_secrets else shown_yaml(docs, ctx), end="")
    return 0


def _compare_profiles(catalog: Catalog, scenario_id: str, settings: Settings) -> int:
    """The scenario's documented manifests under every other profile, as diffs from this one."""
    from sandbox.reports.profile_diff import manifests_diff

    mine = _scenario(catalog, scenario_id)
    others = [s for s in catalog.others if s.id == scenario_id]
    if not others:
        raise SandboxError(f"scenario {quoted(scenario_id)} has no version for any other profile",
                           "`agw-sandbox scenarios` says which profiles each one has")
    for other in others:
        show(manifests_diff(mine, other, settings.token), end="")
    return 0


def scenarios(settings: Settings, check_dirs: Sequence[Path]) -> int:
    from sandbox.profiles import builtin_dir

    catalog = _catalog(settings, [*settings.scenario_dirs, *check_dirs])
    masked = _keys_masker(settings.token, short=False)  # an id may be a key
    show(f"Scenarios for the {catalog.profile} profile ({settings.api_profile.description}):")
    builtin = builtin_dir().resolve()
    for scenario in catalog.scenarios:
        origin = "" if scenario.source.resolve().is_relative_to(builtin) and not check_dirs \
            else f"  ({one_line(str(scenario.source))})"
        show(f"{masked(scenario.id):<14} {scenario.title}{origin}")
    for scenario, profiles in catalog.missing:
        show(f"{masked(scenario.id):<14} – no version for {catalog.profile} (written for "
             f"{', '.join(profiles)}: --profile {profiles[0]})")
    if check_dirs:
        show(f"{len(check_dirs)} director{'y' if len(check_dirs) == 1 else 'ies'} checked: "
             "no problems")
    return 0


async def doctor(port: int, cluster_name: str, keys: Sequence[str] = ()) -> int:
    """Check what the kind runtime needs; ``keys`` are masked wherever a check quotes one (a
    Docker setting may hold one)."""
    from sandbox.runtimes.kube.preflight import diagnose

    checks = await diagnose(port, cluster_name)
    masked = Masker(keys)
    for check in checks:
        show(f"{'✓' if check.ok else '✗'} {check.name:<8} {one_line(masked(check.detail))}")
        if check.hint:
            show(f"  {'':<8} → {one_line(masked(check.hint))}")
    ready = all(c.ok for c in checks)
    show("\nready for --runtime kind" if ready else
         "\nnot ready for --runtime kind; the offline simulation (--runtime sim) works anyway")
    return 0 if ready else 1


async def prepare(directory: Path, profiles: Sequence[Profile]) -> int:
    """Fill an offline bundle while online; say how big it is and how long it took."""
    from sandbox.runtimes.kube.bundle import human_size
    from sandbox.runtimes.kube.bundle import prepare as fill

    masked = _keys_masker(None)  # the folder's path may name a key
    show(f"agw-sandbox prepare · {one_line(masked(str(directory)))} · profiles: "
          f"{', '.join(p.name for p in profiles)}", flush=True)
    done = await fill(directory, profiles,
                      lambda line: show(f"  {one_line(masked(line))}", flush=True))
    show(f"\nBundle ready: {done.files} files, {human_size(done.size)}, in "
          f"{done.seconds:.1f}s. Where the network is poor: `agw-sandbox up --bundle "
          f"{one_line(masked(str(directory)))}`.")
    return 0


def ask_on_terminal(question: str) -> bool:
    """Ask a yes/no question when a person is at the terminal; never assume yes otherwise."""
    if not sys.stdin.isatty():
        return False
    answer = input(visible(f"{question} [y/N] "))
    return answer.strip().lower() in ("y", "yes")


async def cluster_command(command: str, settings: Settings) -> int:
    """up, forward, down and status for the kind runtime (or --context for your own)."""
    name = settings.runtime
    if name == "auto":
        name = "cluster" if settings.context else "kind"
    if name == "sim":
        show(f"The simulated runtime (profile {settings.profile}) keeps nothing running "
             "between commands: `agw-sandbox run --runtime sim` and the app start it and stop "
             "it themselves.")
        return 0
    from sandbox.runtimes.kube.runtime import KubeRuntime

    runtime = make_runtime(settings, name, ask=ask_on_terminal)
    assert isinstance(runtime, KubeRuntime)
    if command == "down":
        return await _down(runtime)
    if command == "status":
        return await _status(runtime)
    masked = _keys_masker(settings.token)  # a bundle's path may name a key
    show(masked(f"agw-sandbox {command} · profile: {settings.profile} · runtime: "
                f"{runtime.label} · provider: {settings.provider}"))
    try:
        await runtime.up(lambda line: show(f"  {one_line(masked(line))}", flush=True),
                         forward=command == "forward")
        if command == "forward":
            show(f"\nThe gateway is at {runtime.gateway_url} — for example:\n  curl -i "
                 f"{runtime.gateway_url}/openai\nPress Ctrl+C to stop the port-forward.",
                 flush=True)
            shown = runtime.forward_state
            while True:  # report reconnects (a restarted pod) until Ctrl+C
                await asyncio.sleep(1.0)
                if runtime.forward_state != shown:
                    shown = runtime.forward_state
                    show(f"  port-forward: {shown}", flush=True)
    finally:
        await runtime.down()
    total = sum(seconds for _, seconds in runtime.timings)
    show(f"\nReady in {total:.1f}s. Next: `agw-sandbox run --all --runtime {name}` or "
         "`agw-sandbox forward` for a port-forward to the gateway.")
    return 0


async def _down(runtime: KubeRuntime) -> int:
    removed = await runtime.remove(lambda line: show(one_line(line), flush=True))
    if not removed:
        return 0
    for item in removed:
        show(f"  removed {one_line(item)}")
    show("Deleted.")
    return 0


async def _status(runtime: KubeRuntime) -> int:
    show(f"· profile {runtime.profile.name}: {runtime.profile.description}")
    healthy = True
    for check in await runtime.health():
        healthy &= check.ok
        show(one_line(f"{'✓' if check.ok else '✗'} {check.name}: {check.detail}"
                      + (f" ({check.hint})" if check.hint else "")))
    return 0 if healthy else 1
