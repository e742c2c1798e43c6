"""Exec credential plugins (a kubeconfig user's ``exec:``), run as kubectl runs them, but through
sandbox.proc and with a deadline: one that waits for ever (a login nobody sees) is stopped, with
everything it started, and named with what it said.

The sandbox gives a plugin no terminal: it is told so (``spec.interactive: false``), and one
that insists on a terminal (``interactiveMode: Always``) is refused before it starts.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import stat
import threading
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from sandbox import proc, stdio
from sandbox.errors import CommandTimedOut, RuntimeUnavailable, how_it_ended
from sandbox.records import record
from sandbox.runtimes.kube.file_kinds import kind_of
from sandbox.runtimes.kube.kubeconfig import token_problem
from sandbox.untrusted import visible

# A cached token comes back in a second; a plugin that fetches one from a cloud in a few. One
# still running after this is waiting for something the sandbox cannot give it.
EXEC_TIMEOUT = 20.0
MAX_OUTPUT = 1024 * 1024  # bytes kept of what it prints; an ExecCredential is a few KB
MAX_INSTALL_HINT = 400  # characters of an entry's installHint shown: a few lines of advice
# The exec entry's apiVersion values client-go accepts (any other: "exec plugin: invalid
# apiVersion"); v1alpha1 went with Kubernetes 1.24.
API_VERSIONS = ("client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1")


@record
class Credential:
    """What a plugin answered: a bearer token, or a client certificate and key (PEM)."""

    token: str = ""
    certificate: str = ""
    key: str = ""
    expires: datetime | None = None


@record
class Plugin:
    argv: tuple[str, ...]
    env: Mapping[str, str]
    api_version: str
    interactive_mode: str
    install_hint: str
    who: str  # "user 'u' in the kubeconfig /path", for every message about it
    folder: str = ""  # the kubeconfig's, where a relative command was looked for ("": absolute)

    @classmethod
    def of(cls, spec: Any, folder: str, who: str,
           cluster: Mapping[str, Any] | None = None) -> Plugin:
        """From the ``exec`` entry; ``cluster`` (its server and CA) is passed on when the
        entry asks for it (``provideClusterInfo``)."""
        spec = spec if isinstance(spec, Mapping) else {}
        command, args, env = spec.get("command"), spec.get("args") or [], spec.get("env") or []
        if not isinstance(command, str) or not command or not isinstance(args, list):
            raise RuntimeUnavailable(f"the exec entry of {who} has no command to run",
                                     "give it `command:` (and `args:` as a list)")
        relative = os.sep in command and not Path(command).is_absolute()
        if relative:  # as kubectl: from the kubeconfig's folder
            command = str(Path(folder, command))
        info: dict[str, Any] = {"interactive": False}
        if spec.get("provideClusterInfo") and cluster is not None:
            info["cluster"] = dict(cluster)
        version = _api_version(spec.get("apiVersion"), who)
        settings = _environment(env, who)
        settings["KUBERNETES_EXEC_INFO"] = json.dumps(
            {"apiVersion": version, "kind": "ExecCredential", "spec": info}, default=str)
        return cls((command, *map(str, args)), settings, version,
                   str(spec.get("interactiveMode") or "IfAvailable"),
                   _install_hint(spec.get("installHint")), who, folder if relative else "")

    @property
    def name(self) -> str:
        return f"the exec credential plugin {self.argv[0]} of {self.who}"

    async def credential(self) -> Credential:
        """Run it once, within :data:`EXEC_TIMEOUT`."""
        if self.interactive_mode == "Always":
            raise RuntimeUnavailable(
                f"{self.name} needs a terminal (interactiveMode: Always), which the sandbox "
                "does not give it", "log in with kubectl first (`kubectl get namespaces` with "
                "the same context runs it on your terminal), or set interactiveMode: IfAvailable")
        try:
            done = await proc.run(self.argv, timeout=EXEC_TIMEOUT, check=False, env=self.env,
                                  keep=MAX_OUTPUT + 1)  # one byte more: more is said so
        except CommandTimedOut as exc:
            raise RuntimeUnavailable(
                f"{self.name} did not finish within {EXEC_TIMEOUT:g}s and was stopped"
                + _last_words(exc.stderr, "; its last words: "), self._by_hand) from exc
        except RuntimeUnavailable as exc:  # the system said only "No such file or directory"
            raise self._missing() from exc
        except OSError as exc:
            # the system says only "Permission denied" (PATH lookups skip directories)
            if (kind := _not_a_file(self.argv[0])) is not None:
                raise RuntimeUnavailable(
                    f"{self.name} is {kind}, not a program",
                    "set `command` in the kubeconfig to the plugin's program (a relative path "
                    "starts in the kubeconfig's folder)") from exc
            raise RuntimeUnavailable(f"{self.name} cannot be started ({exc.strerror or exc})",
                                     self._by_hand) from exc
        for left in done.stopped:  # kubectl would wait for it for ever; it is not ours to keep
            stdio.say(f"agw-sandbox: {self.name} left {left} holding its output; it was stopped")
        if done.returncode != 0:
            raise RuntimeUnavailable(
                f"{self.name} {how_it_ended(done.returncode)}"
                + _last_words(done.stderr, ": "), self._by_hand)
        if not done.stdout.strip():
            raise RuntimeUnavailable(
                f"{self.name} printed nothing (an ExecCredential in JSON was expected on its "
                "standard output)" + _last_words(done.stderr, ": "), self._by_hand)
        return self._read(done.stdout)

    def _missing(self) -> RuntimeUnavailable:
        """What is missing when the plugin could not be found: the program on PATH, the file
        a path names, or the interpreter its ``#!`` line names."""
        hint = self.install_hint or "install it, or correct `command` in the kubeconfig"
        program = Path(self.argv[0])
        if os.sep not in self.argv[0]:
            return RuntimeUnavailable(f"{self.name} is not installed (not found on PATH)", hint)
        if not program.exists():
            looked = (f" (a command with a / is looked for from the kubeconfig's folder, "
                      f"{self.folder})" if self.folder else "")
            return RuntimeUnavailable(f"{self.name} does not exist{looked}", hint)
        interpreter = _interpreter(program)
        if interpreter is None:
            return RuntimeUnavailable(f"{self.name} cannot be started (a program it needs to "
                                      "start, such as its loader, does not exist)", hint)
        return RuntimeUnavailable(
            f"{self.name} cannot be started: the interpreter its first line names, "
            f"{interpreter}, does not exist",
            f"install {interpreter}, or correct the #! line of {program} to name one that "
            "exists (`#!/usr/bin/env NAME` finds it on PATH)")

    @property
    def _by_hand(self) -> str:
        return (f"run it by hand to see what it needs (a login, a setting): {shlex.join(self.argv)}"
                "; `kubectl get namespaces` with the same context runs it too")

    def _read(self, output: str) -> Credential:
        def refused(why: str) -> RuntimeUnavailable:
            return RuntimeUnavailable(
                f"{self.name} printed something that is not an ExecCredential ({why})",
                self._by_hand)

        try:
            answer = json.loads(output)
        except (ValueError, RecursionError):
            if len(output.encode()) > MAX_OUTPUT:  # kept to MAX_OUTPUT + 1 bytes: cut
                raise RuntimeUnavailable(
                    f"{self.name} printed more than {MAX_OUTPUT // 1024**2} MiB, which is not "
                    "a credential the sandbox accepts (an ExecCredential is a few KiB)",
                    self._by_hand) from None
            raise refused("not JSON") from None
        if not isinstance(answer, dict) or answer.get("kind") != "ExecCredential":
            raise refused("no kind: ExecCredential")
        if answer.get("apiVersion") != self.api_version:
            raise refused(f"apiVersion {answer.get('apiVersion')!r}, not {self.api_version!r}")
        status = answer.get("status")
        status = status if isinstance(status, dict) else {}
        token, certificate = status.get("token"), status.get("clientCertificateData")
        key, expires = status.get("clientKeyData"), status.get("expirationTimestamp")
        if not (isinstance(token, str) and token) and not (
                isinstance(certificate, str) and isinstance(key, str) and certificate and key):
            raise refused("no status.token, nor status.clientCertificateData and clientKeyData")
        try:
            expiry = datetime.fromisoformat(expires) if isinstance(expires, str) else None
        except ValueError:
            raise refused(f"expirationTimestamp {expires!r} is not a time") from None
        if expiry is not None and expiry.tzinfo is None:
            raise refused(f"expirationTimestamp {expires!r} has no time zone")
        if isinstance(token, str) and token:
            problem = token_problem(token)  # sent as it is, as kubectl sends it
            if problem is not None:
                raise RuntimeUnavailable(f"{self.name} returned a token that holds {problem}",
                                         "a token is one line of printable ASCII: run it "
                                         f"by hand to see its answer: {shlex.join(self.argv)}")
            return Credential(token=token, expires=expiry)
        return Credential(certificate=str(certificate), key=str(key), expires=expiry)

    def obtain(self, loop: asyncio.AbstractEventLoop | None) -> Credential:
        """:meth:`credential`, from blocking code in a thread (where the kubernetes client
        asks). On ``loop``, when it runs in another thread: a stop that ends the loop's work
        stops the plugin too. Otherwise in a loop of its own, in a thread of its own."""
        if loop is not None and loop.is_running() and not _running_in(loop):
            return asyncio.run_coroutine_threadsafe(self.credential(), loop).result()
        result: list[Credential] = []
        failure: list[BaseException] = []

        def run() -> None:
            try:
                result.append(asyncio.run(self.credential()))
            except BaseException as exc:  # handed to the waiting thread
                failure.append(exc)

        worker = threading.Thread(target=run, name="agw-sandbox-exec-plugin", daemon=True)
        worker.start()
        worker.join()
        if failure:
            raise failure[0]
        return result[0]


