"""`agw-sandbox run --transcript FILE.md` as a user runs it: the file, its structure, no key."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from sandbox.catalog.loader import load_catalog
from sandbox.catalog.scenarios import RequestStep, step_kind
from tests.conftest import TOKEN
from tests.helpers import run_cli
from tests.integration.test_canary import ACCEPTED, isolated_env, leaks

SIM = ("--runtime", "sim", "--port", "0")
CATALOG = load_catalog()


def headings(tokens: list[Token], level: str) -> list[str]:
    return ["".join(c.content for c in tokens[i + 1].children or ())
            for i, t in enumerate(tokens) if t.type == "heading_open" and t.tag == level]


def test_run_all_writes_every_scenario_and_step(cli_env: dict[str, str], tmp_path: Path) -> None:
    target = tmp_path / "out" / "session.md"
    target.parent.mkdir()
    result = run_cli("run", "--all", *SIM, "--transcript", str(target), env=cli_env,
                     cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.rstrip().endswith(f"Transcript (keys masked) written to {target}")
    markdown = target.read_text()
    tokens = MarkdownIt("commonmark").parse(markdown)

    assert headings(tokens, "h2") == ["Summary"] + [
        f"{n}. {s.title} ({s.id})" for n, s in enumerate(CATALOG.scenarios, 1)]
    assert headings(tokens, "h3") == [
        f"Step {i} of {len(s.steps)} · {step_kind(step)} · {step.title}"
        for s in CATALOG.scenarios for i, step in enumerate(s.steps, 1)]
    requests = sum(isinstance(step, RequestStep) for s in CATALOG.scenarios for step in s.steps)
    assert markdown.count("**Response:** `200 OK`") == 4
    assert markdown.count("**Outcome:** ✓ passed") == sum(len(s.steps) for s in CATALOG.scenarios)
    fences = [t for t in tokens if t.type == "fence"]
    curls = [f.content for f in fences if f.content.startswith("curl ")]
    assert len(curls) == requests
    assert any('"$AGW_SANDBOX_TOKEN"' in c for c in curls)  # passthrough: the key by reference
    assert {f.info for f in fences} == {"yaml", "sh", "http", "json", "text"}
    assert "inline: sk-…" in markdown and "Accepted=False (Invalid)" in markdown
    assert TOKEN not in markdown
    assert [p.name for p in target.parent.iterdir()] == ["session.md"]


def test_the_json_document_says_where_the_transcript_is(cli_env: dict[str, str],
                                                        tmp_path: Path) -> None:
    result = run_cli("run", "inline", *SIM, "--json", "--transcript", "t.md", env=cli_env,
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)  # nothing else on stdout
    assert document["transcript"] == str(tmp_path / "t.md")
    assert "## 2. Key inline in the Backend (`inline`)" in (tmp_path / "t.md").read_text()


@pytest.mark.parametrize("key", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_a_canary_key_is_nowhere_in_the_transcript(cli_env: dict[str, str], tmp_path: Path,
                                                   key: str) -> None:
    env = isolated_env(cli_env, tmp_path, key)
    result = run_cli("run", "--all", *SIM, "-v", "--transcript", "t.md", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    markdown = (tmp_path / "t.md").read_text()
    assert "**Response:** `200 OK`" in markdown
    assert not leaks(markdown, key), leaks(markdown, key)
    assert leaks(markdown + f"\n{key}\n", key)  # the scan does see the key when it is there


def unwritable_directory(tmp_path: Path) -> Path:
    """A directory this user cannot create files in (root ignores modes, not sysfs)."""
    if os.geteuid() == 0:
        return Path("/sys/kernel")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    return locked


@pytest.mark.parametrize(("where", "message"), [
    ("missing/t.md", "the transcript's directory '.*missing' does not exist"),
    ("folder", "the transcript path '.*folder' is a directory"),
    ("/dev/null", "the transcript path '/dev/null' is not a regular file"),
    ("unwritable", "cannot write the transcript to '.*': Permission denied"),
])
def test_a_bad_path_stops_the_run_before_it_starts(cli_env: dict[str, str], tmp_path: Path,
                                                    where: str, message: str) -> None:
    (tmp_path / "folder").mkdir()
    path = str(unwritable_directory(tmp_path) / "t.md") if where == "unwritable" else where
    result = run_cli("run", "--all", *SIM, "--transcript", path, env=cli_env, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""  # nothing ran
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("agw-sandbox: ") and "hint: " in result.stderr
    assert re.search(message, result.stderr), result.stderr
    assert not list((tmp_path / "folder").iterdir())


SLOW = """\
id: slow
title: A slow wait
summary: Waits for a condition that never comes.
security: None.
needs: [setup]  # the Gateway it waits on (a wait on nothing would fail at once)
steps:
  - id: first
    title: Say something first
    explain: Before the wait.
  - id: wait
    title: Wait for a condition that never comes
    wait:
      - resource: Gateway/agentgateway
        conditions: {Accepted: "False"}
        timeout: 60
