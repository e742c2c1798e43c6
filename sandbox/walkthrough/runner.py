"""The walkthrough runner: executes a scenario's steps against a Runtime and emits events.

Free of any UI: the headless CLI and the terminal app are two consumers of the same events.
A little over 300 lines: one step kind per method, kept together because they share the
scenario state and its cleanup.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sandbox.catalog import checks
from sandbox.catalog.scenarios import (
    ApplyStep,
    CleanupStep,
    DeleteStep,
    Expectation,
    ExplainStep,
    RequestStep,
    Scenario,
    Step,
    WaitStep,
    step_kind,
)
from sandbox.errors import ManifestRejected, RequestFailed, SandboxError
from sandbox.http_client import AsyncClient
from sandbox.runtimes.runtime import (
    ResourceRef,
    ResourceStatus,
    Runtime,
    WaitFor,
    poll_until_satisfied,
)
from sandbox.untrusted import one_line, quoted
from sandbox.walkthrough import shell_equivalents
from sandbox.walkthrough.answer import Answer
from sandbox.walkthrough.events import (
    CommandLogged,
    Event,
    ManifestApplied,
    RequestSent,
    ResourceDeleted,
    ResponseChunk,
    ResponseReceived,
    ScenarioFinished,
    ScenarioStarted,
    StatusChanged,
    StepFinished,
    StepNote,
    StepStarted,
    masked_event,
)
from sandbox.walkthrough.exchange import CUT_SHORT_HINT, GatewayUnreachable, send, view_request
from sandbox.walkthrough.hints import STREAM_ERROR_HINT, contains_hint, model_hint, status_hint
from sandbox.walkthrough.masking import Masker
from sandbox.walkthrough.render import (
    Context,
    authored_manifest,
    expectation,
    make_context,
    render_request,
    shown_yamls,
    swap_secrets,
    upstream_note,
    with_upstream,
)

Emit = Callable[[Event], None]
# A real gateway can report Accepted a moment before its proxy has the new configuration: a
# request step that sees the wrong answer tries again for this long (never on the sim).
SETTLE_TIME = 10.0
SETTLE_INTERVAL = 0.5


class StepFailed(SandboxError):
    """An expectation did not hold; ``message`` says what was expected and what happened."""


@dataclass
class ScenarioState:
    """What one scenario run has done so far (for cleanup and for the UI's progress marks)."""

    scenario: Scenario
    ctx: Context
    # In the order applied, each once: a dict, so that a List of thousands of items is
    # checked and recorded in constant time per item.
    applied: dict[ResourceRef, None] = field(default_factory=dict)
    results: dict[str, StepFinished] = field(default_factory=dict)


class Walkthrough:
    """Runs scenarios step by step against one Runtime and emits a typed event for everything.

    It knows nothing of screens: the app's Session and the headless CLI both drive it and only
    consume its events. ``settle_time`` (real runtimes only) is how long a request step retries
    while the gateway catches up with a status that is already True.
    """

    def __init__(self, runtime: Runtime, client: AsyncClient, emit: Emit, token: str,
                 provider: str, overrides: Mapping[str, str] | None = None,
                 settle_time: float | None = None) -> None:
        self.runtime = runtime
        self.client = client
        self._consumer = emit
        self.token = token
        self.provider = provider
        self.overrides = dict(overrides or {})
        # The sim applies a change before it answers: a mismatch there is the real answer.
        self.settle_time = settle_time if settle_time is not None else (
            0.0 if runtime.name == "sim" else SETTLE_TIME)
        # The key and every secret of the scenarios started: masked in whatever an event says.
        # (requests, manifests and answers are masked as they are made, a short key too: the
        # rest is mostly the scenario's prose, where a placeholder key would hide its words)
        self._masker = Masker([token], short=False)

    def emit(self, event: Event) -> None:
        """Hand ``event`` on, every text in it masked: a name, a command or a request built
        from the scenario may hold a key in a form only the masker recognises."""
        self._consumer(masked_event(event, self._masker))

    def mask_secrets_of(self, ctx: Context) -> None:
        """Mask the secrets of ``ctx`` too in every event from now on."""
        for secret in ctx.secrets.values():
            self._masker.add(secret)

    def start(self, scenario: Scenario) -> ScenarioState:
        ctx = make_context(scenario, self.token, self.provider, self.runtime.mock_upstream(),
                           self.overrides)
        self.mask_secrets_of(ctx)
        self.emit(ScenarioStarted(scenario.id, scenario.title, scenario.summary,
                                  scenario.security, self.runtime.label))
        return ScenarioState(scenario, ctx)

    async def run(self, scenario: Scenario) -> ScenarioFinished:
        """Every step in order; after a failure only cleanup steps still run."""
        state = self.start(scenario)
        failed = False
        for step in scenario.steps:
            if failed and not isinstance(step, CleanupStep):
                self._finish(state, step, "skipped", "an earlier step failed", "", 0.0)
                continue
            result = await self.run_step(state, step)
            failed = failed or result.outcome == "failed"
        finished = ScenarioFinished(scenario.id, not failed, tuple(state.results.values()))
        self.emit(finished)
        return finished

    async def run_step(self, state: ScenarioState, step: Step,
                       manifests: Sequence[Mapping[str, Any]] | None = None) -> StepFinished:
        """Run one step. ``manifests`` replaces an apply step's rendered documents (edited)."""
        scenario = state.scenario
        index = next((i for i, s in enumerate(scenario.steps) if s.id == step.id), 0)
        self.emit(StepStarted(scenario.id, step.id, index + 1, len(scenario.steps),
                              step_kind(step), step.title, step.explain))
        started = time.perf_counter()
        try:
            detail = await self._act(state, step, manifests)
        except SandboxError as exc:
            # One line each (a line break from a server's words would start a line of its own).
            return self._finish(state, step, "failed", one_line(state.ctx.masker(exc.message)),
                                one_line(state.ctx.masker(exc.hint)),
                                time.perf_counter() - started)
        return self._finish(state, step, "passed", detail, "", time.perf_counter() - started)

    def skip(self, state: ScenarioState, step: Step) -> StepFinished:
        return self._finish(state, step, "skipped", "skipped by the user", "", 0.0)

    def _finish(self, state: ScenarioState, step: Step, outcome: Any, detail: str, hint: str,
                seconds: float) -> StepFinished:
        result = StepFinished(state.scenario.id, step.id, step.title, step_kind(step), outcome,
                              detail, hint, seconds)
        state.results[step.id] = result
        self.emit(result)
        return result

    def rendered(self, state: ScenarioState, step: ApplyStep) -> list[dict[str, Any]]:
        """The step's documents as applied (with the mock provider, redirected to it)."""
        return [with_upstream(doc, state.ctx) for doc in self.authored(state, step)]

    def authored(self, state: ScenarioState, step: ApplyStep) -> list[dict[str, Any]]:
        return [doc for m in step.manifests for doc in authored_manifest(m, state.ctx)]

    async def _act(self, state: ScenarioState, step: Step,
                   manifests: Sequence[Mapping[str, Any]] | None) -> str:
        if isinstance(step, ExplainStep):
            return ""
        if isinstance(step, ApplyStep):
            if manifests is not None:  # edited: judged as the user wrote them, applied so
                return await self.apply(state, list(manifests))
            authored = self.authored(state, step)
            admit_as_written(authored, [with_upstream(d, state.ctx) for d in authored],
                             state.ctx)
            return await self.apply(state, [with_upstream(d, state.ctx) for d in authored])
        if isinstance(step, WaitStep):
            return await self._wait(state, step)
        if isinstance(step, RequestStep):
            return await self._request(state, step)
        if isinstance(step, DeleteStep):
            return await self._delete(state, list(step.refs))
        if isinstance(step, CleanupStep):
            return await self._delete(state, list(reversed(state.applied)))
        raise AssertionError(f"unknown step type {type(step).__name__}")

    async def apply(self, state: ScenarioState, docs: Sequence[Mapping[str, Any]]) -> str:
        """Check, then apply each document; shown masked, logged as a keyless command."""
        problems = [p for doc in docs for p in checks.lint(doc)]
        if problems:
            raise ManifestRejected("; ".join(problems), "edit the manifest and apply again")
        outcomes = []
        placed = [self.runtime.placed(doc) for doc in docs]  # so a pasted command agrees
        # Masked as one text (a key cut across objects, a List's items, is masked in each)
        commands = shell_equivalents.applies(placed, state.ctx)
        for doc, command, shown in zip(docs, commands, shown_yamls(placed, state.ctx),
                                       strict=True):
            self.emit(CommandLogged(command))
            applied = await self.runtime.apply(doc)
            state.applied.setdefault(applied.ref)
            self.emit(ManifestApplied(applied.ref, applied.outcome,
                                      shown,
                                      upstream_note(state.ctx, [doc])))
            outcomes.append(f"{applied.ref} {applied.outcome}")
        return "; ".join(outcomes)

    async def _wait(self, state: ScenarioState, step: WaitStep) -> str:
        reached = []
        for wait in step.waits:
            await self._check_attachable(state, wait.ref)
            placed = self.runtime.placed_ref(wait.ref)  # what the runtime wrote, and waits on
            self.emit(CommandLogged(shell_equivalents.wait(replace(wait, ref=placed))))
            await self._check_created(wait, placed)
            final = await poll_until_satisfied(self.runtime, wait, self._status_changed)
            reached.append(f"{placed}: " + ", ".join(str(final.condition(c.type))
                                                     for c in wait.conditions))
        return "; ".join(reached)

    async def _check_attachable(self, state: ScenarioState, ref: ResourceRef) -> None:
        """Fail at once, saying why, when a route waits for a Gateway that does not exist.

        No controller writes a route's status without its Gateway, so the wait could only
        time out.
        """
        if ref.kind != "HTTPRoute":
            return
        profile = state.ctx.profile
        gateway = ResourceRef("Gateway", profile.gateway_name, profile.namespace)
        if not (await self.runtime.status(gateway)).exists:
            raise StepFailed(f"{ref} attaches to {gateway}, which does not exist, so no "
                             "controller will write its status",
                             "run the setup scenario first: it creates the Gateway")

    async def _check_created(self, wait: WaitFor, placed: ResourceRef) -> None:
        """In the simulation, fail at once, saying why, when what a step waits for does not
        exist: nothing there creates a resource but a scenario's steps, so the wait could
        only time out. (On a cluster something else may still create it: it waits.)"""
        if self.runtime.name != "sim":
            return
        current = await self.runtime.status(wait.ref)
        if current.exists:
            return
        self._status_changed(current)
        raise StepFailed(
            f"{placed} does not exist, and in the simulation nothing but a scenario's steps "
            "creates resources: no step has applied it, so waiting "
            f"{wait.timeout:g}s for it could only time out",
            "apply it in an earlier step, or run first the scenario that creates it (its "
            "`needs:`); else check the kind, namespace and name the wait gives")

    def _status_changed(self, status: ResourceStatus) -> None:
        self.emit(StatusChanged(status.ref, status.exists, status.conditions))

    async def status(self, ref: ResourceRef) -> ResourceStatus:
        current = await self.runtime.status(ref)
        self._status_changed(current)
        return current

    async def _request(self, state: ScenarioState, step: RequestStep) -> str:
        """Send and check; on a real runtime a wrong answer or a failed connection is retried
        for ``settle_time`` (the gateway catching up, a port-forward reconnecting)."""
        request = render_request(step.request, state.ctx)
        view = view_request(request, self.runtime.gateway_url, state.ctx)
        expect = expectation(step, state.ctx)
        self.emit(CommandLogged(view.curl))
        deadline = time.monotonic() + self.settle_time
        waited = False
        while True:
            self.emit(RequestSent(view))
            try:
                answer = await send(
                    self.client, request, self.runtime.gateway_url, state.ctx,
                    lambda text: self.emit(ResponseChunk(text)),
                    lambda text: self.emit(StepNote(state.scenario.id, step.id, text)))
                self.emit(ResponseReceived(answer.view))
                if answer.cut_short:  # not the provider's whole answer: nothing to judge
                    raise RequestFailed(answer.cut_short, CUT_SHORT_HINT)
                return check_response(answer, expect, state.ctx)
            except (StepFailed, GatewayUnreachable) as exc:
                unreachable = isinstance(exc, GatewayUnreachable)
                if time.monotonic() >= deadline:
                    if waited:
                        exc.message += f" (still so after {self.settle_time:g}s" + (
                            ": the port-forward was reconnecting" if unreachable else
                            " of waiting for the gateway") + ")"
                    if waited and unreachable:
                        exc.hint = ("`agw-sandbox status` says whether the gateway's pod is "
                                    "running; the port-forward reconnects by itself once it is")
                    raise
                if not waited:
                    waited = True
                    awaited = ("the port-forward to reconnect" if unreachable else
                               "the gateway to pick up the change")
                    self.emit(StepNote(state.scenario.id, step.id, state.ctx.masker(
                        f"{exc.message}; waiting up to {self.settle_time:g}s for {awaited}")))
            await asyncio.sleep(SETTLE_INTERVAL)

    async def _delete(self, state: ScenarioState, refs: list[ResourceRef]) -> str:
        done = []
        for ref in refs:
            self.emit(CommandLogged(shell_equivalents.delete(self.runtime.placed_ref(ref))))
            existed = await self.runtime.delete(ref)
            state.applied.pop(ref, None)
            self.emit(ResourceDeleted(ref, existed))
            done.append(f"{ref} {'deleted' if existed else 'was already gone'}")
        return "; ".join(done) or "nothing to delete"


def admit_as_written(authored: Sequence[Mapping[str, Any]],
                     applied: Sequence[Mapping[str, Any]], ctx: Context) -> None:
    """Judge each document the mock-provider redirect changed as its author wrote it, in the
    API server's words: the redirect must not make a manifest the API server refuses pass."""
    from sandbox.runtimes.sim import admission  # loaded only when a manifest is redirected

    for written, sent in zip(authored, applied, strict=True):
        if written != sent:
            admission.admit(written, profile=ctx.profile.name)


def check_response(answer: Answer, expect: Expectation, ctx: Context) -> str:
    """Raise :class:`StepFailed` unless every expectation holds; return what was seen.

    Expected text and models are compared with the answer as it came, not as it is shown:
    ``${token}`` is the key itself (a provider that reports it masked does not contain it),
    ``${token_masked}`` its masked form.
    """
    response = answer.view
    seen = f"{response.status} {response.reason} in {response.latency_ms:.0f} ms"
    if answer.stream_error:  # OpenAI's own client raises it: the answer failed mid-way
        raise StepFailed(f"the answer ({response.status} {response.reason}) carried an error "
                         f"from the provider in its stream: {answer.stream_error}",
                         STREAM_ERROR_HINT)
    if expect.status is not None and response.status != expect.status:
        raise StepFailed(f"expected status {expect.status}, got {seen}",
                         status_hint(response, ctx.provider))
    if expect.model and not (answer.model or "").startswith(expect.model):
        got = "an answer that names no model" if response.model is None else quoted(
            response.model)
        raise StepFailed(f"expected the answer to come from model {_named(expect.model, ctx)}, "
                         f"got {got}",
                         model_hint(answer, ctx))
    for wanted in expect.contains:
        if wanted not in answer.text:
            raise StepFailed(f"expected the response to contain {_named(wanted, ctx)}; it did "
                             f"not ({seen})", contains_hint(wanted, ctx))
    for unwanted in expect.lacks:
        if unwanted in answer.text:
            raise StepFailed(f"the response should not contain {_named(unwanted, ctx)}",
                             "the gateway forwarded something it should have replaced")
    return seen


def _named(expected: str, ctx: Context) -> str:
    """An expected text as a message shows it: each secret in it by its placeholder."""
    named = ctx.masker(swap_secrets(expected, ctx, lambda name: f"${{{name}}}"))
    return quoted(named) + (" (the secret itself, not its masked form)"
                          if named != ctx.masker(expected) else "")
