"""Talking to the Docker daemon through the docker SDK (imported here only, and lazily).

The daemon is looked for where the `docker` CLI looks: ``DOCKER_HOST``, then ``DOCKER_CONTEXT``,
then the current context in ``~/.docker/config.json``, then the default socket. Docker Desktop,
colima, OrbStack and Rancher Desktop often live only in a context.
"""

from __future__ import annotations

import os
import shutil
import threading
from dataclasses import field
from pathlib import Path
from typing import Any, BinaryIO

from sandbox.errors import RuntimeUnavailable
from sandbox.records import record
from sandbox.runtimes.kube.docker_config import file_problem, load_config, meta_problem, tilde
from sandbox.runtimes.kube.docker_probe import DockerInfo, api_version, ask_daemon
from sandbox.runtimes.kube.docker_words import (
    address_words,
    failure_words,
    socket_problem,
    text_words,
)
from sandbox.runtimes.kube.paced import paced, size_in_words
from sandbox.runtimes.kube.secrets import shown_url
from sandbox.untrusted import describe, first_hidden, one_line, quoted, shortened

DOCKER_HINT = ("start Docker (Docker Desktop, or `sudo systemctl start docker`) and check that "
               "`docker info` works; or use the offline simulation with --runtime sim")
DEFAULT_SOCKET = "unix:///var/run/docker.sock"
KIND_ON_PODMAN = "KIND_EXPERIMENTAL_PROVIDER=podman"
# The docker SDK reaches ssh:// through paramiko or by starting `ssh` itself: neither is for us
# (paramiko is not installed, and only sandbox/proc/ starts processes).
OVER_SSH = ("is reached over ssh, which agw-sandbox does not do: it talks to Docker over a socket "
            "or tcp:// only")
OVER_SSH_HINT = ("point DOCKER_HOST at a socket on this machine (unix:///var/run/docker.sock) or "
                 "a tcp:// address, or unset it and pick a `docker context` whose endpoint is "
                 "unix:// or tcp:// (`docker context ls`, then `docker context use NAME`); or "
                 "use the offline simulation with --runtime sim")
DOCKER_HOST_HINT = ("set DOCKER_HOST to an address such as unix:///var/run/docker.sock or "
                    "tcp://HOST:2376, or unset it to use the current Docker context")


@record
class DockerEndpoint:
    """Where the daemon is expected, and which setting said so (for every message about it)."""

    url: str
    source: str
    tls: Any = field(default=None, repr=False)

    def __str__(self) -> str:
        return f"{self.shown}, {self.source}"

    @property
    def shown(self) -> str:
        """The address without the user and password it may carry, escaped: as messages say it."""
        return shortened(shown_url(self.url))


def resolve_endpoint() -> DockerEndpoint:
    """The endpoint the `docker` CLI would use, or :class:`RuntimeUnavailable` naming the setting
    that points nowhere (a context that does not exist)."""
    from docker.errors import DockerException
    from docker.utils import kwargs_from_env

    _refuse_unsafe_config()
    if host := os.environ.get("DOCKER_HOST"):
        if problem := _address_problem(host):
            raise RuntimeUnavailable(
                f"DOCKER_HOST {quoted(shown_url(host))} is not a Docker address ({problem})",
                DOCKER_HOST_HINT)
        try:
            params = kwargs_from_env()
        except DockerException as exc:  # DOCKER_TLS_VERIFY/DOCKER_CERT_PATH that don't add up
            problem = _missing_tls_files() or _short(exc)
            raise RuntimeUnavailable(f"DOCKER_HOST is set but unusable ({problem})",
                                     "check DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH"
                                     ) from exc
        return DockerEndpoint(str(params["base_url"]), "set by DOCKER_HOST", params.get("tls"))
    name = os.environ.get("DOCKER_CONTEXT")
    where = f"context {name} (DOCKER_CONTEXT)"
    if not name:
        name, config = _current_context()
        where = f"context {name} (currentContext in {config})"
    if name == "default":
        return DockerEndpoint(DEFAULT_SOCKET, "the default socket")
    return _context_endpoint(name, where)


