"""Stored rows back into records: one place for both stores."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from graph_service.domain.audit import (
    DIVISION_KIND,
    AuditEntry,
    AuditTrail,
    pack_entries,
    row_from_json,
    timestamp_from_text,
    timestamp_text,
)
from graph_service.domain.levels import DivisionLevel, StationLevel, StationStatus
from graph_service.domain.model import Division, Station
from graph_service.ports import audit_seq

if TYPE_CHECKING:
    from graph_service.ports import SnapshotSink

# Enum lookups by value are slow on a national load; a dict is not (an unknown value still falls
# through to the enum, which names it in its error).
_DIVISION_LEVELS = {str(level): level for level in DivisionLevel}
_STATION_LEVELS = {str(level): level for level in StationLevel}
_STATUSES = {str(status): status for status in StationStatus}


def division_from_row(row: Sequence[Any]) -> Division:
    """A division from (code, name, level, parent_code)."""
    code, name, level, parent_code = row
    return Division(code, name, _DIVISION_LEVELS.get(level) or DivisionLevel(level), parent_code)


def station_from_row(row: Sequence[Any], to_date: Callable[[Any], date | None]) -> Station:
    """A station from (id, name, level, division_code, parent_id, status, opened_on, closed_on, staff,
    certified_staff, volunteers, version), its dates read with `to_date`."""
    (sid, name, level, division_code, parent_id, status, opened, closed, staff, certified, volunteers,
     version) = row  # fmt: skip
    return Station(
        id=sid,
        name=name,
        level=_STATION_LEVELS.get(level) or StationLevel(level),
        division_code=division_code,
        parent_id=parent_id,
        status=_STATUSES.get(status) or StationStatus(status),
        opened_on=to_date(opened),
        closed_on=to_date(closed),
        staff=int(staff or 0),
        certified_staff=int(certified or 0),
        volunteers=int(volunteers or 0),
        version=int(version),
    )


def iso_date(value: Any) -> date | None:
    """A date stored as ISO text (None stays None)."""
    return None if value is None else date.fromisoformat(str(value))


AUDIT_WRITE_COLUMNS = ("version", "at", "actor", "role", "operation")
"""Who made a write, when, and its operation: stored once per write."""
AUDIT_ENTRY_COLUMNS = ("seq", "operation", "kind", "target", "before", "after", "within")
"""One changed row as both stores keep it: `operation` only when it differs from its write's (else
None), `before` and `after` as JSON text; `seq // AUDIT_SEQ_STRIDE` is its write's version."""


def audit_write_row(trail: AuditTrail, version: int) -> tuple[Any, ...]:
    """The row (AUDIT_WRITE_COLUMNS) that records who made the write of data version `version`, and when
    (its operation is its first change's)."""
    return (version, timestamp_text(trail.at), trail.actor, trail.role, trail.changes[0].operation)


def audit_entry_rows(trail: AuditTrail, version: int) -> list[tuple[Any, ...]]:
    """The rows (AUDIT_ENTRY_COLUMNS) that record each station change of `trail`, for the write of
    `version` (division changes are packed: `packed_division_batches`)."""
    first = audit_seq(version, 0)
    operation = trail.changes[0].operation
    return [
        (first + index, None if change[0] == operation else change[0], *change[1:])
        for index, change in enumerate(trail.changes)
        if change.kind != DIVISION_KIND
    ]


def packed_division_batches(trail: AuditTrail, version: int, size: int) -> Iterator[tuple[int, int, bytes]]:
    """The division changes of `trail` (the write of `version`) as (first seq, count, `pack_entries`
    value) batches of at most `size` changes with consecutive seqs: a national division import's
    entries kept compactly (each entry's `operation` None when it is its write's)."""
    first = audit_seq(version, 0)
    operation = trail.changes[0].operation
    run: list[tuple[str | None, str, str | None, str | None, str]] = []
    run_first = first
    for index, change in enumerate(trail.changes):
        if change.kind != DIVISION_KIND:
            continue
        if run and (len(run) == size or first + index != run_first + len(run)):
            yield run_first, len(run), pack_entries(run)
            run = []
        if not run:
            run_first = first + index
        op = None if change.operation == operation else change.operation
        run.append((op, change.target, change.before, change.after, change.within))
    if run:
        yield run_first, len(run), pack_entries(run)


def audit_entry_from_row(row: Sequence[Any]) -> AuditEntry:
    """An audit entry from a stored row: (seq, at, actor, role, operation, kind, target, before, after)."""
    seq, at, actor, role, operation, kind, target, before, after = row
    return AuditEntry(
        seq=int(seq),
        at=timestamp_from_text(at),
        actor=actor,
        role=role,
        operation=operation,
        kind=kind,
        target=target,
        before=row_from_json(before),
        after=row_from_json(after),
    )


def load_division_row(sink: SnapshotSink, row: Sequence[Any]) -> None:
    """Give `sink` the division a stored row holds, or tell it why the row cannot be read as one."""
    try:
        division = division_from_row(row)
    except (TypeError, ValueError) as error:
        sink.reject("division", str(row[0]), f"the stored row cannot be read: {error}")
        return
    sink.add_division(division)


def load_station_row(sink: SnapshotSink, row: Sequence[Any], to_date: Callable[[Any], date | None]) -> None:
    """Give `sink` the station a stored row holds, or tell it why the row cannot be read as one."""
    try:
        station = station_from_row(row, to_date)
    except (TypeError, ValueError, AttributeError) as error:
        try:
            version: int | None = int(row[-1])
        except (TypeError, ValueError):
            version = None
        sink.reject("station", str(row[0]), f"the stored row cannot be read: {error}", version)
        return
    sink.add_station(station)
