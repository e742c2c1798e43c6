"""The CLI when its surroundings misbehave: closed pipes, odd encodings, no terminal, signals,
unwritable caches and broken kubeconfigs. Each runs the CLI as a subprocess, as a user would."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.helpers import run_cli, stop_with

SIM = ("--runtime", "sim", "--port", "0")
FAKES = REPO / "tests" / "fakes" / "bin"
# A scenario that waits a long time for a condition that never comes: time to send a signal.
SLOW_SCENARIO = """\
id: slow
title: Waits for something that never comes
summary: Used to stop a run in the middle.
security: None.
needs: [setup]
steps:
  - id: wait
    title: Wait for a condition that never comes
    wait:
      - resource: Gateway/agentgateway
        conditions: {Accepted: "False"}
        timeout: 120
"""


def cli(*args: str, env: dict[str, str], **kwargs: object) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "sandbox", *args], env=env, text=True,
                            **kwargs)  # type: ignore[call-overload]


def no_traceback(text: str) -> None:
    assert "Traceback" not in text and "Exception ignored" not in text, text


# -- S20: pipes, closed descriptors, encodings ------------------------------------------------

def test_a_reader_that_leaves_after_one_line_ends_the_run_quietly(
        cli_env: dict[str, str]) -> None:
    """`agw-sandbox run --all | head -1`: the shell's usual 141, no traceback."""
    process = cli("run", "--all", *SIM, env=cli_env, stdout=subprocess.PIPE,
                  stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()
    process.stdout.close()  # what `head -1` does after its line
    returncode = process.wait(timeout=60)
    stderr = process.stderr.read()
    assert first.startswith("agw-sandbox")
    no_traceback(stderr)
    assert returncode == 141, stderr


def test_json_into_a_pipe_closed_early_ends_quietly(cli_env: dict[str, str]) -> None:
    """`agw-sandbox run --all --json | head -c 10` where head has gone before the document."""
    process = cli("run", "--all", "--json", *SIM, env=cli_env, stdout=subprocess.PIPE,
                  stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    returncode = process.wait(timeout=60)
    stderr = process.stderr.read()
    no_traceback(stderr)
    assert returncode == 141, stderr


def shell(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", f'exec "{sys.executable}" -m sandbox {command}'],
                          env=env, capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("redirect", [">&-", ">&- 2>&-"])
def test_closed_standard_descriptors_do_not_crash_a_run(cli_env: dict[str, str],
                                                        redirect: str) -> None:
    """`agw-sandbox run --all >&-`: the run still happens, and its exit code says that its
    report was lost (a command whose output vanishes must not look like a success)."""
    result = shell(f"run --all --runtime sim --port 0 {redirect}", cli_env)
    no_traceback(result.stderr)
    assert result.returncode == 2, result.stderr
    if redirect == ">&-":
        assert result.stderr.startswith("agw-sandbox: cannot write the report to standard "
                                        "output: it was closed (>&-)\n"), result.stderr


@pytest.mark.parametrize(("command", "what"), ids=[
    "transcript", "scenarios", "manifests", "version", "help", "a-command-s-help"], argvalues=[
    ("run inline --runtime sim --port 0 --transcript -", "the transcript"),
    ("scenarios", "the output"), ("manifests inline --show-secrets", "the output"),
    ("--version", "the output"), ("--help", "the output"), ("doctor --help", "the output")])
@pytest.mark.parametrize("stdout", [">&-", ">/dev/full"])
def test_output_that_cannot_be_written_is_said_on_stderr_with_a_nonzero_exit(
        cli_env: dict[str, str], command: str, what: str, stdout: str) -> None:
    result = shell(f"{command} {stdout}", cli_env)
    no_traceback(result.stderr)
    assert result.returncode == 2, result.stderr
    reason = "it was closed (>&-)" if stdout == ">&-" else "No space left on device"
    assert f"agw-sandbox: cannot write {what} to standard output: {reason}\n" in result.stderr
    assert "hint: " in result.stderr and "internal error" not in result.stderr
    assert cli_env["AGW_SANDBOX_TOKEN"] not in result.stderr


def test_a_full_device_as_stdout_is_said_and_the_run_still_ends_cleanly(
        cli_env: dict[str, str], tmp_path: Path) -> None:
    """`run … > /dev/full` (a full disk behind `> report.txt`): the run goes on, its transcript
    file is written, and the lost report is said on stderr with exit 2."""
    for flags in ("", "--json", "--verbose"):
        transcript = tmp_path / f"t{len(flags)}.md"
        result = shell(f"run inline --runtime sim --port 0 {flags} --transcript {transcript} "
                       ">/dev/full", cli_env)
        no_traceback(result.stderr)
        assert result.returncode == 2, result.stderr
        assert ("agw-sandbox: cannot write the report to standard output: No space left on "
                "device\n") in result.stderr
        assert "inline" in transcript.read_text()


def test_an_ascii_only_stdout_gets_ascii_symbols(cli_env: dict[str, str]) -> None:
    env = {**cli_env, "PYTHONIOENCODING": "ascii"}
    result = run_cli("run", "--all", *SIM, env=env)
    no_traceback(result.stderr)
    assert result.returncode == 0, result.stderr
    assert ("agw-sandbox - profile: kgateway-v2.1 - runtime: simulated - provider: mock"
            in result.stdout)
    assert " + passthrough" in result.stdout and "4 passed, 0 failed" in result.stdout
    as_json = run_cli("run", "inline", "--json", *SIM, env=env)
    assert as_json.returncode == 0, as_json.stderr
    document = json.loads(as_json.stdout)  # still valid JSON, the "…" of masked keys escaped
    assert "sk-…" in json.dumps(document, ensure_ascii=False)


# -- S22: SIGTERM and SIGHUP (and the other signals that end a process) during a run -------------

def slow_run_waiting(cli_env: dict[str, str], tmp_path: Path,
                     **popen: object) -> tuple[subprocess.Popen[str], str]:
    """``run slow`` started, once it waits for a condition that never comes; and what it printed."""
    (tmp_path / "slow.yaml").write_text(SLOW_SCENARIO)
    process = cli("run", "slow", *SIM, "--scenarios", str(tmp_path), env=cli_env,
                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen)
    assert process.stdout is not None and process.stderr is not None
    seen = ""
    while "Wait for a condition that never comes" not in seen:
        line = process.stdout.readline()
        assert line, seen
        seen += line
    return process, seen


@pytest.mark.parametrize(("stop", "name"), [
    (signal.SIGTERM, "SIGTERM"), (signal.SIGHUP, "SIGHUP"), (signal.SIGUSR2, "SIGUSR2"),
    (signal.SIGALRM, "SIGALRM"), (signal.SIGSTKFLT, "SIGSTKFLT"), (signal.SIGPOLL, "SIGIO"),
    (signal.SIGRTMAX, "SIGRTMAX"), (signal.SIGRTMIN + 7, "SIGRTMIN+7")])
def test_a_stop_signal_during_a_run_says_so_and_stops_everything(
        cli_env: dict[str, str], tmp_path: Path, stop: int, name: str) -> None:
    process, seen = slow_run_waiting(cli_env, tmp_path)
    ports = [int(p) for p in re.findall(r"listening on http://[\w.]+:(\d+)", seen)]
    assert len(ports) == 2, seen  # the gateway and the mock provider
    time.sleep(0.3)
    process.send_signal(stop)
    returncode = process.wait(timeout=30)
    stderr = process.stderr.read()
    no_traceback(stderr)
    assert returncode == 128 + stop, stderr
    assert f"agw-sandbox: stopped by {name}; everything it started has been stopped" in stderr
    for port in ports:
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0, port


@pytest.mark.parametrize("ignored", [signal.SIGQUIT, signal.SIGRTMIN + 2])
def test_a_signal_the_run_was_started_with_ignored_stays_ignored(
        cli_env: dict[str, str], tmp_path: Path, ignored: int) -> None:
    """`trap '' QUIT` (or a shell's background job): SIGQUIT would not have ended it, so it
    does not stop the run now either; SIGTERM still does."""
    process, _ = slow_run_waiting(
        cli_env, tmp_path, preexec_fn=lambda: signal.signal(ignored, signal.SIG_IGN))
    process.send_signal(ignored)
    time.sleep(1)
    assert process.poll() is None
    assert stop_with(process, signal.SIGTERM)[2].count("stopped by SIGTERM") == 1
    assert process.returncode == 143


def test_a_signal_someone_else_handles_is_left_to_them() -> None:
    """A sampling profiler's SIGPROF, installed before the sandbox starts, keeps its handler."""
    program = ("import os, signal\n"
               "signal.signal(signal.SIGPROF, lambda *_: print('profiler'))\n"
               "from sandbox import stdio\n"
               "with stdio.raise_on_stop_signals():\n"
               "    os.kill(os.getpid(), signal.SIGPROF)\n"
               "    os.kill(os.getpid(), signal.SIGUSR1)\n")
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                            timeout=30, check=False, cwd=REPO)
    assert result.stdout == "profiler\n"
    assert "Terminated: 10" in result.stderr  # SIGUSR1 is the sandbox's: a stop


# -- S12: the app needs a terminal --------------------------------------------------------------

@pytest.mark.parametrize("stdin", [subprocess.DEVNULL, None])
def test_the_app_without_a_terminal_says_what_to_use_instead(cli_env: dict[str, str],
                                                              stdin: int | None) -> None:
    result = subprocess.run([sys.executable, "-m", "sandbox", *SIM], env=cli_env,
                            stdin=stdin, capture_output=True, text=True, timeout=30,
                            check=False)
    no_traceback(result.stderr)
    assert result.returncode == 2
    assert "the app needs a terminal" in result.stderr
    assert "agw-sandbox run --all" in result.stderr
    assert "\x1b[" not in result.stdout + result.stderr  # nothing was drawn


# -- S11: an unwritable cache -------------------------------------------------------------------

def kind_env(cli_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """Fake kind/helm/kubectl on PATH, with the kind cluster already there."""
    state = tmp_path / "state"
    state.mkdir(exist_ok=True)
    (state / "cluster-agw-sandbox").touch()
    return {**cli_env, "PATH": f"{FAKES}:{cli_env['PATH']}", "FAKE_STATE": str(state),
            "XDG_CACHE_HOME": "/proc/agw-sandbox-cache"}


def test_status_with_an_unwritable_cache_names_the_directory(cli_env: dict[str, str],
                                                             tmp_path: Path) -> None:
    result = run_cli("status", "--runtime", "kind", env=kind_env(cli_env, tmp_path))
    no_traceback(result.stderr)
    assert result.returncode == 2, result.stderr
    assert "cannot write /proc/agw-sandbox-cache/agw-sandbox/kubeconfig-agw-sandbox" \
        in result.stderr
    assert "XDG_CACHE_HOME" in result.stderr


def test_up_with_an_unwritable_cache_fails_its_cluster_stage(
        cli_env: dict[str, str], tmp_path: Path, podman_socket: str) -> None:
    env = {**kind_env(cli_env, tmp_path), "DOCKER_HOST": podman_socket}
    result = run_cli("up", "--runtime", "kind", "--port", "0", env=env)
    no_traceback(result.stderr)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "stage “cluster” failed: cannot write /proc/agw-sandbox-cache/" in result.stderr
    assert "hint: point XDG_CACHE_HOME at a writable directory" in result.stderr


# -- S16: kubeconfig problems -------------------------------------------------------------------

VALID_KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
- cluster: {server: "https://127.0.0.1:1"}
  name: c
contexts:
- context: {cluster: c, user: u}
  name: ctx
current-context: ctx
users:
- name: u
  user: {}
"""
BROKEN_KUBECONFIGS = {
    "yamlerr.yaml": ("apiVersion: v1\nclusters: [\n  - foo\n",
                     "is not valid YAML: expected the node content, but found '-' (line 3"),
    "garbage.yaml": (b"\xff\xfe\x00garbage", "is not UTF-8 text"),
    "string.yaml": ('"just a string"\n', "does not have the shape of a kubeconfig"),
    "badtypes.yaml": ("apiVersion: v1\nclusters: 5\ncontexts: 7\nusers: 3\ncurrent-context: x\n",
                      "does not have the shape of a kubeconfig"),
    "nocurrent.yaml": ("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n",
                       "has no current context"),
    "emptycurrent.yaml": (VALID_KUBECONFIG.replace("current-context: ctx", 'current-context: ""'),
                          "has no current context set (its current-context is empty)"),
    "blankcurrent.yaml": (VALID_KUBECONFIG.replace("current-context: ctx", "current-context: ''"),
                          "has no current context set"),
    "missing.yaml": (None, "no kubeconfig found at"),
    "adir": ("dir", "is not a regular file (a directory)"),
}


@pytest.mark.parametrize("name", sorted(BROKEN_KUBECONFIGS))
def test_a_broken_kubeconfig_is_named_with_what_is_wrong(cli_env: dict[str, str],
                                                         tmp_path: Path, name: str) -> None:
    content, expected = BROKEN_KUBECONFIGS[name]
    path = tmp_path / name
    if content == "dir":
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    result = run_cli("status", "--runtime", "cluster", env={**cli_env, "KUBECONFIG": str(path)})
    no_traceback(result.stderr)
    assert result.returncode == 2, result.stderr
    assert str(path) in result.stderr and expected in result.stderr, result.stderr
    assert "~/.kube/config" not in result.stderr.splitlines()[0]
    assert "hint:" in result.stderr


def test_a_context_is_checked_before_the_cluster_stage_is_ticked(cli_env: dict[str, str],
                                                                 tmp_path: Path) -> None:
    kubeconfig = tmp_path / "valid.yaml"
    kubeconfig.write_text(VALID_KUBECONFIG)
    env = {**cli_env, "PATH": f"{FAKES}:{cli_env['PATH']}", "KUBECONFIG": str(kubeconfig),
           "FAKE_STATE": str(tmp_path / "state")}
    result = run_cli("run", "--all", "--context", "nosuch", "--port", "0", env=env)
    no_traceback(result.stderr)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "✓ cluster" not in result.stdout
    assert f"stage “cluster” failed: there is no context 'nosuch' in the kubeconfig {kubeconfig}"\
        in result.stderr
    assert "kubectl config get-contexts" in result.stderr


# -- S26: hints that point at the right thing ---------------------------------------------------

def test_mock_provider_blames_a_bad_host_not_the_port(cli_env: dict[str, str]) -> None:
    result = run_cli("mock-provider", "--host", "no such host!", "--port", "0", env=cli_env)
    no_traceback(result.stderr)
    assert result.returncode == 2
    assert "--host" in result.stderr and "--port" not in result.stderr


def test_no_traceback_even_for_a_bug(cli_env: dict[str, str], tmp_path: Path) -> None:
    """The last resort: an unexpected exception is a one-line message and exit code 70."""
    hook = tmp_path / "sitecustomize.py"
    hook.write_text("import sandbox.headless as h\n"
                    "def boom(*a, **k):\n    raise ZeroDivisionError('sk-test-secret-value')\n"
                    "h.scenarios = boom\n")
    env = {**cli_env, "PYTHONPATH": f"{tmp_path}{os.pathsep}{REPO}"}
    result = run_cli("scenarios", env=env)
    no_traceback(result.stderr)
    assert result.returncode == 70
    assert "internal error (ZeroDivisionError at" in result.stderr
    assert "sk-test-secret-value" not in result.stderr
    assert "AGW_SANDBOX_DEBUG=1" in result.stderr
    debug = run_cli("scenarios", env={**env, "AGW_SANDBOX_DEBUG": "1"})
    assert "Traceback" in debug.stderr and debug.returncode == 70


@pytest.mark.parametrize("name", ["", "Bad_NS", "x y", "-lead", "a" * 64])
def test_a_bad_namespace_or_gateway_name_is_refused_before_anything_runs(
        cli_env: dict[str, str], name: str) -> None:
    for option in ("--namespace", "--gateway"):
        result = run_cli("up", "--runtime", "cluster", "--context", "shared", f"{option}={name}",
                         env=cli_env)
        assert result.returncode == 2, result.stderr
        assert "is not a Kubernetes name" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("value", ["nonsense", "TRUECOLOR", "256 ", "\x1b]0;x\x07"])
def test_a_colour_system_textual_does_not_know_is_said_before_the_app_starts(
        cli_env: dict[str, str], value: str) -> None:
    """TEXTUAL_COLOR_SYSTEM is read by Textual (and Rich) as the app starts: a value they do
    not know ended in an internal error (a KeyError), exit 70."""
    done = run_cli("--runtime", "sim", env={**cli_env, "TEXTUAL_COLOR_SYSTEM": value})
    assert done.returncode == 2, done.stderr
    assert "TEXTUAL_COLOR_SYSTEM" in done.stderr and "truecolor" in done.stderr
    assert "\x1b" not in done.stderr and "internal error" not in done.stderr


KEY_GIVEN_WRONG = "sk-test-GivenToTheWrongOption7Qz9X4m2"


@pytest.mark.parametrize("args", [
    ("--profile", KEY_GIVEN_WRONG, "scenarios"), ("--runtime", KEY_GIVEN_WRONG, "scenarios"),
    ("--port", KEY_GIVEN_WRONG, "scenarios"), (KEY_GIVEN_WRONG,),
    ("run", "--provider", KEY_GIVEN_WRONG), ("run", "--namespace", KEY_GIVEN_WRONG),
], ids=["profile", "runtime", "port", "command", "provider", "namespace"])
@pytest.mark.parametrize("held", ["AGW_SANDBOX_TOKEN", "--token"])
def test_a_key_given_to_the_wrong_option_is_masked_in_the_usage_error(
        cli_env: dict[str, str], args: tuple[str, ...], held: str) -> None:
    """The key pasted one word too early (`--provider openai sk-…`): argparse's own messages
    quote the value they refused, and go through the masker like the rest of stderr."""
    env = {**cli_env, "AGW_SANDBOX_TOKEN": KEY_GIVEN_WRONG} if held != "--token" else cli_env
    extra = ("--token", KEY_GIVEN_WRONG) if held == "--token" else ()
    done = run_cli(*extra, *args, env=env)
    assert done.returncode == 2
    shown = done.stdout + done.stderr
    leaked = KEY_GIVEN_WRONG[8:24] in shown
    assert not leaked and "sk-…" in shown


def test_a_key_given_as_serves_host_is_masked_in_its_warning(
        cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture[str]) -> None:
    """The warning comes once the host is known to be no loopback (it resolves, here to an
    address of nobody's machine, TEST-NET-3): it quotes --host, masked."""
    from sandbox.errors import SandboxError
    from sandbox.settings import Settings
    from sandbox.web.serve import ServeOptions, serve

    def resolver(host: object, *args: object, **kwargs: object) -> object:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("203.0.113.9", 0))]

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    with pytest.raises(SandboxError):
        serve(Settings(runtime="sim", token=KEY_GIVEN_WRONG),
              ServeOptions(KEY_GIVEN_WRONG, 0, public=True))
    shown = "".join(capfd.readouterr())
    assert KEY_GIVEN_WRONG[8:24] not in shown and "serving on sk-…" in shown, shown


def test_a_key_given_as_serves_host_is_masked_when_it_does_not_resolve(
        cli_env: dict[str, str]) -> None:
    env = {**cli_env, "AGW_SANDBOX_TOKEN": KEY_GIVEN_WRONG}
    done = run_cli("serve", "--runtime", "sim", "--port", "0", "--public", "--host",
                   KEY_GIVEN_WRONG, env=env)
    assert done.returncode == 2
    shown = done.stdout + done.stderr
    assert KEY_GIVEN_WRONG[8:24] not in shown and "cannot listen on sk-…" in shown, shown


@pytest.mark.parametrize("value", ["nonexistent:Nope", "garbage", "os:getcwd", "textual:Nope",
                                   "sandbox.stdio:", "textual.app:App", ":", "json:loads:x", ""])
def test_a_driver_textual_cannot_load_is_said_before_the_app_starts(
        cli_env: dict[str, str], value: str) -> None:
    """TEXTUAL_DRIVER names the class Textual imports as the app starts: any other value ended
    in an internal error (ModuleNotFoundError, AttributeError, RuntimeError), exit 70."""
    done = run_cli("--runtime", "sim", env={**cli_env, "TEXTUAL_DRIVER": value})
    assert done.returncode == 2, done.stderr
    assert f"TEXTUAL_DRIVER is '{value}'" in done.stderr, done.stderr
    assert "module:Class" in done.stderr and "unset TEXTUAL_DRIVER" in done.stderr
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("value", ["../../etc:passwd", ".hidden:X", "a/b:C", "a..b:C",
                                   "textual.drivers.:X", "1st:X"])
def test_a_driver_module_that_is_no_module_name_is_said_so(
        cli_env: dict[str, str], value: str) -> None:
    """Python said "the 'package' argument is required to perform a relative import"."""
    done = run_cli("--runtime", "sim", env={**cli_env, "TEXTUAL_DRIVER": value})
    assert done.returncode == 2, done.stderr
    assert "a module name is dotted words (textual.drivers.linux_driver, say), with no '/' " \
        "nor leading '.'" in done.stderr, done.stderr
    assert "package" not in done.stderr


def test_a_driver_module_is_found_without_running_its_packages_code(
        cli_env: dict[str, str], tmp_path: Path) -> None:
    """A driver is looked for without running any code of its own or its packages': only
    Textual imports it, once, as the user asked (the check ran `this`'s Zen of Python)."""
    package = tmp_path / "lib" / "noisy"
    package.mkdir(parents=True)
    ran = tmp_path / "ran.txt"
    imported = f"open({str(ran)!r}, 'a').write(__name__ + '\\n')\n"
    (package / "__init__.py").write_text(imported)
    (package / "driver.py").write_text(imported)
    env = {**cli_env, "PYTHONPATH": str(tmp_path / "lib")}
    missing = run_cli("--runtime", "sim", env={**env, "TEXTUAL_DRIVER": "noisy.nodriver:X"})
    assert missing.returncode == 2, missing.stderr
    assert "No module named 'noisy.nodriver'" in missing.stderr, missing.stderr
    assert not ran.exists()
    no_class = run_cli("--runtime", "sim", env={**env, "TEXTUAL_DRIVER": "noisy.driver:X"})
    assert no_class.returncode == 2, no_class.stderr
    assert "TEXTUAL_DRIVER is 'noisy.driver:X', which Textual cannot load as its driver " \
        "(module 'noisy.driver' has no attribute 'X')" in no_class.stderr, no_class.stderr
    assert "internal error" not in no_class.stderr
    assert ran.read_text() == "noisy\nnoisy.driver\n"  # once each, by Textual


def test_a_driver_named_by_the_key_is_said_masked(cli_env: dict[str, str]) -> None:
    key = "sk-test-DriverNamedByTheKey5Rt8Yu2"
    done = run_cli("--runtime", "sim", env={**cli_env, "AGW_SANDBOX_TOKEN": key,
                                           "TEXTUAL_DRIVER": f"{key}:X"})
    assert done.returncode == 2 and "TEXTUAL_DRIVER" in done.stderr, done.stderr
    assert "DriverNamedByTheKey" not in done.stderr
