"""What a kubeconfig names besides itself: credential files and exec credential plugins.

Each file a cluster or user entry names (certificate-authority, client-certificate, client-key,
tokenFile) is read only when it is a regular file of a credential's size, and is named with what
it is otherwise. An exec plugin runs with a deadline and is stopped, with everything it started,
when the deadline passes or a stop signal arrives; what it said is shown, escaped.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sandbox import stdio
from sandbox.errors import RuntimeUnavailable
from tests.helpers import run_cli, stop_with
from tests.hostile_apiserver import hostile_api, kubeconfig, silence

EXEC = """\
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: {command}
      interactiveMode: {mode}
{extra}"""


def status(env: dict[str, str], config: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    result = run_cli("status", "--runtime", "cluster", "--context", "c",
                     env={**env, "KUBECONFIG": str(config)}, timeout=60)
    return result, time.monotonic() - started


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def unix_socket(path: Path) -> Path:
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    listener.close()  # the file stays
    return path


def sparse(path: Path) -> Path:
    with path.open("wb") as out:
        out.truncate(3 * 1024**3)
    return path


@pytest.mark.parametrize(("key", "make", "problem"), [
    ("tokenFile", fifo, "is not a regular file (a FIFO)"),
    ("tokenFile", lambda path: Path("/dev/urandom"), "is not a regular file (a device)"),
    ("tokenFile", sparse, "is 3072.0 MiB, far more than a credential file holds"),
    ("tokenFile", lambda path: path.parent, "is not a regular file (a directory)"),
    ("tokenFile", lambda path: path, "does not exist"),
    ("client-key", fifo, "is not a regular file (a FIFO)"),
    ("client-certificate", unix_socket, "is not a regular file (a socket)"),
], ids=["token-fifo", "token-urandom", "token-3GiB", "token-directory", "token-missing",
        "key-fifo", "cert-socket"])
def test_a_file_the_user_entry_names_is_checked_before_it_is_read(
        cli_env: dict[str, str], tmp_path: Path, key: str, make: Callable[[Path], Path],
        problem: str) -> None:
    named = make(tmp_path / "named")
    config = tmp_path / "kubeconfig"
    with hostile_api(silence) as api:
        server = api.url.replace("http:", "https:") if key != "tokenFile" else api.url
        config.write_text(kubeconfig(server, user=f"    {key}: {named}\n"))
        result, seconds = status(cli_env, config)
    assert seconds < 15, seconds
    assert result.returncode == 2, result.stdout + result.stderr
    assert (f"the {key} {named} of user 'u' in the kubeconfig {config} {problem}"
            in result.stderr)
    assert "File does not exist" not in result.stderr


def test_a_certificate_authority_that_is_a_fifo_is_named_from_its_relative_path(
        cli_env: dict[str, str], tmp_path: Path) -> None:
    """Relative paths start in the kubeconfig's folder, as the client reads them."""
    folder = tmp_path / "kube"
    folder.mkdir()
    fifo(folder / "ca.pem")
    config = folder / "config"
    config.write_text(kubeconfig("https://127.0.0.1:9",
                                 cluster="    certificate-authority: ca.pem\n"))
    result, seconds = status(cli_env, config)
    assert seconds < 15 and result.returncode == 2, result.stderr
    assert (f"the certificate-authority {folder / 'ca.pem'} of cluster 'c' in the kubeconfig "
            f"{config} is not a regular file (a FIFO)") in result.stderr


