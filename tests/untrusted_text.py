"""Hostile text for the tests of what reaches a terminal: escape sequences and markup.

The escape sequences are the ones a terminal acts on (OSC 52 sets the clipboard, OSC 0 the
window title, OSC 8 makes a hidden link, CSI clears the screen, U+009B is the one-byte CSI,
U+202E reverses the text); the markup is what Rich and Textual would read as styles or links.
"""

from __future__ import annotations

import shutil
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
