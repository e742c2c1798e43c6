"""Asking a Docker daemon who it is: one deadline for the whole probe, a cap on each answer, and
every field read for the type Docker gives it.

Whatever listens at ``DOCKER_HOST`` may not be Docker (an old or third-party engine, a proxy, a
test double): an answer that drips, that never ends, or that has another shape is named as
such, and ``auto`` falls back to the simulation.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
from typing import Any

from sandbox.documents import TooDeep, load_json
from sandbox.errors import RuntimeUnavailable
from sandbox.records import record
from sandbox.runtimes.kube.docker_words import answer_words, body_words, error_words, short_cause
from sandbox.runtimes.kube.paced import size_in_words
from sandbox.untrusted import visible

PROBE_DEADLINE = 5.0  # seconds for /_ping, /version and /info together, however they trickle
MAX_ANSWER_BYTES = 1024 * 1024  # a real /info is a few KB
READ_CHUNK = 64 * 1024
MAX_NUMBER = 2**63 - 1  # Docker's counts are Go int64s
API_VERSION = re.compile(r"[1-9][0-9]?\.[0-9]{1,3}")  # 1.43
ENGINE_VERSION = re.compile(r"[0-9A-Za-z][0-9A-Za-z.+~_-]*")  # 24.0.7, 20.10.21+dfsg1, dev
NOT_DOCKER_HINT = ("check that DOCKER_HOST (or the current Docker context) points at a Docker "
                   "daemon and that `docker info` works there; or use the offline simulation "
                   "with --runtime sim")
UNFIT_HINT = "; or use the offline simulation with --runtime sim"
TOO_OLD_HINT = ("upgrade Docker to a current release (API 1.24 came with Docker 1.12, in 2016), "
                "or point DOCKER_HOST at a newer daemon")
NOT_LINUX_HINT = ("kind needs a daemon that runs Linux containers: point DOCKER_HOST at one"
                  + UNFIT_HINT)
WINDOWS_HINT = ("switch Docker Desktop to Linux containers (its menu: \"Switch to Linux "
                "containers…\"), or point DOCKER_HOST at a daemon that runs them" + UNFIT_HINT)
# Docker Desktop's socket answers 500 while its engine starts or stops.
STARTING_HINT = ("a Docker Desktop that is still starting answers so: wait until it says it is "
                 "running and try again; else ")


@record
class DockerInfo:
    version: str
    api_version: str
    cpus: int
    memory_bytes: int
    operating_system: str
    endpoint: str = ""
    podman: bool = False  # the answer came from podman's Docker-compatible API
    os_type: str = ""  # the containers it runs: "linux" (kind's), or "windows"


class NotDockerAnswer(Exception):
    """The daemon answered, but not as Docker does; the text says what it answered (and
    ``status`` the HTTP error it answered with, if any)."""

    def __init__(self, answered: str, status: int = 0) -> None:
        super().__init__(answered)
        self.status = status


def ask_daemon(client: Any, where: str, timeout: float, hint: str,
               minimum_api: str) -> DockerInfo:
    """Ping the daemon behind ``client`` (a docker SDK client that has not spoken yet), then
    read its version and info, all within :data:`PROBE_DEADLINE`; the client is closed once
    the probe ends, even one given up on. A daemon older than ``minimum_api`` (the docker
    SDK's), or without Linux containers (kind's nodes), cannot be used: that is said."""
    answers = _answers(client, where, timeout, hint, ("/_ping", "/version", "/info"))
    try:
        info = docker_info(answers["/version"], answers["/info"], where)
    except NotDockerAnswer as exc:
        raise _not_docker(where, exc) from None
    _check_api(info.api_version, minimum_api, where, UNFIT_HINT)
    if info.os_type and info.os_type.lower() != "linux":
        windows = info.os_type.lower() == "windows"
        runs = "Windows" if windows else _quoted(info.os_type)
        raise RuntimeUnavailable(f"the Docker daemon at {where}, runs {runs} containers, and "
                                 "kind's nodes are Linux containers",
                                 WINDOWS_HINT if windows else NOT_LINUX_HINT)
    return info


def api_version(client: Any, where: str, timeout: float, hint: str, minimum_api: str) -> str:
    """The API version the daemon speaks (what the docker SDK would ask it, unbounded), from
    a ping and its version within :data:`PROBE_DEADLINE`; ``client`` is closed after. One
    older than ``minimum_api`` (the docker SDK's) is said to be."""
    answers = _answers(client, where, timeout, hint, ("/_ping", "/version"))
    try:
        version = _named_version(answers["/version"], "ApiVersion", API_VERSION)
    except NotDockerAnswer as exc:
        raise _not_docker(where, exc) from None
    _check_api(version, minimum_api, where)  # for `prepare` and images: Docker or nothing
    return version


def _check_api(version: str, minimum: str, where: str, way_out: str = "") -> None:
    """Refuse an API older than the docker SDK speaks (it would refuse every call)."""
    def numbers(text: str) -> tuple[int, ...]:
        return tuple(int(part) for part in text.split("."))

    if numbers(version) < numbers(minimum):
        raise RuntimeUnavailable(f"the Docker daemon at {where}, speaks Docker API {version}, "
                                 f"older than the API {minimum} that agw-sandbox's Docker "
                                 "library needs", TOO_OLD_HINT + way_out)


def _answers(client: Any, where: str, timeout: float, hint: str,
             paths: tuple[str, ...]) -> dict[str, Any]:
    """The daemon's answers to ``paths``, in order, within the deadline."""
    probe = _Probe(client, timeout, paths)
    threading.Thread(target=probe.run, name="docker-probe", daemon=True).start()
    if not probe.done.wait(max(PROBE_DEADLINE, timeout)):
        stage = probe.cancel()
        raise RuntimeUnavailable(
            f"the Docker daemon at {where}, did not finish answering {stage} within "
            f"{max(PROBE_DEADLINE, timeout):g} s, which Docker does at once", NOT_DOCKER_HINT)
    answered = _not_http(probe.error, probe.stage)
    if answered is not None:
        raise _not_docker(where, answered)
    if probe.error is not None:
        state = "not reachable" if probe.stage == "/_ping" else "not answering"
        raise RuntimeUnavailable(f"the Docker daemon is {state} at {where} "
                                 f"({_cause(probe.error, client)})", hint) from probe.error
    return probe.answers


def _not_docker(where: str, answered: NotDockerAnswer) -> RuntimeUnavailable:
    hint = STARTING_HINT + NOT_DOCKER_HINT if answered.status >= 500 else NOT_DOCKER_HINT
    return RuntimeUnavailable(f"the Docker daemon at {where}, answered {answered}, which is not "
                              "what Docker answers", hint)


def _not_http(error: BaseException | None, path: str) -> NotDockerAnswer | None:
    """What a daemon that broke HTTP did, in words (the SDK wraps it in a tuple of reprs)."""
    if error is None or isinstance(error, NotDockerAnswer):
        return error
    answered = answer_words(error, path)
    return None if answered is None else NotDockerAnswer(answered)


def _cause(exc: BaseException, client: Any) -> str:
    """A failed request in a few words, without the client's base URL (it says nothing)."""
    text = short_cause(exc)
    base_url = str(getattr(client.api, "base_url", ""))
    return text.replace(base_url, "") if base_url else text


class _Probe:
    """The requests, in a thread of their own so that the caller can stop waiting."""

    def __init__(self, client: Any, timeout: float, paths: tuple[str, ...]) -> None:
        self.client = client
        self.paths = paths
        self.timeout = timeout
        self.answers: dict[str, Any] = {}
        self.error: BaseException | None = None
        self.stage = "/_ping"
        self.done = threading.Event()
        self._cancelled = threading.Event()
        self._response: Any = None  # the answer being read: cut short on cancel
        self._lock = threading.Lock()

    def run(self) -> None:
        try:
            for path in self.paths:
                if self._cancelled.is_set():  # given up on between two requests
                    return
                self.stage = path
                self.answers[path] = self._get(path)
        except Exception as exc:  # whatever the SDK or the socket raises: named by the caller
            self.error = exc
        finally:
            with contextlib.suppress(Exception):
                self.client.close()
            self.done.set()

    def cancel(self) -> str:
        """Stop the probe: the socket of the answer being read is shut, so that the thread
        ends now rather than when the daemon stops dripping; returns the path it waited on."""
        self._cancelled.set()
        with self._lock:
            response = self._response
        if response is not None:
            sock: Any = getattr(getattr(response.raw, "connection", None), "sock", None)
            with contextlib.suppress(Exception):  # gone already, or no socket (ssh's pipe)
                sock.shutdown(socket.SHUT_RDWR)
        return self.stage

    def _get(self, path: str) -> Any:
        """One answer, read to its end but at most :data:`MAX_ANSWER_BYTES`."""
        api = self.client.api
        # Docker never redirects: a redirect is named, not followed (to wherever it points).
        response = api.get(api.base_url + path, stream=True, timeout=self.timeout,
                           allow_redirects=False)
        with self._lock:  # a cancel either sees this answer, or is seen here
            self._response = response
        try:
            if self._cancelled.is_set():
                raise TimeoutError("the probe was given up")
            body = bytearray()
            for chunk in response.iter_content(READ_CHUNK):
                if self._cancelled.is_set():
                    raise TimeoutError("the probe was given up")
                body += chunk
                if len(body) > MAX_ANSWER_BYTES:
                    raise NotDockerAnswer(f"{path} with more than "
                                          f"{size_in_words(MAX_ANSWER_BYTES)}")
        finally:
            response.close()
        if response.status_code >= 400:  # it answered, with an error Docker does not give
            raise NotDockerAnswer(
                f"{path} with HTTP {response.status_code}"
                + error_words(bytes(body), response.headers.get("Content-Type") or ""),
                response.status_code)
        if response.status_code != 200:  # a redirect, or a 2xx that is not an answer
            raise NotDockerAnswer(f"{path} with HTTP {response.status_code}"
                                  + _redirect(response.headers.get("Location")))
        if path == "/_ping":
            return bytes(body)
        try:
            return load_json(bytes(body))
        except TooDeep as exc:
            raise NotDockerAnswer(f"{path} with something that is not JSON ({exc})") from None
        except ValueError as exc:  # not JSON, not UTF-8, a number too long to read
            raise NotDockerAnswer(f"{path} with " + body_words(
                bytes(body), response.headers.get("Content-Type") or "", exc)) from None


def _redirect(location: str | None) -> str:
    """Where a redirect pointed, in words (Docker never redirects)."""
    return f" (a redirect to {_quoted(location)})" if location else ""


def docker_info(version: Any, info: Any, where: str) -> DockerInfo:
    """The fields we show, each of the type Docker gives it, or :class:`NotDockerAnswer`."""
    components = _field(version, "/version with", "Components", list, [])
    names = {_field(component, "/version with a component", "Name", str, "")
             for component in components}
    return DockerInfo(
        version=_named_version(version, "Version", ENGINE_VERSION),
        api_version=_named_version(version, "ApiVersion", API_VERSION),
        cpus=_count(info, "NCPU"),
        memory_bytes=_count(info, "MemTotal"),
        operating_system=_field(info, "/info with", "OperatingSystem", str, "?"),
        endpoint=where,
        podman="Podman Engine" in names,
        os_type=_field(info, "/info with", "OSType", str, "")
        or _field(version, "/version with", "Os", str, ""),
    )


def _field(answer: Any, what: str, key: str, kind: type, default: Any) -> Any:
    """``answer[key]`` when it is a ``kind`` (``default`` when absent or null), else
    :class:`NotDockerAnswer` saying, after ``what`` ("/info with"), what it is."""
    if not isinstance(answer, dict):
        raise NotDockerAnswer(f"{what} {_quoted(answer)}")
    value = answer.get(key)
    if value is None:
        return default
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise NotDockerAnswer(f"{what} {key} {_quoted(value)}")
    return value


def _named_version(version: Any, key: str, form: re.Pattern[str]) -> str:
    """``version[key]``, which Docker always gives, of the ``form`` Docker gives it."""
    if isinstance(version, dict) and key not in version:
        raise NotDockerAnswer(f"/version with no {key}")
    value: str = _field(version, "/version with", key, str, "")
    if not form.fullmatch(value):
        raise NotDockerAnswer(f"/version with {key} {_quoted(version[key])}")
    return value


def _count(info: Any, key: str) -> int:
    value: int = _field(info, "/info with", key, int, 0)
    if not 0 <= value <= MAX_NUMBER:
        raise NotDockerAnswer(f"/info with {key} {_quoted(value)}")
    return value


def _quoted(value: Any) -> str:
    """``value`` as JSON writes it, short and escaped: a list, 1e400's Infinity, a string."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except ValueError:  # an integer of more digits than Python writes
        text = "a number of more than 4300 digits"
    text = text if len(text) <= 60 else text[:59] + "…"
    return visible(text)
