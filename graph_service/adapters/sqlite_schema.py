"""The SQLite store's tables (`SCHEMA`, applied by `ensure_schema`), the statements that write and check
rows, and the row encoding: see `sqlite_store` for the layout. A station row's columns come from
`STORED_STATION_COLUMNS`; the `stations` table itself is a migration record, checked against it by
the tests."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence, Sized
from contextlib import contextmanager, suppress
from datetime import date
from pathlib import Path
from typing import Any

from graph_service.adapters.batching import batches
from graph_service.adapters.rows import AUDIT_ENTRY_COLUMNS, AUDIT_WRITE_COLUMNS
from graph_service.domain.model import Division, Station
from graph_service.domain.station_fields import STORED_STATION_COLUMNS, stored_values
from graph_service.ports import StoreError

URL_PREFIX = "sqlite:///"
SCHEMA_VERSION = 6
"""1: divisions, stations, meta; 2: and audit; 3: and audit_batches (every statement of `SCHEMA` is
idempotent); 4: divisions' `valid_from`/`valid_to` (spec §6; `DIVISION_VALIDITY` adds them to an
older store in place, every division of which stays valid always), `editions`, `division_names`
and `division_successors`; 5: `station_placements`; 6: `station_reporting_lines` (an older store
gains the table, empty: every station there always reported to its `parent_id`)."""
UPSERT_EDITION = """
    INSERT INTO editions (province, day, digest) VALUES (?, ?, ?)
    ON CONFLICT (province) DO UPDATE SET day = excluded.day, digest = excluded.digest
"""
# Stay well below SQLite's limit on the number of `?` parameters in one statement.
IDS_PER_QUERY = 500


def marks(values: Sized) -> str:
    """The placeholders of an SQL list of `values`: `?, ?, ?` for three."""
    return ", ".join("?" * len(values))


SCHEMA: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS meta (
        key TEXT PRIMARY KEY NOT NULL,
        value INTEGER NOT NULL
    )""",
    "INSERT OR IGNORE INTO meta (key, value) VALUES ('data_version', 0)",
    """CREATE TABLE IF NOT EXISTS divisions (
        code TEXT PRIMARY KEY NOT NULL,
        name TEXT NOT NULL,
        level TEXT NOT NULL,
        parent_code TEXT,
        changed_in INTEGER NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS divisions_changed_in ON divisions (changed_in)",
    """CREATE TABLE IF NOT EXISTS stations (
        id TEXT PRIMARY KEY NOT NULL,
        name TEXT NOT NULL,
        level TEXT NOT NULL,
        division_code TEXT NOT NULL,
        parent_id TEXT,
        status TEXT NOT NULL,
        opened_on TEXT,
        closed_on TEXT,
        staff INTEGER NOT NULL,
        certified_staff INTEGER NOT NULL,
        volunteers INTEGER NOT NULL,
        version INTEGER NOT NULL,
        changed_in INTEGER NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS stations_changed_in ON stations (changed_in)",
    """CREATE TABLE IF NOT EXISTS audit_writes (
        version INTEGER PRIMARY KEY NOT NULL,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        role TEXT NOT NULL,
        operation TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS audit (
        seq INTEGER PRIMARY KEY NOT NULL,
        operation TEXT,
        kind TEXT NOT NULL,
        target TEXT NOT NULL,
        before TEXT,
        after TEXT,
        within TEXT NOT NULL
    )""",
    # Only station entries are looked up by target (Station.history): a partial index keeps the
    # hundreds of thousands of entries of a national division import out of it.
    "CREATE INDEX IF NOT EXISTS audit_station ON audit (target, seq) WHERE kind = 'station'",
    # Division entries (a national import makes hundreds of thousands) go `batch_size` at a time into
    # one row: `entries` is their `pack_entries` value, entry i has seq `first + i`. (Stores written
    # before schema 3 keep their division entries in `audit`, read as before.)
    # The latest edition of the division table applied to each province (spec §6; schema 4).
    """CREATE TABLE IF NOT EXISTS editions (
        province TEXT PRIMARY KEY NOT NULL,
        day TEXT NOT NULL,
        digest TEXT NOT NULL
    )""",
    # The dated name history of a division renamed by an edition (spec §6; schema 4): `valid_from`
    # is an ISO date, or '' for "from the start".
    """CREATE TABLE IF NOT EXISTS division_names (
        code TEXT NOT NULL,
        valid_from TEXT NOT NULL,
        name TEXT NOT NULL,
        PRIMARY KEY (code, valid_from)
    )""",
    # Successor links of retired divisions (spec §6; schema 4), in the order the admin gave them.
    """CREATE TABLE IF NOT EXISTS division_successors (
        old_code TEXT NOT NULL,
        position INTEGER NOT NULL,
        new_code TEXT NOT NULL,
        PRIMARY KEY (old_code, position)
    )""",
    "CREATE INDEX IF NOT EXISTS division_predecessors ON division_successors (new_code)",
    # The placement history of a station moved by an edition (spec §6; schema 5): one row per
    # placement, `from_`/`to_` ISO dates or NULL (unbounded). A station without rows always sat in its
    # `division_code`.
    """CREATE TABLE IF NOT EXISTS station_placements (
        station_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        division_code TEXT NOT NULL,
        from_ TEXT,
        to_ TEXT,
        PRIMARY KEY (station_id, position)
    )""",
    # The reporting history of a station whose line an edition changed (spec §6; schema 6): one row
    # per line, `parent_id` NULL for "nobody", `from_`/`to_` as for placements. A station without
    # rows always reported to its `parent_id`.
    """CREATE TABLE IF NOT EXISTS station_reporting_lines (
        station_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        parent_id TEXT,
        from_ TEXT,
        to_ TEXT,
        PRIMARY KEY (station_id, position)
    )""",
    """CREATE TABLE IF NOT EXISTS audit_batches (
        first INTEGER PRIMARY KEY NOT NULL,
        version INTEGER NOT NULL,
        count INTEGER NOT NULL,
        entries BLOB NOT NULL
    )""",
)

