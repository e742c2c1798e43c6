"""AE4: a manifest holding a key's beginning lower-cased as a name (masked alone already) and the
rest of the key in 8-character pieces elsewhere in it (data, a Secret's stringData, a label, an
annotation) is masked as one document in every channel that shows it, as `run -v`'s `kubectl
apply` block masks it: plain, -v (the applied object under the block), --json, the transcript
and `manifests`."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import run_cli

# 30 characters, as the probe's: its last 16 are two pieces of 8, each short of a run alone
KEY = "sk-test-harborK3v8Z1q5M6t2N9w4"
NAME = KEY[:14].lower()  # a name may not hold capitals: masked alone as a key's beginning
PIECES = [KEY[14:22], KEY[22:]]

SCENARIO = """\
id: whole
title: T
order: 70
needs: [setup]
summary: S
security: s
steps:
  - {title: a, apply: [manifests/m.yaml]}
"""
MANIFESTS = {
    "configmap-data": f"""\
apiVersion: v1
kind: ConfigMap
metadata: {{name: {NAME}}}
data: {{a: "{PIECES[0]}", b: "{PIECES[1]}"}}
""",
    "secret-stringdata": f"""\
apiVersion: v1
kind: Secret
metadata: {{name: {NAME}}}
type: Opaque
stringData: {{user: "{PIECES[0]}", password: "{PIECES[1]}"}}
""",
    "label-and-annotation": f"""\
apiVersion: v1
kind: ConfigMap
metadata:
  name: plain
  labels: {{team: {NAME}}}
  annotations: {{note: "{PIECES[0]}"}}
data: {{x: "{PIECES[1]}"}}
""",
    # AF5: the pieces in different objects of one file, a List's items or documents after
    # `---`, each object's fields between them (further apart than pieces of prose may be)
    "list-items": f"""\
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {{name: {NAME}, labels: {{app: demo, tier: backend}}}}
  data: {{a: "{PIECES[0]}"}}
- apiVersion: v1
  kind: ConfigMap
  metadata: {{name: second, namespace: default}}
  data: {{b: "{PIECES[1]}"}}
""",
    "two-documents": f"""\
apiVersion: v1
kind: Secret
metadata: {{name: {NAME}}}
type: Opaque
stringData: {{first: "{PIECES[0]}"}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: settings, annotations: {{owner: platform-team}}}}
data: {{second: "{PIECES[1]}"}}
""",
}


@pytest.fixture(params=sorted(MANIFESTS))
def folder(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    (tmp_path / "s" / "manifests").mkdir(parents=True)
    (tmp_path / "s" / "s.yaml").write_text(SCENARIO)
    (tmp_path / "s" / "manifests" / "m.yaml").write_text(MANIFESTS[request.param])
    return tmp_path / "s"


def shown_pieces(text: str) -> list[str]:
    return [piece for piece in PIECES if piece in text]


def test_every_channel_masks_the_manifest_as_one_document(cli_env: dict[str, str],
                                                          folder: Path, tmp_path: Path) -> None:
    cli_env = {**cli_env, "AGW_SANDBOX_TOKEN": KEY}
    common = ("--scenarios", str(folder), "--runtime", "sim", "--port", "0")
    verbose = run_cli("run", "whole", *common, "-v", env=cli_env, timeout=90)
    assert verbose.returncode == 0, verbose.stdout + verbose.stderr
    assert "kubectl apply" in verbose.stdout and "applied " in verbose.stdout, verbose.stdout
    transcript = tmp_path / "t.md"
    as_json = run_cli("run", "whole", *common, "--json", "--transcript", str(transcript),
                      env=cli_env, timeout=90)
    assert as_json.returncode == 0, as_json.stderr
    plain = run_cli("run", "whole", *common, env=cli_env, timeout=90)
    listed = run_cli("manifests", "whole", "--scenarios", str(folder), env=cli_env)
    assert listed.returncode == 0, listed.stderr
    for channel, text in (("-v", verbose.stdout + verbose.stderr), ("--json", as_json.stdout),
                          ("transcript", transcript.read_text()), ("plain", plain.stdout),
                          ("manifests", listed.stdout)):
        assert shown_pieces(text) == [], (channel, text)
    assert "kind:" in listed.stdout and "…" in listed.stdout, listed.stdout
