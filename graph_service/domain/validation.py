"""Every rule of spec §2 as validation that reports all problems found, never only the first.

Pure functions: they read CSV text (already in memory) and a `NetworkView` of what is stored, and
return records plus `Problem`s. Row numbers count the header as row 1.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Protocol, TypeVar

from graph_service.domain.levels import DivisionLevel, StationLevel, StationStatus
from graph_service.domain.model import Division, Station

DIVISION_COLUMNS: tuple[str, ...] = ("code", "name", "level", "parent_code")
STATION_COLUMNS: tuple[str, ...] = (
    "id",
    "name",
    "level",
    "division_code",
    "parent_id",
    "status",
    "opened_on",
    "closed_on",
    "staff",
    "certified_staff",
    "volunteers",
)
COUNT_COLUMNS: tuple[str, ...] = ("staff", "certified_staff", "volunteers")

E = TypeVar("E", bound=StrEnum)


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the input: where (row, column) and why."""

    row: int
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message}"


class NetworkView(Protocol):
    """What validation needs to know of the stored network."""

    def division(self, code: str) -> Division | None: ...

    def station(self, station_id: str) -> Station | None: ...

    def stations_reporting_to(self, station_id: str) -> Iterable[Station]: ...

    def stations_below(self, code: str) -> Iterable[Station]:
        """The stations sitting in division `code` or anywhere below it."""
        ...


class EmptyNetwork:
    """A `NetworkView` of a store that holds nothing yet."""

    def division(self, code: str) -> Division | None:
        return None

    def station(self, station_id: str) -> Station | None:
        return None

    def stations_reporting_to(self, station_id: str) -> Iterable[Station]:
        return ()

    def stations_below(self, code: str) -> Iterable[Station]:
        return ()


# --- reading files -------------------------------------------------------------------------------


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


# --- divisions -----------------------------------------------------------------------------------


def parse_division_level(value: str) -> DivisionLevel | None:
    try:
        return DivisionLevel(value.strip().lower())
    except ValueError:
        return None


def validate_divisions(
    rows: Sequence[tuple[int, Mapping[str, str]]], network: NetworkView
) -> tuple[list[Division], list[Problem]]:
    """Check division rows against spec §2 and the stored network; return the divisions and all problems."""
    problems: list[Problem] = []
    parsed: dict[str, tuple[int, Division]] = {}
    for row, values in rows:
        code, name = values["code"], values["name"]
        level = parse_division_level(values["level"])
        ok = True
        if not code:
            problems.append(Problem(row, "code", "code is empty"))
            ok = False
        elif code in parsed:
            problems.append(Problem(row, "code", f"duplicate code {code!r} (first on row {parsed[code][0]})"))
            ok = False
        if not name:
            problems.append(Problem(row, "name", "name is empty"))
            ok = False
        if level is None:
            problems.append(
                Problem(
                    row,
                    "level",
                    f"unknown level {values['level']!r}; expected one of " + ", ".join(DivisionLevel),
                )
            )
            ok = False
        if ok and level is not None:
            stored = network.division(code)
            if stored is not None and stored.level != level:
                problems.append(
                    Problem(
                        row,
                        "level",
                        f"division {code} is stored as a {stored.level}; "
                        "changing the level of a stored division is not supported",
                    )
                )
            parsed[code] = (row, Division(code, name, level, values["parent_code"] or None))

    def find(code: str) -> Division | None:
        entry = parsed.get(code)
        return entry[1] if entry else network.division(code)

    for row, division in parsed.values():
        message = parent_problem(division, find)
        if message is not None:
            problems.append(Problem(row, "parent_code", message))
    problems.extend(_cycle_problems(parsed, find))
    if not problems:
        problems.extend(_moved_station_problems(parsed, find, network))
    problems.sort(key=lambda problem: problem.row)
    return [division for _, division in parsed.values()], problems


def parent_problem(division: Division, find: Callable[[str], Division | None]) -> str | None:
    """What is wrong with a division's parent link (spec §2), or None when it is right."""
    parent_code = division.parent_code
    if division.level is DivisionLevel.PROVINCE:
        return "a province has no parent; leave parent_code empty" if parent_code is not None else None
    if parent_code is None:
        return f"a {division.level} needs a parent_code"
    parent = find(parent_code)
    if parent is None:
        return f"unknown parent {parent_code!r}: it is neither in the file nor stored"
    if parent.level.rank >= division.level.rank:
        return f"parent {parent_code} is a {parent.level}, not a level above {division.level}"
    return None


