"""A key written disguised in a scenario (lower-cased as a resource name, in look-alike letters,
fullwidth, spelled out with separators) is masked by every channel of `run` (plain, -v, --json,
the transcript), as `manifests` masks it: resource lines, shell equivalents, requests, manifests."""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

from tests.conftest import TOKEN
from tests.helpers import run_cli

NAME = TOKEN.lower()  # a valid Kubernetes name
LOOK_ALIKES = {"s": "ѕ", "e": "е", "a": "а", "p": "р", "c": "с", "x": "х", "y": "у", "k": "к",
               "T": "Т", "K": "К", "H": "Н", "A": "А", "B": "В", "M": "М"}
CYRILLIC = TOKEN.translate(str.maketrans(LOOK_ALIKES))
FULLWIDTH = "".join(chr(ord(char) + 0xFEE0) for char in TOKEN)
DASHED = "-".join(TOKEN)
UNDERSCORED = "_".join(TOKEN.upper())
DOTTED = ".".join(NAME)
MASK = "sk-…c5Ge"

SCENARIO = f"""\
id: disguised
title: Disguised keys
order: 70
needs: [setup]
summary: Keys written otherwise.
security: None.
steps:
  - id: apply
    title: apply
    apply: [manifests/backend.yaml, manifests/route.yaml, manifests/config.yaml]
  - id: wait
    title: wait
    wait:
      - resource: Backend/kgateway-system/{NAME}
        conditions: {{Accepted: "True"}}
  - id: ask
    title: ask
    request:
      path: /disguised
      headers: {{X-K: '{DASHED}', X-D: '{DOTTED}'}}
      body: {{model: m, messages: [{{role: user, content: '{FULLWIDTH}'}}]}}
    expect: {{status: 200}}
  - id: drop
    title: drop
    delete: [ConfigMap/kgateway-system/{NAME}]
  - {{id: clean, title: clean, cleanup: true}}
"""
BACKEND = f"""\
apiVersion: gateway.kgateway.dev/v1alpha1
kind: Backend
metadata: {{name: {NAME}, namespace: kgateway-system}}
spec:
  type: AI
  ai:
    llm:
      openai:
        authToken: {{kind: Inline, inline: "${{token}}"}}
        model: gpt-3.5-turbo
"""
ROUTE = f"""\
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: disguised, namespace: kgateway-system}}
spec:
  parentRefs: [{{name: agentgateway, namespace: kgateway-system}}]
  rules:
  - matches: [{{path: {{type: PathPrefix, value: /disguised}}}}]
    filters:
    - type: URLRewrite
      urlRewrite: {{path: {{type: ReplaceFullPath, replaceFullPath: /v1/chat/completions}}}}
    backendRefs:
    - {{name: {NAME}, namespace: kgateway-system, group: gateway.kgateway.dev, kind: Backend}}
"""
CONFIG = f"""\
apiVersion: v1
kind: ConfigMap
metadata: {{name: {NAME}, namespace: kgateway-system}}
data: {{cyrillic: '{CYRILLIC}', underscored: '{UNDERSCORED}'}}
"""


def disguised_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "disguised"
    (folder / "manifests").mkdir(parents=True)
    (folder / "disguised.yaml").write_text(SCENARIO)
    for name, text in (("backend", BACKEND), ("route", ROUTE), ("config", CONFIG)):
        (folder / "manifests" / f"{name}.yaml").write_text(text)
    return folder


def readable(text: str) -> list[str]:
    """The pieces of the key (8 of its letters and digits each) a person could read in
    ``text``: JSON escapes undone, look-alike and fullwidth letters read as Latin ones, case
    and everything between the letters ignored. The test's own reading, not the masker's."""
    plain = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)
    plain = unicodedata.normalize("NFKC", plain)
    plain = plain.translate(str.maketrans({v: k for k, v in LOOK_ALIKES.items()}))
    plain = re.sub(r"[^0-9a-z]", "", plain.lower())
    letters = re.sub(r"[^0-9a-z]", "", TOKEN.lower())
    return [letters[i:i + 8] for i in range(2, len(letters) - 7) if letters[i:i + 8] in plain]


def run(tmp_path: Path, env: dict[str, str], *options: str) -> str:
    done = run_cli("run", "disguised", "--scenarios", str(disguised_folder(tmp_path)),
                   "--runtime", "sim", "--port", "0", *options, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert readable(done.stderr) == [], done.stderr
    return done.stdout


def test_the_plain_report_masks_disguised_keys(cli_env: dict[str, str], tmp_path: Path) -> None:
    out = run(tmp_path, cli_env)
    assert readable(out) == [], out
    assert f"applied Backend kgateway-system/{MASK}: created" in out
    assert f"status Backend kgateway-system/{MASK}: Accepted=True" in out
    assert f"deleted ConfigMap kgateway-system/{MASK}" in out
    assert f"-H 'X-K: {MASK}'" in out  # the request line's curl


def test_the_verbose_report_masks_disguised_keys(cli_env: dict[str, str],
                                                 tmp_path: Path) -> None:
    out = run(tmp_path, cli_env, "-v")
    assert readable(out) == [], out
    assert f"$ kubectl wait backend/{MASK} -n kgateway-system" in out
    assert f"$ kubectl delete configmap/{MASK} -n kgateway-system" in out
    assert f"  name: {MASK}\n" in out  # the heredoc of `kubectl apply`
    assert f"cyrillic: {MASK}" in out and f"underscored: {MASK}" in out
    assert '"$AGW_SANDBOX_TOKEN"' in out or "${AGW_SANDBOX_TOKEN}" in out  # still runnable


def test_the_json_report_masks_disguised_keys(cli_env: dict[str, str], tmp_path: Path) -> None:
    out = run(tmp_path, cli_env, "--json")
    assert readable(out) == [], out
    steps = {step["id"]: step for step in json.loads(out)["scenarios"][-1]["steps"]}
    assert steps["wait"]["status"][0]["resource"] == f"Backend kgateway-system/{MASK}"
    assert steps["ask"]["request"]["headers"][0] == ["X-K", MASK]
    assert steps["ask"]["request"]["headers"][1] == ["X-D", MASK]


def test_the_transcript_masks_disguised_keys(cli_env: dict[str, str], tmp_path: Path) -> None:
    transcript = tmp_path / "t.md"
    run(tmp_path, cli_env, "--transcript", str(transcript))
    written = transcript.read_text()
    assert readable(written) == [], written
    assert f"kgateway-system/{MASK}" in written


def test_a_transcript_path_naming_the_key_is_masked(cli_env: dict[str, str],
                                                    tmp_path: Path) -> None:
    folder = tmp_path / f"notes-{NAME}"
    folder.mkdir()
    out = run(tmp_path, cli_env, "--transcript", str(folder / "t.md"))
    assert f"written to {tmp_path}/notes-{MASK}/t.md" in out
    assert readable(out) == [], out
    document = run(tmp_path / "again", cli_env, "--json", "--transcript", str(folder / "j.md"))
    assert json.loads(document)["transcript"] == f"{tmp_path}/notes-{MASK}/j.md"
    assert readable(document) == [], document
    assert (folder / "t.md").is_file() and (folder / "j.md").is_file()
