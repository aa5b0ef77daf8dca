"""Every rule of spec §2 as validation that reports all problems found, never only the first.

Pure functions: they read CSV text (already in memory) and a `NetworkView` of what is stored, and
return records plus `Problem`s. Row numbers count the header as row 1.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Protocol, TypeVar

from graph_service.domain.levels import DivisionLevel, StationLevel, StationStatus
from graph_service.domain.model import Division, Station
from graph_service.domain.station_fields import (
    COUNT_COLUMNS,
    DATE_COLUMNS,
    MAX_COUNT,
    STATION_FIELDS,
    FieldKind,
    StationField,
)
from graph_service.domain.station_fields import (
    STATION_COLUMNS as STATION_COLUMNS,  # the station CSV's header, re-exported
)

DIVISION_COLUMNS: tuple[str, ...] = ("code", "name", "level", "parent_code")

# --- value bounds (spec §7): one place for each rule, used by every path ------------------------
MAX_SUM = 2_147_483_647
"""Largest roll-up sum or count (GraphQL's `Int`): a write that would make one larger is refused."""
MAX_NAME_LENGTH = 200
MAX_ID_LENGTH = 64
FIRST_YEAR, LAST_YEAR = 1900, 2100
_ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]+")
_DATE_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_NOT_TEXT = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")

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


def name_problem(name: str) -> str | None:
    """Why `name` (already trimmed) is not a valid name (spec §7), or None when it is."""
    if not name or not name.strip():
        return "name is empty"
    if len(name) > MAX_NAME_LENGTH:
        return f"name is {len(name):,} characters long; at most {MAX_NAME_LENGTH} are allowed"
    return _not_text_problem("name", name)


def code_problem(column: str, value: str) -> str | None:
    """Why `value` is not a valid station id or division code (spec §7: 1..64 characters of
    A-Z a-z 0-9 . _ : -), or None when it is."""
    if not value:
        return f"{column} is empty"
    if len(value) > MAX_ID_LENGTH:
        return f"{column} is {len(value):,} characters long; at most {MAX_ID_LENGTH} are allowed"
    if _ID_PATTERN.fullmatch(value) is None:
        bad = next(char for char in value if _ID_PATTERN.fullmatch(char) is None)
        return f"{column} may hold only A-Z a-z 0-9 . _ : - (found {_describe(bad)})"
    return None


def reference_problem(column: str, value: str) -> str | None:
    """Why `value`, which names another record (a division code, a parent id), cannot be one: it is
    longer than any id, or holds a character no id holds that would not even print; None otherwise."""
    if len(value) > MAX_ID_LENGTH:
        return f"{column} is {len(value):,} characters long; no id or code is longer than {MAX_ID_LENGTH}"
    return _not_text_problem(column, value)


def count_problem(column: str, value: int) -> str | None:
    """Why `value` is not a valid staff, certified_staff or volunteers count, or None when it is."""
    if not 0 <= value <= MAX_COUNT:
        return f"{column} must be a whole number from 0 to {MAX_COUNT:,}, not {value:,}"
    return None


def date_problem(column: str, value: date) -> str | None:
    """Why `value` is outside the years the service accepts (spec §7), or None when it is inside."""
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        return f"{column} {value.isoformat()} is outside the years {FIRST_YEAR}..{LAST_YEAR}"
    return None


def parse_date(text: str) -> date:
    """`text` as a date: exactly YYYY-MM-DD, a real day, years 1900..2100; `ValueError` saying why not."""
    if _DATE_PATTERN.fullmatch(text) is None:
        raise ValueError(f"{_shown(text)} is not a date in the form YYYY-MM-DD")
    try:
        value = date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{_shown(text)} is not a date in the form YYYY-MM-DD (no such day)") from None
    if date_problem("", value) is not None:
        raise ValueError(f"{text} is outside the years {FIRST_YEAR}..{LAST_YEAR}")
    return value


def all_codes_valid(values: Iterable[str]) -> bool:
    """True only when `code_problem` finds nothing in any of `values`: one fast pass for a whole load
    (False means: look at them one by one)."""
    values = list(values)
    if not values:
        return True
    lengths = list(map(len, values))
    return (
        min(lengths) > 0
        and max(lengths) <= MAX_ID_LENGTH
        and _ID_PATTERN.fullmatch("".join(values)) is not None
    )


