"""The offline bundle: `prepare` saves every pin through the Docker API (podman's service) and
fake helm; `up --bundle` checks the sums, then takes everything from the bundle's files and
makes no network call (the process's sockets are guarded, the fake tools refuse oci:// charts).
"""

from __future__ import annotations

import dataclasses
import json
import re
import socket
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.errors import CommandFailed, SandboxError
from sandbox.profiles import DEFAULT_PROFILE, Profile
from sandbox.runtimes.kube import bundle
from sandbox.runtimes.kube.bundle import INDEX, Bundle, items, pins_record, prepare
from sandbox.runtimes.kube.containers import tag_of
from sandbox.runtimes.kube.kind import KindRuntime
from tests.conftest import TOKEN
from tests.helpers import run_cli
from tests.integration import test_kind_runtime
from tests.integration.test_kind_runtime import CRD_BUNDLE, FAKES, calls, controller, free_port
from tests.kubeemu import ApplyingEmulator

pytestmark = pytest.mark.kmock(cls=ApplyingEmulator)
fakes = test_kind_runtime.fakes  # the fixture: fake kind/helm/kubectl on PATH, calls logged
TEST_IMAGES = "localhost/agw-bundle-test"


async def crd_fetch(url: str) -> str:
    assert url == DEFAULT_PROFILE.pins.gateway_api_crds_url
    return CRD_BUNDLE


def _podman(*args: str) -> str:
    return subprocess.run(["podman", *args], capture_output=True, text=True, check=True,
                          timeout=60).stdout.strip()


@pytest.fixture
def local_profile(podman_socket: str, tmp_path_factory: pytest.TempPathFactory
                  ) -> Iterator[Profile]:
    """The default profile with its images swapped for tiny ones podman has (no pulls here);
    the node image pinned by tag and digest, as the real pin is. Made afresh for each test: a
    `load` gives the image back its tag but not the digest it was pulled by."""
    work = tmp_path_factory.mktemp("images")
    refs = {}
    for name in ("node", "controller", "proxy", "python"):
        (work / name).write_text(f"the {name} image\n")  # distinct content: distinct images
        with tarfile.open(work / f"{name}.tar", "w") as archive:
            archive.add(work / name, arcname=name)
        refs[name] = f"{TEST_IMAGES}/{name}:v1"
        _podman("import", "-q", str(work / f"{name}.tar"), refs[name])
    digest = _podman("inspect", "--format", "{{.Digest}}", refs["node"])
    pins = dataclasses.replace(DEFAULT_PROFILE.pins, node_image=f"{refs['node']}@{digest}",
                               controller_image=refs["controller"], proxy_image=refs["proxy"])
    yield dataclasses.replace(DEFAULT_PROFILE, pins=pins)
    subprocess.run(["podman", "rmi", "-f", *refs.values()], capture_output=True, check=False)


