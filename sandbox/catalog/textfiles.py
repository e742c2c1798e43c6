"""Reading text files that users or third parties wrote: regular files only, bounded, UTF-8."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

# Scenario files and manifest templates are a few KiB; upstream's largest CRD is about 1 MB.
MAX_FILE_BYTES = 1024 * 1024

_NOT_REGULAR = (
    (stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class UnreadableFile(ValueError):
    """The file cannot be used; ``reason`` says why and what to do, without naming the path."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


def read_text_file(path: Path, limit: int = MAX_FILE_BYTES) -> str:
    """The UTF-8 text of ``path``, refusing anything but a regular file of at most ``limit`` bytes.

    The file is opened non-blocking and checked after opening, so a FIFO cannot block and a
    link to ``/dev/zero`` cannot fill the memory.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError as exc:  # a socket cannot be opened at all (ENXIO): say what it is
        raise UnreadableFile(_not_regular(path) or _open_failure(exc)) from exc
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise UnreadableFile(_kind_problem(mode))
    with os.fdopen(fd, "rb") as handle:
        try:
            data = handle.read(limit + 1)  # one byte more tells a file that is too large
        except OSError as exc:
            raise UnreadableFile(f"cannot be read: {exc.strerror or exc}") from exc
    if len(data) > limit:
        raise UnreadableFile(f"is larger than {limit / 1048576:g} MiB: scenario files and "
                             "manifest templates are a few KiB, so this is probably the wrong "
                             "file")
    return decode(data)


def decode(data: bytes) -> str:
    """UTF-8 text (a byte-order mark is dropped), or a problem that names the line."""
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise UnreadableFile(f"is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}): "
                             "save it as UTF-8", line) from exc


def _kind_problem(mode: int) -> str:
    what = next((what for test, what in _NOT_REGULAR if test(mode)), "something else")
    return f"is {what}, not a regular file"


def _not_regular(path: Path) -> str | None:
    """What ``path`` is when it is not a regular file, found without opening it."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    return None if stat.S_ISREG(mode) else _kind_problem(mode)


def _open_failure(exc: OSError) -> str:
    if exc.errno == errno.ENOENT:
        return "not found"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "cannot be read: permission denied"
    if exc.errno == errno.ELOOP:
        return "cannot be read: it is a loop of symbolic links"
    return f"cannot be read: {exc.strerror or exc}"
