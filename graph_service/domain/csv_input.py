"""Reading an uploaded CSV file (spec §2): UTF-8 with or without a byte-order mark, RFC 4180, the header
naming exactly the expected columns; every problem reported with its row (the header is row 1)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from graph_service.domain.problems import Problem


def decode_csv_bytes(data: bytes) -> tuple[str | None, list[Problem]]:
    """Decode UTF-8 (a byte-order mark is allowed); on failure say which row holds the bad byte."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        row = data.count(b"\n", 0, error.start) + 1
        bad = data[error.start : error.start + 1].hex()
        return None, [
            Problem(
                row,
                None,
                f"the file is not UTF-8 text (byte 0x{bad} at offset {error.start}); "
                "save it as UTF-8 and try again",
            )
        ]
    return text, []


def read_csv_rows(
    text: str, columns: Sequence[str]
) -> tuple[list[tuple[int, dict[str, str]]], list[Problem]]:
    """Parse RFC 4180 CSV whose header must name exactly `columns` (in any order).

    Returns (row number, values by column) for every data row, and the problems found: an empty file,
    a wrong header, a row with too many or too few fields, a malformed quote.
    """
    text = text.removeprefix("\ufeff")
    if not text.strip():
        return [], [Problem(1, None, "the file is empty: expected a header row " + ",".join(columns))]
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    problems: list[Problem] = []
    rows: list[tuple[int, dict[str, str]]] = []
    try:
        header = [name.strip() for name in next(reader)]
        missing = [name for name in columns if name not in header]
        unexpected = [name for name in header if name not in columns]
        duplicated = sorted({name for name in header if header.count(name) > 1})
        if missing or unexpected or duplicated:
            details = []
            if missing:
                details.append("missing " + ", ".join(missing))
            if unexpected:
                details.append("unexpected " + ", ".join(repr(name) for name in unexpected))
            if duplicated:
                details.append("repeated " + ", ".join(duplicated))
            problems.append(
                Problem(1, None, f"the header must be {','.join(columns)} ({'; '.join(details)})")
            )
            return [], problems
        for row, fields in enumerate(reader, start=2):
            if not any(field.strip() for field in fields):
                continue
            if len(fields) != len(header):
                problems.append(Problem(row, None, f"expected {len(header)} fields, found {len(fields)}"))
                continue
            rows.append((row, {name: value.strip() for name, value in zip(header, fields, strict=True)}))
    except csv.Error as error:
        problems.append(Problem(reader.line_num, None, f"malformed CSV: {error}"))
    if not rows and not problems:
        problems.append(Problem(2, None, "the file has a header but no data rows"))
    return rows, problems
