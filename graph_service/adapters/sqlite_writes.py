"""The SQLite store's division and station writes, on the connection of the write transaction the
store opens: rows upserted `batch_size` at a time (with progress), then checked for references to
nothing (a `StoreError` rolls the whole write back)."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from functools import partial

from graph_service.adapters.batching import RowsWritten, check_versions, write_in_batches
from graph_service.adapters.sqlite_editions import write_editions, write_names, write_successors
from graph_service.adapters.sqlite_schema import (
    DIVISIONS_WITHOUT_PARENT,
    IDS_PER_QUERY,
    STATIONS_WITHOUT_DIVISION,
    STATIONS_WITHOUT_PARENT,
    UPSERT_DIVISION,
    UPSERT_STATION,
    division_row,
    station_row,
    stored_versions,
    write_placements,
)
from graph_service.domain.editions import AppliedEdition
from graph_service.domain.model import Division, Station
from graph_service.domain.validity import DivisionName
from graph_service.ports import Progress, StoreError


def write_divisions(
    conn: sqlite3.Connection,
    version: int,
    divisions: Sequence[Division],
    *,
    batch_size: int,
    progress: Progress | None = None,
    editions: Mapping[str, AppliedEdition] | None = None,
    names: Mapping[str, Sequence[DivisionName]] | None = None,
    successors: Mapping[str, Sequence[str]] | None = None,
    stations: Sequence[Station] = (),
) -> None:
    """Write `divisions` with data version `version`, `batch_size` rows at a time (`progress` called
    after each batch), together with `editions`, `successors`, `names` and the `stations` an edition
    moves (with their placement history, spec §6). Raises `StoreError` when a parent_code names no
    division, stored or written."""
    write_editions(conn, editions or {})
    write_successors(conn, successors or {}, version)
    write_names(conn, names or {})

    def upsert(batch: Sequence[Division]) -> None:
        rows = [division_row(d, version) for d in batch]
        conn.executemany(UPSERT_DIVISION, rows)

    write_in_batches(divisions, batch_size, upsert, RowsWritten(progress))
    conn.executemany(UPSERT_STATION, [station_row(s, version) for s in stations])
    write_placements(conn, stations)
    _refuse_dangling(conn, DIVISIONS_WITHOUT_PARENT, version, "parent division", "{} names parent {}")


def write_stations(
    conn: sqlite3.Connection,
    version: int,
    stations: Sequence[Station],
    expected_versions: Mapping[str, int | None] | None,
    *,
    batch_size: int,
    progress: Progress | None = None,
) -> None:
    """Write `stations` (with their placement histories) with data version `version`, `batch_size`
    rows at a time (`progress` called after each batch). Raises `ConflictError` when a stored version
    differs from `expected_versions` (checked first), and `StoreError` when a division_code or
    parent_id names nothing."""
    if expected_versions:
        check_versions(expected_versions, partial(stored_versions, conn), IDS_PER_QUERY)

    def upsert(batch: Sequence[Station]) -> None:
        conn.executemany(UPSERT_STATION, [station_row(s, version) for s in batch])

    write_in_batches(stations, batch_size, upsert, RowsWritten(progress))
    write_placements(conn, stations)
    _refuse_dangling(conn, STATIONS_WITHOUT_DIVISION, version, "division", "station {} sits in {}")
    _refuse_dangling(conn, STATIONS_WITHOUT_PARENT, version, "parent station", "station {} reports to {}")


def _refuse_dangling(conn: sqlite3.Connection, query: str, version: int, what: str, link: str) -> None:
    """Raise `StoreError` naming every (record, reference) pair `query` finds among the rows of data
    version `version` that refer to an unknown `what` (each pair formatted with `link`)."""
    dangling = conn.execute(query, (version,)).fetchall()
    if dangling:
        raise StoreError(f"unknown {what}: " + ", ".join(link.format(*row) for row in dangling))
