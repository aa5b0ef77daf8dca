"""Spreadsheet-safe CSV out (spec §7): one helper for every CSV (or sheet) the service writes.

A spreadsheet reads a cell that starts with `=`, `+`, `-` or `@` (or a tab or carriage return before
one) as a formula, so a division or station name such as `=HYPERLINK(...)` would run when the file is
opened. Such a cell is written with a single quote in front, which spreadsheets show as plain text.
Numeric columns are written as they are (a negative number stays a number).
"""

from __future__ import annotations

import csv
from collections.abc import Collection, Iterable, Sequence
from typing import Any, TextIO

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell: str) -> str:
    """`cell` with a single quote in front when a spreadsheet would read it as a formula."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def safe_row(row: Sequence[Any], numeric: Collection[int] = ()) -> list[Any]:
    """`row` with every text cell made `spreadsheet_safe`, except those at the `numeric` positions."""
    return [
        cell if index in numeric or not isinstance(cell, str) else spreadsheet_safe(cell)
        for index, cell in enumerate(row)
    ]


def write_csv(
    out: TextIO,
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    numeric_columns: Collection[str] = (),
) -> int:
    """Write `header` and `rows` as CSV (RFC 4180, `\\n` line ends) with every non-numeric cell made
    `spreadsheet_safe`; return the number of rows written."""
    writer = csv.writer(out, lineterminator="\n")
    numeric = {index for index, name in enumerate(header) if name in numeric_columns}
    writer.writerow(safe_row(header))
    count = 0
    for row in rows:
        writer.writerow(safe_row(row, numeric))
        count += 1
    return count
