"""The offline bundle: every pinned image, chart and manifest in one directory, with their sums.

`prepare` fills it while online; `up --bundle` checks every sum first and then uses only its
files. The index is written last and atomically, so a bundle whose preparation failed half way
has no index and is never taken for a complete one.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict
from functools import partial
from importlib.resources import files
from pathlib import Path
from typing import Any

from sandbox import stdio
from sandbox.documents import load_all
from sandbox.errors import RuntimeUnavailable, SandboxError
from sandbox.profiles import Profile
from sandbox.records import record
from sandbox.runtimes.kube.bundle_files import (
    FORMAT,
    PREPARE_HINT,
    damaged,
    entry_of,
    inside,
    open_regular,
    read_index,
    reason,
    sha256_up_to,
)
from sandbox.runtimes.kube.bundle_files import INDEX as INDEX
from sandbox.runtimes.kube.bundle_files import human_size as human_size

Progress = Callable[[str], None]
Fetch = Callable[[str], Awaitable[str]]


@record
class Item:
    """One file of the bundle and what it holds."""

    kind: str  # image, chart or manifest
    ref: str  # the image reference, the oci:// chart or the URL it came from
    version: str  # a chart's version ("" for the others)
    path: str  # relative to the bundle's directory


def mock_images() -> list[str]:
    """The images the in-cluster mock provider runs (assets/mock-provider.yaml)."""
    text = (Path(str(files("sandbox.assets"))) / "mock-provider.yaml").read_text()
    return [str(container["image"]) for doc in load_all(text) if doc.get("kind") == "Deployment"
            for container in doc["spec"]["template"]["spec"]["containers"]]


def _file_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in ".-" else "_" for c in text)


def items(profile: Profile) -> list[Item]:
    """What a bundle holds for ``profile``: the node image first, then the others."""
    from sandbox.runtimes.kube.containers import tag_of

    pins = profile.pins
    images = [pins.node_image, pins.controller_image, pins.proxy_image, *mock_images()]
    found = [Item("image", ref, "", f"images/{_file_name(tag_of(ref))}.tar")
             for ref in dict.fromkeys(images)]
    for chart in (pins.crd_chart, pins.chart):
        name = chart.rstrip("/").rpartition("/")[2]
        found.append(Item("chart", chart, pins.chart_version,
                          f"charts/{_file_name(name)}-{_file_name(pins.chart_version)}.tgz"))
    url = pins.gateway_api_crds_url
    found.append(Item("manifest", url, "", f"manifests/gateway-api-{_file_name(pins.gateway_api)}"
                                           f"-{_file_name(url.rpartition('/')[2])}"))
    return found


def pins_record(profile: Profile) -> dict[str, Any]:
    """The pins a bundle is made for, as its index records them (JSON's lists, not tuples)."""
    record: dict[str, Any] = json.loads(json.dumps({**asdict(profile.pins),
                                                    "mock_images": mock_images()}))
    return record


def sha256_of(path: Path, stop: threading.Event | None = None) -> str:
    """The file's sha256; "" when ``stop`` is set meanwhile (the caller stopped waiting)."""
    digest = hashlib.sha256()
    with path.open("rb") as data:
        while chunk := data.read(1 << 20):
            if stop is not None and stop.is_set():
                return ""
            digest.update(chunk)
    return digest.hexdigest()


# -- prepare (online) ---------------------------------------------------------------------------
@record
class Prepared:
    files: int
    size: int
    seconds: float


async def prepare(root: Path, profiles: Sequence[Profile], progress: Progress,
                  fetch: Fetch | None = None) -> Prepared:
    """Fill ``root`` with everything ``profiles`` need, then write its index."""
    started = time.monotonic()
    index = root / INDEX
    if root.exists() and not root.is_dir():
        raise RuntimeUnavailable(f"{root} is not a directory",
                                 "give the path of a new or an existing directory")
    wanted = list({item.path: item for p in profiles for item in items(p)}.values())
    try:
        root.mkdir(parents=True, exist_ok=True)
        index.unlink(missing_ok=True)  # from here on the directory claims nothing
        for folder in dict.fromkeys((root / item.path).parent for item in wanted):
            folder.mkdir(exist_ok=True)  # before any download: /proc takes no folder
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename not in (None, str(root)) else ""
        why = "a file is in the way" if isinstance(exc, FileExistsError) else exc.strerror
        raise RuntimeUnavailable(f"cannot write the bundle into {root}{where}: {why or exc}",
                                 "choose a writable directory with a few GB free") from exc
    entries = []
    for number, item in enumerate(wanted, 1):
        progress(f"[{number}/{len(wanted)}] {item.kind} {item.ref}")
        target = root / item.path
        await _fetch_item(item, target, progress, fetch)
        size = target.stat().st_size
        entries.append({**asdict(item), "size": size,
                        "sha256": await stdio.in_daemon_thread(partial(sha256_of, target))})
    document = {"format": FORMAT, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "profiles": {p.name: pins_record(p) for p in profiles}, "files": entries}
    _write_atomically(index, json.dumps(document, indent=2) + "\n")
    return Prepared(len(entries) + 1, sum(int(e["size"]) for e in entries) +
                    index.stat().st_size, time.monotonic() - started)


async def _fetch_item(item: Item, target: Path, progress: Progress,
                      fetch: Fetch | None) -> None:
    from sandbox.runtimes.kube import cluster, containers

    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")  # never a whole-looking half file
    try:
        if item.kind == "image":
            await stdio.in_daemon_thread(partial(containers.save_image, item.ref, part, progress))
        elif item.kind == "chart":
            with tempfile.TemporaryDirectory(dir=target.parent, prefix=".pull-") as pulled:
                await cluster.helm_pull(item.ref, item.version, Path(pulled), echo=progress)
                found = sorted(Path(pulled).glob("*.tgz"))
                if len(found) != 1:
                    raise RuntimeUnavailable(f"`helm pull {item.ref}` left {len(found)} .tgz "
                                             "files", "check `helm pull` by hand")
                shutil.move(found[0], part)
        else:
            from sandbox.http_client import fetch_text

            part.write_text(await (fetch or fetch_text)(item.ref))
    except BaseException:  # a failure or a stop: no half file is left behind
        part.unlink(missing_ok=True)
        raise
    part.replace(target)


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".part")
    with partial.open("w") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    partial.replace(path)


