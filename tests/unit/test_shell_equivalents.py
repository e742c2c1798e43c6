"""Pasteable commands: everything single-quoted, secrets only as "$VAR", heredocs quoted."""

from __future__ import annotations

import json
import re
import shlex

import yaml

from sandbox.catalog.loader import load_catalog
from sandbox.catalog.scenarios import RequestSpec
from sandbox.runtimes.runtime import ConditionExpectation, ResourceRef, WaitFor
from sandbox.walkthrough.render import make_context, masked_request, render_request
from sandbox.walkthrough.shell_equivalents import apply, curl, delete, variables_in, wait
from tests.conftest import TOKEN

HOSTILE = "$(touch pwned) `id` it's \"quoted\" \\ ${HOME} ;|&"
CTX = make_context(load_catalog().get("inline"), TOKEN, "mock", None)


def test_curl_leaves_only_the_token_variable_to_the_shell() -> None:
    spec = RequestSpec("POST", "/openai", (("X-Note", HOSTILE), ("Authorization",
                                                                  "Bearer ${token}")),
                       {"messages": [{"content": HOSTILE}], "key": "${token}"}, False)
    command = curl(render_request(spec, CTX), "http://127.0.0.1:8080", CTX)
    assert TOKEN not in command
    left_to_the_shell = re.sub(r"'[^']*'|\"'\"|\"\$AGW_SANDBOX_TOKEN\"", "", command)
    assert re.fullmatch(r"[\w@%+=:,./ -]*", left_to_the_shell), left_to_the_shell
    words = shlex.split(command.replace('"$AGW_SANDBOX_TOKEN"', "KEY"))
    assert words[:3] == ["curl", "-sS", "http://127.0.0.1:8080/openai"]
    assert words[words.index("-H") + 1] == f"X-Note: {HOSTILE}"
    assert "Authorization: Bearer KEY" in words
    assert json.loads(words[-1]) == {"messages": [{"content": HOSTILE}], "key": "KEY"}


def test_the_request_shown_in_the_panes_is_masked_before_it_is_encoded() -> None:
    key = "sk-test-\"quoted\\back-slashed-c5Ge"  # JSON would write \" and \\
    ctx = make_context(load_catalog().get("inline"), key, "mock", None)
    spec = RequestSpec("POST", "/openai", (("Authorization", "Bearer ${token}"),),
                       {"note": "${token}"}, False)
    shown = masked_request(render_request(spec, ctx), ctx)
    assert json.loads(shown.body or b"") == {"note": "sk-…c5Ge"}
    assert dict(shown.headers)["Authorization"] == "Bearer sk-…c5Ge"


def test_apply_uses_a_quoted_heredoc_and_envsubst_only_for_secrets() -> None:
    plain = {"kind": "ConfigMap", "metadata": {"name": "x", "annotations": {"a": HOSTILE}}}
    command = apply(plain, CTX)
    assert command.startswith("kubectl apply --server-side --field-manager=agw-sandbox -f - "
                              "<<'EOF'\n") and command.endswith("\nEOF")
    assert yaml.safe_load(command.split("\n", 1)[1].rsplit("\n", 1)[0]) == plain
    with_key = {"kind": "Backend", "spec": {"inline": TOKEN, "note": HOSTILE}}
    command = apply(with_key, CTX)
    assert TOKEN not in command
    assert command.startswith("envsubst '$AGW_SANDBOX_TOKEN' <<'EOF' | kubectl apply ")
    assert "inline: |-\n    ${AGW_SANDBOX_TOKEN}\n" in command  # text, whatever the key


def test_resource_names_and_conditions_are_quoted() -> None:
    ref = ResourceRef("Backend", "x$(touch pwned)", "ns`id`")
    assert shlex.split(delete(ref)) == ["kubectl", "delete", "backend/x$(touch pwned)", "-n",
                                        "ns`id`", "--ignore-not-found"]
    command = wait(WaitFor(ref, (ConditionExpectation("Ready$(id)", "True"),), 30.0))
    assert shlex.split(command)[5] == "--for=condition=Ready$(id)=True"


def test_the_variables_a_curl_reads_are_only_those_outside_its_quotes() -> None:
    spec = RequestSpec("POST", "/openai", (("X-Note", f'"$NOT_READ" {HOSTILE}'),
                                           ("Authorization", "Bearer ${token}")),
                       {"note": '"$ALSO_NOT_READ"'}, False)
    command = curl(render_request(spec, CTX), "http://127.0.0.1:8080", CTX)
    assert variables_in(command) == ["AGW_SANDBOX_TOKEN"]
    keyless = RequestSpec("GET", "/openai", (("X-Note", HOSTILE),), None, False)
    assert variables_in(curl(render_request(keyless, CTX), "http://127.0.0.1:8080", CTX)) == []
