"""Stored rows back into records: one place for both stores."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
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
from graph_service.domain.model import Division, Placement, ReportingLine, Station
from graph_service.domain.station_fields import STATION_FIELDS, STORED_STATION_COLUMNS, FieldKind
from graph_service.ports import audit_seq

if TYPE_CHECKING:
    from graph_service.ports import SnapshotSink

# Enum lookups by value are slow on a national load; a dict is not (an unknown value still falls
# through to the enum, which names it in its error).
_DIVISION_LEVELS = {str(level): level for level in DivisionLevel}
_STATION_LEVELS = {str(level): level for level in StationLevel}
_STATUSES = {str(status): status for status in StationStatus}


def division_from_row(row: Sequence[Any], to_date: Callable[[Any], date | None] | None = None) -> Division:
    """A division from (code, name, level, parent_code, valid_from, valid_to), its dates read with
    `to_date` (default: ISO text); a row of the first four alone is always valid (spec §6)."""
    code, name, level, parent_code, *validity = row
    if len(validity) not in (0, 2):
        raise ValueError(f"expected 4 or 6 values, found {len(row)}")
    read = to_date or iso_date
    valid_from, valid_to = (read(validity[0]), read(validity[1])) if validity else (None, None)
    return Division(
        code, name, _DIVISION_LEVELS.get(level) or DivisionLevel(level), parent_code, valid_from, valid_to
    )


def station_from_row(row: Sequence[Any], to_date: Callable[[Any], date | None]) -> Station:
    """A station from a row of `STORED_STATION_COLUMNS` (the `Station` attributes' order), its levels
    and statuses read from their text, its dates with `to_date`, its counts as numbers (None as 0);
    optionally followed by its placement history (`placements_from_rows`' rows) and then its reporting
    history (`lines_from_rows`' rows; spec §6)."""
    values = list(row)
    extra = len(values) - len(STORED_STATION_COLUMNS)
    history: Sequence[Sequence[Any]] = values.pop(len(STORED_STATION_COLUMNS)) if extra in (1, 2) else ()
    lines: Sequence[Sequence[Any]] = values.pop(len(STORED_STATION_COLUMNS)) if extra == 2 else ()
    if len(values) != len(STORED_STATION_COLUMNS):
        raise ValueError(f"expected {len(STORED_STATION_COLUMNS)} values, found {len(values)}")
    for index, read in _READERS:
        values[index] = read(values[index])
    for index in _DATE_POSITIONS:
        values[index] = to_date(values[index])
    station = Station(*values)
    if history or lines:
        return dataclasses.replace(
            station,
            placements=placements_from_rows(history, to_date),
            reporting_lines=lines_from_rows(lines, to_date, station.parent_id),
        )
    return station


def placements_from_rows(
    rows: Iterable[Sequence[Any]], to_date: Callable[[Any], date | None]
) -> tuple[Placement, ...]:
    """A placement history from stored (division code, from, to) rows in any order: oldest first."""
    placements = [Placement(str(code), to_date(start), to_date(end)) for code, start, end in rows]
    return tuple(sorted(placements, key=_start))


def lines_from_rows(
    rows: Iterable[Sequence[Any]], to_date: Callable[[Any], date | None], parent_id: str | None
) -> tuple[ReportingLine, ...]:
    """A reporting history from stored (parent id or None, from, to) rows in any order, oldest first,
    of a station whose current parent is `parent_id`. A store that keeps only the lines to a station
    (Neo4j's dated REPORTS_TO) leaves out those to nobody: every gap between them, before the first
    and after the last, is a line to nobody."""
    stored = sorted(
        (ReportingLine(None if p is None else str(p), to_date(a), to_date(b)) for p, a, b in rows),
        key=_start,
    )
    if not stored:
        return ()
    lines: list[ReportingLine] = []
    start: date | None = None
    for line in stored:
        if line.from_ != start:
            lines.append(ReportingLine(None, start, line.from_))
        lines.append(line)
        start = line.to
    if start is not None:
        lines.append(ReportingLine(parent_id, start, None))
    return tuple(lines)


def _start(entry: Placement | ReportingLine) -> tuple[bool, date]:
    """Sort key of a dated entry: by its first day, an entry open towards the past first."""
    return entry.from_ is not None, entry.from_ or date.min


def _station_level(value: Any) -> StationLevel:
    return _STATION_LEVELS.get(value) or StationLevel(value)


def _station_status(value: Any) -> StationStatus:
    return _STATUSES.get(value) or StationStatus(value)


def _count(value: Any) -> int:
    return int(value or 0)


_READ_KIND: dict[FieldKind, Callable[[Any], Any]] = {
    FieldKind.LEVEL: _station_level,
    FieldKind.STATUS: _station_status,
    FieldKind.COUNT: _count,
}
_READERS: tuple[tuple[int, Callable[[Any], Any]], ...] = (
    *(
        (index, _READ_KIND[field.kind])
        for index, field in enumerate(STATION_FIELDS)
        if field.kind in _READ_KIND
    ),
    (len(STATION_FIELDS), int),  # the version
)
_DATE_POSITIONS = tuple(index for index, field in enumerate(STATION_FIELDS) if field.kind is FieldKind.DATE)


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
    `version` (division changes are packed: `packed_audit_batches`)."""
    first = audit_seq(version, 0)
    operation = trail.changes[0].operation
    return [
        (first + index, None if change[0] == operation else change[0], *change[1:])
        for index, change in enumerate(trail.changes)
        if change.kind != DIVISION_KIND
    ]


@dataclass(frozen=True, slots=True)
class PackedBatch:
    """Consecutive audit entries of one kind kept as one value: the seq of the first (entry i has seq
    `first + i`), how many, their `pack_entries` value, and their targets, sorted, each once (a reader
    looking for one target skips the batches that do not hold it)."""

    first: int
    count: int
    entries: bytes
    targets: list[str]


def packed_audit_batches(
    trail: AuditTrail, version: int, size: int, kind: str = DIVISION_KIND
) -> Iterator[PackedBatch]:
    """The `kind` changes of `trail` (the write of `version`) as batches of at most `size` changes with
    consecutive seqs: a national division import's entries, or a large station import's, kept
    compactly (each entry's `operation` None when it is its write's)."""
    first = audit_seq(version, 0)
    operation = trail.changes[0].operation
    run: list[tuple[str | None, str, str | None, str | None, str]] = []
    run_first = first

    def packed() -> PackedBatch:
        return PackedBatch(run_first, len(run), pack_entries(run), sorted({entry[1] for entry in run}))

    for index, change in enumerate(trail.changes):
        if change.kind != kind:
            continue
        if run and (len(run) == size or first + index != run_first + len(run)):
            yield packed()
            run = []
        if not run:
            run_first = first + index
        op = None if change.operation == operation else change.operation
        run.append((op, change.target, change.before, change.after, change.within))
    if run:
        yield packed()


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


def load_division_row(
    sink: SnapshotSink, row: Sequence[Any], to_date: Callable[[Any], date | None] | None = None
) -> None:
    """Give `sink` the division a stored row holds, or tell it why the row cannot be read as one."""
    try:
        division = division_from_row(row, to_date)
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
            version: int | None = int(row[len(STORED_STATION_COLUMNS) - 1])
        except (TypeError, ValueError):
            version = None
        sink.reject("station", str(row[0]), f"the stored row cannot be read: {error}", version)
        return
    sink.add_station(station)
