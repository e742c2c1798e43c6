"""The committed admission facts and CRD copies are what the generator derives from the upstream
CRDs: the one test that needs the upstream files beside the repository (where the generator looks
for them by default); every other test reads the project's copies."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO

GENERATOR = REPO / "tools" / "gen_admission_schemas.py"
SCHEMAS = REPO / "sandbox" / "runtimes" / "sim" / "schemas"
CRD_COPIES = REPO / "sandbox" / "runtimes" / "sim" / "crds"


def _upstream_dir() -> Path:
    spec = importlib.util.spec_from_file_location("gen_admission_schemas", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return Path(module.DEFAULT_CRDS)


@pytest.fixture
def upstream() -> Path:
    """The unmodified upstream CRDs, where the generator reads them by default."""
    found = _upstream_dir()
    if not found.is_dir():
        pytest.skip(f"the upstream CRD files are not at {found} (the generator's input: "
                    "Gateway API v1.4.0 and v1.6.0, kgateway v2.1.x and agentgateway v1.4.1, "
                    "as sandbox/runtimes/sim/crds/README.md lists); the project's derived "
                    "copies are checked only where they are")
    return found


def _check(crds: Path, out: Path, crds_out: Path = CRD_COPIES
           ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(GENERATOR), str(crds), "--out", str(out),
                           "--crds-out", str(crds_out), "--check"],
                          capture_output=True, text=True, check=False)


def test_the_committed_schemas_and_crds_are_regenerated_identically(upstream: Path) -> None:
    result = _check(upstream, SCHEMAS)
    assert result.returncode == 0, result.stderr


def test_a_stale_or_extra_file_is_found(upstream: Path, tmp_path: Path) -> None:
    out, copies = tmp_path / "schemas", tmp_path / "crds"
    shutil.copytree(SCHEMAS, out)
    shutil.copytree(CRD_COPIES, copies)
    stale = out / "kgateway-v2.1" / "Backend.gateway.kgateway.dev.v1alpha1.json"
    stale.write_text(stale.read_text().replace('"AI"', '"Ai"'))
    (out / "extra.json").write_text("{}\n")
    crd = copies / "agentgateway-v1.4.1" / "agentgateway.dev_agentgatewaybackends.yaml"
    crd.write_text(crd.read_text().replace("maxLength: 256", "maxLength: 257", 1))
    result = _check(upstream, out, copies)
    assert result.returncode == 1
    assert "kgateway-v2.1/Backend.gateway.kgateway.dev.v1alpha1.json" in result.stderr
    assert "extra.json" in result.stderr
    assert "agentgateway.dev_agentgatewaybackends.yaml" in result.stderr


def test_the_derived_crds_are_upstream_s_without_the_prose(upstream: Path) -> None:
    for copy in CRD_COPIES.rglob("*.yaml"):
        bundle, name = copy.parent.name, copy.name
        source = next(p for p in upstream.rglob(name) if bundle in _release_of(p, upstream))
        original = [d for d in yaml.safe_load_all(source.read_text()) if d]
        derived = [d for d in yaml.safe_load_all(copy.read_text()) if d]
        assert _without_description(original) == derived, copy
        assert hashlib.sha256(source.read_bytes()).hexdigest() in (
            CRD_COPIES / "README.md").read_text()


def _release_of(path: Path, upstream: Path) -> str:
    """The release an input file belongs to (the input keeps v1.4.0 and kgateway at its top)."""
    folder = path.parent.relative_to(upstream).as_posix()
    if folder == ".":
        gateway_api = path.name.startswith("gateway.networking")
        return "gateway-api-v1.4.0" if gateway_api else "kgateway-v2.1"
    return folder.removeprefix("more/")


def _without_description(node: Any, field_names: bool = False) -> Any:
    """An independent reading of "the prose left out": drop every description string."""
    if isinstance(node, list):
        return [_without_description(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {key: _without_description(value, key == "properties") for key, value in node.items()
            if field_names or not (key == "description" and isinstance(value, str))}


def test_every_derived_crd_is_small_and_has_no_prose() -> None:
    copies = list(CRD_COPIES.rglob("*.yaml"))
    assert len(copies) == 28  # 6 + 11 (with the admission policy) + 7 + 4
    for copy in copies:
        text = copy.read_text()
        assert "description: " not in text.replace("description:\n", ""), copy
    assert sum(copy.stat().st_size for copy in copies) < 2_500_000


def test_the_generated_facts_hold_every_rule_and_no_prose(crds: Path) -> None:
    routes = crds / "gateway-api-v1.4.0" / "gateway.networking.k8s.io_httproutes.yaml"
    crd = yaml.safe_load(routes.read_text())
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
    assert not shipped & set(CRD_COPIES.rglob("*"))  # read by tests and the tier, not shipped
