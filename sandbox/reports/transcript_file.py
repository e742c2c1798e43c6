"""Writing the transcript file: the path checked before anything runs, the write atomic."""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from datetime import UTC, datetime
from pathlib import Path

from sandbox.errors import SandboxError
from sandbox.untrusted import quoted

# Names of the standard streams: links into /proc, whose target (``pipe:[123]``) is no file.
STANDARD_OUTPUT = ("-", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1")
STANDARD_ERROR = ("/dev/stderr", "/dev/fd/2", "/proc/self/fd/2")


def means_standard_output(path: Path | str) -> bool:
    """Whether ``path`` names standard output (``-``, ``/dev/stdout``…); standard error, where
    the run's own messages go, is refused."""
    if str(path) in STANDARD_ERROR:
        raise SandboxError(f"the transcript cannot go to standard error ({quoted(str(path))}): the "
                           "run's messages go there",
                           "use --transcript - for standard output, or give a FILE.md")
    return str(path) in STANDARD_OUTPUT


def default_name(now: datetime | None = None, tab: str = "") -> str:
    """``agw-sandbox-transcript-<UTC time>.md``; ``tab`` tells apart apps that share a time."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"agw-sandbox-transcript-{stamp}{'-' + tab if tab else ''}.md"


def default_path(now: datetime | None = None) -> Path:
    """``./agw-sandbox-transcript-<UTC time>.md``, or the cache directory if . is read-only."""
    name = default_name(now)
    try:
        return check_writable(Path.cwd() / name)
    except (SandboxError, OSError):
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        folder = base / "agw-sandbox" / "transcripts"
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SandboxError(f"neither the current directory nor {folder} can be written "
                               f"({exc.strerror or exc})",
                               "start the sandbox in a writable directory, or point "
                               "XDG_CACHE_HOME at one") from exc
        return folder / name


def check_writable(path: Path) -> Path:
    """The file ``path`` names, once a file can be created beside it; else a clear error.

    Messages name ``path`` as given: a link is written through, but where it leads
    (``/proc/…/fd/pipe:[…]`` for ``/dev/fd/0``) is not what the user typed."""
    try:
        given = Path(path).expanduser()
        target = _resolved(given)
        if given.is_dir():
            raise SandboxError(f"the transcript path {quoted(str(path))} is a directory",
                               "give a file name, like "
                               f"{quoted(str(Path(path) / 'transcript.md'))}")
        if given.exists() and not given.is_file():  # followed, as the write would follow it
            raise SandboxError(f"the transcript path {quoted(str(path))} is not a regular file",
                               "give the path of a new or an existing .md file")
        if given.exists() and target.suffix.lower() not in (".md", ".markdown"):
            raise SandboxError(f"{quoted(str(path))} exists and is not a Markdown file: the "
                               "transcript will not write over it",
                               "give a new file name, or an existing .md file to replace")
        if not target.parent.is_dir():
            problem = "is not a directory" if target.parent.exists() else "does not exist"
            raise SandboxError(f"the transcript's directory {quoted(str(target.parent))} {problem}",
                               "create the directory first, or choose another path")
    except ValueError as exc:  # a NUL character: no file can be called that
        raise SandboxError("the transcript path holds a NUL character",
                           "give a path without control characters") from exc
    except RuntimeError as exc:  # ~user for a user who does not exist
        raise SandboxError(f"the transcript path {quoted(str(path))} starts with a ~ that names no "
                           "home directory", "give the full path") from exc
    except OSError as exc:  # too long a name, a loop of links, a directory that cannot be read
        raise _write_error(Path(path), exc) from exc
    _remove(_create_beside(target, Path(path)))  # the only sure test of permissions and mounts
    return target


def _resolved(path: Path) -> Path:
    """Where ``path`` leads: a link is written through, to the file it points at."""
    try:
        return Path(os.path.realpath(path, strict=True))
    except (FileNotFoundError, NotADirectoryError):  # a new file: resolve what exists
        return Path(os.path.realpath(path))


def write_atomically(path: Path, text: str) -> Path:
    """Write ``text`` to a new file beside ``path``, then rename it over: never a half file.

    A lone surrogate, which no UTF-8 file can hold, is written as its escape (``\\ud800``), as
    :func:`sandbox.untrusted.visible` shows it: text from elsewhere never stops the write.
    """
    target = check_writable(path)
    temporary = _create_beside(target, path)
    try:
        with temporary.open("w", encoding="utf-8", errors="backslashreplace",
                            newline="\n") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileNotFoundError):  # keep the mode of a file written over
            temporary.chmod(stat.S_IMODE(target.stat().st_mode))
        temporary.replace(target)
    except OSError as exc:
        _remove(temporary)
        raise _write_error(path, exc) from exc
    except BaseException:
        _remove(temporary)
        raise
    return target


def _create_beside(target: Path, given: Path) -> Path:
    """A new empty file in ``target``'s directory, created with the user's umask; an error
    names the path as ``given``."""
    temporary = target.parent / f".agw-sandbox-transcript-{secrets.token_hex(6)}.tmp"
    try:
        os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except OSError as exc:
        raise _write_error(given, exc) from exc
    return temporary


def _write_error(target: Path, exc: OSError) -> SandboxError:
    reason = exc.strerror or type(exc).__name__
    return SandboxError(f"cannot write the transcript to {quoted(str(target))}: {reason}",
                        "choose a path in a directory you can write to (and with free space)")


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()
