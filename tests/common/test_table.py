"""Plain-text tables."""

import pytest

from tutorial_utils.common import format_table


def test_columns_align_and_a_rule_follows_the_header():
    text = format_table(("name", "n"), [("a", "1"), ("longer", "100")])
    assert text.splitlines() == [
        "name      n",
        "------  ---",
        "a         1",
        "longer  100",
    ]


def test_alignment_per_column_and_no_trailing_spaces():
    text = format_table(("x", "y"), [("1", "a"), ("22", "b")], align="rl")
    assert text.splitlines() == [" x  y", "--  -", " 1  a", "22  b"]
    assert all(line == line.rstrip() for line in text.splitlines())


@pytest.mark.parametrize(
    ("header", "rows", "align", "word"),
    [
        (("a", "b"), [("1",)], None, "row 0 has 1 cells"),
        (("a", "b"), [], "l", "align"),
        (("a", "b"), [], "lc", "align"),
    ],
)
def test_bad_tables_are_named(header, rows, align, word):
    with pytest.raises(ValueError, match=word):
        format_table(header, rows, align)
