"""A name from outside (a file name, a folder, DOCKER_HOST, an argument) is shown on the line it
belongs to: a line break or a tab in it is written as an escape (``\\n``), so it cannot start a
line of output of its own (a forged "✓ docker"), and every hidden character is written in one
style, ``\\u001b``, never Python's ``\\x1b``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from sandbox.runtimes.kube.bundle import INDEX
from tests.helpers import run_cli
from tests.integration.test_bundle import fake_bundle
from tests.integration.test_kind_runtime import FAKES
from tests.untrusted_text import echo_scenario

FORGED = "✓ docker   all good"
# A line break, a tab, an escape sequence: each of them must reach the terminal as an escape.
NAME = f"a\n{FORGED}\tb\x1b[31m\r"
SHOWN = f"a\\n{FORGED}\\tb\\u001b[31m\\r"


def no_forged_line(output: str) -> None:
    assert not [line for line in output.splitlines() if line.lstrip().startswith(FORGED)], output
    assert "\x1b" not in output and "\\x1b" not in output, output


def test_a_file_name_in_the_listing_stays_on_its_row(cli_env: dict[str, str],
                                                    tmp_path: Path) -> None:
    folder = echo_scenario(tmp_path / "echo")
    (folder / "echo.yaml").rename(folder / f"{NAME}.yaml")
    result = run_cli("scenarios", "--scenarios", str(folder), env=cli_env)
    assert result.returncode == 0, result.stderr
    no_forged_line(result.stdout)
    row = next(line for line in result.stdout.splitlines() if line.startswith("echo "))
    assert row.endswith(f"/echo/{SHOWN}.yaml)")


def test_a_file_name_with_piled_up_marks_is_shown_with_eight(cli_env: dict[str, str],
                                                              tmp_path: Path) -> None:
    folder = echo_scenario(tmp_path / "echo")
    (folder / "echo.yaml").rename(folder / ("a" + "\u0300" * 40 + ".yaml"))
    result = run_cli("scenarios", "--scenarios", str(folder), env=cli_env)
    assert result.returncode == 0, result.stderr
    assert "\u0300" * 9 not in result.stdout
    assert "/echo/a" + "\u0300" * 8 + "\\u0300" * 32 + ".yaml)" in result.stdout


def test_an_id_with_piled_up_marks_is_quoted_with_eight(cli_env: dict[str, str],
                                                        tmp_path: Path) -> None:
    folder = echo_scenario(tmp_path / "echo")
    text = (folder / "echo.yaml").read_text()
    (folder / "echo.yaml").write_text(text.replace("id: echo", "id: \"e" + "\\u0327" * 11
                                                   + "o\"", 1))
    result = run_cli("scenarios", "--check", str(folder), env=cli_env)
    assert result.returncode == 2
    assert "\u0327" * 9 not in result.stderr
    assert "id 'e" + "\u0327" * 8 + "\\u0327" * 3 + "o' must be" in result.stderr


def test_a_file_name_in_the_problems_stays_on_its_line(cli_env: dict[str, str],
                                                      tmp_path: Path) -> None:
    (tmp_path / f"{NAME}.yaml").write_text("id: x\ntitle: T\n")
    result = run_cli("scenarios", "--check", str(tmp_path), env=cli_env)
    assert result.returncode == 2
    no_forged_line(result.stderr)
    assert f"  {tmp_path}/{SHOWN}.yaml:1: missing required key 'summary'\n" in result.stderr


def test_a_folder_that_is_not_there_is_named_on_one_line(cli_env: dict[str, str],
                                                        tmp_path: Path) -> None:
    result = run_cli("run", "setup", "--runtime", "sim", "--scenarios", str(tmp_path / NAME),
                     env=cli_env)
    assert result.returncode == 2
    no_forged_line(result.stderr)
    assert f"{tmp_path}/{SHOWN}: not a directory of scenario files\n" in result.stderr


def test_a_bundle_folder_is_named_on_one_line(cli_env: dict[str, str], tmp_path: Path) -> None:
    root = tmp_path / f"bundle{NAME}"
    fake_bundle(root)
    (root / "index.json").unlink()
    env = {**cli_env, "PATH": f"{FAKES}:{cli_env['PATH']}", "FAKE_LOG": str(tmp_path / "log"),
           "FAKE_STATE": str(tmp_path / "state")}
    result = run_cli("up", "--bundle", str(root), env=env, timeout=30)
    assert result.returncode == 2, result.stderr
    no_forged_line(result.stdout + result.stderr)
    assert f"  … offline bundle {tmp_path}/bundle{SHOWN}\n" in result.stdout
    message = next(line for line in result.stderr.splitlines()
                   if line.startswith("agw-sandbox: "))
    assert f"{tmp_path}/bundle{SHOWN}" in message and "index.json" in message


def test_a_docker_host_with_a_line_break_is_one_line_of_doctor(cli_env: dict[str, str]) -> None:
    env = {**cli_env, "PATH": f"{FAKES}:{Path(sys.executable).parent}:/bin",
           "DOCKER_HOST": f"unix:///tmp/nope{NAME}"}
    result = run_cli("doctor", "--port", "0", env=env)
    assert result.returncode == 1
    no_forged_line(result.stdout)
    docker = next(line for line in result.stdout.splitlines() if line.startswith("✗ docker"))
    assert f"DOCKER_HOST 'unix:///tmp/nope{SHOWN}' is not a Docker address" in docker


def test_a_transcript_path_is_quoted_in_the_one_escape_style(cli_env: dict[str, str],
                                                            tmp_path: Path) -> None:
    result = run_cli("run", "setup", "--runtime", "sim", "--transcript",
                     str(tmp_path / f"missing{NAME}" / "t.md"), env=cli_env)
    assert result.returncode == 2
    no_forged_line(result.stderr)
    assert f"the transcript's directory '{tmp_path}/missing{SHOWN}' does not exist" in result.stderr


def test_arguments_argparse_quotes_are_escaped_in_the_one_style(cli_env: dict[str, str]) -> None:
    unknown = run_cli("scenarios", NAME, env=cli_env)
    assert unknown.returncode == 2
    no_forged_line(unknown.stderr)
    assert f"unrecognized arguments: {SHOWN}" in unknown.stderr
    choice = run_cli("run", "setup", "--runtime", NAME, env=cli_env)
    assert choice.returncode == 2
    no_forged_line(choice.stderr)
    assert f"invalid choice: '{SHOWN}' (choose from" in choice.stderr
    port = run_cli("run", "setup", "--port", NAME, env=cli_env)
    no_forged_line(port.stderr)
    assert f"argument --port: '{SHOWN}' is not a TCP port" in port.stderr


def test_a_scenario_value_is_quoted_in_the_one_escape_style(cli_env: dict[str, str],
                                                           tmp_path: Path) -> None:
    folder = echo_scenario(tmp_path / "echo")
    text = (folder / "echo.yaml").read_text()
    (folder / "echo.yaml").write_text(text.replace("      path: /openai",
                                                   '      path: "/openai\\e[2J"', 1))
    result = run_cli("scenarios", "--check", str(folder), env=cli_env)
    assert result.returncode == 2
    no_forged_line(result.stderr)
    assert "request path holds '\\u001b' at position 8" in result.stderr


def test_where_the_transcript_went_is_said_on_one_line(cli_env: dict[str, str],
                                                       tmp_path: Path) -> None:
    folder = tmp_path / f"out{NAME}"
    folder.mkdir()
    result = run_cli("run", "setup", "--runtime", "sim", "--port", "0", "--transcript",
                     str(folder / "t.md"), env=cli_env)
    assert result.returncode == 0, result.stderr
    no_forged_line(result.stdout)
    assert f"Transcript (keys masked) written to {tmp_path}/out{SHOWN}/t.md\n" in result.stdout
    assert (folder / "t.md").is_file()


def test_a_host_with_a_line_break_is_refused_as_it_is_read(cli_env: dict[str, str]) -> None:
    for command in ("mock-provider", "serve"):
        result = run_cli(command, "--public", "--port", "0", "--host", f"x{NAME}", env=cli_env)
        assert result.returncode == 2, result.stderr
        no_forged_line(result.stdout + result.stderr)
        assert (f"argument --host: 'x{SHOWN}' has a control or invisible character (U+000A) "
                "at position 3: type the name again") in result.stderr


def test_the_checks_of_options_quote_in_the_one_escape_style(cli_env: dict[str, str]) -> None:
    context = run_cli("status", "--runtime", "cluster", "--context", "café\x1b", env=cli_env)
    assert context.returncode == 2
    assert "argument --context: 'café\\u001b' has a control or invisible character" \
        in context.stderr
    name = run_cli("up", "--cluster-name", NAME, env=cli_env)
    assert name.returncode == 2
    no_forged_line(name.stderr)
    assert f"argument --cluster-name: '{SHOWN}' is not a kind cluster name" in name.stderr


def test_a_model_the_provider_names_is_quoted_in_the_one_escape_style(
        cli_env: dict[str, str], tmp_path: Path) -> None:
    folder = echo_scenario(tmp_path / "echo")
    text = (folder / "echo.yaml").read_text()
    (folder / "echo.yaml").write_text(text.replace("    expect: {status: 200}\n  - id: stream",
                                                   "    expect: {status: 200, model: gpt-5}\n"
                                                   "  - id: stream", 1))
    result = run_cli("run", "echo", "--runtime", "sim", "--port", "0", "--scenarios",
                     str(folder), "--set", "model=gpt-4o\x1b[31m\u202e", env=cli_env, timeout=90)
    assert result.returncode == 1, result.stdout + result.stderr
    no_forged_line(result.stdout)
    assert ("expected the answer to come from model 'gpt-5', got "
            "'gpt-4o\\u001b[31m\\u202e'") in result.stdout


def test_a_path_in_a_bundle_index_is_quoted_in_the_one_escape_style(
        cli_env: dict[str, str], tmp_path: Path) -> None:
    root = tmp_path / "bundle"
    fake_bundle(root)
    document = json.loads((root / INDEX).read_text())
    document["files"][0].update(path=f"images/{NAME}.tar", size="big")
    (root / INDEX).write_text(json.dumps(document))
    env = {**cli_env, "PATH": f"{FAKES}:{cli_env['PATH']}", "FAKE_LOG": str(tmp_path / "log"),
           "FAKE_STATE": str(tmp_path / "state")}
    result = run_cli("up", "--bundle", str(root), env=env, timeout=30)
    assert result.returncode == 2, result.stderr
    no_forged_line(result.stdout + result.stderr)
    assert f"its file 1 ('images/{SHOWN}.tar') has no size in bytes" in result.stderr
