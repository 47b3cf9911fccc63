"""Aligned plain-text tables, as every command of the command line prints them."""

from __future__ import annotations

__all__ = ["table"]


def table(rows: list[tuple[str, ...]]) -> str:
    """*rows* (the header first) in columns two spaces apart, without trailing blanks."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    return "\n".join(lines)
