"""An exec credential plugin that cannot be started says what is missing: the interpreter its
``#!`` line names, or the file a command with a / names (looked for from the kubeconfig's folder,
as client-go resolves it), with the entry's installHint; "not found on PATH" only for a command
looked for on PATH."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.errors import SandboxError
from sandbox.runtimes.kube.client import Kube
from tests.hostile_apiserver import kubeconfig
from tests.integration.test_kubeconfig_credentials import EXEC


def failure(config: Path) -> SandboxError:
    with pytest.raises(SandboxError) as raised:
        Kube.connect(str(config), "c").server_version()
    return raised.value


def exec_config(tmp_path: Path, command: str, extra: str = "") -> Path:
    config = tmp_path / "kubeconfig"
    config.write_text(kubeconfig("http://127.0.0.1:9", user=EXEC.format(
        command=command, mode="Never", extra=extra)))
    return config


@pytest.mark.parametrize("interpreter", ["/nonexistent/interp", "/nonexistent/python3 -u"])
def test_a_plugin_whose_interpreter_is_missing_names_the_interpreter(
        tmp_path: Path, interpreter: str) -> None:
    script = tmp_path / "plug.sh"
    script.write_text(f"#!{interpreter}\necho hi\n")
    script.chmod(0o755)
    error = failure(exec_config(tmp_path, str(script)))
    assert error.message.endswith(
        f"cannot be started: the interpreter its first line names, "
        f"{interpreter.split()[0]}, does not exist"), error.message
    assert "PATH" not in error.message and "#!" in error.hint


@pytest.mark.parametrize("command", ["./plug.sh", "bin/plug", "../elsewhere/plug"])
def test_a_relative_plugin_that_is_missing_is_looked_for_from_the_kubeconfigs_folder(
        tmp_path: Path, command: str) -> None:
    config = exec_config(tmp_path, command, "      installHint: 'get it from the wiki'\n")
    error = failure(config)
    assert error.message == (
        f"the exec credential plugin {Path(tmp_path, command)} of user 'u' in the kubeconfig "
        f"{config} does not exist (a command with a / is looked for from the kubeconfig's "
        f"folder, {tmp_path})"), error.message
    assert "PATH" not in error.message and "get it from the wiki" in error.hint


@pytest.mark.parametrize(("given", "shown"), [
    ("'brew install acme-login'", "brew install acme-login"),
    ('"run\\n  make install \\e]0;PWN\\a"', "run make install \\u001b]0;PWN\\u0007"),
    ("'" + "see the wiki " * 2000 + "'", ("see the wiki " * 30 + "see the").rstrip() + "…"),
], ids=["plain", "lines-and-escapes", "very-long"])
def test_a_missing_plugin_shows_the_entrys_install_hint_on_one_short_line(
        tmp_path: Path, given: str, shown: str) -> None:
    error = failure(exec_config(tmp_path, "/nonexistent/acme-login",
                                f"      installHint: {given}\n"))
    assert error.message.endswith("/nonexistent/acme-login of user 'u' in the kubeconfig "
                                  f"{tmp_path / 'kubeconfig'} does not exist"), error.message
    assert error.hint == shown, error.hint
