"""A manifest template holding a List (``kind: List``) is applied as its items, as kubectl does."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.conftest import REPO
from tests.helpers import run_cli
from tests.unit.test_catalog import write


def test_a_scenario_applying_a_list_runs_on_the_simulation(cli_env: dict[str, str],
                                                           tmp_path: Path) -> None:
    builtin = REPO / "scenarios"
    items = [yaml.safe_load((builtin / "manifests" / name).read_text())
             for name in ("backend-inline.yaml", "httproute.yaml")]
    write(tmp_path / "manifests", "both.yaml",
          yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": items}))
    text = (builtin / "inline.yaml").read_text().replace("id: inline", "id: listed")
    text = text.replace("apply: [manifests/backend-inline.yaml]", "apply: [manifests/both.yaml]")
    write(tmp_path, "listed.yaml", text.replace("    apply: [manifests/httproute.yaml]\n", ""))
    result = run_cli("run", "listed", "--runtime", "sim", "--port", "0", "--scenarios",
                     str(tmp_path), env=cli_env, timeout=90)
    assert result.returncode == 0, result.stdout + result.stderr
    shown = run_cli("manifests", "listed", "--scenarios", str(tmp_path), env=cli_env)
    assert shown.returncode == 0, shown.stderr
    assert "kind: Backend" in shown.stdout and "kind: HTTPRoute" in shown.stdout
    assert "kind: List" not in shown.stdout
