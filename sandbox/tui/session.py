"""One interactive session: a runtime, a walkthrough and each scenario's progress.

Free of any UI import: the terminal app drives it, and tests drive it the same way.
It is a little over 300 lines because it is the app's one facade over the core: the screens call
nothing else, so every action a screen offers has its method here.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandbox.catalog import checks
from sandbox.catalog.hidden_characters import hidden_characters
from sandbox.catalog.loader import Catalog
from sandbox.catalog.scenarios import ApplyStep, CleanupStep, RequestSpec, Scenario, Step, WaitStep
from sandbox.catalog.textfiles import MAX_FILE_BYTES
from sandbox.documents import DocumentError, dump_all, load_all
from sandbox.errors import ManifestRejected, SandboxError
from sandbox.reports.transcript import Transcript
from sandbox.reports.transcript_file import default_path, write_atomically
from sandbox.runtimes.runtime import Progress, ResourceRef, ResourceStatus, Runtime
from sandbox.runtimes.sim import admission
from sandbox.settings import Settings, known_keys
from sandbox.tui.progress import ScenarioProgress
from sandbox.walkthrough.events import (
    Event,
    ManifestApplied,
    RequestSent,
    RequestView,
    ResourceDeleted,
    ResponseChunk,
    ResponseReceived,
    StepNote,
    StepStarted,
)
from sandbox.walkthrough.hints import gateway_not_found
from sandbox.walkthrough.masking import Masker
from sandbox.walkthrough.render import (
    Context,
    make_context,
    render_request,
    shown_yaml,
    substitute,
    swap_secrets,
)

if TYPE_CHECKING:  # keeps httpx and the runner out of the app's start-up
    from sandbox.http_client import AsyncClient
    from sandbox.walkthrough.runner import ScenarioState, Walkthrough


RuntimeFactory = Callable[[Settings, str], Runtime]


class Session:
    """One user's run of the app: the runtime, the walkthrough over it, and where they are.

    The UI calls its methods and receives :mod:`sandbox.walkthrough.events` through ``emit``; it
    never builds a runtime itself (:meth:`restart_on_port` does that through ``runtime_factory``).
    """

    def __init__(self, settings: Settings, catalog: Catalog, runtime: Runtime,
                 emit: Callable[[Event], None],
                 client_factory: Callable[[], AsyncClient] | None = None,
                 runtime_factory: RuntimeFactory | None = None) -> None:
        self.settings = settings
        self.catalog = catalog
        self.runtime = runtime
        self.emit = emit
        self._client_factory = client_factory
        self._runtime_factory = runtime_factory
        self._client: AsyncClient | None = None
        self._walkthrough: Walkthrough | None = None
        self._states: dict[str, ScenarioState] = {}
        self.progress: dict[str, ScenarioProgress] = {
            s.id: ScenarioProgress() for s in catalog.scenarios}
        self.last_request: RequestView | None = None
        self._step: StepStarted | None = None  # the step that is running, or ran last
        self._resetting: Scenario | None = None
        self._routed = False  # the last request went through a route (not the gateway's 404)
        # A route deleted after the last request was sent: which, by what, how to get it back.
        self._route_gone: tuple[ResourceRef, str, str] | None = None
        self.started = False
        self.transcript = Transcript()  # everything run so far, for write_transcript

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self, progress: Progress) -> None:
        from sandbox.walkthrough.exchange import new_client
        from sandbox.walkthrough.runner import Walkthrough

        # What the runtime says names what --namespace and --gateway hold, which may be a key
        # (lower-cased): masked as `run` masks it, before a pane shows it.
        masked = Masker(known_keys(self.settings.token, os.environ))
        await self.runtime.up(lambda line: progress(masked(line)))
        self._client = self._client_factory() if self._client_factory else new_client()
        self._walkthrough = Walkthrough(self.runtime, self._client, self._emit,
                                        self.settings.token, self.settings.provider,
                                        self.settings.overrides)
        self.started = True

    async def restart_on_port(self, port: int, progress: Progress) -> None:
        """Stop what a failed start left behind and start the same runtime on ``port`` (0: free)."""
        if self._runtime_factory is None:
            raise SandboxError("this session cannot rebuild its runtime",
                               "quit and start agw-sandbox again with --port 0")
        await self.close()
        self.settings = replace(self.settings, port=port)
        self.runtime = self._runtime_factory(self.settings, self.runtime.name)
        await self.start(progress)

    async def missing_prerequisite(self, scenario: Scenario) -> Scenario | None:
        """The first scenario that ``scenario`` needs (its ``needs:``) and that is not there yet:
        neither run to its end in this session nor found already applied (a reused cluster)."""
        for needed in self.catalog.prerequisites(scenario):
            if self.current_step(needed) is not None and not await self._applied(needed):
                return needed
        return None

    async def _applied(self, scenario: Scenario) -> bool:
        """Whether everything the scenario applies exists already."""
        refs = [ResourceRef(str(doc.get("kind")), str(doc["metadata"].get("name")),
                            str(doc["metadata"].get("namespace") or ""))
                for step in scenario.steps if isinstance(step, ApplyStep)
                for doc in self.documents(scenario, step)]
        for ref in refs:
            if not (await self.runtime.status(ref)).exists:
                return False
        return bool(refs)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        await self.runtime.down()
        self.started = False

    def _emit(self, event: Event) -> None:
        if isinstance(event, StepStarted):
            self._step = event
        elif isinstance(event, RequestSent):
            self.last_request, self._route_gone, self._routed = event.request, None, False
        elif isinstance(event, ResponseReceived):  # the gateway's own 404 went through no route
            self._routed = not gateway_not_found(event.response)
        elif isinstance(event, ResourceDeleted) and event.ref.kind == "HTTPRoute" \
                and event.existed and self._routed:
            self._route_gone = (self.runtime.placed_ref(event.ref), *self._deleted_by())
        elif isinstance(event, ManifestApplied) and self._route_gone is not None \
                and event.ref == self._route_gone[0]:
            self._route_gone = None
        self.transcript(event)
        self.emit(event)

    def _deleted_by(self) -> tuple[str, str]:
        """What is deleting resources now, and how the learner gets them back."""
        if self._resetting is not None:
            return f"Resetting “{self._resetting.title}”", "run its steps again (n)"
        step = self._step
        title = next((f"“{s.title}”" for s in self.catalog.scenarios
                      if step is not None and s.id == step.scenario_id), "its scenario")
        by = (f"The cleanup step of {title}" if step is None or step.kind == "cleanup"
              else f"The step “{step.title}” of {title}")
        return by, f"select {title}, press x to reset it and n to run its steps again"

    def last_request_note(self) -> str | None:
        """What a learner needs to know before sending the last request again: that a later
        step removed its route (sent now, it gets 404), and how to bring the route back."""
        if self._route_gone is None:
            return None
        ref, by, again = self._route_gone
        return (f"{by} removed {ref}, the route this request was sent through: sent again, it "
                f"gets 404 (route not found). To bring the route back, {again}.")

    @property
    def walkthrough(self) -> Walkthrough:
        if self._walkthrough is None:
            raise SandboxError("the runtime is not up yet", "wait for the start-up to finish")
        return self._walkthrough

    def state(self, scenario: Scenario) -> ScenarioState:
        if scenario.id not in self._states:
            self._states[scenario.id] = self.walkthrough.start(scenario)
        return self._states[scenario.id]

    def context(self, scenario: Scenario) -> Context:
        if scenario.id in self._states:
            return self._states[scenario.id].ctx
        return make_context(scenario, self.settings.token, self.settings.provider,
                            self.runtime.mock_upstream() if self.started else None,
                            self.settings.overrides)

    # -- steps ---------------------------------------------------------------------------------
    def current_step(self, scenario: Scenario) -> Step | None:
        index = self.progress[scenario.id].index
        return scenario.steps[index] if index < len(scenario.steps) else None

    def documents(self, scenario: Scenario, step: ApplyStep) -> list[dict[str, Any]]:
        """What the step applies: the user's edit if there is one, else the rendered templates."""
        edited = self.progress[scenario.id].edits.get(step.id)
        if edited is not None:
            return edited
        from sandbox.walkthrough.render import render_manifest

        ctx = self.context(scenario)
        return [doc for m in step.manifests for doc in render_manifest(m, ctx)]

    def manifest_text(self, scenario: Scenario, step: ApplyStep, reveal: bool = False) -> str:
        docs = self.documents(scenario, step)
        return dump_all(docs) if reveal else shown_yaml(docs, self.context(scenario))

    def editable_text(self, scenario: Scenario, step: ApplyStep) -> str:
        """The manifests with every secret written as ``${name}``: editable, and keyless."""
        ctx = self.context(scenario)
        docs = swap_secrets(self.documents(scenario, step), ctx, lambda name: "${" + name + "}")
        return shown_yaml(docs, ctx)

    def parse_edit(self, scenario: Scenario, text: str) -> list[dict[str, Any]]:
        """Validate edited YAML as the API server and the sandbox would; raise with the reason.

        Fast on any paste: the size is capped, and anchors, aliases and deep nesting are refused
        while parsing, so an alias bomb cannot expand.
        """
        if len(text) > MAX_FILE_BYTES:
            raise ManifestRejected(f"the manifest is larger than {MAX_FILE_BYTES // 1024} KiB",
                                   "paste the manifest for this step only")
        try:
            docs = load_all(text)
        except DocumentError as exc:
            where = f" (line {exc.line})" if exc.line else ""
            raise ManifestRejected(f"{exc.reason}{where}", "fix the YAML and validate again"
                                   ) from exc
        if not docs or not all(isinstance(d, dict) for d in docs):
            raise ManifestRejected("the manifest must hold one or more YAML mappings",
                                   "each document needs apiVersion, kind and metadata")
        # What a scenario's template may not hold, a pasted manifest may not either.
        hidden = next((found for doc in docs for found in hidden_characters(doc, doc.line)), None)
        if hidden is not None:
            raise ManifestRejected(f"{hidden[1]} (line {hidden[0]})", "validate again once it "
                                   "is gone")
        ctx = self.context(scenario)
        rendered = [substitute(doc, ctx.values) for doc in docs]
        try:
            for doc in rendered:
                admission.admit(doc, profile=scenario.profile)
                problems = checks.lint(doc)
                if problems:
                    raise ManifestRejected("; ".join(problems),  # each one says whose it is
                                           "edit the manifest and validate again")
        except SandboxError as exc:  # the API server's words may quote a value: the key too
            raise ManifestRejected(ctx.masker(exc.message), ctx.masker(exc.hint)) from None
        return rendered

    def save_edit(self, scenario: Scenario, step: ApplyStep, docs: list[dict[str, Any]]) -> None:
        self.progress[scenario.id].edits[step.id] = docs

    async def run_current(self, scenario: Scenario) -> str:
        """Run the current step; advance on success. Returns the outcome."""
        step = self.current_step(scenario)
        if step is None:
            return "done"
        # Only an edit is applied as it stands; otherwise the walkthrough renders the step
        # and judges the manifests as their author wrote them.
        manifests = (self.progress[scenario.id].edits.get(step.id)
                     if isinstance(step, ApplyStep) else None)
        result = await self.walkthrough.run_step(self.state(scenario), step, manifests)
        return self._record(scenario, step, result.outcome)

    async def apply_edit(self, scenario: Scenario, step: ApplyStep) -> str:
        """Apply an edited step: as the current step it advances; an earlier one is re-applied."""
        if self.current_step(scenario) is step:
            return await self.run_current(scenario)
        result = await self.walkthrough.run_step(self.state(scenario), step,
                                                 self.documents(scenario, step))
        self.progress[scenario.id].outcomes[step.id] = result.outcome
        return result.outcome

    async def gateway_healthy(self) -> bool:
        """True when anything answers HTTP on the gateway's address (a 404 counts)."""
        if self._client is None:
            return False
        from sandbox.http_client import HTTPError

        try:
            await self._client.get(self.runtime.gateway_url + "/", timeout=2.0)
        except HTTPError:
            return False
        return True

    def skip_current(self, scenario: Scenario) -> None:
        step = self.current_step(scenario)
        if step is not None:
            result = self.walkthrough.skip(self.state(scenario), step)
            self._record(scenario, step, result.outcome)

    def _record(self, scenario: Scenario, step: Step, outcome: str) -> str:
        progress = self.progress[scenario.id]
        progress.outcomes[step.id] = outcome
        if outcome != "failed":
            progress.index += 1
        return outcome

    async def reset(self, scenario: Scenario) -> None:
        """Delete what the scenario applied and start it again from its first step."""
        cleanup = CleanupStep("reset", "Reset the scenario", "")
        if scenario.id in self._states:
            self._resetting = scenario
            try:
                await self.walkthrough.run_step(self._states.pop(scenario.id), cleanup)
            finally:
                self._resetting = None
            self.transcript.reset(scenario.id)
        self.progress[scenario.id] = ScenarioProgress()

    async def check(self, scenario: Scenario) -> list[ResourceStatus]:
        """Read the current status of the resources the scenario is about."""
        self.transcript.activity(scenario.id, scenario.title, "Status check")
        refs: list[ResourceRef] = []
        for step in scenario.steps:
            if isinstance(step, WaitStep):
                refs += [w.ref for w in step.waits if w.ref not in refs]
        if scenario.id in self._states:
            refs += [r for r in self._states[scenario.id].applied if r not in refs]
        return [await self.walkthrough.status(ref) for ref in refs]

    async def send_custom(self, scenario: Scenario, method: str, path: str,
                          headers: Sequence[tuple[str, str]], body: str, stream: bool
                          ) -> None:
        """Send the user's own request, shown in the same panes (no expectations)."""
        from sandbox.walkthrough.exchange import send, view_request

        payload: Any = body
        if body.strip():
            try:
                payload = json.loads(body)
            except (ValueError, RecursionError):  # sent as typed: the gateway says what it is
                payload = body
        spec = RequestSpec(method.upper(), path if path.startswith("/") else "/" + path,
                           tuple(headers), payload if body.strip() else None, stream)
        problems = checks.request_problems(spec.method, spec.path, spec.headers)
        if problems:
            raise SandboxError("the request cannot be sent: " + "; ".join(m for _, m in problems),
                               "fix the request and send it again")
        ctx = self.context(scenario)
        request = render_request(spec, ctx)
        view = view_request(request, self.runtime.gateway_url, ctx)
        self.transcript.activity(scenario.id, scenario.title, "Custom request")
        walkthrough = self.walkthrough  # its events come back masked, as a step's do
        walkthrough.mask_secrets_of(ctx)
        walkthrough.emit(RequestSent(view))
        assert self._client is not None
        answer = await send(self._client, request, self.runtime.gateway_url, ctx,
                            lambda text: walkthrough.emit(ResponseChunk(text)),
                            lambda text: walkthrough.emit(StepNote(scenario.id, "custom", text)))
        walkthrough.emit(ResponseReceived(answer.view))  # cut short: its notes say so

    def write_transcript(self, path: Path | None = None) -> Path:
        """Write everything run so far as Markdown (keys masked); return the file written.

        Without ``path``: a new time-stamped file in the current directory (or the cache).
        """
        text = self.transcript_markdown()
        return write_atomically(path or default_path(), text)

    def transcript_markdown(self) -> str:
        """Everything run so far as Markdown, keys masked (for a browser tab: no file here)."""
        if self.transcript.empty:
            raise SandboxError("nothing has run yet, so there is no transcript to write",
                               "run a step first (n), then write the transcript again")
        details = [("provider", self.settings.provider)]
        if self.started:
            details.append(("gateway", self.runtime.gateway_url))
        return self.transcript.markdown(details)


def parse_headers(text: str) -> list[tuple[str, str]]:
    """``Name: value`` lines, as typed into the custom request form."""
    headers = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            raise SandboxError(f"header line {number} is not 'Name: value'",
                               "write one header per line, like 'Authorization: Bearer ${token}'")
        headers.append((name.strip(), value.strip()))
    return headers
