"""The engine's fast checks of records in bulk (the rules themselves are the domain's), and where a
roll-up total would pass `MAX_SUM`."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from operator import attrgetter

from graph_service.domain.levels import StationStatus
from graph_service.domain.model import Station
from graph_service.domain.validation import (
    COUNT_COLUMNS,
    MAX_COUNT,
    MAX_SUM,
    Problem,
    all_codes_valid,
    all_names_valid,
    all_references_valid,
    station_field_problems,
)
from graph_service.engine.timeline import (
    CERTIFIED_STAFF,
    STAFF,
    STATION_COLUMN,
    VOLUNTEERS,
    WIDTH,
    ZERO_ROW,
    Timeline,
)
from graph_service.engine.values import StoredProblem, SumExcess

CODE, NAME, PARENT_CODE = attrgetter("code"), attrgetter("name"), attrgetter("parent_code")


_ID, _DIVISION_CODE, _PARENT_ID = attrgetter("id"), attrgetter("division_code"), attrgetter("parent_id")


def quietly(check: Callable[[], bool]) -> bool:
    """The fast bulk check's verdict; False (look at each record) when a value is not even a str
    or an int, as in a store written by hand."""
    try:
        return bool(check())
    except (TypeError, ValueError):
        return False


def fields_surely_valid(stations: Sequence[Station]) -> bool:
    """True when a fast pass over all of `stations` finds every field in range (ids, names, links,
    counts, dates); what it cannot tell is left to `status_problems`. False: look at each one."""
    return quietly(
        lambda: (
            all_codes_valid(map(_ID, stations))
            and all_names_valid(map(NAME, stations))
            and all_references_valid(map(_DIVISION_CODE, stations))
            and all_references_valid(filter(None, map(_PARENT_ID, stations)))
            and all(_counts_in_range(list(map(attrgetter(column), stations))) for column in COUNT_COLUMNS)
            and _dates_in_range(stations)
        )
    )


def _counts_in_range(counts: list[int]) -> bool:
    """True when every count passes `count_problem` (a fast pass over all of them)."""
    return not counts or (min(counts) >= 0 and max(counts) <= MAX_COUNT)


def _dates_in_range(stations: Sequence[Station]) -> bool:
    """True when every date of `stations` passes `date_problem` (a fast pass over all of them)."""
    from graph_service.domain.validation import FIRST_YEAR, LAST_YEAR

    days = [d for s in stations for d in (s.opened_on, s.closed_on) if d is not None]
    return not days or (min(days).year >= FIRST_YEAR and max(days).year <= LAST_YEAR)


def status_problems(station: Station, row: int) -> list[Problem]:
    """The per-station rules a fast bulk pass cannot make: status against dates, certified ≤ staff."""
    if station.certified_staff > station.staff:
        return station_field_problems(station, row)
    status = station.status
    opened, closed = station.opened_on, station.closed_on
    if status is StationStatus.OPERATING and opened is not None and closed is None:
        return []
    if status is StationStatus.CLOSED and opened is not None and closed is not None and opened < closed:
        return []
    if status in (StationStatus.PLANNED, StationStatus.BUILDING) and opened is None and closed is None:
        return []
    return station_field_problems(station, row)


def stored_problems(
    kind: str, key: str, problems: Iterable[Problem], version: int | None = None
) -> list[StoredProblem]:
    return [StoredProblem(kind, key, p.column, p.message, version) for p in problems]


SUM_COLUMNS: dict[int, str] = {
    **{index: "level" for index in STATION_COLUMN.values()},
    STAFF: COUNT_COLUMNS[0],
    CERTIFIED_STAFF: COUNT_COLUMNS[1],
    VOLUNTEERS: COUNT_COLUMNS[2],
}


def first_excess(timeline: Timeline) -> tuple[int, int, int] | None:
    """The first (column, day, value) where a roll-up total of `timeline` is above `MAX_SUM`."""
    for day, row in timeline.totals_from(timeline.days[0] if len(timeline) else 0):
        for column in SUM_COLUMNS:
            if row[column] > MAX_SUM:
                return column, day, row[column]
    return None


def excesses(code: str, timeline: Timeline | None, changes: dict[int, list[int]]) -> list[SumExcess]:
    """Where adding the per-day `changes` to `timeline` takes a roll-up total past `MAX_SUM` on a day
    on which the changes add to it (at most one per column: the first day)."""
    if not any(row[column] > 0 for row in changes.values() for column in SUM_COLUMNS):
        return []
    days = sorted(changes)
    points = days
    if timeline is not None:
        later = timeline.days[bisect_left(timeline.days, days[0]) :]
        points = sorted(set(days).union(later))
    running = [0] * WIDTH
    found: dict[int, SumExcess] = {}
    for day in points:
        change = changes.get(day)
        if change is not None:
            running = [a + b for a, b in zip(running, change, strict=True)]
        base = timeline.row_at(day) if timeline is not None else ZERO_ROW
        for column in SUM_COLUMNS:
            if running[column] > 0 and column not in found and base[column] + running[column] > MAX_SUM:
                found[column] = SumExcess(
                    code, SUM_COLUMNS[column], date.fromordinal(day), base[column] + running[column]
                )
    return list(found.values())
