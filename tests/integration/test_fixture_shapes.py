"""The fake tools print what the real ones print, shaped from upstream's source."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

FAKES = Path(__file__).resolve().parents[1] / "fakes" / "bin"
# helm's releaseElement (cmd/helm/list.go), in its field order.
HELM_LIST_FIELDS = ["name", "namespace", "revision", "updated", "status", "chart", "app_version"]


def test_fake_helm_list_prints_what_helm_prints(tmp_path: Path) -> None:
    for release in ("kgateway-crds", "kgateway"):
        (tmp_path / f"release-{release}").write_text("v2.1.3\n")
    result = subprocess.run(
        [str(FAKES / "helm"), "list", "--namespace", "kgateway-system", "--filter",
         "^kgateway$", "--deployed", "--output", "json"],
        env={"FAKE_STATE": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, check=True)
    [release] = json.loads(result.stdout)  # --filter is a regular expression on the name
    assert list(release) == HELM_LIST_FIELDS
    assert (release["name"], release["chart"], release["status"], release["revision"]) == (
        "kgateway", "kgateway-v2.1.3", "deployed", "1")
    # Go's time.Time.String(): "2026-11-27 08:40:12.345678901 +0000 UTC"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \+0000 UTC", release["updated"])
