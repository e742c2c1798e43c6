"""The committed admission facts are what the generator derives from the upstream CRDs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import REPO

GENERATOR = REPO / "tools" / "gen_admission_schemas.py"
SCHEMAS = REPO / "sandbox" / "runtimes" / "sim" / "schemas"


def _check(crds: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(GENERATOR), str(crds), "--out", str(out),
                           "--check"], capture_output=True, text=True, check=False)


def test_the_committed_schemas_are_regenerated_identically(crds: Path) -> None:
    result = _check(crds, SCHEMAS)
    assert result.returncode == 0, result.stderr


def test_a_stale_or_extra_file_is_found(crds: Path, tmp_path: Path) -> None:
    out = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, out)
    stale = out / "kgateway-v2.1" / "Backend.gateway.kgateway.dev.v1alpha1.json"
    stale.write_text(stale.read_text().replace('"AI"', '"Ai"'))
    (out / "extra.json").write_text("{}\n")
    result = _check(crds, out)
    assert result.returncode == 1
    assert "kgateway-v2.1/Backend.gateway.kgateway.dev.v1alpha1.json" in result.stderr
    assert "extra.json" in result.stderr


def test_the_generated_facts_hold_every_rule_and_no_prose(crds: Path) -> None:
    crd = yaml.safe_load((crds / "gateway.networking.k8s.io_httproutes.yaml").read_text())
    upstream = json.dumps(crd["spec"]["versions"][0]["schema"])
    generated = (SCHEMAS / "gateway-api-v1.4.0" / "HTTPRoute.gateway.networking.k8s.io.v1.json"
                 ).read_text()
    assert generated.count('"rule":') == upstream.count('"rule":') > 40
    assert generated.count('"message":') == upstream.count('"message":')
    assert '"default":' in generated and '"x-kubernetes-list-type":' in generated
    for path in SCHEMAS.rglob("*.json"):
        assert '"description":"' not in path.read_text(), path  # a field may be named so


def test_without_the_crds_the_generator_says_so(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, str(GENERATOR), str(tmp_path / "none")],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "no CRD directory" in result.stderr


def test_the_package_ships_every_generated_file() -> None:
    import tomllib

    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["sandbox.runtimes.sim"]
    package = REPO / "sandbox" / "runtimes" / "sim"
    shipped = {p for pattern in patterns for p in package.glob(pattern)}
    assert set(SCHEMAS.rglob("*.json")) - shipped == set()
