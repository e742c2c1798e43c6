"""TEXTUAL_DRIVER's messages: no ``:Class`` part is named as such, a module's submodule is found
as ``import`` finds it (``os.path``), and a real driver without a terminal is refused as the app
without one is (only serve's web driver needs none)."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

import pytest

from sandbox import cli
from sandbox.web.serve import DRIVER
from tests.helpers import run_cli

SIM = ("--runtime", "sim")


@pytest.mark.parametrize("value", ["textual", "textual.drivers.linux_driver", "sandbox.stdio:"])
def test_a_driver_without_a_class_part_is_said_so(cli_env: dict[str, str], value: str) -> None:
    done = run_cli(*SIM, env={**cli_env, "TEXTUAL_DRIVER": value})
    assert done.returncode == 2, done.stderr
    assert (f"TEXTUAL_DRIVER is '{value}', which Textual cannot load as its driver (it has no "
            ":Class part: module:Class, such as textual.drivers.linux_driver:LinuxDriver)"
            ) in done.stderr, done.stderr
    assert "has no attribute" not in done.stderr


@pytest.mark.parametrize(("value", "said"), [
    ("os.path:sep", "sep in os.path is not a driver class"),
    ("os.path:Nope", "module 'posixpath' has no attribute 'Nope'"),
    ("keyword.x:Y", "No module named 'keyword.x'; 'keyword' is not a package"),
])
def test_a_modules_submodule_is_found_as_import_finds_it(cli_env: dict[str, str], value: str,
                                                         said: str) -> None:
    done = run_cli(*SIM, env={**cli_env, "TEXTUAL_DRIVER": value})
    assert done.returncode == 2, done.stderr
    assert f"TEXTUAL_DRIVER is '{value}', which Textual cannot load as its driver ({said})" \
        in done.stderr, done.stderr
    assert "is a module, not a package" not in done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr


@pytest.mark.parametrize("driver", ["textual.drivers.linux_driver:LinuxDriver",
                                    "textual.driver:Driver",
                                    "textual.drivers.headless_driver:HeadlessDriver"])
@pytest.mark.parametrize("stdin_is_a_terminal", [False, True])
def test_a_real_driver_without_a_terminal_is_refused_as_without_one(
        cli_env: dict[str, str], driver: str, stdin_is_a_terminal: bool) -> None:
    leader, follower = pty.openpty()
    try:
        done = subprocess.run([sys.executable, "-m", "sandbox", *SIM],
                              env={**cli_env, "TEXTUAL_DRIVER": driver},
                              stdin=follower if stdin_is_a_terminal else subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=30, check=False)
    finally:
        os.close(leader)
        os.close(follower)
    assert done.returncode == 2, done.stderr
    assert "the app needs a terminal (stdin, stdout and stderr must be one)" in done.stderr
    assert "\x1b[" not in done.stdout + done.stderr  # nothing was drawn


def test_only_serves_web_driver_goes_without_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", None)  # no terminal, whatever runs the tests
    monkeypatch.setenv("TEXTUAL_DRIVER", DRIVER)
    assert cli._on_a_terminal()
    monkeypatch.setenv("TEXTUAL_DRIVER", "textual.drivers.linux_driver:LinuxDriver")
    assert not cli._on_a_terminal()
