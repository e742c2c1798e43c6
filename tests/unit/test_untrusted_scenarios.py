"""Scenario folders from strangers: every hostile or clumsy file is a clear problem, fast."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from sandbox.catalog.loader import load_catalog
from sandbox.errors import ManifestRejected, Problem, SandboxError, ScenarioError
from sandbox.profiles import DEFAULT_PROFILE
from sandbox.runtimes.sim.runtime import SimRuntime
from sandbox.settings import Settings
from sandbox.tui.session import Session
from tests.conftest import TOKEN
from tests.unit.test_catalog import GOOD, ROUTE, write

SECRET_TEXT = "OUTSIDE-SECRET-hunter2-do-not-print"
# Nine levels of nine aliases: 9**9 leaves once expanded.
BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n"
    for i in range(8))


class Hung(BaseException):
    """Not an OSError, so that no ``except OSError`` in the code under test swallows it."""


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Turn a hang (a FIFO that blocks, an alias bomb that expands) into a failure."""

    def expire(signum: int, frame: object) -> None:
        raise Hung(f"still loading after {seconds}s")

    previous = signal.signal(signal.SIGALRM, expire)
    # Sent to the main thread itself, so that a blocking open() there is interrupted.
    timer = threading.Timer(seconds, signal.pthread_kill,
                            (threading.main_thread().ident, signal.SIGALRM))
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        timer.join()
        signal.signal(signal.SIGALRM, previous)


def problems_of(directory: Path) -> list[Problem]:
    with deadline(10), pytest.raises(ScenarioError) as caught:
        load_catalog([directory], include_builtin=False)
    return list(caught.value.problems)


def reasons(directory: Path) -> str:
    return "\n".join(str(p) for p in problems_of(directory))


def scenario_applying(directory: Path, *paths: str) -> Path:
    write(directory / "manifests", "route.yaml", ROUTE)
    listed = ", ".join(f'"{p}"' for p in paths)
    return write(directory, "s.yaml", GOOD.replace("[manifests/route.yaml]", f"[{listed}]"))


# -- S4: manifest paths stay inside the scenario's folder --------------------------------------

