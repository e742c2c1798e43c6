"""A key pasted into a scenario's text (titles, summary, security, explanations) is masked on
every surface that shows it, as the same key in a manifest or a request is."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import readable_key, run_cli

# A key the process holds (OPENAI_API_KEY) but that the walkthrough does not send.
CANARY = "sk-test-canaryTx8Lm2Qp7Rz4Wv9Nd"
PASTED = f"""\
id: pasted
title: Title {CANARY}
summary: Summary {CANARY} here.
security: Security {CANARY} here.
variables:
  note: {{description: "Described {CANARY}", default: plain}}
steps:
  - id: one
    title: Step {CANARY}
    explain: |
      Explained {CANARY}
      on two lines.
"""


def pasted_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "pasted"
    folder.mkdir()
    (folder / "pasted.yaml").write_text(PASTED)
    return folder


def assert_masked(text: str) -> None:
    assert CANARY not in text
    assert readable_key(text, CANARY) == [], text
    assert "sk-…v9Nd" in text or "sk-\\u2026v9Nd" in text, text


def test_the_listing_masks_a_key_in_a_title(cli_env: dict[str, str], tmp_path: Path) -> None:
    env = {**cli_env, "OPENAI_API_KEY": CANARY}
    done = run_cli("scenarios", "--scenarios", str(pasted_folder(tmp_path)), env=env)
    assert done.returncode == 0, done.stderr
    assert "pasted         Title sk-…v9Nd" in done.stdout
    assert_masked(done.stdout + done.stderr)


def test_a_run_masks_every_text_of_the_scenario(cli_env: dict[str, str],
                                                tmp_path: Path) -> None:
    env = {**cli_env, "OPENAI_API_KEY": CANARY}
    folder = pasted_folder(tmp_path)
    transcript = tmp_path / "t.md"
    done = run_cli("run", "pasted", "--scenarios", str(folder), "--runtime", "sim", "--port",
                   "0", "-v", "--transcript", str(transcript), env=env)
    assert done.returncode == 0, done.stderr
    for shown in ("Title sk-…v9Nd", "Summary sk-…v9Nd here.", "Security: Security sk-…v9Nd",
                  "Step sk-…v9Nd", "Explained sk-…v9Nd"):
        assert shown in done.stdout, shown
    assert_masked(done.stdout + done.stderr)
    written = transcript.read_text()
    assert "## 1. Title sk-…v9Nd" in written and "Explained sk-…v9Nd" in written
    assert_masked(written)


def test_the_json_report_masks_the_text(cli_env: dict[str, str], tmp_path: Path) -> None:
    env = {**cli_env, "OPENAI_API_KEY": CANARY}
    done = run_cli("run", "pasted", "--scenarios", str(pasted_folder(tmp_path)), "--runtime",
                   "sim", "--port", "0", "--json", env=env)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert "Step sk-…v9Nd" in json.dumps(document, ensure_ascii=False)
    assert_masked(done.stdout + done.stderr)


# The key as a file's or a folder's name: in look-alike letters, and lower-cased.
LOOK_ALIKE_NAME = CANARY.translate(str.maketrans({"s": "ѕ", "k": "к", "e": "е", "a": "а",
                                                  "y": "у", "p": "р", "T": "Т", "x": "х"}))
KEYED_FOLDER = f"from-{CANARY.lower()}"


def keyed_paths(tmp_path: Path) -> Path:
    """A folder named with the key lower-cased, holding a scenario file named with it in
    look-alike letters."""
    folder = tmp_path / KEYED_FOLDER
    folder.mkdir()
    (folder / f"{LOOK_ALIKE_NAME}.yaml").write_text(PASTED.replace(CANARY, "plain"))
    return folder


def assert_no_name_shown(text: str) -> None:
    assert CANARY.lower() not in text.lower() and LOOK_ALIKE_NAME not in text, text
    assert readable_key(text, CANARY) == [], text


def test_the_listing_masks_a_key_in_a_path(cli_env: dict[str, str], tmp_path: Path) -> None:
    env = {**cli_env, "OPENAI_API_KEY": CANARY}
    folder = keyed_paths(tmp_path)
    for options in (("--scenarios", str(folder)), ("--check", str(folder))):
        done = run_cli("scenarios", *options, env=env)
        assert done.returncode == 0, done.stderr
        assert "(from-sk-…v9Nd/sk-…v9Nd.yaml)" in done.stdout.replace(f"{tmp_path}/", ""), \
            done.stdout
        assert_no_name_shown(done.stdout + done.stderr)


def test_a_problem_in_a_file_masks_a_key_in_its_path(cli_env: dict[str, str],
                                                      tmp_path: Path) -> None:
    env = {**cli_env, "OPENAI_API_KEY": CANARY}
    folder = keyed_paths(tmp_path)
    (folder / "broken.yaml").write_text("id: broken\ntitle: T\n")
    done = run_cli("scenarios", "--check", str(folder), env=env)
    assert done.returncode == 2, done.stderr
    assert "from-sk-…v9Nd/broken.yaml:1: missing required key 'summary'" in done.stderr
    assert_no_name_shown(done.stdout + done.stderr)


def test_a_scenario_id_that_is_the_key_lower_cased_is_masked(cli_env: dict[str, str],
                                                             tmp_path: Path) -> None:
    """AD7: ids are lower-case, so a key given as one reads lower-cased: `scenarios` and
    `run`'s summary showed it whole."""
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "s.yaml").write_text(f"id: {CANARY.lower()}\ntitle: T\nsummary: S\nsecurity: s\n"
                                   "steps:\n  - {title: one, explain: hello}\n")
    env = {**cli_env, "AGW_SANDBOX_TOKEN": CANARY}
    listed = run_cli("scenarios", "--scenarios", str(folder), env=env)
    ran = run_cli("run", CANARY.lower(), "--scenarios", str(folder), "--runtime", "sim",
                  "--port", "0", env=env)
    assert listed.returncode == 0 and ran.returncode == 0, listed.stderr + ran.stderr
    for output in (listed.stdout, ran.stdout):
        assert CANARY.lower()[8:] not in output, output
        assert "sk-…" in output
