"""Docker's own files (``config.json``, a context's ``meta.json``) read only when they are safe to.

Whoever wrote them may have made anything of them: a FIFO blocks a read for ever, ``/dev/zero``
fills the memory, a config nested thousands of levels deep or of the wrong shape breaks the
docker SDK. These checks look before the SDK reads them (every client does).
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from sandbox.documents import TooDeep, load_json
from sandbox.errors import RuntimeUnavailable
from sandbox.runtimes.kube.docker_words import first_characters
from sandbox.runtimes.kube.file_kinds import kind_of
from sandbox.untrusted import one_line, visible

MAX_CONFIG_BYTES = 1024 * 1024  # a config.json or a context's meta.json is a few KB
MAX_CONFIG_DEPTH = 16  # nesting of a config.json: a real one has 3 levels (auths.REGISTRY.auth)
CONFIG_HINT = "move it away, or point DOCKER_CONFIG at the directory of a real config.json"
# The settings the docker SDK (or the endpoint's resolution) reads, with the types of the docker
# CLI's ConfigFile, outermost first: the SDK breaks on any other (AttributeError, TypeError).
SETTINGS: dict[str, tuple[type, ...]] = {
    "currentContext": (str,), "credsStore": (str,), "detachKeys": (str,),
    "HttpHeaders": (dict, str), "credHelpers": (dict, str),
    "auths": (dict, dict, str), "proxies": (dict, dict, str)}
_WANTED: dict[tuple[type, ...], str] = {
    (str,): "a string", (dict, str): "an object of strings",
    (dict, dict, str): "an object of objects"}


class _Unusable(ValueError):
    """What makes a Docker config file unusable, said of the file ("is a FIFO …")."""


def file_problem(path: Path) -> str | None:
    """Why ``path`` must not be read as a Docker config file (None: it may, or it is missing):
    a FIFO would block the read for ever and ``/dev/zero`` fill the memory. Only stat: it never
    blocks."""
    try:
        info = path.stat()
    except OSError:
        return None  # missing or unreachable: the SDK and the CLI take that as no file
    if stat.S_ISREG(info.st_mode):
        return (None if info.st_size <= MAX_CONFIG_BYTES else
                f"is larger than {MAX_CONFIG_BYTES // 1024**2} MiB (a Docker config is a few KB)")
    return f"is {kind_of(info.st_mode)}, not a regular file"


def read_small(path: Path) -> bytes:
    """The bytes of a regular file of at most :data:`MAX_CONFIG_BYTES`, checked once it is open
    (the file may have been swapped since :func:`file_problem` looked at it)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)  # a FIFO can't block it
    with os.fdopen(fd, "rb") as data:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise _Unusable("is not a regular file")
        content = data.read(MAX_CONFIG_BYTES + 1)
    if len(content) > MAX_CONFIG_BYTES:
        raise _Unusable(f"is larger than {MAX_CONFIG_BYTES // 1024**2} MiB (a Docker config is "
                        "a few KB)")
    return content


def load_config(path: Path) -> dict[str, Any]:
    """Docker's config.json, checked as far as the docker SDK reads it (every client does, on
    its creation): ``{}`` when it is missing or no JSON at all, which the docker CLI and the SDK
    go on without; :class:`RuntimeUnavailable` naming what is wrong when it would hang the SDK or
    fill the memory (a FIFO, a device, a huge file) or break it (nested too deeply, not UTF-8, an
    array or a setting of the wrong type)."""
    try:
        return _checked(path)
    except _Unusable as exc:
        raise RuntimeUnavailable(f"Docker's config file {one_line(tilde(str(path)))} "
                                 f"{visible(str(exc))}", CONFIG_HINT) from None


def _checked(path: Path) -> dict[str, Any]:
    if problem := file_problem(path):
        raise _Unusable(problem)
    try:
        content = read_small(path)
    except OSError:
        return {}  # gone since, or unreadable: the SDK and the CLI take that as no file
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _Unusable(f"is not UTF-8 text (byte {content[exc.start]:#04x} at offset "
                        f"{exc.start})") from None
    try:
        config = load_json(text, max_depth=MAX_CONFIG_DEPTH)
    except TooDeep:
        raise _Unusable(f"is nested too deeply to be a Docker config (lists or objects more than "
                        f"{MAX_CONFIG_DEPTH} levels deep; a Docker config has 3)") from None
    except ValueError:
        return {}  # no JSON: the docker CLI warns and goes on without it, and so does the SDK
    if not isinstance(config, dict):
        raise _Unusable(f"is {_json_kind(config, whole=True)}, where a Docker config is a JSON "
                        "object")
    for name, shape in SETTINGS.items():
        if name in config and (problem := _shape_problem(name, config[name], shape)):
            raise _Unusable(f"is not a Docker config: {problem}")
    return config


def _shape_problem(where: str, value: Any, shape: tuple[type, ...]) -> str | None:
    """What is wrong with a setting of the shape ``shape`` (outermost first: ``(dict, str)`` is
    an object of strings); a string setting may also be null, as the CLI writes none."""
    if shape == (str,) and value is None:
        return None
    if not isinstance(value, shape[0]) or isinstance(value, bool):
        return f"its {where} is {_json_kind(value)}, where {_WANTED[shape]} belongs"
    for key, item in value.items() if isinstance(value, dict) else ():
        if problem := _shape_problem(f"{where}.{key}", item, shape[1:]):
            return problem
    return None


def _json_kind(value: Any, whole: bool = False) -> str:
    """``value``'s JSON type in words ("an array"; "a JSON array" for the ``whole`` file)."""
    if value is None or isinstance(value, bool):
        return f"{'JSON ' if whole else ''}{json.dumps(value)}"
    kinds: dict[type, tuple[str, str]] = {dict: ("an", "object"), list: ("an", "array"),
                                          str: ("a", "string")}
    article, noun = kinds.get(type(value), ("a", "number"))
    return f"a JSON {noun}" if whole else f"{article} {noun}"


def tilde(path: str) -> str:
    """``path`` with the home directory written ``~``, as a person knows it."""
    home = str(Path.home())
    return "~" + path[len(home):] if home != "/" and path.startswith(home + "/") else path


def meta_problem(path: Path) -> str:
    """What is wrong with a context's ``meta.json`` that the docker SDK could not read, said of
    the file (the SDK says it in Python's words: "'list' object has no attribute 'items'")."""
    try:
        content = read_small(path)
    except OSError as exc:
        return f"cannot be read ({(exc.strerror or 'unreadable').lower()})"
    if not content.strip():
        return "is empty"
    try:
        load_json(content.decode("utf-8-sig"))
    except UnicodeDecodeError:
        return "is not UTF-8 text"
    except TooDeep:
        return "is nested too deeply to be a context's"
    except ValueError:
        return f"is not JSON (first characters: {first_characters(content)})"
    return "is not a Docker context's (Docker writes an object with Name, Metadata and Endpoints)"
