"""The CLI given hostile or clumsy scenario folders and options: exit 2, a clear message, fast."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.helpers import run_cli
from tests.unit.test_catalog import GOOD, ROUTE, write
from tests.unit.test_untrusted_scenarios import BOMB, SECRET_TEXT

SIM = ("--runtime", "sim", "--port", "0")
FAST = 20  # seconds; each of these takes well under one


def refused(result: subprocess.CompletedProcess[str], *texts: str) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output, output
    for text in texts:
        assert text in result.stderr, result.stderr


def check(folder: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run_cli("scenarios", "--check", str(folder), env=env, timeout=FAST)


def applying(folder: Path, *paths: str) -> Path:
    write(folder / "manifests", "route.yaml", ROUTE)
    listed = ", ".join(f'"{p}"' for p in paths)
    return write(folder, "s.yaml", GOOD.replace("[manifests/route.yaml]", f"[{listed}]"))


def test_manifests_does_not_print_a_file_from_outside_the_folder(
        cli_env: dict[str, str], tmp_path: Path) -> None:
    write(tmp_path, "outside-secret.yaml", ROUTE + f"data: {{password: {SECRET_TEXT}}}\n")
    applying(tmp_path / "escape", "../outside-secret.yaml")
    result = run_cli("manifests", "my-scenario", "--scenarios", str(tmp_path / "escape"),
                     env=cli_env, timeout=FAST)
    refused(result, "'../outside-secret.yaml' leads outside the scenario's folder")
    assert SECRET_TEXT not in result.stdout + result.stderr


def test_absolute_and_system_paths_are_refused_unread(cli_env: dict[str, str],
                                                      tmp_path: Path) -> None:
    applying(tmp_path, "/dev/zero", "/etc/passwd", "../../../../../../etc/shadow")
    result = check(tmp_path, cli_env)
    refused(result, "'/dev/zero' is an absolute path", "'/etc/passwd' is an absolute path",
            "'../../../../../../etc/shadow' leads outside")
    assert "root:" not in result.stderr and "apiVersion" not in result.stderr


def test_an_alias_bomb_fails_in_moments(cli_env: dict[str, str], tmp_path: Path) -> None:
    applying(tmp_path, "manifests/bomb.yaml")
    write(tmp_path / "manifests", "bomb.yaml", ROUTE + BOMB)
    refused(check(tmp_path, cli_env), "bomb.yaml:5: YAML anchors and aliases")


def test_a_fifo_does_not_block(cli_env: dict[str, str], tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "s.yaml")
    refused(check(tmp_path, cli_env), "s.yaml: the scenario file is a FIFO (named pipe)")


def _two_gigabytes() -> None:
    # Code that reads /dev/zero fails with a MemoryError here instead of taking the machine.
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


def test_a_link_to_dev_zero_is_refused(cli_env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "s.yaml").symlink_to("/dev/zero")
    result = subprocess.run(
        [sys.executable, "-m", "sandbox", "scenarios", "--check", str(tmp_path)],
        env=cli_env, capture_output=True, text=True, timeout=FAST, check=False,
        preexec_fn=_two_gigabytes)
    refused(result, "s.yaml: is a link to a file outside its folder")


def test_a_loop_of_links_is_a_problem_not_a_traceback(cli_env: dict[str, str],
                                                     tmp_path: Path) -> None:
    (tmp_path / "s.yaml").symlink_to("s.yaml")
    applying(tmp_path / "other", "manifests/loop.yaml")
    (tmp_path / "other" / "manifests" / "loop.yaml").symlink_to("loop.yaml")
    refused(run_cli("scenarios", "--check", str(tmp_path), "--check", str(tmp_path / "other"),
                    env=cli_env, timeout=FAST),
            "s.yaml: the scenario file cannot be read: it is a loop of symbolic links",
            "'manifests/loop.yaml' cannot be read: it is a loop of symbolic links")


def test_a_latin1_manifest_is_a_problem_not_a_traceback(cli_env: dict[str, str],
                                                        tmp_path: Path) -> None:
    applying(tmp_path, "manifests/latin.yaml")
    (tmp_path / "manifests" / "latin.yaml").write_bytes(
        ROUTE.replace("spec: {}", "spec: {note: café}").encode("latin-1"))
    refused(check(tmp_path, cli_env), "is not UTF-8 text (byte 0xe9 on line 4): save it as UTF-8")


def test_deep_nesting_is_a_problem_not_a_recursion_error(cli_env: dict[str, str],
                                                         tmp_path: Path) -> None:
    write(tmp_path, "s.yaml", "id: deep\nsteps: " + "[" * 300 + "]" * 300 + "\n")
    refused(check(tmp_path, cli_env), "s.yaml:2: nested more than 100 levels deep")


def test_a_directory_given_as_a_manifest_is_named_so(cli_env: dict[str, str],
                                                     tmp_path: Path) -> None:
    applying(tmp_path, "manifests/sub.yaml")
    (tmp_path / "manifests" / "sub.yaml").mkdir()
    refused(check(tmp_path, cli_env), "'manifests/sub.yaml' is a directory, not a regular file")


def test_an_unreadable_directory_is_named_so(cli_env: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    write(folder, "s.yaml", GOOD)
    folder.chmod(0)
    command = [sys.executable, "-m", "sandbox", "scenarios", "--check", str(folder)]
    if os.geteuid() == 0:  # root reads anything unless it gives up that right
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv")
        command = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *command]
    try:
        result = subprocess.run(command, env=cli_env, capture_output=True, text=True,
                                timeout=FAST, check=False)
    finally:
        folder.chmod(0o755)
    refused(result, "cannot list the directory: permission denied")
    assert "contains no *.yaml" not in result.stderr


def test_an_infinite_wait_timeout_is_refused_before_running(cli_env: dict[str, str],
                                                            tmp_path: Path) -> None:
    write(tmp_path / "manifests", "route.yaml", ROUTE)
    write(tmp_path, "s.yaml", GOOD + "  - title: Wait\n    wait:\n      - resource: HTTPRoute/r\n"
          "        conditions: {Accepted: \"True\"}\n        timeout: .inf\n")
    result = run_cli("run", "my-scenario", *SIM, "--scenarios", str(tmp_path), env=cli_env,
                     timeout=FAST)
    refused(result, "s.yaml:16: 'timeout' must be a number of seconds above 0 and at most 3600")


def test_a_request_path_with_a_line_break_is_refused_before_running(
        cli_env: dict[str, str], tmp_path: Path) -> None:
    write(tmp_path / "manifests", "route.yaml", ROUTE)
    write(tmp_path, "s.yaml", GOOD.replace("path: /openai", 'path: "/openai\\r\\nX-Injected: 1"'))
    result = run_cli("run", "my-scenario", *SIM, "--scenarios", str(tmp_path), env=cli_env,
                     timeout=FAST)
    refused(result, "s.yaml:10: request path holds '\\r' at position 8")


def test_every_problem_of_a_file_is_listed_at_once_in_line_order(cli_env: dict[str, str],
                                                                 tmp_path: Path) -> None:
    write(tmp_path / "manifests", "route.yaml", ROUTE)
    write(tmp_path, "s.yaml", GOOD.replace("title: Mine", "title: [not, text]")
          .replace("summary: s\n", "").replace("{status: 200}", "{status: 9000}"))
    result = check(tmp_path, cli_env)
    refused(result, "3 problems")
    listed = [line.split(": ", 1)[1] for line in result.stderr.splitlines() if "s.yaml:" in line]
    assert [reason.split(";")[0] for reason in listed] == [
        "missing required key 'summary'", "'title' must be text, not a list",
        "'status' must be an HTTP status code (100-599)"]


# -- S25: options that would be ignored without a word ------------------------------------------

def test_run_with_ids_and_all_is_an_error(cli_env: dict[str, str]) -> None:
    result = run_cli("run", "inline", "--all", *SIM, env=cli_env, timeout=FAST)
    refused(result, "run takes scenario ids or --all, not both (got inline and --all)")
    assert "PASSED" not in result.stdout


def test_set_of_an_unknown_variable_is_an_error(cli_env: dict[str, str]) -> None:
    result = run_cli("run", "inline", *SIM, "--set", "typo=1", env=cli_env, timeout=FAST)
    refused(result, "--set typo: no variable named 'typo' in the chosen scenarios (setup, inline)")
    assert "PASSED" not in result.stdout


def test_set_of_a_declared_variable_is_used(cli_env: dict[str, str], tmp_path: Path) -> None:
    shutil.copytree(REPO / "examples" / "workshop", tmp_path / "workshop")
    result = run_cli("run", "rotate-key", *SIM, "--scenarios", str(tmp_path / "workshop"),
                     "--set", "old_token=sk-test-another-revoked-key-1111", env=cli_env,
                     timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_set_token_points_at_the_key_options(cli_env: dict[str, str]) -> None:
    result = run_cli("run", "inline", *SIM, "--set", "token=sk-test-x", env=cli_env,
                     timeout=FAST)
    refused(result, "--set token=... is not how the key is given", "AGW_SANDBOX_TOKEN")
