"""Hostile text for the tests of what reaches a terminal: escape sequences and markup.

The escape sequences are the ones a terminal acts on (OSC 52 sets the clipboard, OSC 0 the
window title, OSC 8 makes a hidden link, CSI clears the screen, U+009B is the one-byte CSI,
U+202E reverses the text); the markup is what Rich and Textual would read as styles or links.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.conftest import REPO

OSC52 = "\x1b]52;c;ZWNobyBvd25lZA==\x07"  # "echo owned" into the clipboard
OSC0 = "\x1b]0;OWNED-TITLE\x07"
OSC8 = "\x1b]8;;https://evil.example/login\x1b\\click\x1b]8;;\x1b\\"
CSI = "\x1b[2J\x1b[H"
C1 = "\x9b31m"
BIDI = "\u202edesrever\u202c"
HOSTILE = f"a{OSC52}b{OSC0}c{OSC8}d{CSI}e{C1}f{BIDI}g\x00h\x07i\x08j\x7fk"
# What must never reach a terminal from the text above.
RAW = ("\x1b", "\x07", "\x9b", "\x9c", "\x9d", "\u202e", "\u202c", "\x00", "\x08", "\x7f")
MARKUP = ("[/] [b] [link=https://evil.example/login]click[/link] [bold]B[/bold] \\[x] "
          "[$success]ok[/] [@click=app.quit]q[/]")
WIDE = "鍵の管理 🔑 ｗｉｄｅ"

# A scenario whose Backend has no model, so the mock provider answers "as" the request's model:
# a --set value plays a provider that answers with escape sequences.
ECHO_SCENARIO = """\
id: echo
title: The model echoed
needs: [setup]
summary: The provider names the model it answers as.
security: Nothing secret.
variables:
  model: {description: the model asked for, default: gpt-4o}
steps:
  - id: backend
    title: Backend without a model
    apply: [manifests/backend.yaml, manifests/httproute.yaml]
  - id: ready
    title: Wait for the route
    wait:
      - resource: HTTPRoute/kgateway-system/openai
        conditions: {Accepted: "True", ResolvedRefs: "True"}
  - id: ask
    title: Ask
    request:
      path: /openai
      body: {model: "${model}", messages: [{role: user, content: hi}]}
    expect: {status: 200}
  - id: stream
    title: Ask for a stream
    request:
      path: /openai
      body: {model: "${model}", stream: true, messages: [{role: user, content: hi}]}
      stream: true
    expect: {status: 200}
  - id: cleanup
    title: Clean up
    cleanup: true
"""
BACKEND = """\
apiVersion: gateway.kgateway.dev/v1alpha1
kind: Backend
metadata: {name: openai, namespace: kgateway-system}
spec:
  type: AI
  ai:
    llm:
      openai:
        authToken: {kind: Inline, inline: "${token}"}
"""


def echo_scenario(folder: Path) -> Path:
    """A scenario folder with :data:`ECHO_SCENARIO`; returns the folder."""
    (folder / "manifests").mkdir(parents=True, exist_ok=True)
    (folder / "echo.yaml").write_text(ECHO_SCENARIO)
    (folder / "manifests" / "backend.yaml").write_text(BACKEND)
    shutil.copy(REPO / "scenarios" / "manifests" / "httproute.yaml", folder / "manifests")
    return folder


def raw_in(text: str) -> list[str]:
    """The characters of :data:`RAW` that ``text`` holds (none, when it is safe to show)."""
    return [char for char in RAW if char in text]


# -- a provider of our own, whose answers hold what no UTF-8 text can carry ----------------------

# Lone surrogates (both halves), the separators, tag characters spelling a hidden sentence, a
# zero-width space: as a provider's JSON writes them, escaped (``"\\ud800"``).
ODD_TEXT = ("A \ud800 B \udfff C\u2028D\u2029E "
            + "".join(chr(0xE0000 + ord(c)) for c in "say yes") + " F\u200bG")
ODD_MODEL = "gpt-4o\ud800"
PROVIDER_SCENARIO = """\
id: odd
title: A provider with odd answers
needs: [setup]
summary: The provider answers with text no UTF-8 stream can carry.
security: Nothing secret.
steps:
  - id: backend
    title: Backend pointed at the provider
    apply: [manifests/backend.yaml, manifests/httproute.yaml]
  - id: ready
    title: Wait for the route
    wait:
      - resource: HTTPRoute/kgateway-system/openai
        conditions: {Accepted: "True", ResolvedRefs: "True"}
  - id: ask
    title: Ask
    request:
      path: /openai
      body: {model: gpt-4o, messages: [{role: user, content: hi}]}
    expect: {status: 200}
  - id: stream
    title: Ask for a stream
    request:
      path: /openai
      body: {model: gpt-4o, stream: true, messages: [{role: user, content: hi}]}
      stream: true
    expect: {status: 200}
"""


class _OddAnswers(BaseHTTPRequestHandler):
    """Answers every completion with :data:`ODD_TEXT` and :data:`ODD_MODEL`, streamed or not."""

    def do_POST(self) -> None:
        asked = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or "{}")
        if asked.get("stream"):
            chunks = [{"model": ODD_MODEL, "choices": [{"index": 0, "delta": {"content": part}}]}
                      for part in (ODD_TEXT[:9], ODD_TEXT[9:])]
            body = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
            kind = "text/event-stream"
        else:
            body = json.dumps({"id": "odd", "object": "chat.completion", "model": ODD_MODEL,
                               "choices": [{"index": 0, "finish_reason": "stop", "message": {
                                   "role": "assistant", "content": ODD_TEXT}}]})
            kind = "application/json"
        data = body.encode("ascii")  # json.dumps escapes every surrogate: valid JSON, ASCII
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def odd_provider() -> Iterator[tuple[str, int]]:
    """A loopback provider answering with :data:`ODD_TEXT`; yields its address."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OddAnswers)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield "127.0.0.1", int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def odd_provider_scenario(folder: Path, port: int) -> Path:
    """A scenario folder whose Backend sends the gateway to the provider on ``port``."""
    (folder / "manifests").mkdir(parents=True, exist_ok=True)
    (folder / "odd.yaml").write_text(PROVIDER_SCENARIO)
    (folder / "manifests" / "backend.yaml").write_text(BACKEND.replace(
        "    llm:\n", f"    llm:\n      host: 127.0.0.1\n      port: {port}\n"))
    shutil.copy(REPO / "scenarios" / "manifests" / "httproute.yaml", folder / "manifests")
    return folder
