"""The embedded store: one SQLite file (standard library `sqlite3`), in WAL mode.

Layout: `divisions`, `stations` (dates as ISO text; a station an edition moved also has its placement
history in `station_placements`, one whose reporting line an edition changed its reporting history in
`station_reporting_lines`, spec §6), `meta` (the data version) and `audit` (the audit
trail: one row per changed row of every write, keyed by `seq`). Every division and station row carries
`changed_in`, the data version of the write that last touched it (indexed, for `changes_since`).
Every write is one `BEGIN IMMEDIATE` transaction, so writers in several processes take turns; it bumps
the data version by one and either commits whole or not at all. A writer waits at most
`LOCK_TIMEOUT_SECONDS` in all for another one (in this process or another), then gives up
(`StoreUnavailable`, nothing written). Reads go
through a connection of their own, so they never wait behind a write waiting for the lock (in WAL mode
readers are not blocked by a writer).

The tables and write statements are in `sqlite_schema`, the audit trail in `sqlite_audit`, the
edition history (editions, successor links, name histories) in `sqlite_editions`, the error messages
in `sqlite_errors`.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import partial

from graph_service.adapters.batching import (
    RowsWritten,
    batches,
    check_batch_size,
    check_versions,
    write_in_batches,
)
from graph_service.adapters.rows import (
    division_from_row,
    iso_date,
    load_division_row,
    load_station_row,
    station_from_row,
)
from graph_service.adapters.sqlite_audit import count_audit_entries, read_audit_entries, record_audit
from graph_service.adapters.sqlite_editions import (
    read_editions,
    read_links,
    read_names,
    write_editions,
    write_names,
    write_successors,
)
from graph_service.adapters.sqlite_errors import busy_message, describe, is_busy
from graph_service.adapters.sqlite_schema import (
    DIVISION_COLUMNS_SQL,
    DIVISIONS_WITHOUT_PARENT,
    IDS_PER_QUERY,
    STATION_COLUMNS_SQL,
    STATIONS_WITHOUT_DIVISION,
    STATIONS_WITHOUT_PARENT,
    UPSERT_DIVISION,
    UPSERT_STATION,
    URL_PREFIX,
    division_row,
    ensure_schema,
    path_from_url,
    read_placements,
    read_successor_links,
    read_version,
    station_row,
    stored_versions,
    write_placements,
    write_transaction,
)
from graph_service.domain.audit import AuditEntry, AuditQuery, AuditTrail
from graph_service.domain.editions import AppliedEdition
from graph_service.domain.model import Division, Station
from graph_service.domain.validity import DivisionName
from graph_service.domain.write_basis import StationPlace, WrittenSince
from graph_service.ports import (
    DEFAULT_BATCH_SIZE,
    LOCK_TIMEOUT_SECONDS,
    Changes,
    Progress,
    SnapshotSink,
    StoreError,
    StoreUnavailable,
    WriteBasis,
)

__all__ = ["URL_PREFIX", "SqliteStore", "path_from_url"]


class SqliteStore:
    """A `Store` kept in one SQLite file. Safe to share between threads (a connection and a lock for
    writes, another pair for reads); several processes may open the same file (WAL mode; a writer
    waits up to `lock_timeout` seconds for another, then raises `StoreUnavailable`)."""

    def __init__(
        self, url: str, *, batch_size: int = DEFAULT_BATCH_SIZE, lock_timeout: float = LOCK_TIMEOUT_SECONDS
    ) -> None:
        """Open (creating if needed) the database file `url` names, and its tables."""
        self.url = url
        self.path = path_from_url(url)
        self.batch_size = check_batch_size(batch_size)
        self.lock_timeout = lock_timeout
        self._lock = threading.RLock()
        self._read_lock = threading.RLock()
        if not self.path.parent.is_dir():
            raise StoreError(
                f"cannot open the SQLite store {url}: the folder {self.path.parent} does not exist"
            )
        if self.path.is_dir():
            raise StoreError(f"cannot open the SQLite store {url}: {self.path} is a folder, not a file")
        self._conn = self._connect(setup=True)
        try:
            self._ensure_schema()
            self._read_conn = self._connect(setup=False)
        except BaseException:
            self._conn.close()
            raise

    # --- the Store protocol -----------------------------------------------------------------------

    def load(self, sink: SnapshotSink) -> int:
        """Stream every division, then every station, into `sink` from one read transaction (its own
        connection, so writers are not held up), fetching `batch_size` rows at a time; return the data
        version of that snapshot."""
        conn = self._connect(setup=False)
        try:
            with self._errors("load the network"):
                conn.execute("BEGIN")
                version = read_version(conn)
                cursor = conn.execute(f"SELECT {DIVISION_COLUMNS_SQL} FROM divisions")
                while rows := cursor.fetchmany(self.batch_size):
                    for row in rows:
                        load_division_row(sink, row)
                for old_code, news in read_successor_links(conn).items():
                    sink.add_successors(old_code, news)
                placed = read_placements(conn)
                cursor = conn.execute(f"SELECT {STATION_COLUMNS_SQL} FROM stations")
                while rows := cursor.fetchmany(self.batch_size):
                    for row in rows:
                        history = placed.get(row[0])
                        load_station_row(sink, row if history is None else (*row, *history), iso_date)
                conn.execute("COMMIT")
                return version
        finally:
            conn.close()

    def data_version(self) -> int:
        """The current data version: 0 for a store never written to."""
        with self._read_lock, self._errors("read the data version"):
            return read_version(self._read_conn)

    def changes_since(self, version: int) -> Changes:
        """Every division and station whose `changed_in` is above `version`, read in one transaction
        together with the data version they bring the reader to."""
        with self._read_lock, self._errors("read the changes"):
            conn = self._read_conn
            conn.execute("BEGIN")
            try:
                return read_changes(conn, version)
            finally:
                conn.execute("COMMIT")

    def upsert_divisions(
        self,
        divisions: Sequence[Division],
        *,
        progress: Progress | None = None,
        audit: AuditTrail | None = None,
        editions: Mapping[str, AppliedEdition] | None = None,
        names: Mapping[str, Sequence[DivisionName]] | None = None,
        successors: Mapping[str, Sequence[str]] | None = None,
        stations: Sequence[Station] = (),
        basis: WriteBasis | None = None,
    ) -> int:
        """Insert or replace `divisions` by code in one transaction; return the new data version.
        `progress` is called with the number of rows written so far after each batch; `audit`,
        `editions`, `names`, `successors` and the `stations` an edition moves (with their placement
        history, spec §6) are recorded in the same transaction. `basis` is verified first, inside it
        (`BasisChanged`, nothing written, when another writer broke it).

        Raises `StoreError` (nothing written) when a parent_code names no division, stored or written.
        """
        if not (divisions or editions or names or successors or stations):
            return self.data_version()

        def write(conn: sqlite3.Connection, version: int) -> None:
            _verify(basis, conn, version)
            write_editions(conn, editions or {})
            write_successors(conn, successors or {}, version)
            write_names(conn, names or {})

            def upsert(batch: Sequence[Division]) -> None:
                rows = [division_row(d, version) for d in batch]
                conn.executemany(UPSERT_DIVISION, rows)

            write_in_batches(divisions, self.batch_size, upsert, RowsWritten(progress))
            conn.executemany(UPSERT_STATION, [station_row(s, version) for s in stations])
            write_placements(conn, stations)
            missing = conn.execute(DIVISIONS_WITHOUT_PARENT, (version,)).fetchall()
            if missing:
                raise StoreError(
                    "unknown parent division: "
                    + ", ".join(f"{code} names parent {parent}" for code, parent in missing)
                )

        return self._write("upsert divisions", write, audit)

    def upsert_stations(
        self,
        stations: Sequence[Station],
        expected_versions: Mapping[str, int | None] | None = None,
        *,
        progress: Progress | None = None,
        audit: AuditTrail | None = None,
        basis: WriteBasis | None = None,
    ) -> int:
        """Insert or replace `stations` by id in one transaction; return the new data version.
        `progress` is called with the number of rows written so far after each batch; `audit` is
        recorded in the same transaction; `basis` is verified first, as for divisions.

        Raises `ConflictError` when a stored version differs from `expected_versions` (checked inside
        the transaction), and `StoreError` when a division_code or parent_id names nothing; in both
        cases nothing is written.
        """
        if not stations:
            return self.data_version()

        def write(conn: sqlite3.Connection, version: int) -> None:
            _verify(basis, conn, version)
            if expected_versions:
                check_versions(expected_versions, partial(stored_versions, conn), IDS_PER_QUERY)

            def upsert(batch: Sequence[Station]) -> None:
                conn.executemany(UPSERT_STATION, [station_row(s, version) for s in batch])

            write_in_batches(stations, self.batch_size, upsert, RowsWritten(progress))
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

        return self._write("upsert stations", write, audit)

    def applied_editions(self) -> dict[str, AppliedEdition]:
        """The latest edition applied to each province, from the `editions` table."""
        with self._read_lock, self._errors("read the applied editions"):
            return read_editions(self._read_conn)

    def division_links(self, codes: Sequence[str]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        """The successors and predecessors of `codes`, from `division_successors`."""
        with self._read_lock, self._errors("read the successor links"):
            return read_links(self._read_conn, codes)

    def division_names(self, codes: Sequence[str]) -> dict[str, list[DivisionName]]:
        """The name histories of `codes` that have one, from `division_names`, oldest first."""
        with self._read_lock, self._errors("read the division names"):
            return read_names(self._read_conn, codes)

    def audit_entries(self, query: AuditQuery) -> list[AuditEntry]:
        """The audit entries `query` selects, newest first (see `sqlite_audit.read_audit_entries`), read
        in one snapshot on a connection of its own, so a long write (an import) does not hold it up."""
        with self._reader("read the audit trail") as conn:
            return read_audit_entries(conn, query)

    def count_audit_entries(self, query: AuditQuery) -> int:
        """How many audit entries `query` selects (its cursor and limit aside), read as `audit_entries`."""
        with self._reader("count the audit trail") as conn:
            return count_audit_entries(conn, query)

    def ping(self) -> None:
        """Raise `StoreError` unless the database file answers a trivial query."""
        with self._read_lock, self._errors("answer a ping"):
            self._read_conn.execute("SELECT 1 FROM meta LIMIT 1").fetchall()

    def close(self) -> None:
        """Close the connections (further use raises `StoreError`)."""
        with self._lock, self._read_lock:
            self._conn.close()
            self._read_conn.close()

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SqliteStore({self.url!r})"

    # --- helpers ----------------------------------------------------------------------------------

    def _connect(self, *, setup: bool) -> sqlite3.Connection:
        """A new connection in autocommit mode (transactions are explicit); with `setup`, switch the
        file to WAL mode when it is not yet."""
        with self._errors("open the database"):
            conn = sqlite3.connect(
                self.path, timeout=self.lock_timeout, isolation_level=None, check_same_thread=False
            )
            try:
                if setup:
                    (mode,) = conn.execute("PRAGMA journal_mode").fetchone()
                    if str(mode).lower() != "wal":
                        conn.execute("PRAGMA journal_mode = WAL")
                    conn.execute("PRAGMA synchronous = NORMAL")
            except BaseException:
                conn.close()
                raise
            return conn

    def _ensure_schema(self) -> None:
        """Create the tables and indexes unless `PRAGMA user_version` says they exist (cheap reopen)."""
        with self._lock, self._errors("create the tables"):
            ensure_schema(self._conn, self.url)

    def _write(
        self,
        action: str,
        body: Callable[[sqlite3.Connection, int], None],
        audit: AuditTrail | None = None,
    ) -> int:
        """Run `body(connection, new_version)` in one BEGIN IMMEDIATE transaction that also records
        `audit` and bumps the data version; commit and return the new version, or roll back everything
        and re-raise."""
        deadline = time.monotonic() + self.lock_timeout
        if not self._lock.acquire(timeout=self.lock_timeout):  # another write of this process's
            raise StoreUnavailable(busy_message(self.url, self.path, self.lock_timeout, action))
        try:
            return self._write_locked(action, body, audit, deadline)
        finally:
            self._lock.release()

    def _write_locked(
        self,
        action: str,
        body: Callable[[sqlite3.Connection, int], None],
        audit: AuditTrail | None,
        deadline: float,
    ) -> int:
        """`_write` once this process's other writes are out of the way: wait for other processes'
        write locks only until `deadline` (a `time.monotonic()`), then give up."""
        with self._errors(action):
            conn = self._conn
            conn.execute(f"PRAGMA busy_timeout = {max(0, round((deadline - time.monotonic()) * 1000))}")
            with write_transaction(conn):
                version = read_version(conn) + 1
                body(conn, version)
                if audit is not None and audit.changes:
                    record_audit(conn, audit, version, self.batch_size)
                conn.execute("UPDATE meta SET value = ? WHERE key = 'data_version'", (version,))
            return version

    @contextmanager
    def _reader(self, action: str) -> Iterator[sqlite3.Connection]:
        """A short-lived connection of its own for one read (closed after), errors as `_errors`."""
        conn = self._connect(setup=False)
        try:
            with self._errors(action):
                yield conn
        finally:
            conn.close()

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Turn `sqlite3` errors raised inside into a `StoreError` that says what went wrong where
        (`StoreUnavailable` when another process held the database locked too long)."""
        try:
            yield
        except sqlite3.Error as error:
            message = describe(self.url, self.path, self.lock_timeout, error, action)
            raise (StoreUnavailable if is_busy(error) else StoreError)(message) from error


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
    rows = conn.execute(
        f"SELECT {STATION_COLUMNS_SQL} FROM stations WHERE changed_in > ?", (version,)
    ).fetchall()
    placed = read_placements(conn, [row[0] for row in rows]) if rows else {}
    links = read_successor_links(conn, [d.code for d in divisions]) if divisions else {}
    stations = [
        station_from_row(row if row[0] not in placed else (*row, *placed[row[0]]), iso_date) for row in rows
    ]
    return Changes(current, divisions, stations, links)


def read_written_since(conn: sqlite3.Connection, version: int, ids: Collection[str] | None) -> WrittenSince:
    """The codes of the divisions and the places of the stations (of those `ids` only, unless None)
    whose `changed_in` is above `version`: index reads of four columns at most."""
    codes = [code for (code,) in conn.execute("SELECT code FROM divisions WHERE changed_in > ?", (version,))]
    query = "SELECT id, division_code, parent_id, level FROM stations WHERE changed_in > ?"
    if ids is None:
        return WrittenSince(codes, [StationPlace(*row) for row in conn.execute(query, (version,))])
    places = []
    for batch in batches(sorted(ids), IDS_PER_QUERY):
        marks = ", ".join("?" * len(batch))
        places += [
            StationPlace(*row) for row in conn.execute(f"{query} AND id IN ({marks})", (version, *batch))
        ]
    return WrittenSince(codes, places)


def _verify(basis: WriteBasis | None, conn: sqlite3.Connection, version: int) -> None:
    """Verify `basis` (when given) inside the write transaction that makes data version `version`."""
    if basis is not None:
        basis.verify(version - 1, partial(read_written_since, conn), partial(read_editions, conn))