def _moved_station_problems(
    parsed: Mapping[str, tuple[int, Division]], find: Callable[[str], Division | None], network: NetworkView
) -> Iterator[Problem]:
    """A `Problem` for each stored station that a division's move would leave reporting to a station
    that is no longer in an ancestor of its division (spec §1)."""
    for row, division in parsed.values():
        stored = network.division(division.code)
        if stored is None or stored.parent_code == division.parent_code:
            continue
        above_after_move = set(_codes_above(division.code, find))
        for station in network.stations_below(division.code):
            parent = network.station(station.parent_id) if station.parent_id else None
            if parent is None or parent.division_code in above_after_move:
                continue
            if division.code in _codes_above(parent.division_code, network.division):
                continue  # both inside the moved subtree: the move keeps them in line
            if parent.division_code == division.code:
                continue
            yield Problem(
                row,
                "parent_code",
                f"moving {division.code} under {division.parent_code} would leave station {station.id} "
                f"reporting to {parent.id}, which sits in {parent.division_code}, no longer above it",
            )


def _codes_above(code: str, find: Callable[[str], Division | None]) -> list[str]:
    """The codes above division `code`, nearest first (stops at an unknown code or a cycle)."""
    above: list[str] = []
    division = find(code)
    while division is not None and division.parent_code is not None and division.parent_code not in above:
        above.append(division.parent_code)
        division = find(division.parent_code)
    return above


def _cycle_problems(
    parsed: Mapping[str, tuple[int, Division]], find: Callable[[str], Division | None]
) -> Iterator[Problem]:
    """A `Problem` for each distinct cycle of parent links that passes through the file's rows."""
    settled: set[str] = set()
    for start in parsed:
        path: list[str] = []
        on_path: set[str] = set()
        code: str | None = start
        while code is not None and code not in settled and code not in on_path:
            path.append(code)
            on_path.add(code)
            division = find(code)
            code = division.parent_code if division else None
        if code is not None and code in on_path:
            cycle = path[path.index(code) :] + [code]
            first_row = min(parsed[c][0] for c in cycle if c in parsed)
            yield Problem(first_row, "parent_code", "the parent links form a cycle: " + " → ".join(cycle))
        settled.update(path)


# --- stations ------------------------------------------------------------------------------------


def parse_station_row(row: int, values: Mapping[str, str]) -> tuple[Station | None, list[Problem]]:
    """Turn one station row into a `Station`, checking every field on its own (not the network).

    Every check that the parsed fields allow is made, so one bad field does not hide another rule.
    """
    problems: list[Problem] = []
    station_id, name = values["id"], values["name"]
    if not station_id:
        problems.append(Problem(row, "id", "id is empty"))
    if not name:
        problems.append(Problem(row, "name", "name is empty"))
    level = _parse_enum(StationLevel, values["level"], row, "level", problems)
    status = _parse_enum(StationStatus, values["status"], row, "status", problems)
    if not values["division_code"]:
        problems.append(Problem(row, "division_code", "division_code is empty"))
    parsed_so_far = len(problems)
    opened = _parse_date(values["opened_on"], row, "opened_on", problems)
    closed = _parse_date(values["closed_on"], row, "closed_on", problems)
    if status is not None and len(problems) == parsed_so_far:
        problems.extend(_status_date_problems(status, opened, closed, row))
    parsed_so_far = len(problems)
    counts = {column: _parse_count(values[column], row, column, problems) for column in COUNT_COLUMNS}
    if len(problems) == parsed_so_far:
        problems.extend(_count_problems(counts["staff"], counts["certified_staff"], row))
    if problems or level is None or status is None:
        return None, problems
    station = Station(
        id=station_id,
        name=name,
        level=level,
        division_code=values["division_code"],
        parent_id=values["parent_id"] or None,
        status=status,
        opened_on=opened,
        closed_on=closed,
        **counts,
    )
    return station, problems


def station_field_problems(station: Station, row: int) -> list[Problem]:
    """The rules that concern one station alone: status against dates, and the counts."""
    problems = _status_date_problems(station.status, station.opened_on, station.closed_on, row)
    for column in COUNT_COLUMNS:
        if getattr(station, column) < 0:
            problems.append(Problem(row, column, f"{column} must be a whole number ≥ 0"))
    return problems + _count_problems(station.staff, station.certified_staff, row)


def _status_date_problems(
    status: StationStatus, opened: date | None, closed: date | None, row: int
) -> list[Problem]:
    problems: list[Problem] = []
    if status in (StationStatus.PLANNED, StationStatus.BUILDING):
        for column, value in (("opened_on", opened), ("closed_on", closed)):
            if value is not None:
                problems.append(Problem(row, column, f"a {status} station has no {column}; leave it empty"))
    elif status is StationStatus.OPERATING:
        if opened is None:
            problems.append(Problem(row, "opened_on", "an operating station needs opened_on"))
        if closed is not None:
            problems.append(
                Problem(row, "closed_on", "an operating station has no closed_on; use status closed")
            )
    else:
        if opened is None:
            problems.append(Problem(row, "opened_on", "a closed station needs opened_on"))
        if closed is None:
            problems.append(Problem(row, "closed_on", "a closed station needs closed_on"))
        if opened is not None and closed is not None and not opened < closed:
            problems.append(Problem(row, "closed_on", f"closed_on {closed} must be after opened_on {opened}"))
    return problems


