"""A bundle handed over by someone else: `up --bundle` uses only regular files inside its folder,
reads nothing without bound, and answers a damaged or hostile index with exit 2, its name and
what to do (never "internal error", never a hang)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from sandbox.profiles import DEFAULT_PROFILE
from sandbox.runtimes.kube import bundle
from sandbox.runtimes.kube.bundle import INDEX, items
from tests.helpers import run_cli
from tests.integration.test_bundle import fake_bundle
from tests.integration.test_kind_runtime import FAKES

NODE = items(DEFAULT_PROFILE)[0].path  # images/kindest_node_v1.34.0.tar


def edit_index(change: Callable[[dict[str, object]], object]) -> Callable[[Path], None]:
    def damage(root: Path) -> None:
        document = json.loads((root / INDEX).read_text())
        change(document)
        (root / INDEX).write_text(json.dumps(document))
    return damage


def set_entry(field: str, value: object, number: int = 0) -> Callable[[Path], None]:
    return edit_index(lambda document: document["files"][number].update(  # type: ignore[index]
        {field: value}))


def replace_node(make: Callable[[Path, Path], None]) -> Callable[[Path], None]:
    """The node image replaced by something else, with the index telling its size and sum."""
    def damage(root: Path) -> None:
        node = root / NODE
        node.unlink()
        make(root, node)
        if node.is_file():
            entry = {"size": node.stat().st_size, "sha256": bundle.sha256_of(node)}
            edit_index(lambda document: document["files"][0].update(entry))(root)  # type: ignore[index]
    return damage


def outside_file(root: Path, node: Path) -> None:
    outside = root.parent / "elsewhere.tar"
    outside.write_text("an archive from somewhere else\n")
    node.symlink_to(outside)


def directory_of_the_right_size(root: Path, node: Path) -> None:
    node.mkdir()
    edit_index(lambda document: document["files"][0].update(  # type: ignore[index]
        {"size": node.stat().st_size}))(root)


def socket_file(root: Path, node: Path) -> None:
    """A UNIX socket where the file was (bound by its bare name: the full path is too long)."""
    with contextlib.chdir(node.parent), socket.socket(socket.AF_UNIX) as server:
        server.bind(node.name)


DAMAGES = {
    "nested-200000": (lambda root: (root / INDEX).write_text("[" * 200_000 + "]" * 200_000),
                      f"{INDEX} is damaged: it nests deeper than an index does"),
    "member-100000-deep": (lambda root: (root / INDEX).write_text(
        (root / INDEX).read_text()[:-1] + ', "x": ' + "[" * 100_000 + "]" * 100_000 + "}"),
        "nests deeper than an index does"),
    "member-50-deep": (edit_index(lambda document: document.update(
        x=json.loads("[" * 50 + "]" * 50))), "nests deeper than an index does"),
    "profiles-a-list": (edit_index(lambda document: document.update(profiles=[1])),
                        "its 'files' or 'profiles' are not of the kind prepare writes"),
    "profile-a-string": (edit_index(lambda document: document.update(
        profiles={"kgateway-v2.1": "x"})), "are not of the kind prepare writes"),
    "files-an-object": (edit_index(lambda document: document.update(files={"a": 1})),
                        "are not of the kind prepare writes"),
    "file-a-number": (edit_index(lambda document: document.update(files=[1])),
                      "its file 1 is not of the kind prepare writes"),
    "path-with-nul": (set_entry("path", "images/a\u0000b.tar"),
                      "its file 1 has a path no file can have"),
    "path-a-list": (set_entry("path", ["a", "b"]), "its file 1 is not of the kind"),
    "path-empty": (set_entry("path", ""), "its file 1 has a path no file can have"),
    "size-text": (set_entry("size", "abc"), "its file 1 ('images/kindest_node_v1.34.0.tar') "
                                            "has no size in bytes"),
    "size-true": (set_entry("size", True), "has no size in bytes"),
    "size-negative": (set_entry("size", -1), "has no size in bytes"),
    "size-float": (set_entry("size", 12.0), "has no size in bytes"),
    "sha-a-number": (set_entry("sha256", 7), "its file 1 is not of the kind"),
    "listed-twice": (edit_index(lambda document: document.update(
        files=document["files"] * 2)), "it lists a file twice"),  # type: ignore[operator]
    "index-a-fifo": (lambda root: ((root / INDEX).unlink(), os.mkfifo(root / INDEX)),
                     f"{INDEX} cannot be read (it is a FIFO, socket or device"),
    "index-a-directory": (lambda root: ((root / INDEX).unlink(), (root / INDEX).mkdir()),
                          f"{INDEX} cannot be read (it is a directory, not a regular file)"),
    "index-utf16": (lambda root: (root / INDEX).write_text((root / INDEX).read_text(),
                                                        encoding="utf-16"),
                    f"{INDEX} is not UTF-8 text (it looks like UTF-16"),
    "index-utf16-no-bom": (lambda root: (root / INDEX).write_text(
        (root / INDEX).read_text(), encoding="utf-16-le"),
        "is not UTF-8 text (it looks like UTF-16"),
    "index-latin-1": (lambda root: (root / INDEX).write_bytes(
        b'{"note": "caf\xe9", ' + (root / INDEX).read_bytes()[1:]),
        f"{INDEX} is not UTF-8 text (byte 0xe9 at offset 13)"),
    "index-too-big": (lambda root: (root / INDEX).write_text(
        " " * 2_000_000 + (root / INDEX).read_text()), "larger than 1.0 MiB, which no index is"),
    "index-to-dev-zero": (lambda root: ((root / INDEX).unlink(),
                                        (root / INDEX).symlink_to("/dev/zero")),
                          f"{INDEX} is a link to /dev/zero, outside the bundle"),
    "node-outside": (replace_node(outside_file), "is a link to"),
    "node-dev-zero": (replace_node(lambda root, node: node.symlink_to("/dev/zero")),
                      f"{NODE} is a link to /dev/zero, outside the bundle"),
    "node-fifo": (replace_node(lambda root, node: os.mkfifo(node)),
                  f"{NODE} cannot be read (it is a FIFO, socket or device, not a regular file)"),
    "node-socket": (replace_node(socket_file),
                    f"{NODE} cannot be read (it is a socket, not a regular file)"),
    "node-directory": (replace_node(directory_of_the_right_size),
                       f"{NODE} cannot be read (it is a directory, not a regular file)"),
    "node-link-loop": (replace_node(lambda root, node: node.symlink_to(node.name)),
                       f"{NODE} is missing (Too many levels of symbolic links)"),
}


@pytest.mark.parametrize("case", list(DAMAGES))
def test_a_damaged_or_hostile_bundle_ends_in_exit_2_naming_what_and_what_to_do(
        cli_env: dict[str, str], tmp_path: Path, case: str) -> None:
    damage, message = DAMAGES[case]
    root = tmp_path / "bundle"
    fake_bundle(root)
    damage(root)
    log = tmp_path / "calls.log"
    env = {**cli_env, "PATH": f"{FAKES}:{cli_env['PATH']}", "FAKE_LOG": str(log),
           "FAKE_STATE": str(tmp_path / "state")}
    started = time.monotonic()
    result = run_cli("up", "--bundle", str(root), env=env, timeout=30)  # a hang fails here
    assert result.returncode == 2, result.stderr
    assert message in result.stderr, result.stderr
    assert "run `agw-sandbox prepare DIR` again" in result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    assert time.monotonic() - started < 20
    assert not log.exists()  # nothing was created


def test_a_link_to_another_file_of_the_bundle_is_followed(tmp_path: Path) -> None:
    """Copying tools may turn duplicates into links; inside the folder that is fine."""
    root = tmp_path / "bundle"
    fake_bundle(root)
    node = root / NODE
    (root / "images" / "node.tar").write_bytes(node.read_bytes())
    node.unlink()
    node.symlink_to("node.tar")
    opened = bundle.Bundle.open(root)
    assert opened.check(DEFAULT_PROFILE).endswith("sums match")
    assert opened.of_kind(DEFAULT_PROFILE, "image")[0][1] == (root / "images" / "node.tar")


def test_an_index_saved_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    """An editor may add UTF-8's byte-order mark when the index is looked at and saved."""
    root = tmp_path / "bundle"
    fake_bundle(root)
    (root / INDEX).write_bytes(b"\xef\xbb\xbf" + (root / INDEX).read_bytes())
    assert bundle.Bundle.open(root).check(DEFAULT_PROFILE).endswith("sums match")
