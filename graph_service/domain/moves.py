"""Dated station moves of an edition (spec §6): which stations follow a retired division to its
successor, the reporting lines those moves change, and the refusal for a retired division that holds
such stations and has no successor. Pure: callers pass the stations and a division lookup.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date

from graph_service.domain.model import Division, Station
from graph_service.domain.validation import codes_above
from graph_service.domain.validity import changed_lines, moved_placements


@dataclass(frozen=True, slots=True)
class Move:
    """Station `station_id` sits in `old_code` before the edition's date and in `new_code` from it."""

    station_id: str
    old_code: str
    new_code: str


@dataclass(frozen=True, slots=True)
class ReportingChange:
    """From the edition's date station `station_id` reports to `new_parent` (None: nobody)."""

    station_id: str
    old_parent: str
    new_parent: str | None


@dataclass(frozen=True, slots=True)
class Stranded:
    """A retired division holding stations that must move, with no successor to move them to."""

    division_code: str
    station_ids: tuple[str, ...]

    def __str__(self) -> str:
        return (
            f"division {self.division_code} is retired and holds stations {', '.join(self.station_ids)} "
            "that have not closed; give it a successor (old_code,new_code) so they can move"
        )


def moves_on(station: Station, day: date) -> bool:
    """True when `station` has not closed by `day` (closed_on empty or after it): it follows its
    division when the division is retired on `day`."""
    return station.closed_on is None or station.closed_on > day


def plan_moves(
    stations: Iterable[Station], retired: Iterable[str], successors: Mapping[str, Sequence[str]], day: date
) -> tuple[list[Move], list[Stranded]]:
    """The moves of the stations sitting in a `retired` division that have not closed by `day`, each to
    its division's first listed successor; and each retired division holding such stations with no
    successor (by code, its stations by id)."""
    retired_codes = set(retired)
    moves: list[Move] = []
    stranded: dict[str, list[str]] = {}
    for station in sorted(stations, key=lambda s: s.id):
        if station.division_code not in retired_codes or not moves_on(station, day):
            continue
        targets = successors.get(station.division_code, ())
        if targets:
            moves.append(Move(station.id, station.division_code, targets[0]))
        else:
            stranded.setdefault(station.division_code, []).append(station.id)
    return moves, [Stranded(code, tuple(ids)) for code, ids in sorted(stranded.items())]


def reporting_changes(
    stations: Sequence[Station], moves: Iterable[Move], find: Callable[[str], Division | None], day: date
) -> list[ReportingChange]:
    """The reporting lines the `moves` change from `day` (`find` looks up divisions as they are after
    the edition). A moved station whose parent no longer sits above it, and a station (closed ones
    included: every stored reporting line must hold) whose parent moved away from above it, report
    from `day` to the one station of the required level (not closed by `day`) sitting above their
    division, or to nobody when there is not exactly one."""
    moved = {move.station_id: move.new_code for move in moves}
    where = {station.id: moved.get(station.id, station.division_code) for station in stations}
    open_by_division: dict[str, list[Station]] = {}
    for station in stations:
        if moves_on(station, day):
            open_by_division.setdefault(where[station.id], []).append(station)
    changes: list[ReportingChange] = []
    for station in sorted(stations, key=lambda s: s.id):
        parent_id = station.parent_id
        if parent_id is None or parent_id not in where:  # a closed station too: its line must hold
            continue
        if station.id not in moved and parent_id not in moved:
            continue
        above = codes_above(where[station.id], find)
        if where[parent_id] in above:
            continue
        level = station.level.parent_level
        candidates = [
            other.id
            for code in above
            for other in open_by_division.get(code, ())
            if other.level is level and other.id != station.id
        ]
        new_parent = candidates[0] if len(candidates) == 1 else None
        changes.append(ReportingChange(station.id, parent_id, new_parent))
    return changes


def moved_records(
    stations: Mapping[str, Station], moves: Iterable[Move], reporting: Iterable[ReportingChange], day: date
) -> list[Station]:
    """The station records an edition of `day` writes (spec §6), each its next version, by id: a moved
    station sits in its new division, its placement history closed at `day` in the old one and open
    from `day` in the new one; a station whose reporting line changes reports to its new parent (or
    to nobody) from `day`, its reporting history closed at `day` on the old parent."""
    changed: dict[str, Station] = {}
    for move in moves:
        station = stations[move.station_id]
        history = tuple(moved_placements(station.history(), move.new_code, day))
        changed[station.id] = replace(station, division_code=move.new_code, placements=history)
    for change in reporting:
        station = changed.get(change.station_id) or stations[change.station_id]
        lines = tuple(changed_lines(station.lines(), change.new_parent, day))
        changed[station.id] = replace(station, parent_id=change.new_parent, reporting_lines=lines)
    return [
        record.with_version(stations[station_id].version + 1)
        for station_id, record in sorted(changed.items())
    ]
