"""The import rules that .ci/run enforces: each outside library only in its boundary module, no
Textual in the core, one subprocess helper. They hold on the tree, and a violation fails them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def lint(tree: Path) -> str:
    """Run both linters the way .ci/run does; return their complaints ("" when clean)."""
    ruff = subprocess.run([str(BIN / "ruff"), "check", "--no-cache", "--output-format",
                           "concise", "sandbox"], cwd=tree, capture_output=True, text=True,
                          check=False)
    contracts = subprocess.run([str(BIN / "lint-imports"), "--no-cache"], cwd=tree,
                               capture_output=True, text=True, check=False)
    complaints = ""
    if ruff.returncode:
        complaints += ruff.stdout + ruff.stderr
    if contracts.returncode:
        complaints += contracts.stdout + contracts.stderr
    return complaints


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the package and its configuration, free to be broken."""
    shutil.copytree(REPO / "sandbox", tmp_path / "sandbox",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_tree_keeps_every_import_rule(tree: Path) -> None:
    assert lint(tree) == ""


@pytest.mark.parametrize(("module", "code", "complaint"), [
    ("sandbox/walkthrough/runner.py", "import docker", "sandbox.walkthrough.runner -> docker"),
    ("sandbox/runtimes/kube/cluster.py", "from kubernetes import client",
     "sandbox.runtimes.kube.cluster -> kubernetes"),
    ("sandbox/runtimes/kube/runtime.py", "import httpx", "sandbox.runtimes.kube.runtime -> httpx"),
    ("sandbox/runtimes/kube/containers.py", "import httpx",
     "sandbox.runtimes.kube.containers -> httpx"),
    ("sandbox/tui/session.py", "from textual.app import App", "sandbox.tui.session -> textual"),
    ("sandbox/walkthrough/masking.py", "from sandbox.tui.widgets.command_log import CommandLog",
     "sandbox.walkthrough.masking -> sandbox.tui.widgets.command_log"),
    ("sandbox/runtimes/kube/cluster.py", "import subprocess", "`subprocess` is banned"),
    ("sandbox/runtimes/sim/gateway.py", "from asyncio import create_subprocess_exec",
     "`asyncio.create_subprocess_exec` is banned: start processes through sandbox.proc"),
    ("sandbox/headless.py", "import os\nos.system('kind get clusters')", "`os.system` is banned"),
    ("sandbox/cli/__init__.py", "from textual_serve.server import Server",
     "sandbox.cli -> textual_serve"),
    ("sandbox/mock/provider.py", "from aiohttp import web", "sandbox.mock.provider -> aiohttp"),
    ("sandbox/web/serve.py", "from textual.app import App", "sandbox.web.serve -> textual"),
])
def test_a_library_outside_its_boundary_fails_the_rules(tree: Path, module: str, code: str,
                                                         complaint: str) -> None:
    path = tree / module
    path.write_text(path.read_text() + f"\n{code}  # noqa: E402, F401\n")
    assert complaint in lint(tree)


@pytest.mark.parametrize(("module", "code", "complaint"), [
    # a runtime sees the base and the seam only, never the scenarios' catalog or the walkthrough
    ("sandbox/runtimes/kube/client.py", "from sandbox.catalog import loader",
     "sandbox.runtimes.kube.client -> sandbox.catalog.loader"),
    ("sandbox/runtimes/sim/gateway.py", "from sandbox.walkthrough import exchange",
     "sandbox.runtimes.sim.gateway -> sandbox.walkthrough.exchange"),
    # the base never reaches up into a family
    ("sandbox/settings.py", "from sandbox.runtimes.kube import containers",
     "sandbox.settings -> sandbox.runtimes.kube.containers"),
    # sim and kube are independent; the seam does not know them
    ("sandbox/runtimes/kube/preflight.py", "from sandbox.runtimes.sim import gateway",
     "sandbox.runtimes.kube.preflight -> sandbox.runtimes.sim.gateway"),
    ("sandbox/runtimes/runtime.py", "from sandbox.runtimes import factory",
     "sandbox.runtimes.runtime -> sandbox.runtimes.factory"),
    # the mock provider runs in the cluster with the standard library only
    ("sandbox/mock/openai.py", "from sandbox import errors",
     "sandbox.mock.openai -> sandbox.errors"),
])
def test_an_import_that_points_up_fails_the_layers(tree: Path, module: str, code: str,
                                                    complaint: str) -> None:
    path = tree / module
    path.write_text(path.read_text() + f"\n{code}  # noqa: E402, F401\n")
    assert complaint in lint(tree)


def test_a_cycle_between_two_modules_of_a_family_fails(tree: Path) -> None:
    scenarios = tree / "sandbox" / "catalog" / "scenarios.py"
    scenarios.write_text(scenarios.read_text() + "\nfrom sandbox.catalog import loader  # noqa\n")
    complaints = lint(tree)
    assert "No cycles are allowed in sandbox.catalog" in complaints
    assert ".scenarios -> .loader" in complaints


@pytest.mark.parametrize("new", ["sandbox/helpers.py", "sandbox/extras/__init__.py",
                                 "sandbox/runtimes/remote.py", "sandbox/tui/clipboard.py"])
def test_a_module_outside_every_layer_fails_the_rules(tree: Path, new: str) -> None:
    """A new module must be placed in a layer, or nothing would stop it importing anything."""
    path = tree / new
    path.parent.mkdir(exist_ok=True)
    path.write_text('"""A module nobody placed."""\n')
    complaints = lint(tree)
    assert "are not listed as layers" in complaints
    assert new.removesuffix(".py").removesuffix("/__init__").replace("/", ".") in complaints


def test_the_http_client_loads_httpx_without_its_command_line() -> None:
    """httpx imports its CLI (click, rich, pygments) when they are installed: not for us."""
    code = ("import sys, sandbox.http_client; print(sorted(m for m, v in sys.modules.items() "
            "if v is not None and (m.split('.')[0] in ('click', 'pygments', 'rich') "
            "or m == 'httpx._main')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
    import httpx

    assert callable(httpx.main)  # httpx's own stand-in, as without the CLI's dependencies
