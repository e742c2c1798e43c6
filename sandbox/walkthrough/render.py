"""Turning scenario templates into the exact manifests and requests for one run."""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import field, replace
from typing import Any

from sandbox.catalog.scenario_file import MASKED_SUFFIX, PLACEHOLDER
from sandbox.catalog.scenarios import Expectation, Manifest, RequestSpec, RequestStep, Scenario
from sandbox.documents import decimal_digits, dump_all, writable_number
from sandbox.errors import SandboxError
from sandbox.profiles import PROFILES, Profile
from sandbox.profiles.backend_api import provider_endpoint
from sandbox.records import record
from sandbox.settings import check_key
from sandbox.untrusted import quoted
from sandbox.walkthrough.key_mask import mask_key
from sandbox.walkthrough.masking import Masker, map_strings, secret_pattern

# What stands, in a document's texts masked as one, for texts between them that hold no piece
# of a key: a character no key has (keys are printable ASCII), nor one that may split a key.
_APART = "§"
TOKEN_ENV = {"mock": "AGW_SANDBOX_TOKEN", "openai": "OPENAI_API_KEY"}


@record
class Context:
    """The values a run substitutes, and which of them are secret."""

    values: Mapping[str, str] = field(repr=False)  # holds the keys: kept out of tracebacks
    secret_names: frozenset[str]
    provider: str
    profile: Profile
    mock_upstream: tuple[str, int] | None = None
    masker: Masker = field(default_factory=Masker)

    @property
    def secrets(self) -> dict[str, str]:
        """Each secret variable that has a value, by name."""
        return {name: self.values[name] for name in sorted(self.secret_names)
                if self.values.get(name)}

    def env_name(self, variable: str) -> str:
        """The shell variable a copied command uses in place of a secret."""
        return TOKEN_ENV.get(self.provider, "TOKEN") if variable == "token" else variable.upper()


def make_context(scenario: Scenario, token: str, provider: str,
                 mock_upstream: tuple[str, int] | None,
                 overrides: Mapping[str, str] | None = None) -> Context:
    values: dict[str, str] = {"token": token}
    for variable in scenario.variables:
        if variable.default is not None and variable.name not in values:
            values[variable.name] = variable.default
    values.update(overrides or {})
    secret_names = frozenset(scenario.secret_variables)
    for name in secret_names:
        if values.get(name):  # refused up front: an odd character would leak or break things
            source = f"--set {name}" if name in (overrides or {}) else f"variable {quoted(name)}"
            values[name] = check_key(values[name], source)
        values[name + MASKED_SUFFIX] = mask_key(values.get(name, ""))
    masker = Masker(values[name] for name in secret_names if values.get(name))
    return Context(values, secret_names, provider, PROFILES[scenario.profile], mock_upstream,
                   masker)


def check_overrides(scenarios: Sequence[Scenario], overrides: Mapping[str, str]) -> None:
    """Refuse a ``--set`` that no chosen scenario would use (a typo would pass unnoticed)."""
    declared = sorted({v.name for s in scenarios for v in s.variables if v.name != "token"})
    for name in overrides:
        if name == "token":
            raise SandboxError("--set token=... is not how the key is given",
                               "pass the key with AGW_SANDBOX_TOKEN (or --token): it is then "
                               "checked and masked")
        if name not in declared:
            chosen = ", ".join(s.id for s in scenarios)
            raise SandboxError(
                f"--set {name}: no variable named {quoted(name)} in the chosen scenarios "
                f"({chosen})",
                f"variables they declare: {', '.join(declared)}" if declared else
                "they declare no variables; drop the --set")


