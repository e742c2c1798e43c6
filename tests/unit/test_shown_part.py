"""What a pane keeps of a long text is the same whether it comes whole or piece by piece."""

from __future__ import annotations

from sandbox.tui.widgets.shown_part import SHOWN_CHARS, SHOWN_LINES, ShownPart


def _pieces(text: str, size: int) -> ShownPart:
    part = ShownPart("the answer")
    for start in range(0, len(text), size):
        part.add(text[start:start + size])
    return part


def test_a_text_of_many_lines_keeps_its_first_lines_whole_or_streamed() -> None:
    text = "".join(f"line {n}\n" for n in range(30000))
    for part in (ShownPart("the answer", text), _pieces(text, 7), _pieces(text, 5000)):
        assert part.kept == text[:text.index(f"line {SHOWN_LINES}\n") - 1]
        assert part.note().startswith(f"only the first {SHOWN_LINES} lines of the answer are "
                                      "shown here (30000 in all);")


def test_one_long_line_is_cut_by_characters() -> None:
    text = "ab" * 100000
    part = _pieces(text, 999)
    assert part.kept == text[:SHOWN_CHARS]
    assert f"only the first {SHOWN_CHARS} characters of the answer are shown here " \
        "(200000 in all)" in part.note()
    assert "so far" in part.note(complete=False)


def test_a_short_text_is_kept_whole_without_a_note() -> None:
    text = "a\n" * (SHOWN_LINES - 1) + "end"
    part = _pieces(text, 3)
    assert (part.kept, part.cut, part.note(), part.lines) == (text, False, "", SHOWN_LINES)