@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A manifest-shaped file beside (not inside) the scenario folder, holding a secret."""
    return write(tmp_path, "outside-secret.yaml", ROUTE.replace("spec: {}", "spec: {}\n")
                 + f"data:\n  password: {SECRET_TEXT}\n")


@pytest.mark.parametrize("value", ["../outside-secret.yaml", "manifests/../../outside-secret.yaml",
                                   "ABSOLUTE", "/etc/passwd", "../../../../../../etc/shadow"])
def test_a_manifest_path_cannot_leave_the_scenario_folder(tmp_path: Path, outside: Path,
                                                          value: str) -> None:
    value = str(outside) if value == "ABSOLUTE" else value
    folder = tmp_path / "scenarios"
    scenario_applying(folder, value)
    text = reasons(folder)
    assert "outside the scenario's folder" in text or "is an absolute path" in text, text
    assert SECRET_TEXT not in text and "root:" not in text
    assert "apiVersion" not in text  # the file was not read, let alone checked


def test_a_link_inside_the_folder_to_a_file_outside_is_refused(tmp_path: Path,
                                                               outside: Path) -> None:
    folder = tmp_path / "scenarios"
    scenario_applying(folder, "manifests/link.yaml")
    (folder / "manifests" / "link.yaml").symlink_to(outside)
    text = reasons(folder)
    assert "'manifests/link.yaml' leads outside the scenario's folder" in text
    assert SECRET_TEXT not in text


def test_the_message_does_not_tell_which_outside_files_exist(tmp_path: Path,
                                                             outside: Path) -> None:
    folder = tmp_path / "scenarios"
    scenario_applying(folder, "../outside-secret.yaml", "../no-such-file.yaml")
    found, missing = (p.reason for p in problems_of(folder))
    assert found.replace("outside-secret", "X") == missing.replace("no-such-file", "X")


@pytest.mark.parametrize("value", ["manifests/a\\0b.yaml", "", "manifests/a\\nb.yaml"])
def test_a_manifest_path_must_be_printable_text(tmp_path: Path, value: str) -> None:
    scenario_applying(tmp_path, value)
    assert "manifest template path" in reasons(tmp_path) and "must be printable text" in \
        reasons(tmp_path)


def test_a_manifest_path_inside_the_folder_may_use_dotdot(tmp_path: Path) -> None:
    scenario_applying(tmp_path, "manifests/../manifests/route.yaml")
    catalog = load_catalog([tmp_path], include_builtin=False)
    assert catalog.ids == ("my-scenario",)


def test_a_scenario_file_linked_from_outside_is_refused(tmp_path: Path, outside: Path) -> None:
    folder = tmp_path / "scenarios"
    write(folder, "real.yaml", GOOD.replace("[manifests/route.yaml]", "[]"))
    (folder / "stranger.yaml").symlink_to(outside)
    text = reasons(folder)
    assert "stranger.yaml: is a link to a file outside its folder" in text
    assert SECRET_TEXT not in text


# -- S5: anchors and aliases are refused, so a billion-laughs file fails at once ---------------

def test_an_alias_bomb_in_a_scenario_is_refused_with_its_line(tmp_path: Path) -> None:
    body = "\n".join("      " + line for line in BOMB.splitlines())
    path = write(tmp_path, "s.yaml", GOOD.replace("      path: /openai",
                                                  "      path: /openai\n      body:\n" + body))
    write(tmp_path / "manifests", "route.yaml", ROUTE)
    found = problems_of(tmp_path)
    assert [(p.path, p.line) for p in found] == [(str(path), 12)]
    assert "anchors and aliases" in found[0].reason


def test_an_alias_bomb_in_a_manifest_template_is_refused(tmp_path: Path) -> None:
    scenario_applying(tmp_path, "manifests/bomb.yaml")
    template = write(tmp_path / "manifests", "bomb.yaml", ROUTE + BOMB)
    found = problems_of(tmp_path)
    assert [(p.path, p.line) for p in found] == [(str(template), 5)]
    assert "anchors and aliases" in found[0].reason


def test_a_merge_key_is_refused_too(tmp_path: Path) -> None:
    write(tmp_path, "s.yaml", "base: &base {title: x}\n" + GOOD.replace(
        "title: Mine", "<<: *base"))
    assert "anchors and aliases" in reasons(tmp_path)


# -- S6: regular files only, bounded in size ----------------------------------------------------

def test_a_fifo_as_scenario_or_manifest_does_not_block(tmp_path: Path) -> None:
    scenario_applying(tmp_path, "manifests/pipe.yaml")
    os.mkfifo(tmp_path / "manifests" / "pipe.yaml")
    os.mkfifo(tmp_path / "t-pipe.yaml")
    text = reasons(tmp_path)
    assert "t-pipe.yaml: the scenario file is a FIFO (named pipe), not a regular file" in text
    assert "manifest template 'manifests/pipe.yaml' is a FIFO" in text


def test_a_unix_socket_as_scenario_or_manifest_is_named_a_socket(tmp_path: Path) -> None:
    """Opening a socket fails (ENXIO, "No such device or address"): the message says what the
    file is instead, as for a FIFO."""
    scenario_applying(tmp_path, "manifests/sock.yaml")
    with contextlib.ExitStack() as sockets:
        for path in (tmp_path / "manifests" / "sock.yaml", tmp_path / "t-sock.yaml"):
            listener = sockets.enter_context(socket.socket(socket.AF_UNIX))
            listener.bind(str(path))
            listener.listen()
        text = reasons(tmp_path)
    assert "t-sock.yaml: the scenario file is a socket, not a regular file" in text, text
    assert "manifest template 'manifests/sock.yaml' is a socket, not a regular file" in text
    assert "No such device" not in text


def test_a_device_inside_the_folder_is_not_a_regular_file(tmp_path: Path) -> None:
    try:
        # Like /dev/null (1, 3): reading it ends at once, even with code that does read it.
        os.mknod(tmp_path / "null.yaml", 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("creating a device node needs CAP_MKNOD")
    assert "the scenario file is a character device, not a regular file" in reasons(tmp_path)


def test_a_file_over_the_size_cap_is_refused(tmp_path: Path) -> None:
    scenario_applying(tmp_path, "manifests/big.yaml")
    write(tmp_path / "manifests", "big.yaml", ROUTE + "# " + "x" * (1024 * 1024) + "\n")
    assert "manifest template 'manifests/big.yaml' is larger than 1 MiB" in reasons(tmp_path)


def test_many_references_to_one_large_template_add_up(tmp_path: Path) -> None:
    scenario_applying(tmp_path, *["manifests/big.yaml"] * 10)
    write(tmp_path / "manifests", "big.yaml", ROUTE + "# " + "x" * 900_000 + "\n")
    assert "add up to more than 4 MiB" in reasons(tmp_path)


# -- S7: wait timeouts are finite and bounded ---------------------------------------------------

WAIT = GOOD + """\
  - title: Wait
    wait:
      - resource: HTTPRoute/r
        conditions: {Accepted: "True"}
        timeout: TIMEOUT
