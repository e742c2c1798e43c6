"""Values YAML or JSON reads but Python cannot make (an integer of thousands of digits, a date
that does not exist) are problems with a file and a line, never an internal error."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from sandbox.documents import DocumentError, _load_all_slowly, load_all
from sandbox.errors import SandboxError
from sandbox.runtimes.kube.bundle import INDEX, Bundle
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


def test_numbers_python_reads_whole_are_kept() -> None:
    hexadecimal = "0x" + "f" * (LIMIT + 10)  # not decimal: Python's limit does not apply
    [doc] = load_all(f"a: {'9' * LIMIT}\nb: {hexadecimal}\nc: '{HUGE}'\nd: 1.0e+99999\n")
    assert doc["a"] == int("9" * LIMIT) and doc["b"] == int(hexadecimal, 16)
    assert doc["c"] == HUGE and doc["d"] == float("inf")


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
