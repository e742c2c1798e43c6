"""`agw-sandbox serve` in a real browser: Debian's chromium driven by Playwright.

The terminal is drawn on a canvas, so the page's DOM holds no text: the screen is read from the
xterm.js buffer of the page's terminal, captured by an init script when textual-serve's front end
assigns it. A screenshot is kept in tests/artifacts/ (git-ignored).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.walkthrough.key_mask import mask_key

CHROMIUM = (os.environ.get("AGW_SANDBOX_CHROMIUM") or shutil.which("chromium")
            or "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CANARY = "sk-test-canary-Pq7Wm2Xz9Lk4Vb8Nc3Jh6Tf1"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# textual-serve keeps its xterm.js Terminal in a closure; catch it as it is stored on `terminal`.
CAPTURE_TERMINAL = """
Object.defineProperty(Object.prototype, "terminal", {configurable: true, set(value) {
  Object.defineProperty(this, "terminal", {value, writable: true, configurable: true,
                                           enumerable: true});
  if (value && value.buffer && !window.agwTerminal) { window.agwTerminal = value; }
}});
"""
SCREEN_TEXT = """() => {
  const buffer = window.agwTerminal ? window.agwTerminal.buffer.active : null;
  if (!buffer) { return ""; }
  const lines = [];
  for (let y = 0; y < buffer.length; y++) { lines.push(buffer.getLine(y).translateToString(true)); }
  return lines.join("\\n");
}"""

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')")
if not Path(CHROMIUM).is_file():
    pytest.skip(f"no chromium at {CHROMIUM}: the browser test needs Debian's chromium package "
                "(.ci/run installs it as root: apt-get install chromium)", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found += [int(child) for child in task.read_text().split()]
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def wait_until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
           "AGW_SANDBOX_TOKEN": CANARY, "DOCKER_HOST": "unix:///nonexistent.sock"}
    port = free_port()
    serve = subprocess.Popen([sys.executable, "-m", "sandbox", "serve", "--runtime", "sim",
                              "--port", str(port)], env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_until(lambda: listening(port), 20, "serve to listen")
        yield serve, port
    finally:
        if serve.poll() is None:
            serve.send_signal(signal.SIGTERM)
        out, err = serve.communicate(timeout=30)
        assert CANARY not in out + err


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=CHROMIUM, args=FLAGS,
            headless=True, viewport={"width": 1500, "height": 1000})
        try:
            page = context.new_page()
            page.add_init_script(CAPTURE_TERMINAL)
            yield page
        finally:
            context.close()


def screen(page: Any) -> str:
    return str(page.evaluate(SCREEN_TEXT))


def press_until(page: Any, key: str, text: str, timeout: float = 30) -> str:
    """Press ``key`` and wait until ``text`` is on the terminal; return the screen."""
    page.keyboard.press(key)

    def shown() -> str:
        current = screen(page)
        return current if text in current else ""

    return str(wait_until(shown, timeout, f"{text!r} on the page after {key!r}"))


def test_a_presenter_serves_the_app_and_an_attendee_runs_it_in_chromium(
        served: tuple[subprocess.Popen[str], int], page: Any) -> None:
    serve, port = served
    page.goto(f"http://127.0.0.1:{port}/")
    wait_until(lambda: "Welcome to agw-sandbox" in screen(page), 30, "the welcome screen")
    page.focus("textarea.xterm-helper-textarea")  # the terminal's keyboard input
    press_until(page, "Enter", "Set up the gateway")
    for step in range(2, 5):
        press_until(page, "n", f"Step {step} of 4")
    press_until(page, "n", "4 of 4 steps")
    press_until(page, "ArrowDown", "Key inline in the Backend")
    text = press_until(page, "n", "Step 2 of 7")
    assert f"inline: {mask_key(CANARY)}" in text  # the Backend's manifest, key masked
    text = press_until(page, "v", "Keys stay masked in a browser session")
    assert CANARY not in text  # Reveal is for a presenter's own terminal, not a served page
    for step in range(3, 8):
        text = press_until(page, "n", f"Step {step} of 7")
    text = press_until(page, "n", "7 of 7 steps")

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "serve-inline.png"))
    assert re.search(r"\b200 OK\b", text), text
    assert mask_key(CANARY) in text, text
    served_html = page.request.get(f"http://127.0.0.1:{port}/").text()
    for where in (text, page.content(), page.inner_text("body"), served_html):
        assert CANARY not in where

    (app,) = children(serve.pid)
    assert CANARY not in Path(f"/proc/{app}/cmdline").read_text()
    gateway = re.search(r"gateway \S+ healthy http://127\.0\.0\.1:(\d+)", text)
    assert gateway and listening(int(gateway[1])), text
    page.close()
    wait_until(lambda: not alive(app), 10, "the app process to end after the tab closed")
    assert serve.poll() is None and children(serve.pid) == []
    assert not listening(int(gateway[1]))  # the app's gateway went with it
    serve.send_signal(signal.SIGTERM)
    serve.wait(timeout=15)
    assert not listening(port)


def test_a_tab_downloads_its_own_transcript_and_asks_nothing_of_the_internet(
        served: tuple[subprocess.Popen[str], int], page: Any, tmp_path: Path) -> None:
    _, port = served
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"http://127.0.0.1:{port}/")
    wait_until(lambda: "Welcome to agw-sandbox" in screen(page), 30, "the welcome screen")
    page.focus("textarea.xterm-helper-textarea")
    press_until(page, "Enter", "Set up the gateway")
    press_until(page, "n", "Step 2 of 4")
    with page.expect_download(timeout=30_000) as download:
        page.keyboard.press("w")
    transcript = Path(download.value.path()).read_text()
    assert download.value.suggested_filename.startswith("agw-sandbox-transcript-")
    assert transcript.startswith("# agw-sandbox transcript") and CANARY not in transcript
    text = wait_until(lambda: "Transcript sent to your browser" in (shown := screen(page))
                      and shown, 10, "the notification")
    assert download.value.suggested_filename in text.replace("\n", "")
    elsewhere = [url for url in requested if not url.startswith(f"http://127.0.0.1:{port}/")
                 and not url.startswith(f"ws://127.0.0.1:{port}/")]
    assert elsewhere == []  # no font from the internet: a workshop room may have none