def substitute(value: Any, values: Mapping[str, str]) -> Any:
    """Replace ``${name}`` in every string of a nested value (keys included)."""
    if isinstance(value, str):
        return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), value)
    if isinstance(value, Mapping):
        return {substitute(k, values): substitute(v, values) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [substitute(v, values) for v in value]
    return value


def authored_manifest(manifest: Manifest, ctx: Context) -> list[dict[str, Any]]:
    """The documents as the scenario's author wrote them, the variables filled in."""
    return [substitute(copy.deepcopy(doc), ctx.values) for doc in manifest.documents]


def render_manifest(manifest: Manifest, ctx: Context) -> list[dict[str, Any]]:
    """The documents as applied and shown: with the mock provider, redirected to it."""
    return [with_upstream(doc, ctx) for doc in authored_manifest(manifest, ctx)]


def _provider_node(doc: Mapping[str, Any], ctx: Context) -> dict[str, Any] | None:
    """Where an LLM backend's upstream is set (``spec.ai.llm`` or ``spec.ai.provider``)."""
    if ctx.mock_upstream is None or doc.get("kind") != ctx.profile.backend_kind:
        return None
    node: Any = doc
    for key in ctx.profile.upstream_path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node if isinstance(node, dict) else None


def with_upstream(doc: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """With the mock provider, a copy of an LLM backend pointed at it (host, port and what
    the profile's strategy adds); any other document as it is."""
    if _provider_node(doc, ctx) is None or ctx.mock_upstream is None:
        return doc
    redirected = copy.deepcopy(doc)
    node = _provider_node(redirected, ctx)
    assert node is not None
    ctx.profile.backend_api.redirect(node, ctx.mock_upstream)
    return redirected


def upstream_note(ctx: Context, docs: Iterable[Mapping[str, Any]]) -> str | None:
    """What the redirect changed in the backends among ``docs``, and whom it stands in for."""
    notes = []
    for doc in docs:
        node = _provider_node(doc, ctx)
        if node is None or ctx.mock_upstream is None:
            continue
        fields = ctx.profile.backend_api.redirect(copy.deepcopy(node), ctx.mock_upstream)
        llm = ctx.profile.backend_api.read(doc)
        provider = llm.provider if llm is not None else "openai"
        host, port = ctx.mock_upstream
        where = ".".join(ctx.profile.upstream_path)
        note = (f"Differs from the documented manifest: {where}.{'/'.join(fields)} "
                f"({host}:{port}) send the gateway to the mock provider instead of "
                f"{provider_endpoint(provider)}.")
        if provider != "openai":
            note += (" The mock speaks only OpenAI's API, so a request through the "
                     f"{provider} provider fails there.")
        notes.append(note)
    if not notes:
        return None
    return " ".join(dict.fromkeys(notes)) + " Everything else is as documented."


@record
class RenderedRequest:
    method: str
    path: str
    headers: tuple[tuple[str, str], ...] = field(repr=False)
    body: bytes | None = field(repr=False)
    stream: bool
    payload: Any = field(default=None, repr=False)  # the body before encoding, for masking


def render_request(spec: RequestSpec, ctx: Context) -> RenderedRequest:
    headers = [(k, str(substitute(v, ctx.values))) for k, v in spec.headers]
    payload: Any = None
    if spec.body is not None:
        payload = substitute(spec.body, ctx.values)
        if not isinstance(payload, str):
            if spec.stream and isinstance(payload, dict):
                payload = {**payload, "stream": True}
            if not any(k.lower() == "content-type" for k, _ in headers):
                headers.append(("content-type", "application/json"))
    return RenderedRequest(spec.method, str(substitute(spec.path, ctx.values)), tuple(headers),
                           encode_body(payload), spec.stream, payload)


def encode_body(payload: Any, compact: bool = False) -> bytes | None:
    """The bytes sent for a payload: text as it is, anything else as JSON."""
    if payload is None:
        return None
    if isinstance(payload, str):
        return payload.encode()
    try:
        if compact:
            return json.dumps(payload, ensure_ascii=False).encode()
        return json.dumps(payload, indent=2).encode()
    except ValueError as exc:  # only a number past Python's digit limit: the loader refuses them
        digits = max((decimal_digits(n) for n in _numbers(payload)), default=0)
        raise SandboxError(
            f"the request body holds a number of about {digits} digits, more than the "
            f"{sys.get_int_max_str_digits()} digits JSON may carry here",
            "write the number in quotes, as text, in the scenario's request body") from exc


def _numbers(value: Any) -> Iterator[int]:
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        for item in value:
            yield from _numbers(item)
    elif type(value) is int and not writable_number(value):
        yield value


def masked_request(request: RenderedRequest, ctx: Context) -> RenderedRequest:
    """The request as it may be shown: secrets masked in the values, before any encoding, its
    path, headers and body as one text (a key cut across values, or a header and the body, is
    masked in each, as a manifest is)."""
    path, headers, payload = masked_together(
        [request.path, [list(header) for header in request.headers], request.payload],
        ctx.masker)
    return replace(request, path=path, headers=tuple((k, v) for k, v in headers),
                   body=encode_body(payload), payload=payload)


def shown_yaml(docs: Iterable[Any], ctx: Context) -> str:
    """Manifests as YAML for the screen: every secret masked before the YAML is written (the
    YAML stays valid however a key is disguised in a value), and the written documents masked
    again as a whole, as `run` masks what it shows (a key cut into pieces across fields)."""
    return ctx.masker(dump_all(masked_together(list(docs), ctx.masker)))


def shown_yamls(docs: Sequence[Any], ctx: Context) -> list[str]:
    """Each document as :func:`shown_yaml` writes it alone, masked with the others as one text
    (a key cut across a List's items, or a file's documents, is masked in each)."""
    return [ctx.masker(dump_all([doc])) for doc in masked_together(list(docs), ctx.masker)]


def masked_together(value: Any, masker: Masker) -> Any:
    """A copy of a nested value with its strings (mapping keys included) masked as one text,
    read in the order YAML writes them, as the `kubectl apply` block masks the whole document:
    a key's beginning in a name and its rest in values elsewhere are one key, masked in each
    (masked alone first, the beginning would be gone and the rest short pieces of nothing).
    Texts that can hold no piece of a key (``apiVersion``, ``ConfigMap``) are masked alone, a
    mark standing for them in that text: fields, not prose, stand between a document's values,
    and between a List's items or a file's documents there are many (they would part the
    pieces further than prose does); the mark still parts the pieces they parted."""
    texts: list[str] = []

    def read(text: str) -> str:
        texts.append(text)
        return text

    map_strings(value, read)
    held = [masker.may_hold_part(text) for text in texts]
    joined: list[str] = []
    marks: set[int] = set()  # where in ``joined`` the marks are
    for text, holds in zip(texts, held, strict=True):
        if holds:
            joined.append(text)
        elif len(joined) - 1 not in marks:
            marks.add(len(joined))
            joined.append(_APART)
    masked = iter(shown for at, shown in enumerate(masker.each(joined)) if at not in marks)
    shown = iter([next(masked) if holds else masker(text)
                  for text, holds in zip(texts, held, strict=True)])
    return map_strings(value, lambda text: next(shown))


def swap_secrets(value: Any, ctx: Context, stand_in: Callable[[str], str]) -> Any:
    """A copy of ``value`` with each secret, in every string, replaced by ``stand_in(name)``."""
    secrets = ctx.secrets
    pattern = secret_pattern(secrets.values())
    if pattern is None:
        return value
    names = {secret: name for name, secret in secrets.items()}
    return map_strings(value, lambda text: pattern.sub(lambda m: stand_in(names[m.group(0)]),
                                                       text))


def expectation(step: RequestStep, ctx: Context) -> Expectation:
    merged = step.expect.merged(step.expect_with_mock) if ctx.provider == "mock" else step.expect
    return Expectation(
        merged.status, substitute(merged.model, ctx.values) if merged.model else None,
        tuple(substitute(t, ctx.values) for t in merged.contains),
        tuple(substitute(t, ctx.values) for t in merged.lacks),
    )