def _api_version(given: object, who: str) -> str:
    """The exec entry's apiVersion, refused as kubectl refuses it before running the plugin."""
    if given in API_VERSIONS:
        return str(given)
    problem = ("has no apiVersion" if given in (None, "")
               else f"has apiVersion {given!r}, which kubectl does not know")
    raise RuntimeUnavailable(
        f"the exec entry of {who} {problem}",
        f"set it to {API_VERSIONS[0]} (or {API_VERSIONS[1]} for an older plugin): the one "
        "the plugin's documentation names")


def _environment(env: object, who: str) -> dict[str, str]:
    """The ``env`` entries (``- name: NAME`` / ``value: VALUE``) as the plugin's environment;
    an entry that is not one, or whose name no environment can hold, is refused by name."""
    settings: dict[str, str] = {}
    for item in env if isinstance(env, list) else ():
        name = item.get("name") if isinstance(item, Mapping) else None
        if not isinstance(name, str) or not name:
            problem = "has an env entry that is not a name and a value"
        elif "=" in name or "\0" in name:
            problem = f"has an env entry named {name!r}: a name cannot hold '='" + (
                " nor a NUL" if "\0" in name else "")
        else:
            value = item.get("value")
            settings[name] = "" if value is None else str(value)
            continue
        raise RuntimeUnavailable(f"the exec entry of {who} {problem}",
                                 "write each entry of env as `- name: NAME` with `value: VALUE` "
                                 "under it")
    return settings