"""


@pytest.mark.parametrize(("signum", "code", "name"), [
    (signal.SIGINT, 130, "Ctrl+C"), (signal.SIGTERM, 143, "SIGTERM"),
    (signal.SIGHUP, 129, "SIGHUP")])
def test_a_stopped_run_keeps_what_ran_in_its_transcript_and_says_so(
        cli_env: dict[str, str], tmp_path: Path, signum: int, code: int, name: str) -> None:
    (tmp_path / "slow").mkdir()
    (tmp_path / "slow" / "slow.yaml").write_text(SLOW)
    target = tmp_path / "t.md"
    run = subprocess.Popen([sys.executable, "-m", "sandbox", "run", "slow", *SIM, "--scenarios",
                            str(tmp_path / "slow"), "--transcript", str(target)], env=cli_env,
                           cwd=tmp_path, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert run.stdout is not None
        for line in run.stdout:  # the wait has begun
            if "Wait for a condition that never comes" in line:
                break
        time.sleep(0.5)
        run.send_signal(signum)
        _, err = run.communicate(timeout=30)
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()
    assert run.returncode == code, err
    assert (f"agw-sandbox: stopped by {name}; the transcript of what ran until then (keys "
            f"masked) is in {target}") in err
    markdown = target.read_text()
    assert f"**Stopped before the end** (stopped by {name})" in markdown
    assert "Say something first" in markdown and TOKEN not in markdown


def test_transcript_dash_means_standard_output(cli_env: dict[str, str], tmp_path: Path) -> None:
    result = run_cli("run", "setup", *SIM, "--transcript", "-", env=cli_env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# agw-sandbox transcript\n")
    assert "## Summary" in result.stdout and TOKEN not in result.stdout
    assert "agw-sandbox · profile:" in result.stderr  # the report, out of the transcript's way
    assert "agw-sandbox · profile:" not in result.stdout
    assert list(tmp_path.iterdir()) == [tmp_path / "home"]  # no file called "-"
    both = run_cli("run", "setup", *SIM, "--transcript", "-", "--json", env=cli_env, cwd=tmp_path)
    assert both.returncode == 2
    assert "--transcript - and --json both want standard output" in both.stderr


def transcript_to(cli_env: dict[str, str], tmp_path: Path, path: str,
                  stdout: object) -> tuple[int, str]:
    """`run setup --transcript PATH` with stdout as given, stdin a pipe: status and stderr."""
    run = subprocess.run([sys.executable, "-m", "sandbox", "run", "setup", *SIM, "--transcript",
                          path], env=cli_env, cwd=tmp_path, stdin=subprocess.PIPE,
                         stdout=stdout, stderr=subprocess.PIPE, timeout=60, check=False)
    return run.returncode, run.stderr.decode()


def test_transcript_dev_stdout_is_standard_output_on_a_pipe_a_file_and_a_terminal(
        cli_env: dict[str, str], tmp_path: Path) -> None:
    """As `-`: through the pipe (never the /proc path it resolves to), into the file stdout
    was redirected to (whatever its name), onto the terminal."""
    piped = run_cli("run", "setup", *SIM, "--transcript", "/dev/stdout", env=cli_env,
                    cwd=tmp_path)
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout.startswith("# agw-sandbox transcript\n") and TOKEN not in piped.stdout
    redirected = tmp_path / "out.txt"
    with redirected.open("wb") as out:
        code, err = transcript_to(cli_env, tmp_path, "/dev/stdout", out)
    assert code == 0, err
    assert redirected.read_text().startswith("# agw-sandbox transcript\n")
    master, slave = os.openpty()
    try:
        code, err = transcript_to(cli_env, tmp_path, "/dev/stdout", slave)
        os.close(slave)
        shown = bytearray()
        with contextlib.suppress(OSError):  # EIO once everything has been read
            while chunk := os.read(master, 65536):
                shown += chunk
    finally:
        os.close(master)
    assert code == 0, err
    assert b"# agw-sandbox transcript" in shown and b"## Summary" in shown
    both = run_cli("run", "setup", *SIM, "--transcript", "/dev/stdout", "--json", env=cli_env,
                   cwd=tmp_path)
    assert both.returncode == 2
    assert "--transcript /dev/stdout and --json both want standard output" in both.stderr
    assert "/proc/" not in piped.stderr + err + both.stderr


@pytest.mark.parametrize(("path", "said"), [
    ("/dev/stderr", "the transcript cannot go to standard error ('/dev/stderr')"),
    ("/dev/fd/2", "the transcript cannot go to standard error ('/dev/fd/2')"),
    ("/dev/fd/0", "the transcript path '/dev/fd/0' is not a regular file"),  # stdin: a pipe
    ("/dev/stdin", "the transcript path '/dev/stdin' is not a regular file")])
def test_a_transcript_path_to_a_stream_is_refused_by_the_name_given(
        cli_env: dict[str, str], tmp_path: Path, path: str, said: str) -> None:
    code, err = transcript_to(cli_env, tmp_path, path, subprocess.PIPE)
    assert code == 2, err
    assert f"agw-sandbox: {said}" in err and "hint: " in err
    assert "/proc/" not in err and "pipe:[" not in err
