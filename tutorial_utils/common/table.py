"""Plain-text tables: fixed-width columns, a dashed rule under the header, stable output.

Stable text matters here: notebooks print these tables, and strict nbval compares the text.
"""

from __future__ import annotations

from collections.abc import Sequence


def format_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], align: str | None = None
) -> str:
    """A fixed-width table of text cells, columns two spaces apart, a dashed rule under the header.

    ``align`` gives one letter per column, "l" (left) or "r" (right); by default the first
    column is left-aligned and the others right-aligned (labels, then numbers). Trailing
    spaces are stripped from every line.
    """
    if align is None:
        align = "l" + "r" * (len(header) - 1)
    if len(align) != len(header) or set(align) - {"l", "r"}:
        raise ValueError(
            f"align must give 'l' or 'r' for each of the {len(header)} columns, got {align!r}"
        )
    for index, row in enumerate(rows):
        if len(row) != len(header):
            raise ValueError(
                f"row {index} has {len(row)} cells but the header has {len(header)}: {list(row)!r}"
            )
    table = [list(header), *(list(row) for row in rows)]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        padded = (
            cell.rjust(width) if side == "r" else cell.ljust(width)
            for cell, width, side in zip(cells, widths, align, strict=True)
        )
        return "  ".join(padded).rstrip()

    lines = [line(row) for row in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