DIVISION_VALIDITY: tuple[tuple[str, str], ...] = (
    ("valid_from", "ALTER TABLE divisions ADD COLUMN valid_from TEXT"),
    ("valid_to", "ALTER TABLE divisions ADD COLUMN valid_to TEXT"),
)
"""Schema 4's columns of `divisions` (ISO dates, NULL: unbounded), each with the statement adding it."""
DIVISION_COLUMNS_SQL = "code, name, level, parent_code, valid_from, valid_to"
UPSERT_DIVISION = f"""
    INSERT INTO divisions ({DIVISION_COLUMNS_SQL}, changed_in) VALUES (?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (code) DO UPDATE SET
        name = excluded.name, level = excluded.level, parent_code = excluded.parent_code,
        valid_from = excluded.valid_from, valid_to = excluded.valid_to,
        changed_in = excluded.changed_in
"""
# A station row: `STORED_STATION_COLUMNS` (the station fields, then its version), then `changed_in`.
STATION_COLUMNS_SQL = ", ".join(STORED_STATION_COLUMNS)
UPSERT_STATION = f"""
    INSERT INTO stations ({STATION_COLUMNS_SQL}, changed_in)
    VALUES ({", ".join("?" * (len(STORED_STATION_COLUMNS) + 1))})
    ON CONFLICT (id) DO UPDATE SET
        {", ".join(f"{column} = excluded.{column}" for column in (*STORED_STATION_COLUMNS[1:], "changed_in"))}
"""
INSERT_AUDIT_WRITE = (
    f"INSERT INTO audit_writes ({', '.join(AUDIT_WRITE_COLUMNS)}) VALUES ({marks(AUDIT_WRITE_COLUMNS)})"
)
INSERT_AUDIT = f"INSERT INTO audit ({', '.join(AUDIT_ENTRY_COLUMNS)}) VALUES ({marks(AUDIT_ENTRY_COLUMNS)})"
DIVISIONS_WITHOUT_PARENT = """
    SELECT d.code, d.parent_code FROM divisions AS d
    WHERE d.changed_in = ? AND d.parent_code IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM divisions AS p WHERE p.code = d.parent_code)
    ORDER BY d.code LIMIT 5
"""
STATIONS_WITHOUT_DIVISION = """
    SELECT s.id, s.division_code FROM stations AS s
    WHERE s.changed_in = ?
      AND NOT EXISTS (SELECT 1 FROM divisions AS d WHERE d.code = s.division_code)
    ORDER BY s.id LIMIT 5
"""
STATIONS_WITHOUT_PARENT = """
    SELECT s.id, s.parent_id FROM stations AS s
    WHERE s.changed_in = ? AND s.parent_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM stations AS p WHERE p.id = s.parent_id)
    ORDER BY s.id LIMIT 5
"""


