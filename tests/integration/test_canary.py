"""A canary key, odd characters and all, shows up in no output and no file, in any written form.

Accepted keys are printable ASCII; they may still hold quotes, ``$``, backticks or YAML indicator
characters, which every serialiser (YAML, JSON, repr, the shell) writes differently. Keys with
invisible, non-ASCII or blank characters are refused, by a message that does not show them.
"""

from __future__ import annotations

import base64
import json
import re
import shlex
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml

from sandbox.catalog.loader import load_catalog
from tests.helpers import run_cli

SIM = ("--runtime", "sim", "--port", "0")
CORE = "canary-7f3a9c1e55d24b"
ACCEPTED = {
    "shell and quotes": f"sk-{CORE}'\"$(touch${{IFS}}pwned)`id`;|&<>\\",
    "YAML indicator first": f"*sk-{CORE}'&!%@#:{{}}[]",  # YAML quotes it, doubling the '
    "long": f"sk-proj-{CORE}" + "Q" * 300,
    "short": "zq7",
}
REFUSED = {
    "zero-width space": f"sk-{CORE}\u200b",
    "tab": f"sk-{CORE}\tX",
    "CR/LF header injection": f"sk-{CORE}\r\nX-Evil: 1",
    "non-ASCII": f"sk-{CORE}-é€",
    "spaces": f"sk-{CORE} with some spaces in the middle so that yaml folds the line at width "
              "one hundred characters",
    "no-break space": f"sk-{CORE}\u00a0",
    "Bearer prefix": f"Bearer sk-{CORE}",
}


def written_forms(key: str) -> set[str]:
    """The key as each serialiser in reach would write it."""
    return {key, base64.b64encode(key.encode()).decode(),
            base64.b64encode(f"Bearer {key}".encode()).decode(),
            json.dumps(key)[1:-1], json.dumps(key, ensure_ascii=False)[1:-1], repr(key)[1:-1],
            repr(key.encode())[2:-1], quote(key, safe=""), shlex.quote(key),
            yaml.safe_dump(key, width=1000).removesuffix("\n...\n").strip("'\"\n")}


def leaks(text: str, key: str) -> list[str]:
    if len(key) < 8:  # a short key is only a leak as a word of its own
        return [f for f in written_forms(key)
                if re.search(rf"(?<![\w-]){re.escape(f)}(?![\w-])", text)]
    return [form for form in written_forms(key) if form in text]


def isolated_env(cli_env: dict[str, str], tmp_path: Path, key: str) -> dict[str, str]:
    return {**cli_env, "AGW_SANDBOX_TOKEN": key, "XDG_CACHE_HOME": str(tmp_path / "cache")}


@pytest.mark.parametrize("key", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_an_accepted_key_is_in_no_output_and_no_file(cli_env: dict[str, str], tmp_path: Path,
                                                     key: str) -> None:
    env = isolated_env(cli_env, tmp_path, key)
    runs = [("run", "--all", *SIM), ("run", "--all", *SIM, "-v"),
            ("run", "--all", *SIM, "--json")]
    runs += [("manifests", s.id, *provider) for s in load_catalog().scenarios
             for provider in ((), ("--provider", "openai"))]
    for args in runs:
        result = run_cli(*args, env=env, cwd=tmp_path)
        assert result.returncode == 0, (args, result.stdout + result.stderr)
        assert "Traceback" not in result.stderr
        for stream in (result.stdout, result.stderr):
            assert not leaks(stream, key), (args, leaks(stream, key))
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    for path in written:
        assert not leaks(path.read_text(errors="replace"), key), path
    shown = run_cli("manifests", "inline", "--show-secrets", env=env, cwd=tmp_path)
    backend = next(yaml.safe_load_all(shown.stdout))
    assert backend["spec"]["ai"]["llm"]["openai"]["authToken"]["inline"] == key
    assert leaks(shown.stdout, key)  # the scan sees the key when it is there


@pytest.mark.parametrize("key", REFUSED.values(), ids=REFUSED.keys())
@pytest.mark.parametrize("how", ["env", "flag"])
def test_an_odd_key_is_refused_without_being_shown(cli_env: dict[str, str], tmp_path: Path,
                                                   key: str, how: str) -> None:
    env = isolated_env(cli_env, tmp_path, key if how == "env" else "")
    flag = ("--token", key) if how == "flag" else ()
    for args in (("run", "--all", *SIM, "--json"), ("manifests", "inline")):
        result = run_cli(*args, *flag, env=env, cwd=tmp_path)
        assert result.returncode == 2, result.stdout + result.stderr
        assert result.stdout == ""
        assert "Traceback" not in result.stderr
        source = "--token" if how == "flag" else "AGW_SANDBOX_TOKEN"
        assert re.search(rf"the key from {source} (has .* at position \d+|starts with 'Bearer ')",
                         result.stderr), result.stderr
        assert CORE not in result.stderr and not leaks(result.stderr, key)
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


@pytest.mark.parametrize("key", ["   ", "\t\n"])
def test_a_blank_key_is_refused_up_front(cli_env: dict[str, str], tmp_path: Path,
                                         key: str) -> None:
    result = run_cli("run", "--all", *SIM, "--token", key, env=cli_env, cwd=tmp_path)
    assert result.returncode == 2
    assert "the key from --token is blank" in result.stderr and "Traceback" not in result.stderr