"""


@pytest.mark.parametrize("timeout", [".inf", ".nan", "-.inf", "0", "-5", "3601", "1e9"])
def test_a_wait_timeout_must_be_finite_positive_and_bounded(tmp_path: Path, timeout: str) -> None:
    write(tmp_path / "manifests", "route.yaml", ROUTE)
    write(tmp_path, "s.yaml", WAIT.replace("TIMEOUT", timeout))
    found = problems_of(tmp_path)
    assert [(p.line, p.reason) for p in found] == [
        (16, "'timeout' must be a number of seconds above 0 and at most 3600")]


def test_a_wait_timeout_of_an_hour_is_accepted(tmp_path: Path) -> None:
    write(tmp_path / "manifests", "route.yaml", ROUTE)
    write(tmp_path, "s.yaml", WAIT.replace("TIMEOUT", "3600"))
    step = load_catalog([tmp_path], include_builtin=False).scenarios[0].steps[-1]
    assert step.waits[0].timeout == 3600.0  # type: ignore[union-attr]


# -- S10: text that is not UTF-8 -----------------------------------------------------------------

def test_a_latin1_manifest_template_says_save_it_as_utf8(tmp_path: Path) -> None:
    scenario_applying(tmp_path, "manifests/latin.yaml")
    (tmp_path / "manifests" / "latin.yaml").write_bytes(
        ROUTE.replace("spec: {}", "spec: {note: café}").encode("latin-1"))
    found = problems_of(tmp_path)
    assert [p.reason for p in found] == [
        "manifest template 'manifests/latin.yaml' is not UTF-8 text (byte 0xe9 on line 4): "
        "save it as UTF-8"]


def test_a_latin1_scenario_file_says_save_it_as_utf8(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_bytes("id: s\n\ntitle: Café\n".encode("latin-1"))
    found = problems_of(tmp_path)
    assert [(p.line, p.reason) for p in found] == [
        (3, "the scenario file is not UTF-8 text (byte 0xe9 on line 3): save it as UTF-8")]


# -- S19: deep nesting --------------------------------------------------------------------------

@pytest.mark.parametrize("where", ["scenario", "manifest"])
def test_deep_nesting_is_a_problem_not_a_recursion_error(tmp_path: Path, where: str) -> None:
    deep = "[" * 300 + "]" * 300
    if where == "scenario":
        write(tmp_path, "s.yaml", GOOD.replace("path: /openai",
                                               f"path: /openai\n      body: {deep}"))
        write(tmp_path / "manifests", "route.yaml", ROUTE)
    else:
        scenario_applying(tmp_path, "manifests/deep.yaml")
        write(tmp_path / "manifests", "deep.yaml", ROUTE.replace("spec: {}", f"spec: {deep}"))
    text = reasons(tmp_path)
    assert "nested more than 100 levels deep" in text


# -- S23: every problem at once, in line order, each cause named --------------------------------

def test_problems_in_title_summary_and_security_are_not_hidden_behind_others(
        tmp_path: Path) -> None:
    write(tmp_path / "manifests", "route.yaml", ROUTE)
    text = (GOOD.replace("title: Mine", "title: [not, text]").replace("summary: s\n", "")
            .replace("    apply: [manifests/route.yaml]",
                     "    apply: [manifests/route.yaml]\n    bogus: 1"))
    write(tmp_path, "s.yaml", text)
    found = problems_of(tmp_path)
    assert [(p.line, p.reason.split(";")[0]) for p in found] == [
        (1, "missing required key 'summary'"),
        (2, "'title' must be text, not a list"),
        (7, "unknown key 'bogus' in step 1"),
    ]


def test_problems_are_listed_in_line_order(tmp_path: Path) -> None:
    write(tmp_path / "manifests", "route.yaml", ROUTE)
    text = (GOOD.replace("id: my-scenario", "id: Bad_Id").replace("path: /openai", "path: /${x}")
            .replace("{status: 200}", "{status: 9000}") + "order: many\n")
    write(tmp_path, "s.yaml", text)
    lines = [p.line or 0 for p in problems_of(tmp_path)]
    assert len(lines) >= 4 and lines == sorted(lines)


def test_a_directory_given_as_a_manifest_is_named_a_directory(tmp_path: Path) -> None:
    scenario_applying(tmp_path, "manifests/sub.yaml")
    (tmp_path / "manifests" / "sub.yaml").mkdir()
    assert "manifest template 'manifests/sub.yaml' is a directory, not a regular file" in \
        reasons(tmp_path)


def test_an_unreadable_directory_is_reported_as_unreadable(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "locked"
    write(folder, "s.yaml", GOOD)
    folder.chmod(0)
    if os.access(folder, os.R_OK):  # root reads anything: give the answer anyone else gets
        listing = os.scandir

        def denied(path: Any) -> Any:
            if Path(path) == folder:
                raise PermissionError(13, "Permission denied", str(path))
            return listing(path)

        monkeypatch.setattr(os, "scandir", denied)  # the CLI test drops root's right for real
    try:
        assert "cannot list the directory: permission denied" in reasons(folder)
    finally:
        folder.chmod(0o755)


# -- S8 (loading half): requests HTTP cannot carry ----------------------------------------------

@pytest.mark.parametrize(("request_yaml", "line", "reason"), ids=[
    "crlf-in-path", "space-in-path", "non-ascii-header", "crlf-header", "bad-header-name",
    "bad-method", "content-length"], argvalues=[
    ('path: "/openai\\r\\nX-Injected: 1"', 10, "request path holds '\\r' at position 8"),
    ("path: /open ai", 10, "request path holds ' ' at position 6"),
    ("path: /openai\n      headers:\n        X-Note: café", 12,
     "header 'X-Note' holds 'é' at position 4"),
    ('path: /openai\n      headers: {X-Note: "a\\nX-Evil: 1"}', 11,
     "header 'X-Note' holds '\\n' at position 2"),
    ('path: /openai\n      headers: {"X Note": a}', 11, "header name 'X Note' is not valid"),
    ("path: /openai\n      method: GE T", 11, "request method 'GE T' is not an HTTP method"),
    ('path: /openai\n      headers: {Content-Length: "5"}', 11,
     "header 'Content-Length' is set by the client from the body"),
])
def test_a_request_http_cannot_carry_is_refused_on_load(tmp_path: Path, request_yaml: str,
                                                        line: int, reason: str) -> None:
    write(tmp_path / "manifests", "route.yaml", ROUTE)
    write(tmp_path, "s.yaml", GOOD.replace("path: /openai", request_yaml))
    found = problems_of(tmp_path)
    assert [(p.line, p.reason.split(":")[0]) for p in found] == [(line, reason)]


def test_the_editor_refuses_a_pasted_alias_bomb_at_once() -> None:
    catalog = load_catalog()
    runtime = SimRuntime(DEFAULT_PROFILE, 0, "mock", [TOKEN])
    session = Session(Settings(runtime="sim", token=TOKEN), catalog, runtime, lambda event: None)
    for pasted, reason in ((ROUTE + BOMB, "anchors and aliases"),
                           (ROUTE.replace("spec: {}", "spec: " + "[" * 300 + "]" * 300),
                            "nested more than 100 levels"),
                           (ROUTE + "#" * (2 << 20), "larger than")):
        with deadline(5), pytest.raises(ManifestRejected, match=reason):
            session.parse_edit(catalog.get("inline"), pasted)


@pytest.mark.parametrize(("method", "path", "headers", "reason"), [
    ("POST", "/openai", [("X-Note", "café ☕")], "header 'X-Note' holds 'é' at position 4"),
    ("POST", "/openai\r\nX-Injected: 1", [], "request path holds '\\r'"),
    ("GE T", "/openai", [], "request method 'GE T' is not an HTTP method"),
    ("POST", "/openai", [("X Note", "a")], "header name 'X Note' is not valid"),
])
async def test_a_custom_request_http_cannot_carry_is_refused_before_sending(
        method: str, path: str, headers: list[tuple[str, str]], reason: str) -> None:
    catalog = load_catalog()
    runtime = SimRuntime(DEFAULT_PROFILE, 0, "mock", [TOKEN])
    session = Session(Settings(runtime="sim", token=TOKEN), catalog, runtime, lambda event: None)
    with pytest.raises(SandboxError, match="the request cannot be sent") as caught:
        await session.send_custom(catalog.get("inline"), method, path, headers, "", False)
    assert reason in caught.value.message


def test_a_control_character_is_named_with_its_line(tmp_path: Path) -> None:
    write(tmp_path, "s.yaml", 'id: x\ntitle: "a\x01b"\n')
    found = problems_of(tmp_path)
    assert [(p.line, p.reason) for p in found] == [
        (2, "not valid YAML: the control character '\\u0001' is not allowed (is this a text "
            "file?)")]


def test_a_key_written_twice_in_one_mapping_is_refused_with_both_lines() -> None:
    from sandbox.documents import DocumentError, load_all

    text = "steps:\n  - title: Ask\n    expect: {status: 200}\n    expect: {status: 404}\n"
    with pytest.raises(DocumentError) as caught:
        load_all(text)
    assert caught.value.line == 4
    assert "the key 'expect' appears twice in one mapping (first on line 3)" in caught.value.reason