def _install_hint(given: object) -> str:
    """The entry's installHint as the hint shows it: on one line, its hidden characters
    escaped, at most :data:`MAX_INSTALL_HINT` characters (cut at a blank: a key cut in two
    would be too short to be recognised and masked)."""
    text = " ".join(str(given or "").split())
    if len(text) > MAX_INSTALL_HINT:
        cut = text[:MAX_INSTALL_HINT - 1]
        blank = cut.rfind(" ")
        text = (cut[:blank] if blank > MAX_INSTALL_HINT // 2 else cut) + "…"
    return visible(text)


def _not_a_file(command: str) -> str | None:
    """What ``command`` (a path) is when it is not a file, in words; None for a file, or a
    command looked for on PATH (whose lookup skips what is not a file)."""
    if os.sep not in command:
        return None
    try:
        mode = Path(command).stat().st_mode
    except OSError:
        return None
    return None if stat.S_ISREG(mode) else kind_of(mode)


def _interpreter(program: Path) -> str | None:
    """The interpreter ``program``'s ``#!`` line names (None: it has none, or is unreadable)."""
    try:
        with program.open("rb") as file:
            first = file.readline(256)
    except OSError:
        return None
    if not first.startswith(b"#!"):
        return None
    words = first[2:].decode(errors="replace").split()
    return visible(words[0]) if words else None


def _running_in(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def _last_words(said: str, lead: str) -> str:
    """The last line a plugin wrote (it says what it waits for, or why it failed), shortened."""
    lines = said.strip().splitlines()
    if not lines:
        return ""
    line = lines[-1].strip()
    return lead + (line if len(line) <= 300 else line[:299] + "…")