# -- use (offline) ------------------------------------------------------------------------------


@record
class Bundle:
    """A prepared directory, read through its index.

    Only regular files inside the directory count: a link is followed only as far as the
    directory, a FIFO, device or directory is refused, and nothing is read past the size the
    index records. Whoever handed the directory over may have made any of it.
    """

    root: Path
    entries: tuple[dict[str, Any], ...]
    profiles: dict[str, Any]

    @classmethod
    def open(cls, root: Path) -> Bundle:
        index = root / INDEX
        document = read_index(root, index)
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise RuntimeUnavailable(f"{index} is not a bundle index this version reads",
                                     PREPARE_HINT)
        files, profiles = document.get("files") or [], document.get("profiles") or {}
        if not isinstance(files, list) or not isinstance(profiles, dict) or not all(
                isinstance(pins, dict) for pins in profiles.values()):
            raise damaged(index, "its 'files' or 'profiles' are not of the kind prepare writes")
        entries = tuple(entry_of(index, number, entry) for number, entry in enumerate(files, 1))
        paths = [entry["path"] for entry in entries]
        if len(set(paths)) != len(paths):
            raise damaged(index, "it lists a file twice")
        return cls(root, entries, dict(profiles))

    def check(self, profile: Profile) -> str:
        """The bundle was made for these pins and every file is whole; else a clear error."""
        made_for = self.profiles.get(profile.name)
        if made_for is None:
            raise RuntimeUnavailable(
                f"the bundle {self.root} has no profile {profile.name} (it has "
                f"{', '.join(sorted(self.profiles)) or 'none'})",
                f"run `agw-sandbox prepare {self.root} --profile {profile.name}` while online")
        wanted = pins_record(profile)
        differ = sorted(k for k in wanted.keys() | made_for.keys()
                        if wanted.get(k) != made_for.get(k))
        if differ:
            raise RuntimeUnavailable(
                f"the bundle {self.root} was made for other pins of {profile.name} ("
                + ", ".join(f"{k} {made_for.get(k)} where this version pins {wanted.get(k)}"
                            for k in differ[:3]) + ")", PREPARE_HINT)
        for item in items(profile):
            self.path(item)  # listed
        for entry in self.entries:
            self._check_file(entry)
        size = sum(int(e["size"]) for e in self.entries)
        return f"{len(self.entries)} files, {human_size(size)}, sums match"

    def _check_file(self, entry: dict[str, Any]) -> None:
        path = inside(self.root, str(entry["path"]))
        recorded = int(entry["size"])
        try:
            with open_regular(path) as data:
                size = os.fstat(data.fileno()).st_size
                if size != recorded:
                    raise RuntimeUnavailable(
                        f"the bundle file {path} is damaged: it holds {size} bytes where {INDEX} "
                        f"records {recorded} (a copy that was cut short, or a changed file)",
                        f"copy it again from where the bundle was made, or {PREPARE_HINT}")
                digest = sha256_up_to(data, recorded)
        except OSError as exc:
            raise RuntimeUnavailable(f"the bundle file {path} cannot be read ({reason(exc)})",
                                     PREPARE_HINT) from exc
        if digest != entry["sha256"]:
            raise RuntimeUnavailable(
                f"the bundle file {path} is damaged: its sha256 is not the one {INDEX} records "
                "(a copy that was cut short, or a changed file)",
                f"copy it again from where the bundle was made, or {PREPARE_HINT}")

    def path(self, item: Item) -> Path:
        if not any(e.get("path") == item.path for e in self.entries):
            raise RuntimeUnavailable(f"the bundle {self.root} lacks {item.path} ({item.ref})",
                                     PREPARE_HINT)
        return inside(self.root, item.path)

    def of_kind(self, profile: Profile, kind: str) -> list[tuple[Item, Path]]:
        return [(item, self.path(item)) for item in items(profile) if item.kind == kind]

    def charts(self, profile: Profile) -> dict[str, Path]:
        return {item.ref: path for item, path in self.of_kind(profile, "chart")}

    def manifest(self, profile: Profile) -> Path:
        return self.of_kind(profile, "manifest")[0][1]

    def fetcher(self, profile: Profile) -> Fetch:
        """A fetch that reads the pinned URL's file from the bundle and refuses any other."""
        local = {item.ref: path for item, path in self.of_kind(profile, "manifest")}

        async def fetch(url: str) -> str:
            if url not in local:
                raise SandboxError(f"{url} is not in the bundle {self.root}", PREPARE_HINT)
            return await asyncio.to_thread(local[url].read_text)

        return fetch


