"""Reading an offline bundle someone else may have made: its index (a regular file of bounded
size and depth, of the types prepare writes) and its files (regular files inside it, read no
further than the sizes the index records)."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from pathlib import Path
from typing import Any, BinaryIO

from sandbox.documents import TooDeep, load_json
from sandbox.errors import RuntimeUnavailable
from sandbox.untrusted import quoted, shortened

INDEX = "index.json"
FORMAT = 1
PREPARE_HINT = "run `agw-sandbox prepare DIR` again while online"
MAX_INDEX = 1 << 20  # bytes; a real index is a few KB
MAX_DEPTH = 8  # nesting of the index document; a real one has 4 levels
ENTRY_FIELDS = ("kind", "ref", "version", "path", "sha256")
BUNDLE_FOLDER_HINT = ("give --bundle the folder `agw-sandbox prepare DIR` made (it holds "
                      "index.json), not a file in it")
# gzip, xz, zstd, zip, bzip2: how an archive a bundle was packed into begins (tar: "ustar" at 257)
ARCHIVE_MAGIC = (b"\x1f\x8b", b"\xfd7zXZ", b"\x28\xb5\x2f\xfd", b"PK\x03\x04", b"BZh")
ARCHIVE_PROBE = 262  # bytes: up to the end of a tar header's "ustar"


def damaged(index: Path, why: str) -> RuntimeUnavailable:
    return RuntimeUnavailable(f"{index} is damaged: {why}", PREPARE_HINT)


def inside(root: Path, relative: str) -> Path:
    """Where ``root / relative`` leads, when that is inside ``root``: a link may point to
    another file of the bundle, never out of it."""
    path = root / relative
    try:
        resolved = Path(os.path.realpath(path, strict=True))
        inside = resolved.is_relative_to(os.path.realpath(root, strict=True))
    except OSError as exc:
        raise RuntimeUnavailable(f"the bundle file {path} is missing ({exc.strerror})",
                                 PREPARE_HINT) from exc
    if not inside:
        raise RuntimeUnavailable(f"the bundle file {path} is a link to {resolved}, outside "
                                 "the bundle", PREPARE_HINT)
    return resolved


def read_index(root: Path, index: Path) -> Any:
    """The index document: a regular file of at most :data:`MAX_INDEX` bytes, nested no deeper
    than an index is."""
    _check_folder(root)
    if not os.path.lexists(index):
        raise RuntimeUnavailable(
            f"{index} does not exist: {root} is not a complete bundle (its preparation did "
            "not finish, or it is another directory)", PREPARE_HINT)
    path = inside(root, INDEX)
    try:
        with open_regular(path) as data:
            content = data.read(MAX_INDEX + 1)
        if len(content) > MAX_INDEX:
            raise ValueError(f"larger than {human_size(MAX_INDEX)}, which no index is")
        return load_json(_text(index, content), max_depth=MAX_DEPTH,
                         parse_int=lambda text: _whole_number(index, text))
    except TooDeep:
        raise damaged(index, "it nests deeper than an index does") from None
    except (OSError, ValueError) as exc:
        raise RuntimeUnavailable(f"{index} cannot be read ({reason(exc)})", PREPARE_HINT) from exc


def _check_folder(root: Path) -> None:
    """Refuse a bundle path that is no folder (nothing there, a file, an archive of a bundle),
    saying so and what to give instead; a folder passes (its index is looked at next)."""
    try:
        mode = root.stat().st_mode
    except OSError as exc:
        shown = _shown(root)  # a path of 5 000 characters is none, and is not echoed whole
        if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
            raise RuntimeUnavailable(f"the bundle folder {shown} cannot be read ({reason(exc)})",
                                     "check the path and its permissions") from exc
        link = f" (it is a link to {_shown(root.readlink())}, which does not exist)" \
            if root.is_symlink() else ""
        raise RuntimeUnavailable(f"the bundle folder {shown} does not exist{link}",
                                 _unexpanded(root) or "check the path; `agw-sandbox prepare "
                                 "DIR` makes a bundle while online") from None
    if stat.S_ISDIR(mode):
        return
    if not stat.S_ISREG(mode):
        raise RuntimeUnavailable(f"{root} is a FIFO, socket or device, not a bundle folder",
                                 BUNDLE_FOLDER_HINT)
    hint = (f"it looks like an archive of a bundle: unpack it (`tar -xf {root.name}`, or "
            "`unzip`) and give --bundle the folder it holds" if _archive(root) else
            BUNDLE_FOLDER_HINT)
    raise RuntimeUnavailable(f"{root} is a file, not a bundle folder", hint)


def _archive(path: Path) -> bool:
    """Whether ``path`` begins as a tar, gzip, xz, zstd or zip archive does."""
    try:
        with open_regular(path) as data:
            start = data.read(ARCHIVE_PROBE)
    except OSError:
        return False
    return start.startswith(ARCHIVE_MAGIC) or start[257:262] == b"ustar"


def _text(index: Path, content: bytes) -> str:
    """The index as text: UTF-8, as prepare writes it (an editor's byte-order mark is dropped);
    UTF-16, as some editors save JSON, is said to be so, whatever its byte order."""
    if content.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in content[:4]:
        raise RuntimeUnavailable(f"{index} is not UTF-8 text (it looks like UTF-16, as some "
                                 "editors save text)", PREPARE_HINT)
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RuntimeUnavailable(f"{index} is not UTF-8 text (byte {content[exc.start]:#04x} "
                                 f"at offset {exc.start})", PREPARE_HINT) from None


def _whole_number(index: Path, text: str) -> int:
    """A JSON integer; one of more digits than ``int()`` reads is damage, said in our words."""
    try:
        return int(text)
    except ValueError:
        raise damaged(index, f"it holds a number of {len(text.lstrip('-'))} digits, which no "
                              "index does") from None


def entry_of(index: Path, number: int, entry: object) -> dict[str, Any]:
    """One file of the index, with the types prepare writes; else the index is damaged."""
    if not isinstance(entry, dict) or not all(isinstance(entry.get(f), str) for f in ENTRY_FIELDS):
        raise damaged(index, f"its file {number} is not of the kind prepare writes")
    size, relative = entry.get("size"), str(entry["path"])
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise damaged(index, f"its file {number} ({quoted(relative)}) has no size in bytes")
    if "\0" in relative or not relative:
        raise damaged(index, f"its file {number} has a path no file can have ({quoted(relative)})")
    if Path(relative).is_absolute() or ".." in Path(relative).parts:
        raise RuntimeUnavailable(f"{index} names a file outside the bundle: {relative}",
                                 PREPARE_HINT)
    return entry


def open_regular(path: Path) -> BinaryIO:
    """``path`` opened for reading when it is a regular file; a FIFO or a device is refused
    without waiting on it (a FIFO would block the open, /dev/zero the read, for ever)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:  # a socket cannot be opened at all (ENXIO): say what it is
        if exc.errno == errno.ENXIO and stat.S_ISSOCK(path.lstat().st_mode):
            raise OSError(errno.EINVAL, "it is a socket, not a regular file") from exc
        raise
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = "a directory" if stat.S_ISDIR(mode) else "a FIFO, socket or device"
        raise OSError(errno.EINVAL, f"it is {kind}, not a regular file")
    return os.fdopen(fd, "rb")


def sha256_up_to(data: BinaryIO, size: int) -> str:
    """The sha256 of the first ``size`` bytes and any one more (a file that grew meanwhile)."""
    digest, left = hashlib.sha256(), size + 1
    while left > 0 and (chunk := data.read(min(1 << 20, left))):
        digest.update(chunk)
        left -= len(chunk)
    return digest.hexdigest()


def reason(exc: Exception) -> str:
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)


def human_size(size: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"  # not reached


def _shown(path: Path) -> str:
    """A path as messages name it: on one line, cut when it is longer than any path is."""
    return shortened(str(path))


def _unexpanded(root: Path) -> str | None:
    """The hint for a path that begins with ``~``: quoted, a shell leaves it as it is."""
    if not str(root).startswith("~"):
        return None
    try:
        full = _shown(root.expanduser())
    except RuntimeError:  # ~name of no user
        full = "/home/NAME/" + _shown(root).partition("/")[2]
    return (f"~ is not expanded here (a shell expands it only where it is not quoted): write "
            f"the full path, --bundle {full}")
