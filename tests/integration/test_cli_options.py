"""Options that name things are checked as the command line is read: a cluster name kind would
refuse, a context name that would rewrite the terminal, an empty or wrong bundle directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import run_cli

SIM = ("--runtime", "sim", "--port", "0")


@pytest.mark.parametrize("name", ["../../../../x", "-rf", "a" * 300, "a" * 51, "Agw", "",
                                  "agw_sandbox", ".hidden", "agw sandbox", "agw\nx"])
def test_a_cluster_name_kind_would_refuse_is_refused_first(cli_env: dict[str, str],
                                                           name: str) -> None:
    result = run_cli("status", f"--cluster-name={name}", env=cli_env, timeout=20)
    assert result.returncode == 2
    assert "is not a kind cluster name" in result.stderr
    assert "50 lower-case letters, digits, dots and dashes" in result.stderr


@pytest.mark.parametrize("name", ["agw-sandbox", "a", "a.b-1", "x" * 50])
def test_a_cluster_name_kind_accepts_passes(cli_env: dict[str, str], name: str) -> None:
    result = run_cli("run", "setup", *SIM, "--cluster-name", name, env=cli_env)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("context", ["\x1b]0;PWNED-ARG\x07", "prod\x1b[2J", "a\u202eb",
                                     "tab\there", "zero\u200bwidth"])
def test_a_context_name_with_control_characters_is_refused_not_printed(
        cli_env: dict[str, str], context: str) -> None:
    result = run_cli("run", "setup", *SIM, "--context", context, env=cli_env)
    assert result.returncode == 2
    assert "has a control or invisible character" in result.stderr
    raw = {char for char in context if not char.isprintable()}
    assert raw & set(result.stdout + result.stderr) == set()


def test_prepare_with_an_empty_directory_is_refused(cli_env: dict[str, str],
                                                    tmp_path: Path) -> None:
    (tmp_path / "index.json").write_text("{}")  # what an empty DIR would have deleted
    result = run_cli("prepare", "", env=cli_env, cwd=tmp_path)
    assert result.returncode == 2
    assert "DIR is empty" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "index.json"]


def test_prepare_into_a_file_says_it_is_not_a_directory(cli_env: dict[str, str],
                                                        tmp_path: Path) -> None:
    (tmp_path / "bundle").write_text("a file")
    result = run_cli("prepare", str(tmp_path / "bundle"), env=cli_env)
    assert result.returncode == 2
    assert f"{tmp_path / 'bundle'} is not a directory" in result.stderr
    assert "File exists" not in result.stderr


def test_prepare_takes_the_global_options_after_its_name_and_needs_docker_whatever_they_say(
        cli_env: dict[str, str], tmp_path: Path) -> None:
    for args in (["prepare", str(tmp_path / "b"), "--runtime", "sim"],
                 ["--runtime", "sim", "prepare", str(tmp_path / "b")]):
        result = run_cli(*args, env=cli_env)
        assert result.returncode == 2, result.stderr
        assert "unrecognized arguments" not in result.stderr
        assert "`prepare` saves the images through Docker" in result.stderr
        assert "offline simulation" not in result.stderr  # no way out for prepare
    both = run_cli("prepare", str(tmp_path / "b"), "--profile", "kgateway-v2.1",
                   "--all-profiles", env=cli_env)
    assert both.returncode == 2 and "not allowed with" in both.stderr
