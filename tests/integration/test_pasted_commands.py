"""Every command the sandbox prints, pasted into bash, runs the intended tool and nothing else.

The scenario text holds ``$(…)``, backticks and quotes in a header, the body and a manifest. The
printed commands are run by a real ``bash`` with stub ``curl`` and ``kubectl`` on PATH that
record the arguments (and the manifest on stdin) they got.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO, TOKEN
from tests.helpers import run_cli

HOSTILE = "$(touch pwned-1) `touch pwned-2` it's \"quoted\" \\ $HOME ; touch pwned-3 #"
SCENARIO = """\
id: hostile
title: Hostile text
needs: [setup]
summary: Scenario text that holds shell syntax.
security: None.
steps:
  - id: backend
    title: Backend and route
    apply: [manifests/backend.yaml, manifests/route.yaml]
  - id: ready
    title: Wait for the Backend
    wait:
      - resource: Backend/kgateway-system/openai
        conditions: {Accepted: "True"}
  - id: ask
    title: Ask
    request:
      method: POST
      path: /openai
      headers:
        X-Note: %(hostile)s
        Authorization: "Bearer ${token}"
      body:
        model: ""
        messages:
          - {role: user, content: %(hostile)s}
    expect:
      status: 200
  - id: cleanup
    title: Clean up
    cleanup: true
"""
BACKEND = """\
apiVersion: gateway.kgateway.dev/v1alpha1
kind: Backend
metadata:
  name: openai
  namespace: kgateway-system
  annotations:
    note: %(hostile)s
spec:
  type: AI
  ai:
    llm:
      openai:
        authToken:
          kind: Inline
          inline: ${token}
        model: gpt-3.5-turbo
"""
STUB = """\
#!%(python)s
import json, os, sys
stdin = sys.stdin.read() if sys.argv[1:2] == ["apply"] else None
with open(os.environ["STUB_LOG"], "a") as log:
    log.write(json.dumps({"tool": os.path.basename(sys.argv[0]), "argv": sys.argv[1:],
                          "stdin": stdin}) + "\\n")