def all_names_valid(names: Iterable[str]) -> bool:
    """True only when `name_problem` finds nothing in any of `names` (as `all_codes_valid`)."""
    names = list(names)
    if not names:
        return True
    lengths = list(map(len, names))
    return (
        min(lengths) > 0
        and max(lengths) <= MAX_NAME_LENGTH
        and all(map(str.strip, names))
        and _NOT_TEXT.search("".join(names)) is None
    )


def all_references_valid(values: Iterable[str]) -> bool:
    """True only when `reference_problem` finds nothing in any of `values` (as `all_codes_valid`)."""
    values = list(values)
    if not values:
        return True
    return max(map(len, values)) <= MAX_ID_LENGTH and _NOT_TEXT.search("".join(values)) is None


def _not_text_problem(column: str, value: str) -> str | None:
    """Why `value` is not plain text: a control character or a lone surrogate (None when it is)."""
    found = _NOT_TEXT.search(value)
    if found is None:
        return None
    kind = "a lone surrogate" if "\ud800" <= found.group() <= "\udfff" else "a control character"
    return f"{column} holds {kind} ({_describe(found.group())}) at position {found.start() + 1}"


def _describe(char: str) -> str:
    return f"U+{ord(char):04X}" if _NOT_TEXT.fullmatch(char) or char.isspace() else repr(char)


def _shown(text: str, limit: int = 40) -> str:
    """`text` for a message: quoted, escaped, cut short."""
    return repr(text if len(text) <= limit else text[:limit] + "…")


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
        field_problems = division_field_problems(code, name, row)
        if field_problems:
            problems.extend(field_problems)
            ok = False
        elif code in parsed:
            problems.append(Problem(row, "code", f"duplicate code {code!r} (first on row {parsed[code][0]})"))
            ok = False
        parent_code = values["parent_code"]
        if parent_code and (message := reference_problem("parent_code", parent_code)) is not None:
            problems.append(Problem(row, "parent_code", message))
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


def division_field_problems(code: str, name: str, row: int) -> list[Problem]:
    """The value rules of spec §7 for a division's code and (trimmed) name."""
    problems = []
    if (message := code_problem("code", code)) is not None:
        problems.append(Problem(row, "code", message))
    if (message := name_problem(name)) is not None:
        problems.append(Problem(row, "name", message))
    return problems


def division_problems(division: Division, row: int = 0) -> list[Problem]:
    """Every rule one stored division must meet on its own (§7 values; parent code plain text)."""
    problems = division_field_problems(division.code, division.name, row)
    parent_code = division.parent_code
    if parent_code is not None and (message := reference_problem("parent_code", parent_code)) is not None:
        problems.append(Problem(row, "parent_code", message))
    return problems


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
        above_after_move = set(codes_above(division.code, find))
        for station in network.stations_below(division.code):
            parent = network.station(station.parent_id) if station.parent_id else None
            if parent is None or parent.division_code in above_after_move:
                continue
            if division.code in codes_above(parent.division_code, network.division):
                continue  # both inside the moved subtree: the move keeps them in line
            if parent.division_code == division.code:
                continue
            yield Problem(
                row,
                "parent_code",
                f"moving {division.code} under {division.parent_code} would leave station {station.id} "
                f"reporting to {parent.id}, which sits in {parent.division_code}, no longer above it",
            )


