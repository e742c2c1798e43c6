"""Names from outside shown on one line, in the one escape style of :func:`visible`."""

from __future__ import annotations

from sandbox.errors import Problem, RuntimeUnavailable, ScenarioError
from sandbox.untrusted import one_line, quoted, visible


def test_one_line_escapes_line_breaks_and_tabs_as_json_does_and_the_rest_as_visible() -> None:
    text = "a\r\nb\tc\x1b]0;T\x07\u202ed\x9b"
    assert one_line(text) == "a\\r\\nb\\tc\\u001b]0;T\\u0007\\u202ed\\u009b"
    assert "\n" not in one_line(text) and "\t" not in one_line(text)
    assert visible(text) == "a\nb\tc\\u001b]0;T\\u0007\\u202ed\\u009b"  # visible keeps lines


def test_one_line_keeps_what_shows() -> None:
    for shown in ("👩\u200d💻", "❤\ufe0f", "é", "鍵の管理 ｗｉｄｅ", "a\\nb"):
        assert one_line(shown) == shown


def test_quoted_is_repr_in_the_one_escape_style() -> None:
    assert quoted("x\x1b[2J\n") == "'x\\u001b[2J\\n'"
    assert quoted("plain") == repr("plain")


def test_an_error_is_one_line_of_message_and_one_of_hint() -> None:
    error = RuntimeUnavailable("the bundle /tmp/b\n✓ docker fine is missing", "fix\nthis")
    assert str(error) == "the bundle /tmp/b\\n✓ docker fine is missing\n  hint: fix\\nthis"


def test_a_problem_is_one_line_per_file_whatever_the_file_is_called() -> None:
    error = ScenarioError([Problem("/d/a\n✓ b.yaml", 3, "bad"), Problem("/d/c\t.yaml", None,
                                                                       "worse")])
    assert str(error).splitlines() == ["2 problems in scenario files:",
                                       "  /d/a\\n✓ b.yaml:3: bad", "  /d/c\\t.yaml: worse",
                                       "  hint: fix the files listed above; `agw-sandbox "
                                       "scenarios --check DIR` re-checks them"]


def test_a_run_of_more_than_eight_combining_marks_is_cut_to_eight_and_escapes() -> None:
    piled = "a" + "\u0301" * 12 + "b" + "\u0308\U0001d167" * 5  # 10 marks, one past U+FFFF
    assert one_line(piled) == ("a" + "\u0301" * 8 + "\\u0301" * 4 + "b" + "\u0308\U0001d167" * 4
                               + "\\u0308\\ud834\\udd67")
    assert quoted("m" + "\u0301" * 10 + "k") == "'m" + "\u0301" * 8 + "\\u0301\\u0301k'"


def test_eight_marks_and_written_text_stay_as_they_are() -> None:
    for shown in ("a" + "\u0301" * 8, "Tiếng Việt", "שָׁלוֹם", "a\u0301\u0302 b\u0303" * 30):
        assert one_line(shown) == shown