def _count_problems(staff: int, certified_staff: int, row: int) -> list[Problem]:
    if certified_staff > staff >= 0:
        return [
            Problem(
                row, "certified_staff", f"certified_staff ({certified_staff}) cannot exceed staff ({staff})"
            )
        ]
    return []


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


def placement_problems(
    changed: Mapping[str, tuple[int, Station]],
    network: NetworkView,
    *,
    recheck_reporting: bool = True,
    rejected: Mapping[str, int] | None = None,
) -> list[Problem]:
    """Check where `changed` stations sit and whom they report to (spec §1), against the network.

    A station in `changed` overrides the stored one with its id. Stored stations that report to a
    changed station are checked again too (unless `recheck_reporting` is false, for a caller that
    passes every station), since a move or level change may break them. `rejected` names the ids of
    the file's rows that failed on their own (id -> row), so a station reporting to one is told so.
    """

    def find(station_id: str) -> Station | None:
        entry = changed.get(station_id)
        return entry[1] if entry else network.station(station_id)

    problems: list[Problem] = []
    for row, station in changed.values():
        problems.extend(_placement_of(station, row, find, network, rejected or {}))
        if not recheck_reporting:
            continue
        for child in network.stations_reporting_to(station.id):
            if child.id in changed:
                continue
            for problem in _placement_of(child, row, find, network, {}):
                problems.append(
                    dataclasses.replace(
                        problem,
                        column="id",
                        message=f"stored station {child.id} reports to {station.id}, "
                        f"and after this change: {problem.message}",
                    )
                )
    return problems


def _placement_of(
    station: Station,
    row: int,
    find: Callable[[str], Station | None],
    network: NetworkView,
    rejected: Mapping[str, int],
) -> list[Problem]:
    problems: list[Problem] = []
    division = network.division(station.division_code)
    expected = station.level.division_level
    if division is None:
        problems.append(Problem(row, "division_code", f"unknown division {station.division_code!r}"))
    elif division.level is not expected:
        problems.append(
            Problem(
                row,
                "division_code",
                f"a {station.level} sits in a {expected}, "
                f"but {division.code} {division.name} is a {division.level}",
            )
        )
    if station.parent_id is None:
        return problems
    if station.level.parent_level is None:
        problems.append(
            Problem(row, "parent_id", f"a {station.level} reports to nobody; leave parent_id empty")
        )
        return problems
    if station.parent_id == station.id:
        problems.append(Problem(row, "parent_id", "a station cannot report to itself"))
        return problems
    parent = find(station.parent_id)
    if parent is None and station.parent_id in rejected:
        problems.append(
            Problem(
                row,
                "parent_id",
                f"parent station {station.parent_id!r} (row {rejected[station.parent_id]}) "
                "has problems of its own; fix that row first",
            )
        )
        return problems
    if parent is None:
        problems.append(
            Problem(
                row,
                "parent_id",
                f"unknown parent station {station.parent_id!r}: it is neither in the file nor stored",
            )
        )
        return problems
    if parent.level is not station.level.parent_level:
        problems.append(
            Problem(
                row,
                "parent_id",
                f"a {station.level} reports to a {station.level.parent_level}, "
                f"but {parent.id} is a {parent.level}",
            )
        )
    elif division is not None and not _is_strict_ancestor(parent.division_code, division, network):
        problems.append(
            Problem(
                row,
                "parent_id",
                f"parent station {parent.id} sits in {parent.division_code}, "
                f"which is not above {division.code}",
            )
        )
    return problems


def _is_strict_ancestor(ancestor_code: str, division: Division, network: NetworkView) -> bool:
    code = division.parent_code
    while code is not None:
        if code == ancestor_code:
            return True
        above = network.division(code)
        code = above.parent_code if above else None
    return False


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
        if len(value) != 10:
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        problems.append(Problem(row, column, f"{value!r} is not a date in the form YYYY-MM-DD"))
        return None


def _parse_count(value: str, row: int, column: str, problems: list[Problem]) -> int:
    if not value:
        return 0
    if not value.lstrip("-").isdigit() or value.startswith("-"):
        problems.append(Problem(row, column, f"{value!r} is not a whole number ≥ 0"))
        return 0
    return int(value)