def path_from_url(url: str) -> Path:
    """The database file a `sqlite:///PATH` URL names (PATH relative to the working directory, or
    absolute as in `sqlite:////var/lib/graph-service.db`); raise `StoreError` for anything else."""
    if not url.lower().startswith(URL_PREFIX):
        raise StoreError(f"not an SQLite store URL: {url!r}; expected sqlite:///PATH")
    rest = url[len(URL_PREFIX) :]
    if not rest:
        raise StoreError(f"the SQLite store URL {url!r} names no file; expected sqlite:///PATH")
    if rest == ":memory:" or rest.startswith("file:") or "mode=memory" in rest:
        raise StoreError(
            f"in-memory SQLite ({url!r}) is not supported: each connection would see its own empty "
            "database; use a file, e.g. sqlite:///graph-service.db"
        )
    if "?" in rest:
        raise StoreError(f"the SQLite store URL {url!r} has query parameters, which are not supported")
    return Path(rest).expanduser()


def ensure_schema(conn: sqlite3.Connection, url: str) -> None:
    """Create the tables and indexes on `conn` (an autocommit connection to the store `url` names) in
    one transaction, unless `PRAGMA user_version` says they exist; refuse a newer schema."""
    (found,) = conn.execute("PRAGMA user_version").fetchone()
    if found == SCHEMA_VERSION:
        return
    if found > SCHEMA_VERSION:
        raise StoreError(
            f"the SQLite store {url} has schema version {found}, newer than this program "
            f"knows ({SCHEMA_VERSION}); upgrade graph-service"
        )
    with write_transaction(conn):
        for statement in SCHEMA:
            conn.execute(statement)
        columns = {row[1] for row in conn.execute("PRAGMA table_info(divisions)")}
        for column, add_column in DIVISION_VALIDITY:
            if column not in columns:
                conn.execute(add_column)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


@contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """One write transaction on `conn` (an autocommit connection): taken at once (`BEGIN IMMEDIATE`),
    committed when the block ends, rolled back when it raises (nothing of it is written)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            with suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise


def read_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key = 'data_version'").fetchone()
    return int(row[0]) if row else 0


def stored_versions(conn: sqlite3.Connection, ids: Sequence[str]) -> Iterable[tuple[str, int]]:
    """The (id, version) of each stored station of `ids`."""
    return conn.execute(f"SELECT id, version FROM stations WHERE id IN ({marks(ids)})", ids)


def division_row(division: Division, version: int) -> tuple[object, ...]:
    """`division` as a row of `UPSERT_DIVISION`, written in data version `version` (dates as ISO text)."""
    valid_from, valid_to = division.valid_from, division.valid_to
    return (
        division.code,
        division.name,
        str(division.level),
        division.parent_code,
        valid_from.isoformat() if valid_from else None,
        valid_to.isoformat() if valid_to else None,
        version,
    )


def station_row(station: Station, version: int) -> list[object]:
    """`station` as a row of `UPSERT_STATION`, written in data version `version`."""
    row = stored_values(station)
    row.append(version)
    return row


DatedRow = tuple[str | None, str | None, str | None]
"""One stored entry of a dated history: its value (division code or parent id), from, to (ISO text)."""


def write_placements(conn: sqlite3.Connection, stations: Sequence[Station]) -> None:
    """Replace the stored placement history and reporting lines of `stations` with theirs (none: no
    rows)."""
    _write_dated(
        conn,
        "station_placements",
        "division_code",
        {s.id: [(p.division_code, p.from_, p.to) for p in s.placements] for s in stations},
    )
    _write_dated(
        conn,
        "station_reporting_lines",
        "parent_id",
        {s.id: [(line.parent_id, line.from_, line.to) for line in s.reporting_lines] for s in stations},
    )


def _write_dated(
    conn: sqlite3.Connection,
    table: str,
    column: str,
    histories: Mapping[str, Sequence[tuple[str | None, date | None, date | None]]],
) -> None:
    """Replace the rows of `table` (a dated history, its value in `column`) of each station in
    `histories` (by id) with its entries, oldest first (none: no rows)."""
    if not any(histories.values()) and not conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone():
        return
    conn.executemany(f"DELETE FROM {table} WHERE station_id = ?", [(sid,) for sid in histories])
    conn.executemany(
        f"INSERT INTO {table} (station_id, position, {column}, from_, to_) VALUES (?, ?, ?, ?, ?)",
        [
            (sid, position, value, _iso(start), _iso(end))
            for sid, history in histories.items()
            for position, (value, start, end) in enumerate(history)
        ],
    )


def read_placements(
    conn: sqlite3.Connection, since: int | None = None, ids: Sequence[str] | None = None
) -> dict[str, tuple[list[DatedRow], list[DatedRow]]]:
    """The stored placement rows and reporting line rows (each: value, from, to) of the stations that
    have either, of those written since data version `since` only (None: of all), or of the stations
    `ids` only."""
    placed = _read_dated(conn, "station_placements", "division_code", since, ids)
    lines = _read_dated(conn, "station_reporting_lines", "parent_id", since, ids)
    return {sid: (placed.get(sid, []), lines.get(sid, [])) for sid in placed.keys() | lines.keys()}


def _read_dated(
    conn: sqlite3.Connection, table: str, column: str, since: int | None, ids: Sequence[str] | None = None
) -> dict[str, list[DatedRow]]:
    """The rows of `table` (a dated history, its value in `column`) of the stations written since
    data version `since` (None: of all), or of the stations `ids`, by station id, oldest first."""
    found: dict[str, list[DatedRow]] = {}
    query = f"SELECT station_id, {column}, from_, to_ FROM {table}"
    if ids is not None:
        rows: Iterable[Any] = (
            row
            for batch in batches(ids, IDS_PER_QUERY)
            for row in conn.execute(
                f"{query} WHERE station_id IN ({marks(batch)}) ORDER BY station_id, position",
                tuple(batch),
            )
        )
    elif since is None:
        rows = conn.execute(f"{query} ORDER BY station_id, position")
    else:
        written = "SELECT id FROM stations WHERE changed_in > ?"
        rows = conn.execute(
            f"{query} WHERE station_id IN ({written}) ORDER BY station_id, position", (since,)
        )
    for station_id, value, start, end in rows:
        found.setdefault(station_id, []).append((value, start, end))
    return found


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def read_successor_links(
    conn: sqlite3.Connection, codes: Sequence[str] | None = None
) -> dict[str, list[str]]:
    """The successors of the retired divisions `codes` (None: of all), each in the admin's order."""
    found: dict[str, list[str]] = {}
    query = "SELECT old_code, new_code FROM division_successors"
    order = " ORDER BY old_code, position"
    if codes is None:
        batches: list[Sequence[str] | None] = [None]
    else:
        batches = [codes[i : i + IDS_PER_QUERY] for i in range(0, len(codes), IDS_PER_QUERY)]
    for batch in batches:
        if batch is None:
            rows = conn.execute(query + order)
        else:
            rows = conn.execute(f"{query} WHERE old_code IN ({marks(batch)}){order}", batch)
        for old_code, new_code in rows:
            found.setdefault(old_code, []).append(new_code)
    return found
