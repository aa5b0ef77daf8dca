"""Every rule of spec §2 as validation that reports all problems found, never only the first.

Pure functions: they read CSV text (already in memory) and a `NetworkView` of what is stored, and
return records plus `Problem`s. Row numbers count the header as row 1.

This module parses station rows and dates and validates a station file; it is also the one place the
rest of the service imports validation from. The rules live beside it: `problems` (Problem,
NetworkView), `values` (spec §7's value rules), `csv_input` (reading a file), `division_rules`,
`station_rules`, and `station_fields` (the station's fields, in order).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from enum import StrEnum
from typing import TypeVar

from graph_service.domain.csv_input import decode_csv_bytes, read_csv_rows
from graph_service.domain.division_rules import (
    DIVISION_COLUMNS,
    codes_above,
    division_field_problems,
    division_problems,
    parent_problem,
    parse_division_level,
    validate_divisions,
)
from graph_service.domain.levels import StationStatus
from graph_service.domain.model import Station
from graph_service.domain.problems import EmptyNetwork, NetworkView, Problem
from graph_service.domain.station_fields import COUNT_COLUMNS, DATE_COLUMNS, MAX_COUNT, STATION_COLUMNS
from graph_service.domain.station_rules import (
    ENUM_FIELDS,
    ENUM_OF_KIND,
    REFERENCE_FIELDS,
    TEXT_FIELDS,
    placement_problems,
    reference_field_problems,
    staff_count_problems,
    station_field_problems,
    status_date_problems,
    text_problems,
)
from graph_service.domain.values import (
    FIRST_YEAR,
    LAST_YEAR,
    MAX_ID_LENGTH,
    MAX_NAME_LENGTH,
    MAX_SUM,
    all_codes_valid,
    all_names_valid,
    all_references_valid,
    code_problem,
    count_problem,
    date_problem,
    name_problem,
    reference_problem,
    shown,
)

__all__ = [
    "COUNT_COLUMNS",
    "DIVISION_COLUMNS",
    "FIRST_YEAR",
    "LAST_YEAR",
    "MAX_COUNT",
    "MAX_ID_LENGTH",
    "MAX_NAME_LENGTH",
    "MAX_SUM",
    "STATION_COLUMNS",
    "EmptyNetwork",
    "NetworkView",
    "Problem",
    "all_codes_valid",
    "all_names_valid",
    "all_references_valid",
    "code_problem",
    "codes_above",
    "count_problem",
    "date_problem",
    "decode_csv_bytes",
    "division_field_problems",
    "division_problems",
    "name_problem",
    "parent_problem",
    "parse_date",
    "parse_division_level",
    "parse_station_row",
    "placement_problems",
    "read_csv_rows",
    "reference_problem",
    "station_field_problems",
    "validate_divisions",
    "validate_stations",
]

_DATE_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
E = TypeVar("E", bound=StrEnum)


def parse_date(text: str) -> date:
    """`text` as a date: exactly YYYY-MM-DD, a real day, years 1900..2100; `ValueError` saying why not."""
    if _DATE_PATTERN.fullmatch(text) is None:
        raise ValueError(f"{shown(text)} is not a date in the form YYYY-MM-DD")
    try:
        value = date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{shown(text)} is not a date in the form YYYY-MM-DD (no such day)") from None
    if date_problem("", value) is not None:
        raise ValueError(f"{text} is outside the years {FIRST_YEAR}..{LAST_YEAR}")
    return value


def parse_station_row(row: int, values: Mapping[str, str]) -> tuple[Station | None, list[Problem]]:
    """Turn one station row into a `Station`, checking every field on its own (not the network).

    Every check that the parsed fields allow is made, so one bad field does not hide another rule.
    """
    problems: list[Problem] = []
    fields: dict[str, object] = {}
    for field in TEXT_FIELDS:
        fields[field.name] = values[field.column]
        problems.extend(text_problems(field, values[field.column], row))
    for field in ENUM_FIELDS:
        kind = ENUM_OF_KIND[field.kind]
        fields[field.name] = _parse_enum(kind, values[field.column], row, field.column, problems)
    for field in REFERENCE_FIELDS:
        fields[field.name] = values[field.column] or None
        problems.extend(reference_field_problems(field, values[field.column] or None, row))
    parsed_so_far = len(problems)
    for column in DATE_COLUMNS:
        fields[column] = _parse_date(values[column], row, column, problems)
    status = fields["status"]
    if isinstance(status, StationStatus) and len(problems) == parsed_so_far:
        opened, closed = _date_or_none(fields["opened_on"]), _date_or_none(fields["closed_on"])
        problems.extend(status_date_problems(status, opened, closed, row))
    parsed_so_far = len(problems)
    for column in COUNT_COLUMNS:
        fields[column] = _parse_count(values[column], row, column, problems)
    if len(problems) == parsed_so_far:
        problems.extend(staff_count_problems(_int(fields["staff"]), _int(fields["certified_staff"]), row))
    if problems or any(fields[field.name] is None for field in ENUM_FIELDS):
        return None, problems
    return Station(**fields), problems  # type: ignore[arg-type]


def validate_stations(
    rows: Sequence[tuple[int, Mapping[str, str]]], network: NetworkView
) -> tuple[list[Station], list[Problem]]:
    """Check station rows against spec §2 and the stored network; return the stations and all problems."""
    problems: list[Problem] = []
    parsed: dict[str, tuple[int, Station]] = {}
    first_row: dict[str, int] = {}
    for row, values in rows:
        station, row_problems = parse_station_row(row, values)
        problems.extend(row_problems)
        station_id = values["id"]
        if station_id and station_id in first_row:
            problems.append(
                Problem(row, "id", f"duplicate id {station_id!r} (first on row {first_row[station_id]})")
            )
            continue
        if station_id:
            first_row[station_id] = row
        if station is not None:
            parsed[station.id] = (row, station)
    rejected = {station_id: row for station_id, row in first_row.items() if station_id not in parsed}
    problems.extend(placement_problems(parsed, network, rejected=rejected))
    problems.sort(key=lambda problem: problem.row)
    return [station for _, station in parsed.values()], problems


def _date_or_none(value: object) -> date | None:
    return value if isinstance(value, date) else None


def _int(value: object) -> int:
    return value if isinstance(value, int) else 0


# --- field parsers -------------------------------------------------------------------------------


def _parse_enum(kind: type[E], value: str, row: int, column: str, problems: list[Problem]) -> E | None:
    try:
        return kind(value.strip().lower())
    except ValueError:
        problems.append(
            Problem(row, column, f"unknown {column} {value!r}; expected one of " + ", ".join(kind))
        )
        return None


def _parse_date(value: str, row: int, column: str, problems: list[Problem]) -> date | None:
    if not value:
        return None
    try:
        return parse_date(value)
    except ValueError as error:
        problems.append(Problem(row, column, str(error)))
        return None


def _parse_count(value: str, row: int, column: str, problems: list[Problem]) -> int:
    if not value:
        return 0
    if not value.isascii() or not value.isdigit():
        problems.append(Problem(row, column, f"{shown(value)} is not a whole number ≥ 0"))
        return 0
    number = int(value) if len(value) <= 20 else MAX_COUNT + 1
    if (message := count_problem(column, number)) is not None:
        given = f"{number:,}" if len(value) <= 20 else f"a {len(value)}-digit number"
        problems.append(Problem(row, column, message.rsplit(", not ", 1)[0] + f", not {given}"))
        return 0
    return number
