"""What a path is when it is not what was asked for (a device, a folder, a FIFO), in words."""

from __future__ import annotations

import stat

# Kinds of file by how stat tells them apart, in the words messages use.
FILE_KINDS = (
    (stat.S_ISREG, "a regular file"), (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
)


def kind_of(mode: int) -> str:
    """What a file of ``mode`` (``st_mode``) is: "a directory", "a socket", …"""
    return next((words for test, words in FILE_KINDS if test(mode)), "something else")