def plugin(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "plugin.sh"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    return script


HANGING = """\
echo $$ > "{pids}"
printf 'waiting for a login \\033]0;PWNED\\007 at https://login.example\\n' >&2
sleep 3600 &
echo $! >> "{pids}"
wait
"""


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has stopped; only its parent has yet to notice


def started_pids(pids: Path) -> list[int]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = pids.read_text().split() if pids.exists() else []
        if len(found) == 2:
            return [int(pid) for pid in found]
        time.sleep(0.05)
    raise AssertionError("the plugin never started")


@pytest.fixture
def stopped() -> Iterator[list[int]]:
    """Pids the test expects gone; any still running at the end are killed."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143),
                                              (signal.SIGHUP, 129)])
def test_a_stop_signal_ends_a_command_waiting_on_an_exec_plugin_and_stops_it(
        cli_env: dict[str, str], tmp_path: Path, stopped: list[int], signum: int,
        code: int) -> None:
    pids = tmp_path / "pids"
    script = plugin(tmp_path, HANGING.format(pids=pids))
    config = tmp_path / "kubeconfig"
    config.write_text(kubeconfig("http://127.0.0.1:9", user=EXEC.format(
        command=script, mode="Never", extra="")))
    command = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "status", "--runtime", "cluster", "--context", "c"],
        env={**cli_env, "KUBECONFIG": str(config)}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        stopped.extend(started_pids(pids))
        seconds, _, stderr = stop_with(command, signum)
    finally:
        if command.poll() is None:
            command.kill()
            command.wait()
    assert seconds < 3, seconds
    assert command.returncode == code, stderr
    time.sleep(0.5)
    assert not [pid for pid in stopped if alive(pid)], "the plugin outlived the command"


async def test_an_exec_plugin_that_never_ends_is_stopped_at_its_deadline(
        tmp_path: Path, stopped: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    from sandbox.runtimes.kube import exec_plugin
    from sandbox.runtimes.kube.client import Kube

    monkeypatch.setattr(exec_plugin, "EXEC_TIMEOUT", 1.0)
    pids = tmp_path / "pids"
    script = plugin(tmp_path, HANGING.format(pids=pids))
    config = tmp_path / "kubeconfig"
    config.write_text(kubeconfig("http://127.0.0.1:9", user=EXEC.format(
        command=script, mode="IfAvailable", extra="")))
    started = time.monotonic()
    with pytest.raises(RuntimeUnavailable) as raised:
        await asyncio.wait_for(Kube.open(str(config), "c"), 20)
    assert time.monotonic() - started < 10
    stopped.extend(started_pids(pids))
    assert not [pid for pid in stopped if alive(pid)], "the plugin outlived its deadline"
    assert raised.value.message == (
        f"the exec credential plugin {script} of user 'u' in the kubeconfig {config} did not "
        "finish within 1s and was stopped; its last words: waiting for a login \x1b]0;PWNED\x07 "
        "at https://login.example")
    assert "kubectl" in raised.value.hint


def counting_plugin(tmp_path: Path, expires: datetime | None) -> tuple[Path, Path]:
    """A plugin that answers token-1, token-2, … and writes what it was given."""
    runs = tmp_path / "runs"
    status: dict[str, str] = {"token": "token-$n"}
    if expires is not None:
        status["expirationTimestamp"] = expires.strftime("%Y-%m-%dT%H:%M:%SZ")
    answer = json.dumps({"apiVersion": "client.authentication.k8s.io/v1",
                         "kind": "ExecCredential", "status": status})
    script = plugin(tmp_path, f"""\
n=$(( $(cat "{runs}" 2>/dev/null || echo 0) + 1 ))
echo $n > "{runs}"
printf '%s %s' "$KUBERNETES_EXEC_INFO" "$PLUGIN_SETTING" > "{tmp_path}/given"
cat <<EOF
{answer}
EOF
""")
    return script, runs


async def test_an_exec_plugins_token_is_sent_and_renewed_when_it_expires(
        tmp_path: Path) -> None:
    from sandbox.runtimes.kube.client import Kube

    script, runs = counting_plugin(tmp_path, datetime.now(UTC) + timedelta(minutes=1))
    with hostile_api(silence) as api:
        config = tmp_path / "kubeconfig"
        config.write_text(kubeconfig(api.url, user=EXEC.format(
            command=script, mode="IfAvailable",
            extra="      env: [{name: PLUGIN_SETTING, value: from-kubeconfig}]\n")))
        kube = await Kube.open(str(config), "c")
        for _ in range(2):
            assert await stdio.in_thread(kube.server_version) == "v1.34.0"
    assert [line for head in api.heads for line in head.splitlines()
            if line.lower().startswith("authorization")] == [
        "authorization: Bearer token-2", "authorization: Bearer token-3"]
    assert runs.read_text().strip() == "3"  # once to connect, then for each expired token
    given, setting = (tmp_path / "given").read_text().rsplit(" ", 1)
    assert json.loads(given) == {"apiVersion": "client.authentication.k8s.io/v1",
                                 "kind": "ExecCredential", "spec": {"interactive": False}}
    assert setting == "from-kubeconfig"


@pytest.mark.parametrize(("body", "extra", "mode", "message", "hint"), [
    ("printf 'no credentials for \\033[2J profile x\\n' >&2; exit 3", "", "Never",
     "failed with exit status 3: no credentials for \\u001b[2J profile x", "by hand"),
    ("yes '{}' | head -c 50000000", "", "Never",
     "printed more than 1 MiB, which is not a credential the sandbox accepts", "by hand"),
    ("echo 'Please log in at https://login.example'", "", "Never",
     "printed something that is not an ExecCredential (not JSON)", "by hand"),
    ("echo '{\"apiVersion\": \"v1\", \"kind\": \"ExecCredential\", \"status\": {}}'", "",
     "Never", "printed something that is not an ExecCredential (apiVersion 'v1', not "
     "'client.authentication.k8s.io/v1')", "by hand"),
    ("exit 0", "", "Always",
     "needs a terminal (interactiveMode: Always), which the sandbox does not give it",
     "log in"),
    ("kill -9 $$", "", "Never", "was killed by SIGKILL", "by hand"),
    ("echo 'token cache locked' >&2; kill -TERM $$", "", "Never",
     "was killed by SIGTERM: token cache locked", "by hand"),
    ("exit 0", "", "Never", "printed nothing (an ExecCredential in JSON was expected on its "
     "standard output)", "by hand"),
    ("printf ' \\n\\n'; echo 'logged in' >&2", "", "Never", "printed nothing (an "
     "ExecCredential in JSON was expected on its standard output): logged in", "by hand"),
], ids=["fails", "floods", "not-json", "wrong-api-version", "needs-a-terminal", "killed",
        "terminated", "prints-nothing", "prints-blank-lines"])
def test_what_goes_wrong_with_an_exec_plugin_is_said(
        cli_env: dict[str, str], tmp_path: Path, body: str, extra: str, mode: str,
        message: str, hint: str) -> None:
    script = plugin(tmp_path, body + "\n")
    config = tmp_path / "kubeconfig"
    config.write_text(kubeconfig("http://127.0.0.1:9", user=EXEC.format(
        command=script, mode=mode, extra=extra)))
    result, seconds = status(cli_env, config)
    assert seconds < 25, seconds
    assert result.returncode == 2, result.stdout + result.stderr
    assert (f"the exec credential plugin {script} of user 'u' in the kubeconfig {config} "
            f"{message}") in result.stderr
    assert "hint: " in result.stderr and hint in result.stderr.split("hint: ", 1)[1]


def test_a_missing_exec_plugin_gets_the_kubeconfigs_install_hint(
        cli_env: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text(kubeconfig("http://127.0.0.1:9", user=EXEC.format(
        command="agw-sandbox-no-such-plugin", mode="Never",
        extra="      installHint: 'install it with: brew install no-such-plugin'\n")))
    result, _ = status(cli_env, config)
    assert result.returncode == 2
    assert ("the exec credential plugin agw-sandbox-no-such-plugin of user 'u' in the "
            f"kubeconfig {config} is not installed (not found on PATH)") in result.stderr
    assert "hint: install it with: brew install no-such-plugin" in result.stderr


def test_the_gcp_auth_provider_is_refused_before_its_command_runs(
        cli_env: dict[str, str], tmp_path: Path, stopped: list[int]) -> None:
    """kubectl dropped it; the client would run its cmd-path outside any deadline."""
    pids = tmp_path / "pids"
    script = plugin(tmp_path, HANGING.format(pids=pids))
    config = tmp_path / "kubeconfig"
    config.write_text(kubeconfig("http://127.0.0.1:9", user=(
        "    auth-provider:\n      name: gcp\n      config:\n"
        f"        cmd-path: {script}\n        cmd-args: config config-helper\n")))
    result, seconds = status(cli_env, config)
    if pids.exists():  # it ran: stopped at the end, whatever the assertions say
        stopped.extend(started_pids(pids))
    assert seconds < 15, seconds
    assert result.returncode == 2, result.stderr
    assert (f"user 'u' in the kubeconfig {config} uses the gcp auth-provider, which kubectl no "
            "longer supports") in result.stderr
    assert "gke-gcloud-auth-plugin" in result.stderr
    assert not pids.exists(), "its command ran"


def test_an_expired_oidc_token_is_not_renewed_by_asking_an_issuer_that_never_answers(
        cli_env: dict[str, str], tmp_path: Path) -> None:
    """The client would ask the issuer without a deadline; kubectl renews the token."""
    import base64

    claims = base64.urlsafe_b64encode(json.dumps({"exp": 1000000000}).encode()).rstrip(b"=")
    token = f"eyJhbGciOiJub25lIn0.{claims.decode()}.c2ln"
    with hostile_api(silence, first_call=True) as issuer:
        config = tmp_path / "kubeconfig"
        config.write_text(kubeconfig(issuer.url, user=(
            f"    auth-provider:\n      name: oidc\n      config:\n"
            f"        id-token: {token}\n        idp-issuer-url: {issuer.url}\n"
            "        client-id: sandbox\n        refresh-token: r-test-refresh\n")))
        result, seconds = status(cli_env, config)
        asked = list(issuer.heads)
    assert seconds < 15, seconds
    assert result.returncode == 2, result.stdout + result.stderr
    assert (f"the oidc id-token of user 'u' in the kubeconfig {config} has expired, and the "
            "sandbox does not renew it") in result.stderr
    assert "kubectl get namespaces" in result.stderr
    assert asked == [], "the issuer was asked"


async def test_a_relative_exec_command_starts_in_the_folder_of_the_file_that_names_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As kubectl resolves it: from the user entry's kubeconfig, not the cluster entry's."""
    from sandbox.runtimes.kube.client import Kube

    script, runs = counting_plugin(tmp_path, None)
    with hostile_api(silence) as api:
        whole = kubeconfig(api.url, user=EXEC.format(command=f"./{script.name}",
                                                     mode="IfAvailable", extra=""))
        clusters, users = whole.split("users:\n")
        (tmp_path / "cluster").mkdir()
        (tmp_path / "cluster" / "config").write_text(clusters)
        (tmp_path / "users").write_text("apiVersion: v1\nkind: Config\nusers:\n" + users)
        monkeypatch.setenv("KUBECONFIG", f"{tmp_path / 'cluster' / 'config'}:{tmp_path / 'users'}")
        kube = await Kube.open(None, "c")
        assert await stdio.in_thread(kube.server_version) == "v1.34.0"
    assert runs.read_text().strip() == "1"
    assert "authorization: Bearer token-1" in api.heads[0]


@pytest.mark.parametrize("relative", [False, True], ids=["absolute", "relative"])
def test_an_exec_command_that_is_a_directory_says_so(
        cli_env: dict[str, str], tmp_path: Path, relative: bool) -> None:
    (tmp_path / "bin").mkdir()
    config = tmp_path / "kubeconfig"
    config.write_text(kubeconfig("http://127.0.0.1:9", user=EXEC.format(
        command="./bin" if relative else tmp_path / "bin", mode="Never", extra="")))
    result, _ = status(cli_env, config)
    assert result.returncode == 2
    assert (f"the exec credential plugin {tmp_path / 'bin'} of user 'u' in the kubeconfig "
            f"{config} is a directory, not a program") in result.stderr, result.stderr
    assert "Permission denied" not in result.stderr
