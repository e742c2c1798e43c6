"""Docker's own files (``config.json``, a context's ``meta.json``) read only when they are safe to.

Whoever wrote them may have made anything of them: a FIFO blocks a read for ever, ``/dev/zero``
fills the memory. These checks look before the docker SDK reads them (every client does).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

MAX_CONFIG_BYTES = 1024 * 1024  # a config.json or a context's meta.json is a few KB


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
    kinds = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
             (stat.S_ISSOCK, "a socket"))
    what = next((what for test, what in kinds if test(info.st_mode)), "something else")
    return f"is {what}, not a regular file"


def read_small(path: Path) -> str:
    """The text of a regular file of at most :data:`MAX_CONFIG_BYTES`, checked once it is open
    (the file may have been swapped since :func:`file_problem` looked at it)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)  # a FIFO can't block it
    with os.fdopen(fd, "rb") as data:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError(f"{path} is not a regular file")
        text = data.read(MAX_CONFIG_BYTES + 1)
    if len(text) > MAX_CONFIG_BYTES:
        raise ValueError(f"{path} is larger than {MAX_CONFIG_BYTES // 1024**2} MiB")
    return text.decode("utf-8", errors="replace")


def tilde(path: str) -> str:
    """``path`` with the home directory written ``~``, as a person knows it."""
    home = str(Path.home())
    return "~" + path[len(home):] if home != "/" and path.startswith(home + "/") else path
