"""Values YAML or JSON reads but Python cannot make (an integer of thousands of digits, a date
that does not exist) are problems with a file and a line, never an internal error."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from sandbox.documents import DocumentError, _load_all_slowly, dump, load_all
from sandbox.errors import SandboxError
from sandbox.runtimes.kube.bundle import INDEX, Bundle
from sandbox.walkthrough.render import encode_body
from tests.helpers import run_cli
from tests.unit.test_catalog import GOOD, ROUTE, write
from tests.unit.test_untrusted_scenarios import problems_of

LIMIT = sys.get_int_max_str_digits()  # 4300 unless the interpreter was told otherwise
HUGE = "1" + "0" * LIMIT  # one digit too many for int()


@pytest.mark.parametrize(("text", "line", "reason"), ids=[
    "huge-int", "negative-huge-int", "underscored", "huge-key", "bad-date", "bad-offset"],
    argvalues=[
    (f"a: 1\nb: {HUGE}\n", 2, f"the number on this line has {LIMIT + 1} digits, more than "
                             f"the {LIMIT} a number may have here: write it in quotes"),
    (f"a:\n  - -{HUGE}\n", 2, f"the number on this line has {LIMIT + 1} digits"),
    (f"a: {'1_' * LIMIT}1\n", 1, f"the number on this line has {LIMIT + 1} digits"),
    (f"? {HUGE}\n: x\n", 1, f"the number on this line has {LIMIT + 1} digits"),
    ("x: 1\ndate: 2001-13-45\n", 2, "'2001-13-45' reads as a date (YAML's timestamp) but is "
                                  "not one (month must be in 1..12): write it in quotes"),
    ("when: 2001-12-14t21:59:43.10+99:00\n", 1, "'2001-12-14t21:59:43.10+99:00' reads as a "
                                               "date (YAML's timestamp) but is not one"),
])
def test_a_value_python_cannot_make_is_refused_with_its_line(text: str, line: int,
                                                             reason: str) -> None:
    for load in (load_all, _load_all_slowly):  # libyaml's parser and PyYAML's say the same
        with pytest.raises(DocumentError) as refused:
            load(text)
        assert refused.value.line == line
        assert refused.value.reason.startswith(reason), refused.value.reason
        assert "sys.set_int_max_str_digits" not in refused.value.reason


def test_numbers_python_can_write_are_kept() -> None:
    hexadecimal = "0x" + "f" * 1000  # about 1200 decimal digits: within the limit
    [doc] = load_all(f"a: {'9' * LIMIT}\nb: {hexadecimal}\nc: '{HUGE}'\nd: 1.0e+99999\n"
                     f"e: -0b{'1' * 1000}\n")
    assert doc["a"] == int("9" * LIMIT) and doc["b"] == int(hexadecimal, 16)
    assert doc["c"] == HUGE and doc["d"] == float("inf") and doc["e"] == -int("1" * 1000, 2)


SEXAGESIMAL = "1" + ":59" * 2500  # YAML 1.1's base 60: 2501 groups, about 4446 decimal digits


@pytest.mark.parametrize("number", ids=["hex", "negative-hex", "octal", "binary", "base-60",
                                        "underscored-hex"], argvalues=[
    "0x" + "f" * 3600, "-0x" + "F" * 3600, "0" + "7" * 4800, "0b" + "1" * 14300, SEXAGESIMAL,
    "0x" + "ff_" * 1800 + "f"])
def test_a_number_too_large_to_write_in_any_notation_is_refused(number: str) -> None:
    """Python reads these without its digit limit; the limit strikes when the number is written
    (as JSON in a request body, as YAML in a manifest): the loader refuses what it cannot write."""
    for load in (load_all, _load_all_slowly):
        for text, line in ((f"a: 1\nb: {number}\n", 2), (f"a:\n  - x\n  - {number}\n", 3),
                           (f"? {number}\n: x\n", 1)):
            with pytest.raises(DocumentError) as refused:
                load(text)
            assert refused.value.line == line, text[:40]
            assert refused.value.reason.startswith("the number on this line has about "), \
                refused.value.reason
            assert f"more than the {LIMIT} digits a number may have here: write it in " \
                   "quotes, as text" in refused.value.reason


def test_a_scenario_body_or_template_with_one_is_a_problem_of_that_file(tmp_path: Path) -> None:
    body, template = tmp_path / "body", tmp_path / "template"
    write(body / "manifests", "route.yaml", ROUTE)
    write(body, "s.yaml", GOOD.replace("path: /openai", f"path: /openai\n      body: {{n: "
                                                       f"{HUGE}}}"))
    write(template / "manifests", "route.yaml",
          ROUTE.replace("spec: {}", f"spec: {{n: {HUGE}}}"))
    write(template, "s.yaml", GOOD)
    for folder, name, line in ((body, "s.yaml", 11), (template, "route.yaml", 4)):
        [problem] = problems_of(folder)
        assert (Path(problem.path).name, problem.line) == (name, line)
        assert problem.reason.startswith(f"the number on this line has {LIMIT + 1} digits")


@pytest.mark.parametrize("number", ids=["hex", "binary", "octal"],
                         argvalues=["0x" + "f" * 5000, "0b" + "1" * 20000, "0" + "7" * 6000])
def test_a_body_or_template_with_a_huge_number_in_another_base_fails_the_check_not_the_run(
        cli_env: dict[str, str], tmp_path: Path, number: str) -> None:
    body, template = tmp_path / "body", tmp_path / "template"
    write(body / "manifests", "route.yaml", ROUTE)
    write(body, "s.yaml", GOOD.replace("path: /openai", f"path: /openai\n      body: {{n: "
                                                       f"{number}}}"))
    write(template / "manifests", "route.yaml",
          ROUTE.replace("spec: {}", f"spec: {{n: {number}}}"))
    write(template, "s.yaml", GOOD)
    for folder, name, line in ((body, "s.yaml", 11), (template, "manifests/route.yaml", 4)):
        result = run_cli("scenarios", "--check", str(folder), env=cli_env)
        assert result.returncode == 2, result.stdout
        assert f"{folder / name}:{line}: the number on this line has about " in result.stderr
        assert "internal error" not in result.stderr


def test_scenarios_check_names_the_file_and_line(cli_env: dict[str, str], tmp_path: Path) -> None:
    write(tmp_path / "manifests", "route.yaml", ROUTE)
    write(tmp_path, "s.yaml", GOOD.replace("path: /openai", f"path: /openai\n      body: "
                                                           f"{{model: x, n: {HUGE}}}"))
    result = run_cli("scenarios", "--check", str(tmp_path), env=cli_env)
    assert result.returncode == 2, result.stderr
    assert f"{tmp_path / 's.yaml'}:11: the number on this line has {LIMIT + 1} digits" \
        in result.stderr
    assert "internal error" not in result.stderr


def test_a_bundle_index_with_one_is_damaged_in_our_words(tmp_path: Path) -> None:
    (tmp_path / INDEX).write_text(json.dumps({"format": 1, "files": []})
                                  .replace('"format": 1', f'"format": {HUGE}'))
    with pytest.raises(SandboxError) as refused:
        Bundle.open(tmp_path)
    assert refused.value.message == (f"{tmp_path / INDEX} is damaged: it holds a number of "
                                     f"{LIMIT + 1} digits, which no index does")
    assert "sys.set_int_max_str_digits" not in str(refused.value)


def test_writing_a_number_too_large_for_decimal_never_fails_with_a_value_error() -> None:
    """Behind the loader's check, as a second line: a manifest keeps such a number exactly (in
    hexadecimal, which YAML reads back), a request body says in words why it cannot be sent."""
    huge = -(16 ** 4000 - 1)
    text = dump({"spec": {"n": huge, "m": 7}})
    assert text.startswith("spec:\n  n: -0x" + "f" * 4000 + "\n  m: 7\n")
    assert yaml.safe_load(text)["spec"]["n"] == huge
    for compact in (False, True):
        with pytest.raises(SandboxError) as refused:
            encode_body({"model": "m", "n": [huge]}, compact=compact)
        assert str(refused.value).startswith(
            f"the request body holds a number of about 4817 digits, more than the {LIMIT} "
            "digits JSON may carry here")