def codes_above(code: str, find: Callable[[str], Division | None]) -> list[str]:
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
    fields: dict[str, object] = {}
    for field in _TEXT_FIELDS:
        fields[field.name] = values[field.column]
        problems.extend(_text_problems(field, values[field.column], row))
    for field in _ENUM_FIELDS:
        kind = _ENUM_OF_KIND[field.kind]
        fields[field.name] = _parse_enum(kind, values[field.column], row, field.column, problems)
    for field in _REFERENCE_FIELDS:
        fields[field.name] = values[field.column] or None
        problems.extend(_reference_field_problems(field, values[field.column] or None, row))
    parsed_so_far = len(problems)
    for column in DATE_COLUMNS:
        fields[column] = _parse_date(values[column], row, column, problems)
    status = fields["status"]
    if isinstance(status, StationStatus) and len(problems) == parsed_so_far:
        opened, closed = _date_or_none(fields["opened_on"]), _date_or_none(fields["closed_on"])
        problems.extend(_status_date_problems(status, opened, closed, row))
    parsed_so_far = len(problems)
    for column in COUNT_COLUMNS:
        fields[column] = _parse_count(values[column], row, column, problems)
    if len(problems) == parsed_so_far:
        problems.extend(_count_problems(_int(fields["staff"]), _int(fields["certified_staff"]), row))
    if problems or any(fields[field.name] is None for field in _ENUM_FIELDS):
        return None, problems
    return Station(**fields), problems  # type: ignore[arg-type]


def station_field_problems(station: Station, row: int) -> list[Problem]:
    """Every rule that concerns one station alone (spec §2 and §7): id, name, the codes it names,
    dates (years, and status against dates), and the counts."""
    problems: list[Problem] = []
    for field in _TEXT_FIELDS:
        problems.extend(_text_problems(field, getattr(station, field.name), row))
    for field in _REFERENCE_FIELDS:
        problems.extend(_reference_field_problems(field, getattr(station, field.name), row))
    dates_ok = True
    for column in DATE_COLUMNS:
        value = getattr(station, column)
        if value is not None and (message := date_problem(column, value)) is not None:
            problems.append(Problem(row, column, message))
            dates_ok = False
    if dates_ok:
        problems.extend(_status_date_problems(station.status, station.opened_on, station.closed_on, row))
    counts_ok = True
    for column in COUNT_COLUMNS:
        if (message := count_problem(column, getattr(station, column))) is not None:
            problems.append(Problem(row, column, message))
            counts_ok = False
    if counts_ok:
        problems.extend(_count_problems(station.staff, station.certified_staff, row))
    return problems


_TEXT_FIELDS = tuple(field for field in STATION_FIELDS if field.kind in (FieldKind.ID, FieldKind.NAME))
_ENUM_OF_KIND: Mapping[FieldKind, type[StrEnum]] = {
    FieldKind.LEVEL: StationLevel,
    FieldKind.STATUS: StationStatus,
}
_ENUM_FIELDS = tuple(field for field in STATION_FIELDS if field.kind in _ENUM_OF_KIND)
_REFERENCE_FIELDS = tuple(
    field for field in STATION_FIELDS if field.kind in (FieldKind.DIVISION, FieldKind.STATION)
)


def _text_problems(field: StationField, value: str, row: int) -> list[Problem]:
    """The value rules of an id or name field (spec §7)."""
    message = code_problem(field.column, value) if field.kind is FieldKind.ID else name_problem(value)
    return [] if message is None else [Problem(row, field.column, message)]


def _reference_field_problems(field: StationField, value: str | None, row: int) -> list[Problem]:
    """A field naming another record (a division code, a parent id) must be given unless it is
    nullable, and must be plain text of an id's size."""
    if not value:
        return [] if field.nullable else [Problem(row, field.column, f"{field.column} is empty")]
    message = reference_problem(field.column, value)
    return [] if message is None else [Problem(row, field.column, message)]


def _date_or_none(value: object) -> date | None:
    return value if isinstance(value, date) else None


def _int(value: object) -> int:
    return value if isinstance(value, int) else 0


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
        return parse_date(value)
    except ValueError as error:
        problems.append(Problem(row, column, str(error)))
        return None


def _parse_count(value: str, row: int, column: str, problems: list[Problem]) -> int:
    if not value:
        return 0
    if not value.isascii() or not value.isdigit():
        problems.append(Problem(row, column, f"{_shown(value)} is not a whole number ≥ 0"))
        return 0
    number = int(value) if len(value) <= 20 else MAX_COUNT + 1
    if (message := count_problem(column, number)) is not None:
        shown = f"{number:,}" if len(value) <= 20 else f"a {len(value)}-digit number"
        problems.append(Problem(row, column, message.rsplit(", not ", 1)[0] + f", not {shown}"))
        return 0
    return number
