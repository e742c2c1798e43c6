"""Shared fixtures: fake keys that look real, the simulated runtime, the project's copy of the
upstream CRDs."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from sandbox.profiles import DEFAULT_PROFILE
from sandbox.runtimes.sim.runtime import SimRuntime

REPO = Path(__file__).resolve().parents[1]
# The project's own copy of every upstream CRD it uses, a folder per release (derived by
# tools/gen_admission_schemas.py; its README names each upstream file).
CRDS = REPO / "sandbox" / "runtimes" / "sim" / "crds"
TOKEN = "sk-test-Zq8rTfW3nLp6Yx2Vb9Kd4Hs7Jm1Ac5Ge"
OTHER_TOKEN = "sk-test-Qw3Er5Ty7Ui9Op1As2Df4Gh6Jk8Lz0Xc"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--with-e2e", action="store_true",
                     help="run the end-to-end tests that need Docker, kind and the internet")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--with-e2e"):
        return
    skip = pytest.mark.skip(reason="end-to-end: opt in with --with-e2e (needs Docker)")
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def token() -> str:
    return TOKEN


@pytest.fixture
async def sim() -> AsyncIterator[SimRuntime]:
    runtime = SimRuntime(DEFAULT_PROFILE, 0, "mock", [TOKEN], token_delay=0.0)
    await runtime.up(lambda message: None)
    try:
        yield runtime
    finally:
        await runtime.down()


@pytest.fixture
def crds() -> Path:
    return CRDS


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """An environment for running the CLI as a subprocess, isolated in a temporary HOME."""
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
           "AGW_SANDBOX_TOKEN": TOKEN, "NO_COLOR": "1", "DOCKER_HOST": "unix:///nonexistent.sock"}
    yield env


@pytest.fixture(scope="session")
def podman_socket(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`podman system service` on a private socket; .ci/run installs podman from Debian."""
    if shutil.which("podman") is None:
        pytest.skip("podman is not installed (apt-get install podman)")
    socket = tmp_path_factory.mktemp("podman") / "podman.sock"
    service = subprocess.Popen(["podman", "system", "service", "--time=0", f"unix://{socket}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while not socket.exists():
        if service.poll() is not None or time.monotonic() > deadline:
            service.kill()
            pytest.fail(f"podman system service did not start: {service.stderr.read()!r}")  # type: ignore[union-attr]
        time.sleep(0.1)
    yield f"unix://{socket}"
    service.terminate()
    service.wait(timeout=10)


@pytest.fixture
def no_docker_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """This process with no Docker settings at all and an empty HOME; returns ~/.docker."""
    for name in ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CONFIG", "DOCKER_TLS_VERIFY",
                 "DOCKER_CERT_PATH"):
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    (home / ".docker").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    return home / ".docker"
