"""The rules of spec §1, §2 and §7 for one station: its own fields (values, status against dates,
certified staff against staff) and where it sits and whom it reports to, against the network."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import date
from enum import StrEnum

from graph_service.domain.levels import StationLevel, StationStatus
from graph_service.domain.model import Division, Station
from graph_service.domain.problems import NetworkView, Problem
from graph_service.domain.station_fields import (
    COUNT_COLUMNS,
    DATE_COLUMNS,
    STATION_FIELDS,
    FieldKind,
    StationField,
)
from graph_service.domain.values import (
    code_problem,
    count_problem,
    date_problem,
    name_problem,
    reference_problem,
)


def station_field_problems(station: Station, row: int) -> list[Problem]:
    """Every rule that concerns one station alone (spec §2 and §7): id, name, the codes it names,
    dates (years, and status against dates), and the counts."""
    problems: list[Problem] = []
    for field in TEXT_FIELDS:
        problems.extend(text_problems(field, getattr(station, field.name), row))
    for field in REFERENCE_FIELDS:
        problems.extend(reference_field_problems(field, getattr(station, field.name), row))
    dates_ok = True
    for column in DATE_COLUMNS:
        value = getattr(station, column)
        if value is not None and (message := date_problem(column, value)) is not None:
            problems.append(Problem(row, column, message))
            dates_ok = False
    if dates_ok:
        problems.extend(status_date_problems(station.status, station.opened_on, station.closed_on, row))
    counts_ok = True
    for column in COUNT_COLUMNS:
        if (message := count_problem(column, getattr(station, column))) is not None:
            problems.append(Problem(row, column, message))
            counts_ok = False
    if counts_ok:
        problems.extend(staff_count_problems(station.staff, station.certified_staff, row))
    return problems


TEXT_FIELDS = tuple(field for field in STATION_FIELDS if field.kind in (FieldKind.ID, FieldKind.NAME))
ENUM_OF_KIND: Mapping[FieldKind, type[StrEnum]] = {
    FieldKind.LEVEL: StationLevel,
    FieldKind.STATUS: StationStatus,
}
ENUM_FIELDS = tuple(field for field in STATION_FIELDS if field.kind in ENUM_OF_KIND)
REFERENCE_FIELDS = tuple(
    field for field in STATION_FIELDS if field.kind in (FieldKind.DIVISION, FieldKind.STATION)
)


def text_problems(field: StationField, value: str, row: int) -> list[Problem]:
    """The value rules of an id or name field (spec §7)."""
    message = code_problem(field.column, value) if field.kind is FieldKind.ID else name_problem(value)
    return [] if message is None else [Problem(row, field.column, message)]


def reference_field_problems(field: StationField, value: str | None, row: int) -> list[Problem]:
    """A field naming another record (a division code, a parent id) must be given unless it is
    nullable, and must be plain text of an id's size."""
    if not value:
        return [] if field.nullable else [Problem(row, field.column, f"{field.column} is empty")]
    message = reference_problem(field.column, value)
    return [] if message is None else [Problem(row, field.column, message)]


def status_date_problems(
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


def staff_count_problems(staff: int, certified_staff: int, row: int) -> list[Problem]:
    if certified_staff > staff >= 0:
        return [
            Problem(
                row, "certified_staff", f"certified_staff ({certified_staff}) cannot exceed staff ({staff})"
            )
        ]
    return []


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
