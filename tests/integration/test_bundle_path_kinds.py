"""`up --bundle PATH` where PATH is no folder (a regular file, a bundle's archive, nothing at all)
is said as such, with what to give instead, not as a bundle whose preparation did not finish."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from sandbox.errors import SandboxError
from sandbox.runtimes.kube.bundle import INDEX, Bundle
from tests.helpers import run_cli
from tests.integration.test_kind_runtime import FAKES


def test_a_regular_file_is_said_to_be_a_file(tmp_path: Path) -> None:
    given = tmp_path / "notes.txt"
    given.write_text("not a bundle\n")
    with pytest.raises(SandboxError) as caught:
        Bundle.open(given)
    assert caught.value.message == f"{given} is a file, not a bundle folder"
    assert "the folder `agw-sandbox prepare DIR` made (it holds index.json)" in caught.value.hint
    assert "not a complete bundle" not in str(caught.value)


def test_an_archive_of_a_bundle_is_said_to_be_unpacked_first(tmp_path: Path) -> None:
    folder = tmp_path / "b"
    folder.mkdir()
    (folder / INDEX).write_text("{}")
    archive = tmp_path / "b.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(folder, arcname="b")
    with pytest.raises(SandboxError) as caught:
        Bundle.open(archive)
    assert caught.value.message == f"{archive} is a file, not a bundle folder"
    assert "an archive of a bundle: unpack it" in caught.value.hint


@pytest.mark.parametrize("name", ["missing", "missing/deeper"])
def test_a_path_that_does_not_exist_is_said_not_to(tmp_path: Path, name: str) -> None:
    given = tmp_path / name
    with pytest.raises(SandboxError) as caught:
        Bundle.open(given)
    assert caught.value.message == f"the bundle folder {given} does not exist"
    assert "check the path" in caught.value.hint and "prepare" in caught.value.hint
    assert "index.json does not exist" not in str(caught.value)


def test_a_dangling_link_is_said_to_lead_nowhere(tmp_path: Path) -> None:
    link = tmp_path / "bundle"
    link.symlink_to(tmp_path / "gone")
    with pytest.raises(SandboxError) as caught:
        Bundle.open(link)
    assert caught.value.message == (f"the bundle folder {link} does not exist (it is a link to "
                                    f"{tmp_path / 'gone'}, which does not exist)")


def test_an_empty_folder_is_still_an_unfinished_bundle(tmp_path: Path) -> None:
    with pytest.raises(SandboxError, match="is not a complete bundle"):
        Bundle.open(tmp_path)


@pytest.mark.parametrize("kind", ["file", "missing"])
def test_up_says_it_and_creates_nothing(cli_env: dict[str, str], tmp_path: Path,
                                        kind: str) -> None:
    """Before: "FILE/index.json does not exist: FILE is not a complete bundle (its preparation
    did not finish, or it is another directory)", for both."""
    given = tmp_path / "bundle.tgz"
    if kind == "file":
        given.write_bytes(b"\x1f\x8b\x08\x00 not really")
    log = tmp_path / "calls.log"
    env = {**cli_env, "PATH": f"{FAKES}:{cli_env['PATH']}", "FAKE_LOG": str(log),
           "FAKE_STATE": str(tmp_path / "state")}
    result = run_cli("up", "--bundle", str(given), env=env, timeout=30)
    assert result.returncode == 2, result.stdout + result.stderr
    said = "is a file, not a bundle folder" if kind == "file" else "does not exist"
    assert said in result.stderr and "not a complete bundle" not in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and not log.exists()
