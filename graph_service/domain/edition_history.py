"""Divisions and stations through a sequence of editions (spec §6), recounted by brute force.

Given the division tables with their edition dates, the successors file of each edition and the
stations (as a station file lists them), `apply_editions` gives every division ever valid with its
validity and the successor links; `station_placements` follows each station through the editions
(a station in a division an edition retires moves to its first listed successor, unless it closed by
then); `figures_on` counts, on one day, the divisions valid that day per level, those covered, the
active stations that count somewhere per level and their staff, each station where it sat that day
and, before its division existed, in its predecessor (the rules of `validity`).

Every question walks every record: this is the check the demo data is proved with (and a reference
for the engine), not a fast path. Pure: the callers read the files.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from graph_service.domain.csv_input import read_csv_rows
from graph_service.domain.division_rules import DIVISION_COLUMNS, validate_divisions
from graph_service.domain.editions import AppliedEdition, apply_plan, plan_edition
from graph_service.domain.levels import DivisionLevel, StationLevel
from graph_service.domain.model import Division, Placement, Station
from graph_service.domain.moves import plan_moves
from graph_service.domain.problems import EmptyNetwork
from graph_service.domain.station_fields import STATION_COLUMNS
from graph_service.domain.successors import read_successors
from graph_service.domain.validation import parse_station_row
from graph_service.domain.validity import (
    is_valid_on,
    moved_placements,
    predecessors_of,
    station_counts_in,
)


class EditionError(ValueError):
    """A table, successors file or edition that cannot be applied; the message names the problem."""


@dataclass(frozen=True, slots=True)
class Edition:
    """One edition: the complete table as of `day` (rows numbered as in its file) and the text of the
    successors CSV for the divisions it retires (empty: none); `name` names it in errors."""

    day: date
    rows: Sequence[tuple[int, Division]]
    successors: str = ""
    name: str = "edition"


@dataclass(frozen=True, slots=True)
class History:
    """Every division ever valid (by code, with validity), the successor links of all editions, and
    the codes each edition retired (by edition date)."""

    divisions: dict[str, Division]
    successors: dict[str, list[str]]
    retired: dict[date, list[str]]

    def find(self, code: str) -> Division | None:
        """The division `code`, retired or not (None when no edition held it)."""
        return self.divisions.get(code)


def table_rows(text: str, name: str = "table") -> list[tuple[int, Division]]:
    """The rows of a division table (CSV text, spec §2), checked as a plain import checks them;
    `EditionError` naming `name` and the first problems when any row is bad."""
    rows, problems = read_csv_rows(text, DIVISION_COLUMNS)
    divisions, more = validate_divisions(rows, EmptyNetwork())
    if problems or more:
        raise EditionError(f"{name}: " + "; ".join(str(p) for p in (problems + more)[:5]))
    by_code = {division.code: division for division in divisions}
    return [(row, by_code[values["code"]]) for row, values in rows]


def station_rows(text: str, name: str = "stations") -> list[Station]:
    """The stations of a station file (CSV text), each row checked on its own (spec §2's fields; not
    where it sits, which depends on the editions applied when it is imported); `EditionError` naming
    `name` and the first problems when any row is bad."""
    rows, problems = read_csv_rows(text, STATION_COLUMNS)
    stations = []
    for row, values in rows:
        station, row_problems = parse_station_row(row, values)
        problems.extend(row_problems)
        if station is not None:
            stations.append(station)
    if problems:
        raise EditionError(f"{name}: " + "; ".join(str(p) for p in problems[:5]))
    return stations


def apply_editions(editions: Sequence[Edition]) -> History:
    """Apply `editions` in order from nothing (the first makes its whole table valid from its date):
    the divisions with their validity, the successor links (each file read with `read_successors`'s
    checks against the divisions after its edition), the codes each retired. `EditionError` when an
    edition would be refused (out of order, a code changing level, a retired code back) or a
    successors file has a bad row."""
    divisions: dict[str, Division] = {}
    applied: dict[str, AppliedEdition] = {}
    successors: dict[str, list[str]] = {}
    retired: dict[date, list[str]] = {}
    for edition in editions:
        plan = plan_edition(divisions, edition.rows, edition.day, applied)
        if plan.problems:
            raise EditionError(f"{edition.name} (edition of {edition.day}): {plan.problems[0]}")
        divisions = apply_plan(divisions, (d for _, d in edition.rows), plan)
        applied.update(plan.applied)
        retired[edition.day] = [d.code for d in plan.retired]
        if not edition.successors:
            continue
        links, problems = read_successors(edition.successors, divisions.get, edition.day)
        if problems:
            raise EditionError(f"{edition.name}: " + "; ".join(str(p) for p in problems[:5]))
        for old, news in links.items():
            successors.setdefault(old, []).extend(news)
    return History(divisions, successors, retired)


def station_placements(history: History, stations: Sequence[Station]) -> dict[str, list[Placement]]:
    """Each station's placement history through the editions (by id): it sits where its row lists it,
    and from each edition that retires its division (and it has not closed by then) in the first
    successor. `EditionError` naming the divisions when an edition would strand stations (§6)."""
    placements = {s.id: [Placement(s.division_code)] for s in stations}
    for day, retired in sorted(history.retired.items()):
        where = [dataclasses.replace(s, division_code=placements[s.id][-1].division_code) for s in stations]
        moves, stranded = plan_moves(where, retired, history.successors, day)
        if stranded:
            raise EditionError(f"edition of {day}: " + "; ".join(str(s) for s in stranded))
        for move in moves:
            placements[move.station_id] = moved_placements(placements[move.station_id], move.new_code, day)
    return placements


@dataclass(frozen=True, slots=True)
class DayFigures:
    """Spec §3 and §6 over the whole network on `day`: per division level the divisions valid that day
    (`totals`) and those covered (`covered`); per station level the active stations that count in a
    valid division or under one (`stations`), and their `staff`."""

    day: date
    totals: Counter[DivisionLevel]
    covered: Counter[DivisionLevel]
    stations: Counter[StationLevel]
    staff: int


def figures_on(
    history: History, stations: Sequence[Station], placements: Mapping[str, Sequence[Placement]], day: date
) -> DayFigures:
    """Count `day`'s figures by walking every division and station (see `DayFigures`)."""
    totals = Counter(d.level for d in history.divisions.values() if is_valid_on(d, day))
    predecessors = predecessors_of(history.successors)
    covered_codes: set[str] = set()
    counted: Counter[StationLevel] = Counter()
    staff = 0
    for station in stations:
        if not station.is_active_on(day):
            continue
        counting = station_counts_in(placements[station.id], day, history.find, predecessors)
        if counting.rolls_up_under is None:
            continue
        counted[station.level] += 1
        staff += station.staff
        division = history.find(counting.covers) if counting.covers is not None else None
        if division is not None and division.level is station.level.division_level:
            covered_codes.add(division.code)
    covered = Counter(history.divisions[code].level for code in covered_codes)
    return DayFigures(day, totals, covered, counted, staff)
