"""The SQLite store's reads of the network, on a connection the store holds: the whole of it into a
sink (`load_snapshot`), the changes a reader catches up with (`read_changes`) and what a write's
basis is checked against (`read_written_since`, `verify_basis`)."""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Collection, Sequence
from functools import partial
from typing import Any

from graph_service.adapters.batching import batches
from graph_service.adapters.rows import (
    division_from_row,
    iso_date,
    load_division_row,
    load_station_row,
    station_from_row,
)
from graph_service.adapters.sqlite_editions import read_editions
from graph_service.adapters.sqlite_schema import (
    DIVISION_COLUMNS_SQL,
    IDS_PER_QUERY,
    STATION_COLUMNS_SQL,
    marks,
    read_placements,
    read_successor_links,
    read_version,
)
from graph_service.domain.station_fields import COUNT_COLUMNS
from graph_service.domain.write_basis import StationPlace, WrittenSince
from graph_service.ports import Changes, SnapshotSink, StationTotals, WriteBasis


def load_snapshot(conn: sqlite3.Connection, sink: SnapshotSink, batch_size: int) -> int:
    """Stream every division (and the successor links), then every station (with its placement
    history), into `sink` from one read transaction on `conn`, fetching `batch_size` rows at a time;
    return the data version of that snapshot."""
    conn.execute("BEGIN")
    version = read_version(conn)
    cursor = conn.execute(f"SELECT {DIVISION_COLUMNS_SQL} FROM divisions")
    while rows := cursor.fetchmany(batch_size):
        for row in rows:
            load_division_row(sink, row)
    for old_code, news in read_successor_links(conn).items():
        sink.add_successors(old_code, news)
    placed = read_placements(conn)
    cursor = conn.execute(f"SELECT {STATION_COLUMNS_SQL} FROM stations")
    while rows := cursor.fetchmany(batch_size):
        for row in rows:
            history = placed.get(row[0])
            load_station_row(sink, row if history is None else (*row, *history), iso_date)
    conn.execute("COMMIT")
    return version


def load_part(
    conn: sqlite3.Connection,
    sink: SnapshotSink,
    station_ids: Collection[str],
    reporting_to: Collection[str],
    division_codes: Collection[str],
) -> None:
    """Give `sink` the stored stations `station_ids` and those whose parent is one of `reporting_to`
    (with their placement histories), and the divisions `division_codes` with every division above
    them, each once, from one read transaction on `conn` (`Store.load_part`)."""
    conn.execute("BEGIN")
    try:
        given: set[str] = set()
        for batch in batches(sorted(division_codes), IDS_PER_QUERY):
            for row in conn.execute(_DIVISIONS_WITH_ANCESTORS.format(marks=marks(batch)), tuple(batch)):
                if row[0] not in given:
                    given.add(row[0])
                    load_division_row(sink, row)
        rows: dict[str, Sequence[Any]] = {}
        for column, keys in (("id", station_ids), ("parent_id", reporting_to)):
            for batch in batches(sorted(keys), IDS_PER_QUERY):
                query = f"SELECT {STATION_COLUMNS_SQL} FROM stations WHERE {column} IN ({marks(batch)})"
                rows.update((row[0], row) for row in conn.execute(query, tuple(batch)))
        placed = read_placements(conn, ids=sorted(rows)) if rows else {}
        for station_id, row in rows.items():
            history = placed.get(station_id)
            load_station_row(sink, row if history is None else (*row, *history), iso_date)
    finally:
        conn.execute("COMMIT")


_DIVISIONS_WITH_ANCESTORS = f"""
    WITH RECURSIVE up(code) AS (
        SELECT code FROM divisions WHERE code IN ({{marks}})
        UNION
        SELECT d.parent_code FROM divisions d JOIN up ON d.code = up.code WHERE d.parent_code IS NOT NULL
    )
    SELECT {DIVISION_COLUMNS_SQL} FROM divisions WHERE code IN (SELECT code FROM up)
"""


def station_totals(conn: sqlite3.Connection) -> StationTotals:
    """The upper bound of every roll-up total (`Store.station_totals`): one aggregate read on `conn`;
    a value that is not a positive number counts as 0 (`total` sums as a float: no overflow)."""
    sums = ", ".join(
        f"total(CASE WHEN typeof({c}) IN ('integer', 'real') AND {c} > 0 THEN {c} ELSE 0 END)"
        for c in COUNT_COLUMNS
    )
    count, *totals = conn.execute(f"SELECT count(*), {sums} FROM stations").fetchone()
    return StationTotals(count, *(math.ceil(total) for total in totals))


def read_changes(conn: sqlite3.Connection, version: int) -> Changes:
    """Every division and station whose `changed_in` is above `version` (stations with their
    placements, divisions with their successor links: a write of links marks the division written),
    and the data version they bring the
    reader to, read on `conn` (inside the caller's transaction)."""
    current = read_version(conn)
    divisions = [
        division_from_row(row)
        for row in conn.execute(
            f"SELECT {DIVISION_COLUMNS_SQL} FROM divisions WHERE changed_in > ?", (version,)
        )
    ]
    rows = _stations_written_since(conn, version)
    placed = read_placements(conn, version) if rows else {}
    links = read_successor_links(conn, [d.code for d in divisions]) if divisions else {}
    stations = [
        station_from_row(row if row[0] not in placed else (*row, *placed[row[0]]), iso_date) for row in rows
    ]
    return Changes(current, divisions, stations, links)


def _stations_written_since(conn: sqlite3.Connection, version: int) -> list[Sequence[Any]]:
    """The rows of the stations whose `changed_in` is above `version`, made by SQLite into one JSON
    array in one step rather than fetched one step per row: every step gives the GIL up, and a busy
    event loop takes it each time (50,000 rows beside a thread doing socket reads and writes took
    1.0–1.8 s of wall time that way, against 0.1–0.2 s so). A row JSON cannot hold (a BLOB: a damaged
    store) is read row by row instead, for the reader to refuse it by name."""
    where = "FROM stations WHERE changed_in > ?"
    try:
        (text,) = conn.execute(
            f"SELECT json_group_array(json_array({STATION_COLUMNS_SQL})) {where}", (version,)
        ).fetchone()
    except sqlite3.OperationalError as error:
        if "BLOB" not in str(error):
            raise
        return conn.execute(f"SELECT {STATION_COLUMNS_SQL} {where}", (version,)).fetchall()
    rows: list[Sequence[Any]] = json.loads(text)
    return rows


def read_written_since(conn: sqlite3.Connection, version: int, ids: Collection[str] | None) -> WrittenSince:
    """The codes of the divisions and the places of the stations (of those `ids` only, unless None)
    whose `changed_in` is above `version`: index reads of four columns at most."""
    codes = [code for (code,) in conn.execute("SELECT code FROM divisions WHERE changed_in > ?", (version,))]
    query = "SELECT id, division_code, parent_id, level FROM stations WHERE changed_in > ?"
    if ids is None:
        return WrittenSince(codes, [StationPlace(*row) for row in conn.execute(query, (version,))])
    places = []
    for batch in batches(sorted(ids), IDS_PER_QUERY):
        places += [
            StationPlace(*row)
            for row in conn.execute(f"{query} AND id IN ({marks(batch)})", (version, *batch))
        ]
    return WrittenSince(codes, places)


def verify_basis(basis: WriteBasis | None, conn: sqlite3.Connection, version: int) -> None:
    """Verify `basis` (when given) inside the write transaction that makes data version `version`."""
    if basis is not None:
        basis.verify(version - 1, partial(read_written_since, conn), partial(read_editions, conn))
