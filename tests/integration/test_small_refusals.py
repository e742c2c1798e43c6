"""Small things a user gets wrong, each refused (or understood) in plain words: a blank title,
the same scenario folder given twice, a bundle directory that cannot hold folders, a --set
value that is not UTF-8, and serve's --allow-host given a pattern, a port or a URL."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.catalog.loader import load_catalog
from sandbox.errors import ScenarioError
from sandbox.web.guard import HostCheck
from tests.helpers import run_cli
from tests.unit.test_catalog import GOOD, ROUTE, write
from tests.unit.test_untrusted_scenarios import problems_of
from tests.untrusted_text import echo_scenario

# -- a blank title ---------------------------------------------------------------------------


@pytest.mark.parametrize(("old", "new", "line", "reason"), ids=[
    "blank-title", "empty-summary", "tab-only-security", "blank-step-title"], argvalues=[
    ("title: Mine", 'title: "   "', 2, "'title' is blank"),
    ("summary: s", 'summary: ""', 3, "'summary' is blank"),
    ("security: t", 'security: " \\t "', 4, "'security' is blank"),
    ("  - title: Apply", '  - title: " "', 6, "'title' is blank"),
])
def test_a_blank_text_that_is_shown_is_a_problem(tmp_path: Path, old: str, new: str, line: int,
                                                 reason: str) -> None:
    write(tmp_path / "manifests", "route.yaml", ROUTE)
    write(tmp_path, "s.yaml", GOOD.replace(old, new, 1))
    [problem] = problems_of(tmp_path)
    assert (problem.line, problem.reason.split(":")[0]) == (line, reason)
    assert "write what it should say" in problem.reason


# -- the same folder twice -------------------------------------------------------------------

def test_the_same_folder_given_twice_is_read_once(cli_env: dict[str, str],
                                                  tmp_path: Path) -> None:
    folder = echo_scenario(tmp_path / "echo")
    (tmp_path / "alias").symlink_to(folder)
    again = [folder, tmp_path / "alias", folder / ".." / "echo"]
    catalog = load_catalog(again)
    assert catalog.ids.count("echo") == 1
    result = run_cli("scenarios", "--scenarios", str(folder), "--scenarios", str(folder),
                     env=cli_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("The model echoed") == 1


def test_the_built_in_folder_given_again_is_read_once() -> None:
    builtin = load_catalog()
    assert load_catalog([Path(str(builtin.get("setup").source.parent))]).ids == builtin.ids


def test_a_folder_that_really_clashes_is_still_named(tmp_path: Path) -> None:
    first, second = echo_scenario(tmp_path / "one"), echo_scenario(tmp_path / "two")
    found = problems_of_dirs([first, second])
    assert found == [f"{second / 'echo.yaml'}: scenario id 'echo' is already used by "
                     f"{first / 'echo.yaml'}"]


def problems_of_dirs(dirs: list[Path]) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        load_catalog(dirs)
    return [str(p) for p in caught.value.problems]


# -- prepare into a directory that cannot hold the bundle's folders ---------------------------

def test_prepare_into_a_link_to_proc_says_where_it_cannot_write(cli_env: dict[str, str],
                                                                 tmp_path: Path) -> None:
    (tmp_path / "b").symlink_to("/proc")
    result = run_cli("prepare", str(tmp_path / "b"), env=cli_env)
    assert result.returncode == 2, result.stderr
    assert f"cannot write the bundle into {tmp_path / 'b'} ({tmp_path / 'b' / 'images'}): " \
           "No such file or directory" in result.stderr
    assert "internal error" not in result.stderr


def test_prepare_with_a_file_where_a_folder_goes_names_it(cli_env: dict[str, str],
                                                          tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "charts").write_text("not a folder")
    result = run_cli("prepare", str(tmp_path / "b"), env=cli_env)
    assert result.returncode == 2, result.stderr
    assert f"cannot write the bundle into {tmp_path / 'b'} ({tmp_path / 'b' / 'charts'}): " \
           "a file is in the way" in result.stderr
    assert (tmp_path / "b" / "charts").read_text() == "not a folder"  # nothing written over


# -- --set values that are not text ----------------------------------------------------------

def test_a_set_value_that_is_not_utf8_is_refused(cli_env: dict[str, str],
                                                 tmp_path: Path) -> None:
    folder = echo_scenario(tmp_path / "echo")
    result = run_cli("run", "echo", "--runtime", "sim", "--port", "0", "--scenarios",
                     str(folder), "--set", "model=gpt\udcff", env=cli_env)  # argv byte 0xff
    assert result.returncode == 2, result.stderr
    assert "--set model: the value is not UTF-8 text (byte 0xff at position 4)" in result.stderr
    assert "give it as UTF-8 text" in result.stderr


# -- serve --allow-host ----------------------------------------------------------------------

@pytest.mark.parametrize(("given", "said"), [
    ("*", "'*' is a pattern: --allow-host takes one host name"),
    ("*.example.com", "'*.example.com' is a pattern: --allow-host takes one host name"),
    ("evil.example:80", "'evil.example:80' names a port: give the name alone ('evil.example')"),
    ("[::1]:8000", "'[::1]:8000' names a port: give the name alone ('::1')"),
    ("http://evil.example/", "'http://evil.example/' is a URL: give the host name alone"),
    ("a b", "'a b' is not a host name"),
])
def test_allow_host_refuses_what_could_never_match(cli_env: dict[str, str], given: str,
                                                   said: str) -> None:
    result = run_cli("serve", "--allow-host", given, env=cli_env, timeout=20)
    assert result.returncode == 2
    assert f"argument --allow-host: {said}" in result.stderr
    assert "serving" not in result.stdout


@pytest.mark.parametrize(("given", "host_header"), [
    ("Workshop.Example", "workshop.example:8000"),
    ("bücher.example", "xn--bcher-kva.example:8000"),  # what a browser sends for it
    ("2001:DB8:0::1", "[2001:db8::1]:8000"),
    ("[2001:db8::2]", "[2001:db8::2]"),
    ("room.example.", "room.example"),
])
def test_allow_host_means_the_name_a_browser_sends(given: str, host_header: str) -> None:
    from sandbox.settings import allowed_host  # (imported here: a test of its own)

    check = HostCheck("127.0.0.1", True, [allowed_host(given)])
    assert check.allows(host_header)
    assert not check.allows("evil.example:8000")


def test_an_empty_allow_host_is_still_ignored() -> None:
    from sandbox.settings import allowed_host

    assert allowed_host("") == ""
