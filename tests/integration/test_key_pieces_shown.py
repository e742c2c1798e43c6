"""AD4/AD5/AD8: a key cut into short pieces in a scenario (its title, an explain, a manifest's
fields) is masked by `scenarios`, `manifests` and every channel of `run`, each piece shown as a
mask; prose that shares words with test keys is shown as written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import TOKEN
from tests.helpers import run_cli

PROSE = ("The disk-test- job runs before the canary rollout. "
         "Test keys begin with sk-test-; agw-sandbox uses one.")


def pieces(size: int, between: str = " w ") -> str:
    return between.join(TOKEN[at:at + size] for at in range(0, len(TOKEN), size))


def secret_pieces(text: str) -> list[str]:
    """The pieces of the key past its ``sk-test-`` (three characters or more) that ``text``
    shows, in the key's order: what the scenario's pieces would give away."""
    cuts = [TOKEN[at:at + size] for size in (3, 4, 5, 6)
            for at in range(8, len(TOKEN) - 4, size)]
    return [piece for piece in cuts if len(piece) >= 3 and piece in text]


SCENARIO = f"""\
id: pieces
title: "Pieces {pieces(5)}"
order: 70
needs: [setup]
summary: S
security: s
steps:
  - title: one
    explain: "{pieces(4, ' | ')} and then: {PROSE}"
  - {{title: two, apply: [manifests/m.yaml]}}
"""
MANIFEST = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: p6}\ndata:\n" + "".join(
    f'  k{number}: "{TOKEN[at:at + 6]}"\n' for number, at in enumerate(range(0, len(TOKEN), 6)))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "s" / "manifests").mkdir(parents=True)
    (tmp_path / "s" / "s.yaml").write_text(SCENARIO)
    (tmp_path / "s" / "manifests" / "m.yaml").write_text(MANIFEST)
    return tmp_path / "s"


def test_manifests_masks_a_key_cut_across_fields_as_run_does(cli_env: dict[str, str],
                                                              folder: Path) -> None:
    shown = run_cli("manifests", "pieces", "--scenarios", str(folder), env=cli_env)
    assert shown.returncode == 0, shown.stderr
    assert secret_pieces(shown.stdout) == [], shown.stdout
    assert "k0: sk-…" in shown.stdout and "k1: …" in shown.stdout, shown.stdout


def test_run_masks_pieces_in_every_channel_and_leaves_prose(cli_env: dict[str, str],
                                                            folder: Path,
                                                            tmp_path: Path) -> None:
    common = ("--scenarios", str(folder), "--runtime", "sim", "--port", "0")
    verbose = run_cli("run", "pieces", *common, "-v", env=cli_env, timeout=90)
    assert verbose.returncode == 0, verbose.stdout + verbose.stderr
    transcript = tmp_path / "t.md"
    as_json = run_cli("run", "pieces", *common, "--json", "--transcript", str(transcript),
                      env=cli_env, timeout=90)
    assert as_json.returncode == 0, as_json.stderr
    plain = run_cli("run", "pieces", *common, env=cli_env, timeout=90)
    listed = run_cli("scenarios", "--scenarios", str(folder), env=cli_env)
    for name, text in (("-v", verbose.stdout + verbose.stderr), ("--json", as_json.stdout),
                       ("transcript", transcript.read_text()), ("plain", plain.stdout),
                       ("scenarios", listed.stdout)):
        assert secret_pieces(text) == [], (name, text)
    json.loads(as_json.stdout)
    assert PROSE in verbose.stdout, verbose.stdout
    assert "k1: …" in verbose.stdout, verbose.stdout