def _missing_tls_files() -> str | None:
    """Which of the files that TLS takes from DOCKER_CERT_PATH (or ~/.docker) are missing, as
    the docker SDK reads them, in words; None when none is."""
    verify = os.environ.get("DOCKER_TLS_VERIFY", "") != ""
    folder = os.environ.get("DOCKER_CERT_PATH") or str(Path.home() / ".docker")
    needed = ("cert.pem", "key.pem", "ca.pem") if verify else ("cert.pem", "key.pem")
    missing = [name for name in needed if not Path(folder, name).is_file()]
    if not missing:
        return None
    names = ", ".join(missing[:-1]) + " nor " + missing[-1] if len(missing) > 1 else missing[0]
    setting = "DOCKER_TLS_VERIFY" if verify else "DOCKER_CERT_PATH"
    return f"{setting} asks for TLS, and {one_line(tilde(folder))} has no {names}"


def _current_context() -> tuple[str, str]:
    """The CLI's ``currentContext`` and the config file it came from ("default" without one)."""
    from docker.utils.config import find_config_file

    path = find_config_file()
    if not path:
        return "default", ""
    name = load_config(Path(path)).get("currentContext") or "default"
    return str(name), tilde(path)


def _refuse_unsafe_config() -> None:
    """Refuse Docker's config.json before the SDK reads it (every client reads it on creation)."""
    from docker.utils.config import find_config_file

    if path := find_config_file():
        load_config(Path(path))


def _address_problem(url: str) -> str | None:
    """Why ``url`` is not an address the docker SDK can use (None: it is one)."""
    from docker.errors import DockerException
    from docker.utils import parse_host

    if found := first_hidden(url, one_line=True):
        return f"it holds {describe(found[1])}"
    if url != url.lstrip() or url != url.rstrip():  # the SDK trims them, the CLI too, we say
        return f"it {'begins' if url != url.lstrip() else 'ends'} with a blank: remove it"
    if _over_ssh(url):  # said on its own, whatever else it holds: we do not go there
        return None
    if "@" in url.partition("://")[2].partition("/")[0]:  # requests would send it as Basic auth
        return "a Docker address cannot hold a user or password: remove the part before '@'"
    if words := address_words(url):
        return words
    try:
        parse_host(url, False, tls=False)
    except ValueError as exc:  # a port that is no number, a bracket left open
        return ("the port is not a number" if "cast to integer" in str(exc) else
                _short(exc, url))
    except DockerException as exc:  # an unknown scheme, no host
        return _short(exc, url)
    return None


def _over_ssh(url: str) -> bool:
    """Whether ``url`` is an ``ssh://`` address (the SDK reads the scheme in any case)."""
    return url.lower().startswith("ssh://")


def _context_endpoint(name: str, where: str) -> DockerEndpoint:
    from docker.context import ContextAPI
    from docker.context.config import get_meta_file

    if problem := file_problem(Path(get_meta_file(name))):
        raise RuntimeUnavailable(f"the Docker {where} cannot be read (its meta.json {problem})",
                                 "check `docker context ls`")
    try:
        context = ContextAPI.get_context(name)
    except RecursionError:  # the SDK parses it with plain json.load
        raise RuntimeUnavailable(f"the Docker {where} cannot be read (its meta.json is nested "
                                 "too deeply to be a context's)", "check `docker context ls`"
                                 ) from None
    except Exception as exc:  # a bare Exception for a corrupted meta.json, a KeyError, …
        raise RuntimeUnavailable(f"the Docker {where} cannot be read (its meta.json "
                                 f"{meta_problem(Path(get_meta_file(name)))})",
                                 "check `docker context ls`") from exc
    if context is None or not context.Host:
        raise RuntimeUnavailable(
            f"the Docker {where} does not exist",
            "pick one that exists: `docker context ls`, then `docker context use NAME` (or set "
            "DOCKER_CONTEXT to it)")
    if problem := _address_problem(str(context.Host)):
        raise RuntimeUnavailable(
            f"the Docker {where} has the host '{one_line(shown_url(str(context.Host)))}', which is "
            f"not a Docker address ({problem})",
            "fix it with `docker context update`, or pick another one: `docker context ls`")
    return DockerEndpoint(str(context.Host), f"from {where}", context.TLSConfig)


def probe_docker(base_url: str | None = None, timeout: float = 3.0) -> DockerInfo:
    """Ask the daemon who it is; raise :class:`RuntimeUnavailable` saying where it was looked
    for and why it can't be used (it does not answer, or not in time, or not as Docker does)."""
    from docker.constants import MINIMUM_DOCKER_API_VERSION

    endpoint = DockerEndpoint(base_url, "as given") if base_url else resolve_endpoint()
    # A version given spares the SDK its own, unbounded, /version call: the probe's paths
    # carry no version (a daemon answers them with its own).
    client = _connect(endpoint, int(timeout), unreachable_hint(), MINIMUM_DOCKER_API_VERSION)
    return ask_daemon(client, str(endpoint), timeout, unreachable_hint(),
                      MINIMUM_DOCKER_API_VERSION)


