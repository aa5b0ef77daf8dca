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

This module is the `Store` facade over the others: the tables and write statements are in
`sqlite_schema`, the division and station writes in `sqlite_writes`, the reads of the network (the
whole of it, what was written since a version) in `sqlite_reads`, the audit trail in `sqlite_audit`,
the edition history (editions, successor links, name histories) in `sqlite_editions`, the error
messages in `sqlite_errors`.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import partial

from graph_service.adapters.batching import check_batch_size
from graph_service.adapters.sqlite_audit import count_audit_entries, read_audit_entries, record_audit
from graph_service.adapters.sqlite_editions import read_editions, read_links, read_names
from graph_service.adapters.sqlite_errors import busy_message, describe, is_busy
from graph_service.adapters.sqlite_reads import (
    load_part,
    load_snapshot,
    read_changes,
    station_totals,
    verify_basis,
)
from graph_service.adapters.sqlite_schema import (
    URL_PREFIX,
    ensure_schema,
    path_from_url,
    read_version,
    write_transaction,
)
from graph_service.adapters.sqlite_writes import write_divisions, write_stations
from graph_service.domain.audit import AuditEntry, AuditQuery, AuditTrail
from graph_service.domain.editions import AppliedEdition
from graph_service.domain.model import Division, Station
from graph_service.domain.validity import DivisionName
from graph_service.ports import (
    DEFAULT_BATCH_SIZE,
    LOCK_TIMEOUT_SECONDS,
    Changes,
    Progress,
    SnapshotSink,
    StationTotals,
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
                return load_snapshot(conn, sink, self.batch_size)
        finally:
            conn.close()

    def load_part(
        self,
        sink: SnapshotSink,
        *,
        station_ids: Collection[str] = (),
        reporting_to: Collection[str] = (),
        division_codes: Collection[str] = (),
    ) -> None:
        """Give `sink` the stations `station_ids`, those reporting to `reporting_to` and the divisions
        `division_codes` with every division above them (`Store.load_part`), from one read transaction."""
        with self._read_lock, self._errors("read part of the network"):
            load_part(self._read_conn, sink, station_ids, reporting_to, division_codes)

    def station_totals(self) -> StationTotals:
        """The upper bound of every roll-up total over the whole stored network (`Store.station_totals`)."""
        with self._read_lock, self._errors("read the stations' totals"):
            return station_totals(self._read_conn)

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

        write = partial(
            write_divisions,
            divisions=divisions,
            batch_size=self.batch_size,
            progress=progress,
            editions=editions,
            names=names,
            successors=successors,
            stations=stations,
        )
        return self._write("upsert divisions", write, audit, basis)

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

        write = partial(
            write_stations,
            stations=stations,
            expected_versions=expected_versions,
            batch_size=self.batch_size,
            progress=progress,
        )
        return self._write("upsert stations", write, audit, basis)

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

    def warm_up(self) -> None:
        """Nothing to do: SQLite prepares a statement in a few microseconds, and no lock is held meanwhile."""

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
        basis: WriteBasis | None = None,
    ) -> int:
        """Run `body(connection, new_version)` in one BEGIN IMMEDIATE transaction that first verifies
        `basis` (`BasisChanged` when another writer broke it), then records `audit` and bumps the data
        version; commit and return the new version, or roll back everything and re-raise."""
        deadline = time.monotonic() + self.lock_timeout
        if not self._lock.acquire(timeout=self.lock_timeout):  # another write of this process's
            raise StoreUnavailable(busy_message(self.url, self.path, self.lock_timeout, action))
        try:
            return self._write_locked(action, body, audit, basis, deadline)
        finally:
            self._lock.release()

    def _write_locked(
        self,
        action: str,
        body: Callable[[sqlite3.Connection, int], None],
        audit: AuditTrail | None,
        basis: WriteBasis | None,
        deadline: float,
    ) -> int:
        """`_write` once this process's other writes are out of the way: wait for other processes'
        write locks only until `deadline` (a `time.monotonic()`), then give up."""
        with self._errors(action):
            conn = self._conn
            conn.execute(f"PRAGMA busy_timeout = {max(0, round((deadline - time.monotonic()) * 1000))}")
            with write_transaction(conn):
                version = read_version(conn) + 1
                verify_basis(basis, conn, version)
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
