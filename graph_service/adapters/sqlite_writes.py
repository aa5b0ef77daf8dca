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
    missing = conn.execute(DIVISIONS_WITHOUT_PARENT, (version,)).fetchall()
    if missing:
        raise StoreError(
            "unknown parent division: "
            + ", ".join(f"{code} names parent {parent}" for code, parent in missing)
        )


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
    no_division = conn.execute(STATIONS_WITHOUT_DIVISION, (version,)).fetchall()
    if no_division:
        raise StoreError(
            "unknown division: "
            + ", ".join(f"station {sid} sits in {code}" for sid, code in no_division)
        )
    no_parent = conn.execute(STATIONS_WITHOUT_PARENT, (version,)).fetchall()
    if no_parent:
        raise StoreError(
            "unknown parent station: "
            + ", ".join(f"station {sid} reports to {parent}" for sid, parent in no_parent)
        )