def podman_sockets() -> list[Path]:
    """Where podman's Docker-compatible API listens when its socket unit runs."""
    runtime_dir = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
    candidates = [Path(runtime_dir) / "podman" / "podman.sock", Path("/run/podman/podman.sock")]
    return [path for path in candidates if path.exists()]


def unreachable_hint() -> str:
    """What to do when no daemon answers: start Docker, or use podman if that is what is here."""
    if shutil.which("podman") is None:
        return DOCKER_HINT
    sockets = podman_sockets()
    api = (f"export DOCKER_HOST=unix://{sockets[0]}" if sockets else
           "start its Docker-compatible API (`systemctl --user start podman.socket`) and export "
           "DOCKER_HOST=unix://$XDG_RUNTIME_DIR/podman/podman.sock")
    return (f"podman is installed and kind runs on it: {api} and {KIND_ON_PODMAN}; or start "
            "Docker, or use the offline simulation with --runtime sim")


def _short(exc: Exception, url: str = "") -> str:
    """``exc`` in a few plain words; ``url``, which the SDK quotes whole, without its user and
    password."""
    if (words := failure_words(exc)) is not None:
        return words
    text = str(exc).strip().replace(url, shown_url(url)) if url else str(exc).strip()
    return text_words(Exception(text) if text else exc)


# -- image archives, for the offline bundle -----------------------------------------------------
ARCHIVE_TIMEOUT = 900  # a kind node image is about 1 GB to load
STALL_SECONDS = 120  # a pull or save with no progress line nor byte for this long is stuck
ARCHIVE_DEADLINE = 3600  # a pull or save however slowly it progresses: a slow Wi-Fi's hour
MAX_ARCHIVE_BYTES = 4 * 1024**3  # a kind node image's archive is about 1 GB
PROBE_TIMEOUT = 3  # seconds for the daemon's first answer, as `doctor` waits for it
DOCKER_CALL_TIMEOUT = 30  # seconds for an answer to any other call but an image's stream


# `prepare` needs Docker whatever --runtime says: the simulation is no way out for it.
PREPARE_DOCKER_HINT = ("`prepare` saves the images through Docker, while online: start Docker "
                       "(Docker Desktop, or `sudo systemctl start docker`), check that "
                       "`docker info` works, and run it again")


def _client(hint: str | None = None) -> Any:
    """A client whose calls wait :data:`DOCKER_CALL_TIMEOUT` seconds for an answer, once the
    daemon has said its API version within :data:`PROBE_TIMEOUT` (and the probe's deadline):
    an endpoint that accepts and never answers, or drips, is named in seconds, as `doctor`
    names it."""
    from docker.constants import MINIMUM_DOCKER_API_VERSION

    hint = hint or unreachable_hint()
    endpoint = resolve_endpoint()
    first = _connect(endpoint, PROBE_TIMEOUT, hint, MINIMUM_DOCKER_API_VERSION)
    version = api_version(first, str(endpoint), PROBE_TIMEOUT, hint, MINIMUM_DOCKER_API_VERSION)
    return _connect(endpoint, DOCKER_CALL_TIMEOUT, hint, version)


def _connect(endpoint: DockerEndpoint, timeout: int, hint: str, version: str | None = None
             ) -> Any:
    """A docker SDK client for ``endpoint`` (without ``version``, it asks the daemon its API
    version at once)."""
    import docker  # deferred: ~100 ms of imports that the simulated path never needs
    from docker.errors import DockerException

    _refuse_unsafe_config()
    if problem := _address_problem(endpoint.url):
        raise RuntimeUnavailable(
            f"'{endpoint.shown}' ({endpoint.source}) is not a Docker address ({problem})",
            DOCKER_HOST_HINT)
    if _over_ssh(endpoint.url):
        raise RuntimeUnavailable(f"the Docker daemon at {endpoint}, {OVER_SSH}", OVER_SSH_HINT)
    if problem := socket_problem(endpoint.url):
        raise RuntimeUnavailable(f"the Docker daemon is not reachable at {endpoint} ({problem})",
                                 hint)
    try:
        return docker.DockerClient(base_url=endpoint.url, tls=endpoint.tls or False,
                                   timeout=timeout, version=version)
    except (DockerException, ValueError) as exc:
        raise RuntimeUnavailable(
            f"the Docker daemon is not reachable at {endpoint} ({_short(exc)})", hint) from exc