@pytest.fixture
def docker_api(podman_socket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", podman_socket)
    monkeypatch.setattr(bundle, "mock_images", lambda: [f"{TEST_IMAGES}/python:v1"])


def test_a_bundle_holds_every_pin_of_the_profile() -> None:
    held = {(item.kind, item.ref) for item in items(DEFAULT_PROFILE)}
    pins = DEFAULT_PROFILE.pins
    assert held == {("image", pins.node_image), ("image", pins.controller_image),
                    ("image", pins.proxy_image), ("image", "python:3.12-slim"),
                    ("chart", pins.crd_chart), ("chart", pins.chart),
                    ("manifest", pins.gateway_api_crds_url)}
    assert items(DEFAULT_PROFILE)[0].ref == pins.node_image  # the one the cluster is made from


async def test_prepare_saves_every_image_chart_and_the_crds_with_their_sums(
        local_profile: Profile, docker_api: None, fakes: Path, tmp_path: Path) -> None:
    lines: list[str] = []
    done = await prepare(tmp_path / "b", [local_profile], lines.append, fetch=crd_fetch)
    index = json.loads((tmp_path / "b" / INDEX).read_text())
    assert index["profiles"] == {local_profile.name: pins_record(local_profile)}
    assert {e["ref"] for e in index["files"]} == {i.ref for i in items(local_profile)}
    for entry in index["files"]:  # every file is there, with its size and sum
        path = tmp_path / "b" / entry["path"]
        assert (path.stat().st_size, bundle.sha256_of(path)) == (entry["size"], entry["sha256"])
    node = tmp_path / "b" / index["files"][0]["path"]
    with tarfile.open(node) as archive:  # a `docker save` archive that names its image
        manifest = json.loads(archive.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert manifest[0]["RepoTags"] == [tag_of(local_profile.pins.node_image)]
    pulls = [re.sub(r"/\.pull-\w+$", "/.pull-…", line) for line in calls(fakes, "helm")]
    assert pulls == [f"helm pull {chart} --version v2.1.3 --destination {tmp_path}/b/charts/.pull-…"
                     for chart in (local_profile.pins.crd_chart, local_profile.pins.chart)]
    assert (tmp_path / "b" / "charts" / "kgateway-v2.1.3.tgz").is_file()
    assert (tmp_path / "b" / "manifests").iterdir().__next__().read_text() == CRD_BUNDLE
    assert done.files == len(index["files"]) + 1 and done.size > 0
    assert not list((tmp_path / "b").rglob("*.part"))


async def test_a_failed_prepare_leaves_no_index_claiming_a_whole_bundle(
        local_profile: Profile, docker_api: None, fakes: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    await prepare(tmp_path / "b", [local_profile], lambda line: None, fetch=crd_fetch)
    monkeypatch.setenv("FAKE_FAIL", "helm-pull")  # the Wi-Fi drops half way through
    with pytest.raises(CommandFailed) as caught:
        await prepare(tmp_path / "b", [local_profile], lambda line: None, fetch=crd_fetch)
    assert "could not download" in caught.value.hint
    assert not (tmp_path / "b" / INDEX).exists()  # the earlier index went first
    with pytest.raises(SandboxError, match="is not a complete bundle"):
        Bundle.open(tmp_path / "b")


def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every way out of this process other than loopback and Unix sockets is recorded and
    refused: DNS, socket connects, httpx, and the CRD download."""
    attempts: list[str] = []

    def refuse(what: str) -> None:
        attempts.append(what)
        raise OSError(f"network access in an offline test: {what}")

    real_connect = socket.socket.connect
    real_getaddrinfo = socket.getaddrinfo

    def connect(sock: socket.socket, address: Any) -> Any:
        if sock.family != socket.AF_UNIX and address[0] not in ("127.0.0.1", "::1", "localhost"):
            refuse(f"connect {address}")
        return real_connect(sock, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in ("127.0.0.1", "::1", "localhost", None):
            refuse(f"resolve {host}")
        return real_getaddrinfo(host, *args, **kwargs)

    async def transport(self: Any, request: httpx.Request) -> httpx.Response:
        refuse(f"httpx {request.url}")
        raise AssertionError  # not reached

    async def fetch_text(url: str, timeout: float = 60.0) -> str:
        refuse(f"fetch {url}")
        raise AssertionError  # not reached

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", transport)
    monkeypatch.setattr("sandbox.http_client.fetch_text", fetch_text)
    monkeypatch.setenv("FAKE_OFFLINE", "1")  # fake helm refuses oci:// charts
    return attempts


async def test_up_with_a_bundle_takes_everything_from_its_files_and_no_network(
        local_profile: Profile, docker_api: None, fakes: Path, tmp_path: Path, kmock: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "bundle"
    await prepare(root, [local_profile], lambda line: None, fetch=crd_fetch)
    fakes.unlink()
    node = local_profile.pins.node_image
    _podman("rmi", "-f", tag_of(node))  # the room's machine does not have it yet
    attempts = no_network(monkeypatch)  # from here on
    lines: list[str] = []
    sandbox = KindRuntime(local_profile, free_port(), "mock", TOKEN, "agw-sandbox",
                          bundle=root)
    async with controller(kmock):
        try:
            await sandbox.up(lines.append, forward=False)
        finally:
            await sandbox.down()
    assert attempts == []
    assert lines[1].startswith(f"✓ offline bundle {root}: 7 files")
    assert _podman("image", "exists", tag_of(node)) == ""  # loaded back through the Docker API
    kind = calls(fakes, "kind")
    create = next(line.split() for line in kind if line.startswith("kind create"))
    assert create[create.index("--image") + 1] in (node, tag_of(node))
    loaded = [line.split()[3] for line in kind if line.startswith("kind load image-archive")]
    assert loaded == [str(root / item.path) for item in items(local_profile)[1:4]]
    installs = [line.split()[4] for line in calls(fakes, "helm") if " upgrade " in line]
    assert installs == [str(root / "charts" / "kgateway-crds-v2.1.3.tgz"),
                        str(root / "charts" / "kgateway-v2.1.3.tgz")]
    assert f"$ kubectl apply --server-side -f {root}/manifests/" in "\n".join(lines)
    assert not any("oci://" in line or "https://" in line
                   for line in calls(fakes, "helm") + kind)


def fake_bundle(root: Path, profile: Profile = DEFAULT_PROFILE) -> Bundle:
    """A bundle with made-up file contents and a true index (no Docker, no helm)."""
    entries = []
    for item in items(profile):
        path = root / item.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"contents of {item.ref}\n")
        entries.append({**dataclasses.asdict(item), "size": path.stat().st_size,
                        "sha256": bundle.sha256_of(path)})
    (root / INDEX).write_text(json.dumps({"format": 1, "files": entries,
                                          "profiles": {profile.name: pins_record(profile)}}))
    return Bundle.open(root)


def test_a_whole_bundle_passes_its_check(tmp_path: Path) -> None:
    assert fake_bundle(tmp_path).check(DEFAULT_PROFILE) == "7 files, 481 bytes, sums match"


@pytest.mark.parametrize(("damage", "message"), [
    (lambda root: (root / "charts" / "kgateway-v2.1.3.tgz").write_text("cut short"),
     "charts/kgateway-v2.1.3.tgz is damaged: it holds 9 bytes where index.json records 63"),
    (lambda root: (root / "charts" / "kgateway-v2.1.3.tgz").write_text("x" * 63),
     "charts/kgateway-v2.1.3.tgz is damaged: its sha256 is not the one index.json records"),
    (lambda root: (root / "charts" / "kgateway-v2.1.3.tgz").unlink(),
     "charts/kgateway-v2.1.3.tgz is missing"),
    (lambda root: (root / INDEX).write_text(
        (root / INDEX).read_text().replace("v2.1.3", "v2.1.2")),
     "was made for other pins of kgateway-v2.1 (chart_version v2.1.2 where this version pins "
     "v2.1.3"),
    (lambda root: (root / INDEX).write_text(
        (root / INDEX).read_text().replace("charts/", "../")),
     "names a file outside the bundle: ../kgateway-crds-v2.1.3.tgz"),
])
def test_a_damaged_bundle_is_named_precisely(tmp_path: Path, damage: Any, message: str) -> None:
    fake_bundle(tmp_path)
    damage(tmp_path)
    with pytest.raises(SandboxError) as caught:
        Bundle.open(tmp_path).check(DEFAULT_PROFILE)
    assert message in caught.value.message


def test_up_with_a_corrupted_bundle_exits_2_naming_the_file_and_creates_nothing(
        cli_env: dict[str, str], tmp_path: Path) -> None:
    fake_bundle(tmp_path / "b")
    with (tmp_path / "b" / items(DEFAULT_PROFILE)[0].path).open("a") as node:
        node.write("one flipped byte")
    log = tmp_path / "calls.log"
    env = {**cli_env, "PATH": f"{FAKES}:{cli_env['PATH']}", "FAKE_LOG": str(log),
           "FAKE_STATE": str(tmp_path / "state")}
    result = run_cli("up", "--bundle", str(tmp_path / "b"), env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert (f"stage “offline bundle {tmp_path}/b” failed: the bundle file {tmp_path}/b/images/"
            "kindest_node_v1.34.0.tar is damaged") in result.stderr
    assert "Traceback" not in result.stderr
    assert not log.exists()  # no kind, helm or kubectl ran: nothing was created


def test_a_bundle_whose_path_names_the_key_is_said_masked(
        cli_env: dict[str, str], tmp_path: Path) -> None:
    """AD6: `up` said the path in its stage line whole (its failure line was masked)."""
    folder = tmp_path / TOKEN
    fake_bundle(folder)
    with (folder / items(DEFAULT_PROFILE)[0].path).open("a") as node:
        node.write("one flipped byte")
    env = {**cli_env, "PATH": f"{FAKES}:{cli_env['PATH']}", "FAKE_LOG": str(tmp_path / "log"),
           "FAKE_STATE": str(tmp_path / "state")}
    result = run_cli("up", "--bundle", str(folder), env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "offline bundle" in result.stdout + result.stderr
    assert TOKEN[8:] not in result.stdout + result.stderr
    prepared = run_cli("prepare", str(folder / "new"), env=cli_env)
    assert "agw-sandbox prepare · " in prepared.stdout
    assert TOKEN[8:] not in prepared.stdout + prepared.stderr


def test_a_bundle_needs_the_kind_runtime(cli_env: dict[str, str], tmp_path: Path) -> None:
    result = run_cli("run", "--all", "--runtime", "sim", "--bundle", str(tmp_path), env=cli_env)
    assert result.returncode == 2
    assert "--bundle works with the kind runtime only" in result.stderr


def test_prepare_without_docker_says_so_and_writes_no_index(
        cli_env: dict[str, str], tmp_path: Path) -> None:
    result = run_cli("prepare", str(tmp_path / "b"), env=cli_env)
    assert result.returncode == 2, result.stderr
    assert ("could not save the image kindest/node:v1.34.0@sha256:" in result.stderr
            or "Docker daemon is not reachable" in result.stderr), result.stderr
    assert not (tmp_path / "b" / INDEX).exists()


async def test_prepare_prints_each_file_then_the_total_size_and_time(
        local_profile: Profile, docker_api: None, fakes: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from sandbox import headless

    # the download, as online
    monkeypatch.setattr("sandbox.http_client.fetch_text", crd_fetch)
    assert await headless.prepare(tmp_path / "b", [local_profile]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"agw-sandbox prepare · {tmp_path}/b · profiles: kgateway-v2.1"
    assert out[1] == f"  [1/7] image {local_profile.pins.node_image}"
    assert re.fullmatch(r"Bundle ready: 8 files, \d+\.\d KiB, in \d+\.\ds\. Where the network is "
                        rf"poor: `agw-sandbox up --bundle {tmp_path}/b`\.", out[-1]), out[-1]
    assert TOKEN not in (tmp_path / "b" / INDEX).read_text()


@pytest.mark.parametrize("command", [["up"], ["forward"], ["run", "--all"]])
def test_bundle_reaches_the_kind_runtime_from_up_forward_and_run(
        command: list[str], tmp_path: Path) -> None:
    from sandbox.cli import build_parser, settings_from
    from sandbox.runtimes.factory import make_runtime

    settings = settings_from(build_parser().parse_args([*command, "--bundle", str(tmp_path)]))
    assert (settings.runtime, settings.bundle) == ("kind", tmp_path)  # auto means kind here
    runtime = make_runtime(settings, settings.runtime)
    assert isinstance(runtime, KindRuntime) and runtime.bundle_dir == tmp_path
    with pytest.raises(SandboxError, match="--bundle works with the kind runtime only"):
        settings_from(build_parser().parse_args([*command, "--bundle", str(tmp_path),
                                                 "--context", "prod"]))
