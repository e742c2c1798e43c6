"""The plain commands a user could type to do by hand what the sandbox just did.

Every piece of text meant to be pasted into a shell is built here. Everything is single-quoted
with ``shlex.quote``; the only text left to the shell is a ``"$VAR"`` standing for a secret
(``"$AGW_SANDBOX_TOKEN"``), and heredocs are quoted (``<<'EOF'``), so whatever a scenario,
a manifest or a typed request holds (``$(…)``, backticks, quotes) reaches the tool as text.
"""

from __future__ import annotations

import json
import re
import secrets
import shlex
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sandbox.documents import BlockText, dump
from sandbox.errors import SandboxError
from sandbox.profiles import FIELD_MANAGER
from sandbox.runtimes.runtime import ResourceRef, WaitFor
from sandbox.walkthrough.render import Context, RenderedRequest, masked_together, swap_secrets

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _env_name(ctx: Context, name: str) -> str:
    env = ctx.env_name(name)
    if not _ENV_NAME.fullmatch(env):  # never let a variable name carry shell syntax
        raise SandboxError(f"secret variable {name!r} has no usable shell variable name",
                           "name secret variables with letters, digits and underscores")
    return env


class _StandIns:
    """Markers that take a secret's place in a value and survive JSON or YAML unchanged."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._nonce = secrets.token_hex(8)
        self._markers: dict[str, str] = {}  # environment variable -> marker
        self._env: dict[str, str] = {}  # marker -> environment variable

    def __call__(self, name: str) -> str:
        env = _env_name(self._ctx, name)
        if env not in self._markers:
            marker = f"agwsecret{self._nonce}x{len(self._markers)}z"
            self._markers[env], self._env[marker] = marker, env
        return self._markers[env]

    def word(self, text: str) -> str:
        """``text`` single-quoted, each marker replaced by ``"$VAR"`` outside the quotes."""
        if not self._env:
            return shlex.quote(text)
        pattern = re.compile("|".join(re.escape(m) for m in self._env))
        out, last = [], 0
        for match in pattern.finditer(text):
            if match.start() > last:
                out.append(shlex.quote(text[last:match.start()]))
            out.append(f'"${self._env[match.group(0)]}"')
            last = match.end()
        if last < len(text) or not out:
            out.append(shlex.quote(text[last:]))
        return "".join(out)


def curl(request: RenderedRequest, base_url: str, ctx: Context) -> str:
    """A runnable curl; each secret is "$VAR" so the command carries no key."""
    stand_in = _StandIns(ctx)
    body = request.payload
    if body is None and request.body:
        body = request.body.decode("utf-8", "replace")
    # Masked as one text, as the request pane shows it: a key cut across the body's values,
    # or between a header and the body, is masked in each
    url, headers, payload = masked_together(swap_secrets(
        [base_url.rstrip("/") + request.path, [list(header) for header in request.headers],
         body],
        ctx, stand_in), ctx.masker)
    parts = ["curl", "-sS"]
    if any(glob in url for glob in "[]{}"):
        parts.append("-g")  # curl reads [] and {} in a URL as a glob: send the path as written
    if request.method != ("POST" if request.body else "GET"):
        parts += ["-X", shlex.quote(request.method)]
    parts.append(stand_in.word(url))
    for key, value in headers:
        parts += ["-H", stand_in.word(f"{key}: {value}")]
    if payload is not None:
        text = payload if isinstance(payload, str) else _json_text(payload)
        parts += ["-d", stand_in.word(text)]
    return " ".join(parts)


def _json_text(payload: Any) -> str:
    """JSON as sent, readable: other languages' letters as they are, and a lone surrogate
    (``"\\ud800"`` in the JSON typed, which no terminal or clipboard can carry) as that same
    escape, which sends the same JSON."""
    text = json.dumps(payload, ensure_ascii=False)
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def variables_in(command: str) -> list[str]:
    """The shell variables a command built here expands: each ``"$VAR"`` outside single quotes.

    (Inside single quotes, ``"$VAR"`` is text the command sends, not a variable.)
    """
    found: list[str] = []
    index, single = 0, False
    while index < len(command):
        char = command[index]
        if single:
            single = char != "'"
        elif char == "'":
            single = True
        elif char == '"':
            end = command.find('"', index + 1)
            word = command[index + 1:end if end >= 0 else len(command)]
            if word.startswith("$") and _ENV_NAME.fullmatch(word[1:]):
                found.append(word[1:])
            index = end if end >= 0 else len(command)
        index += 1
    return list(dict.fromkeys(found))


def apply(doc: Mapping[str, Any], ctx: Context) -> str:
    """``kubectl apply`` of one manifest from a quoted heredoc, with no key in it."""
    return applies([doc], ctx)[0]


def applies(docs: Sequence[Mapping[str, Any]], ctx: Context) -> list[str]:
    """``kubectl apply`` of each manifest from a quoted heredoc, with no key in it.

    A secret is written ``${VAR}`` and filled in by ``envsubst``, which substitutes only the
    variables it is given and runs nothing.
    """
    used: list[list[str]] = [[] for _ in docs]

    def stand_in(doc_used: list[str]) -> Callable[[str], str]:
        def written(name: str) -> str:
            env = _env_name(ctx, name)
            doc_used.extend([env] if env not in doc_used else [])
            return "${" + env + "}"
        return written

    # Masked as one text, as the applied objects are shown: a key cut across their fields (a
    # name, then values, in one object or in several) is masked in each, however far apart.
    keyless = masked_together([swap_secrets(dict(doc), ctx, stand_in(doc_used))
                               for doc, doc_used in zip(docs, used, strict=True)], ctx.masker)
    return [_apply_command(doc, doc_used) for doc, doc_used in zip(keyless, used, strict=True)]


def _apply_command(keyless: Any, used: list[str]) -> str:
    text = dump(_as_block_text(keyless, used)).rstrip()
    end = _delimiter(text)
    kubectl = f"kubectl apply --server-side --field-manager={shlex.quote(FIELD_MANAGER)} -f -"
    if used:
        formats = shlex.quote(" ".join(f"${env}" for env in used))
        return f"envsubst {formats} <<'{end}' | {kubectl}\n{text}\n{end}"
    return f"{kubectl} <<'{end}'\n{text}\n{end}"


def _as_block_text(value: Any, variables: list[str]) -> Any:
    """Every string that ``envsubst`` will fill in, marked to be written as a literal block: a
    key such as ``12345678``, ``true``, ``~`` or ``*abc`` would otherwise reach kubectl as a
    number, a boolean, null or an alias."""
    if isinstance(value, dict):
        return {key: _as_block_text(item, variables) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_block_text(item, variables) for item in value]
    if isinstance(value, str) and any("${" + env + "}" in value for env in variables):
        return BlockText(value)
    return value


def _delimiter(text: str) -> str:
    """``EOF``, or a variant no line of ``text`` equals, so the heredoc ends where it should."""
    lines = set(text.splitlines())
    end, n = "EOF", 0
    while end in lines:
        n += 1
        end = f"EOF{n}"
    return end


def _resource(ref: ResourceRef) -> str:
    return f"{shlex.quote(ref.kind.lower() + '/' + ref.name)} -n {shlex.quote(ref.namespace)}"


def wait(wait_for: WaitFor) -> str:
    if wait_for.ref.kind == "HTTPRoute":
        return (f"kubectl get {_resource(wait_for.ref)} "
                "-o jsonpath='{.status.parents[*].conditions}'")
    lines = [f"kubectl wait {_resource(wait_for.ref)} "
             f"{shlex.quote(f'--for=condition={c.type}={c.status}')} "
             f"--timeout={shlex.quote(f'{wait_for.timeout:g}s')}" for c in wait_for.conditions]
    return "\n".join(lines)


def delete(ref: ResourceRef) -> str:
    return f"kubectl delete {_resource(ref)} --ignore-not-found"