"""


@pytest.fixture
def hostile_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "scenarios"
    (folder / "manifests").mkdir(parents=True)
    quoted = json.dumps(HOSTILE)
    (folder / "hostile.yaml").write_text(SCENARIO % {"hostile": quoted})
    (folder / "manifests/backend.yaml").write_text(BACKEND % {"hostile": quoted})
    route = (REPO / "scenarios/manifests/httproute.yaml").read_text()
    (folder / "manifests/route.yaml").write_text(route.replace(
        "  namespace: kgateway-system\n", f"  namespace: kgateway-system\n  annotations:\n"
        f"    note: {quoted}\n", 1))
    return folder


def _ports_blanked(text: str) -> str:
    return re.sub(r"\b\d{4,5}\b", "PORT", text)


def run_in_bash(command: str, tmp_path: Path, token: str = TOKEN) -> list[dict[str, Any]]:
    """Run pasted text as a user would; return what each stub tool received."""
    stubs = tmp_path / "stubs"
    if not stubs.exists():
        stubs.mkdir()
        for tool in ("curl", "kubectl"):
            (stubs / tool).write_text(STUB % {"python": sys.executable})
            (stubs / tool).chmod(0o755)
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    log = tmp_path / "stub.log"
    log.unlink(missing_ok=True)
    env = {"PATH": f"{stubs}:/usr/bin:/bin", "HOME": str(tmp_path / "home"),
           "AGW_SANDBOX_TOKEN": token, "STUB_LOG": str(log)}
    done = subprocess.run(["bash", "-c", command], env=env, cwd=work, capture_output=True,
                          text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    assert not list(tmp_path.rglob("pwned*")), f"the pasted text ran more than it should: {command}"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


@pytest.mark.skipif(shutil.which("envsubst") is None, reason="envsubst (gettext-base) missing")
def test_every_printed_command_runs_only_the_intended_tool(
        cli_env: dict[str, str], hostile_dir: Path, tmp_path: Path) -> None:
    args = ("run", "hostile", "--runtime", "sim", "--port", "0", "--scenarios", str(hostile_dir))
    printed = run_cli(*args, "-v", env=cli_env, cwd=tmp_path)
    document = json.loads(run_cli(*args, "--json", env=cli_env, cwd=tmp_path).stdout)
    assert printed.returncode == 0 and document["passed"], printed.stdout + printed.stderr
    steps = {s["id"]: s for scenario in document["scenarios"] for s in scenario["steps"]}
    shown = _ports_blanked(printed.stdout)  # each run has its own ports
    commands = [c for s in steps.values() for c in s["commands"]]
    assert commands, "nothing to paste"
    for command in commands:
        for call in run_in_bash(command, tmp_path):
            assert call["tool"] in ("curl", "kubectl")
        assert command.count("\n") == 0 or "<<'" in command or command.startswith("kubectl wait")
        assert f"$ {_ports_blanked(command)}\n" in shown  # -v prints what is run here

    backend = next(c for c in steps["backend"]["commands"] if "kind: Backend" in c)
    (call,) = run_in_bash(backend, tmp_path)
    assert call["argv"] == ["apply", "--server-side", "--field-manager=agw-sandbox", "-f", "-"]
    applied = yaml.safe_load(call["stdin"])
    assert applied["metadata"]["annotations"]["note"] == HOSTILE
    assert applied["spec"]["ai"]["llm"]["openai"]["authToken"]["inline"] == TOKEN
    assert TOKEN not in backend

    (curl,) = steps["ask"]["commands"]
    assert curl == steps["ask"]["request"]["curl"] and TOKEN not in curl
    (call,) = run_in_bash(curl, tmp_path)
    assert call["argv"][:2] == ["-sS", document["gateway_url"] + "/openai"]
    headers = [call["argv"][i + 1] for i, a in enumerate(call["argv"]) if a == "-H"]
    assert headers == [f"X-Note: {HOSTILE}", f"Authorization: Bearer {TOKEN}",
                       "content-type: application/json"]
    assert call["argv"][-2] == "-d"
    assert json.loads(call["argv"][-1]) == {"model": "", "messages": [
        {"role": "user", "content": HOSTILE}]}


def test_a_key_full_of_shell_syntax_reaches_curl_through_the_variable_only(
        cli_env: dict[str, str], tmp_path: Path) -> None:
    key = "sk-test-'\"$(touch${IFS}pwned-key)`touch${IFS}pwned-key2`;-c5Ge"
    result = run_cli("run", "passthrough", "--runtime", "sim", "--port", "0", "--json",
                     env={**cli_env, "AGW_SANDBOX_TOKEN": key}, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    steps = json.loads(result.stdout)["scenarios"][-1]["steps"]
    pasted = [s["request"]["curl"] for s in steps if "request" in s][-1]
    assert "touch" not in pasted
    (call,) = run_in_bash(pasted, tmp_path, key)
    assert f"Authorization: Bearer {key}" in call["argv"]


@pytest.mark.parametrize("path", ["/openai?filter[model]=gpt", "/openai/{x}", "/openai/[1-3]"])
def test_a_copied_curl_sends_a_path_with_brackets_as_written(path: str, tmp_path: Path) -> None:
    """curl reads [] and {} in a URL as a glob (and refuses "[1-3]x" or sends three requests):
    the copied command turns that off, so the path arrives as the scenario wrote it."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    from sandbox.catalog.loader import load_catalog
    from sandbox.catalog.scenarios import RequestSpec
    from sandbox.walkthrough.render import make_context, render_request
    from sandbox.walkthrough.shell_equivalents import curl

    seen: list[str] = []

    class Recorder(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        ctx = make_context(load_catalog().get("inline"), TOKEN, "mock", None)
        command = curl(render_request(RequestSpec("GET", path), ctx),
                       f"http://127.0.0.1:{server.server_address[1]}", ctx)
        done = subprocess.run(["bash", "-c", command], capture_output=True, text=True,
                              timeout=30, check=False, env={"PATH": "/usr/bin:/bin"})
    finally:
        server.shutdown()
        server.server_close()
    assert done.returncode == 0, done.stderr
    assert seen == [path]


# Keys YAML would read as something else, were the key put in place as a plain scalar: numbers,
# booleans, null, an anchor, an alias, a tag, flow collections, indicators, a comment.
ODD_KEYS = ["12345678", "0x1234abcd", "0777", "1e3", ".inf", "true", "yes", "on", "NO", "null",
            "~", "&abc12345", "*abc12345", "!abc12345", "!!binary", "[abc12345", "{abc12345",
            "@abc12345", "`abc12345", "|abc12345", ">abc12345", "'abc12345", '"abc12345',
            "%abc12345", "#abc12345", "abc#12345", "-abc12345", "?abc12345", ":abc12345",
            "abc:12345", "sk-test-\\back\\slash", "2026-12-04", "=", "<<"]


@pytest.mark.skipif(shutil.which("envsubst") is None, reason="envsubst (gettext-base) missing")
@pytest.mark.parametrize("key", ODD_KEYS)
def test_a_printed_apply_hands_kubectl_the_key_as_text_whatever_its_shape(
        key: str, tmp_path: Path) -> None:
    from sandbox.catalog.loader import load_catalog
    from sandbox.walkthrough.render import make_context
    from sandbox.walkthrough.shell_equivalents import apply

    ctx = make_context(load_catalog().get("inline"), key, "mock", None)
    backend = {"kind": "Backend", "spec": {"authToken": {"kind": "Inline", "inline": key}}}
    secret = {"kind": "Secret", "stringData": {"Authorization": f"Bearer {key}"}}
    for manifest in (backend, secret):
        command = apply(manifest, ctx)
        (call,) = run_in_bash(command, tmp_path, token=key)
        assert yaml.safe_load(call["stdin"]) == manifest, call["stdin"]
