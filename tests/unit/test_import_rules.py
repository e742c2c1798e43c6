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
     "sandbox.walkthrough.masking is not allowed to import sandbox.tui.widgets"),
    ("sandbox/runtimes/kube/cluster.py", "import subprocess", "`subprocess` is banned"),
    ("sandbox/runtimes/sim/gateway.py", "from asyncio import create_subprocess_exec",
     "`asyncio.create_subprocess_exec` is banned: start processes through sandbox.proc"),
    ("sandbox/headless.py", "import os\nos.system('kind get clusters')", "`os.system` is banned"),
    ("sandbox/cli.py", "from textual_serve.server import Server", "sandbox.cli -> textual_serve"),
    ("sandbox/mock_provider.py", "from aiohttp import web", "sandbox.mock_provider -> aiohttp"),
    ("sandbox/web/serve.py", "from textual.app import App", "sandbox.web.serve -> textual"),
])
def test_a_library_outside_its_boundary_fails_the_rules(tree: Path, module: str, code: str,
                                                         complaint: str) -> None:
    path = tree / module
    path.write_text(path.read_text() + f"\n{code}  # noqa: E402, F401\n")
    assert complaint in lint(tree)


def test_every_core_module_is_under_the_headless_contract() -> None:
    """A new core module must join the list, or the UI could creep into it unnoticed."""
    import tomllib

    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    headless = next(c for c in config["tool"]["importlinter"]["contracts"]
                    if c["name"].startswith("the core never reaches Textual"))
    listed = set(headless["source_modules"])
    ui = {"app", "cli", "__main__", "__init__", "browser_driver"}
    core = {f"sandbox.{path.stem}" for path in (REPO / "sandbox").glob("*.py")
            if path.stem not in ui}
    core |= {f"sandbox.{path.name}" for path in (REPO / "sandbox").iterdir()
             if (path / "__init__.py").exists() and path.name not in ("screens", "widgets")}
    assert core - listed == set()