def tag_of(ref: str) -> str:
    """``name:tag@sha256:…`` -> ``name:tag``: the name an archive carries (digests are not
    kept by `docker save`/`docker load` in Docker's classic image store)."""
    return ref.split("@", 1)[0]


SAVE_CHUNK = 64 * 1024  # bytes per read of an archive: small, so that a stop is seen at once


def save_image(ref: str, dest: Path, progress: Any = None,
               stop: threading.Event | None = None) -> str:
    """Write ``ref`` as a `docker save` archive to ``dest`` (pulling it first when the daemon
    does not have it); return the image's id. Once ``stop`` is set it returns early, at the
    next piece of the pull or the archive ("" then: the caller has stopped waiting)."""
    from docker.errors import DockerException, ImageNotFound

    stop = stop or threading.Event()
    client = _client(hint=PREPARE_DOCKER_HINT)
    try:
        try:
            image = client.images.get(ref)
        except ImageNotFound:
            if progress is not None:
                progress(f"pulling {ref}")
            image = _pull(client, ref, stop, progress)
            if image is None:
                return ""
        name = tag_of(ref)
        if name != ref and name not in image.tags:  # pulled by digest: give it its tag back
            repository, _, tag = name.rpartition(":")
            image.tag(repository, tag)
        client.api.timeout = STALL_SECONDS  # each read of the archive, at most
        with dest.open("wb") as out:
            _write_archive(client, ref, out, stop, progress)
        return "" if stop.is_set() else str(image.id)
    except (DockerException, OSError) as exc:
        raise RuntimeUnavailable(f"could not save the image {ref} ({_short(exc)})",
                                 _retry_hint(ref)) from exc
    finally:
        client.close()


def _pull(client: Any, ref: str, stop: threading.Event, say: Any) -> Any:
    """``client.images.pull(ref)``, reading its progress so that a stop is seen between lines;
    None when stopped."""
    from docker.utils import parse_repository_tag

    repository, tag = parse_repository_tag(ref)
    tag = tag or "latest"
    for _ in paced(lambda: client.api.pull(repository, tag=tag, stream=True), f"pulling {ref}",
                   _retry_hint(ref), stall=STALL_SECONDS, deadline=ARCHIVE_DEADLINE, stop=stop,
                   say=say):
        pass  # progress lines: each one is progress
    if stop.is_set():
        return None
    return client.images.get(f"{repository}{'@' if tag.startswith('sha256:') else ':'}{tag}")


def _write_archive(client: Any, ref: str, out: BinaryIO, stop: threading.Event, say: Any) -> None:
    """The `docker save` archive of ``ref`` into ``out``, at most :data:`MAX_ARCHIVE_BYTES`."""
    written = 0
    for chunk in paced(lambda: client.api.get_image(tag_of(ref), chunk_size=SAVE_CHUNK),
                       f"saving {ref}", _retry_hint(ref), stall=STALL_SECONDS,
                       deadline=ARCHIVE_DEADLINE, stop=stop, say=say):
        written += len(chunk)
        if written > MAX_ARCHIVE_BYTES:  # a daemon gone wrong would fill the disk
            raise RuntimeUnavailable(
                f"the archive of {ref} grew past {size_in_words(MAX_ARCHIVE_BYTES)}, far more than "
                "such an image takes; the save was stopped",
                f"check the image with `docker image ls {tag_of(ref)}` and that DOCKER_HOST is "
                "your Docker daemon, then run `agw-sandbox prepare` again")
        out.write(chunk)


def _retry_hint(ref: str) -> str:
    return (f"check the network and that `docker pull {ref}` works, then run "
            "`agw-sandbox prepare` again")


def load_image(archive: Path, ref: str) -> str:
    """Load a `docker save` archive into the daemon; return the reference that now names the
    image: ``ref`` itself when the daemon resolves it, else its tag (which the archive set)."""
    from docker.errors import DockerException, ImageNotFound

    client = _client()
    try:
        client.api.timeout = ARCHIVE_TIMEOUT  # the daemon answers once it has read it all
        with archive.open("rb") as data:
            client.images.load(data)
        client.api.timeout = DOCKER_CALL_TIMEOUT
        try:
            client.images.get(ref)
            return ref
        except ImageNotFound:
            client.images.get(tag_of(ref))
            return tag_of(ref)
    except (DockerException, OSError) as exc:
        raise RuntimeUnavailable(f"could not load {archive} into Docker ({_short(exc)})",
                                 "check that Docker has room for it (`docker system df`)"
                                 ) from exc
    finally:
        client.close()
