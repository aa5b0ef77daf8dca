"""The embedded store: one SQLite file (standard library `sqlite3`), in WAL mode.

Layout: `divisions`, `stations` (dates as ISO text), `meta` (the data version) and `audit` (the audit
trail: one row per changed row of every write, keyed by `seq`). Every division and station row carries
`changed_in`, the data version of the write that last touched it (indexed, for `changes_since`).
Every write is one `BEGIN IMMEDIATE` transaction, so writers in several processes take turns; it bumps
the data version by one and either commits whole or not at all. A writer waits at most
`LOCK_TIMEOUT_SECONDS` for another one, then gives up (`StoreUnavailable`, nothing written). Reads go
through a connection of their own, so they never wait behind a write waiting for the lock (in WAL mode
readers are not blocked by a writer).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import date
from itertools import islice
from pathlib import Path

from graph_service.adapters.batching import batches, check_batch_size
from graph_service.adapters.rows import (
    AUDIT_ENTRY_COLUMNS,
    AUDIT_WRITE_COLUMNS,
    audit_entry_from_row,
    audit_entry_rows,
    audit_write_row,
    division_from_row,
    iso_date,
    load_division_row,
    load_station_row,
    packed_division_batches,
    station_from_row,
)
from graph_service.domain.audit import (
    DIVISION_KIND,
    STATION_KIND,
    AuditEntry,
    AuditQuery,
    AuditTrail,
    timestamp_from_text,
    timestamp_text,
    unpacked_newest_first,
    within_pattern,
)
from graph_service.domain.model import Division, Station
from graph_service.ports import (
    AUDIT_SEQ_STRIDE,
    DEFAULT_BATCH_SIZE,
    LOCK_TIMEOUT_SECONDS,
    Changes,
    ConflictError,
    Progress,
    SnapshotSink,
    StoreError,
    StoreUnavailable,
)

URL_PREFIX = "sqlite:///"
SCHEMA_VERSION = 3
"""1: divisions, stations, meta; 2: and audit; 3: and audit_batches (every statement of `_SCHEMA` is
idempotent)."""
# Stay well below SQLite's limit on the number of `?` parameters in one statement.
_IDS_PER_QUERY = 500

_SCHEMA: tuple[str, ...] = (
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
    """CREATE TABLE IF NOT EXISTS audit_batches (
        first INTEGER PRIMARY KEY NOT NULL,
        version INTEGER NOT NULL,
        count INTEGER NOT NULL,
        entries BLOB NOT NULL
    )""",
)

_DIVISION_COLUMNS = "code, name, level, parent_code"
_STATION_COLUMNS = (
    "id, name, level, division_code, parent_id, status, opened_on, closed_on, "
    "staff, certified_staff, volunteers, version"
)
_UPSERT_DIVISION = f"""
    INSERT INTO divisions ({_DIVISION_COLUMNS}, changed_in) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (code) DO UPDATE SET
        name = excluded.name, level = excluded.level, parent_code = excluded.parent_code,
        changed_in = excluded.changed_in
"""
_UPSERT_STATION = f"""
    INSERT INTO stations ({_STATION_COLUMNS}, changed_in) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (id) DO UPDATE SET
        name = excluded.name, level = excluded.level, division_code = excluded.division_code,
        parent_id = excluded.parent_id, status = excluded.status, opened_on = excluded.opened_on,
        closed_on = excluded.closed_on, staff = excluded.staff,
        certified_staff = excluded.certified_staff, volunteers = excluded.volunteers,
        version = excluded.version, changed_in = excluded.changed_in
"""
_INSERT_AUDIT_WRITE = (
    f"INSERT INTO audit_writes ({', '.join(AUDIT_WRITE_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(AUDIT_WRITE_COLUMNS))})"
)
_INSERT_AUDIT = (
    f"INSERT INTO audit ({', '.join(AUDIT_ENTRY_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(AUDIT_ENTRY_COLUMNS))})"
)
# An entry joined with its write: (seq, at, actor, role, operation, kind, target, before, after).
_AUDIT_FROM = f"audit AS a JOIN audit_writes AS w ON w.version = a.seq / {AUDIT_SEQ_STRIDE}"
_AUDIT_FIELDS = (
    "a.seq, w.at, w.actor, w.role, coalesce(a.operation, w.operation), a.kind, a.target, a.before, a.after"
)
_DIVISIONS_WITHOUT_PARENT = """
    SELECT d.code, d.parent_code FROM divisions AS d
    WHERE d.changed_in = ? AND d.parent_code IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM divisions AS p WHERE p.code = d.parent_code)
    ORDER BY d.code LIMIT 5
"""
_STATIONS_WITHOUT_DIVISION = """
    SELECT s.id, s.division_code FROM stations AS s
    WHERE s.changed_in = ?
      AND NOT EXISTS (SELECT 1 FROM divisions AS d WHERE d.code = s.division_code)
    ORDER BY s.id LIMIT 5
"""
_STATIONS_WITHOUT_PARENT = """
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
                version = _read_version(conn)
                cursor = conn.execute(f"SELECT {_DIVISION_COLUMNS} FROM divisions")
                while rows := cursor.fetchmany(self.batch_size):
                    for row in rows:
                        load_division_row(sink, row)
                cursor = conn.execute(f"SELECT {_STATION_COLUMNS} FROM stations")
                while rows := cursor.fetchmany(self.batch_size):
                    for row in rows:
                        load_station_row(sink, row, iso_date)
                conn.execute("COMMIT")
                return version
        finally:
            conn.close()

    def data_version(self) -> int:
        """The current data version: 0 for a store never written to."""
        with self._read_lock, self._errors("read the data version"):
            return _read_version(self._read_conn)

    def changes_since(self, version: int) -> Changes:
        """Every division and station whose `changed_in` is above `version`, read in one transaction
        together with the data version they bring the reader to."""
        with self._read_lock, self._errors("read the changes"):
            conn = self._read_conn
            conn.execute("BEGIN")
            try:
                current = _read_version(conn)
                divisions = [
                    division_from_row(row)
                    for row in conn.execute(
                        f"SELECT {_DIVISION_COLUMNS} FROM divisions WHERE changed_in > ?", (version,)
                    )
                ]
                stations = [
                    station_from_row(row, iso_date)
                    for row in conn.execute(
                        f"SELECT {_STATION_COLUMNS} FROM stations WHERE changed_in > ?", (version,)
                    )
                ]
            finally:
                conn.execute("COMMIT")
            return Changes(current, divisions, stations)

    def upsert_divisions(
        self,
        divisions: Sequence[Division],
        *,
        progress: Progress | None = None,
        audit: AuditTrail | None = None,
    ) -> int:
        """Insert or replace `divisions` by code in one transaction; return the new data version.
        `progress` is called with the number of rows written so far after each batch; `audit` is
        recorded in the same transaction.

        Raises `StoreError` (nothing written) when a parent_code names no division, stored or written.
        """
        if not divisions:
            return self.data_version()

        def write(conn: sqlite3.Connection, version: int) -> None:
            written = 0
            for batch in batches(divisions, self.batch_size):
                conn.executemany(
                    _UPSERT_DIVISION,
                    [(d.code, d.name, str(d.level), d.parent_code, version) for d in batch],
                )
                written += len(batch)
                if progress is not None:
                    progress(written)
            missing = conn.execute(_DIVISIONS_WITHOUT_PARENT, (version,)).fetchall()
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
    ) -> int:
        """Insert or replace `stations` by id in one transaction; return the new data version.
        `progress` is called with the number of rows written so far after each batch; `audit` is
        recorded in the same transaction.

        Raises `ConflictError` when a stored version differs from `expected_versions` (checked inside
        the transaction), and `StoreError` when a division_code or parent_id names nothing; in both
        cases nothing is written.
        """
        if not stations:
            return self.data_version()

        def write(conn: sqlite3.Connection, version: int) -> None:
            if expected_versions:
                _check_versions(conn, expected_versions)
            written = 0
            for batch in batches(stations, self.batch_size):
                conn.executemany(_UPSERT_STATION, [_station_row(s, version) for s in batch])
                written += len(batch)
                if progress is not None:
                    progress(written)
            no_division = conn.execute(_STATIONS_WITHOUT_DIVISION, (version,)).fetchall()
            if no_division:
                raise StoreError(
                    "unknown division: "
                    + ", ".join(f"station {sid} sits in {code}" for sid, code in no_division)
                )
            no_parent = conn.execute(_STATIONS_WITHOUT_PARENT, (version,)).fetchall()
            if no_parent:
                raise StoreError(
                    "unknown parent station: "
                    + ", ".join(f"station {sid} reports to {parent}" for sid, parent in no_parent)
                )

        return self._write("upsert stations", write, audit)

    def audit_entries(self, query: AuditQuery) -> list[AuditEntry]:
        """The audit entries `query` selects, newest first: rows of `audit` (walking the `seq` key
        backwards) merged with packed division entries (`audit_batches`, newest batch first, unpacked
        until enough are found). Read in one snapshot on a connection of its own, so a long write (an
        import) does not hold it up (WAL mode)."""
        where, params = _audit_conditions(query, with_cursor=True)
        sql = f"SELECT {_AUDIT_FIELDS} FROM {_AUDIT_FROM}{where} ORDER BY a.seq DESC LIMIT ?"
        with self._reader("read the audit trail") as conn, _snapshot(conn):
            entries = [audit_entry_from_row(row) for row in conn.execute(sql, (*params, query.limit))]
            if query.kind != STATION_KIND:
                packed = islice(_packed_audit_rows(conn, query, with_cursor=True), query.limit)
                entries += packed
        entries.sort(key=lambda entry: entry.seq, reverse=True)
        return entries[: query.limit]

    def count_audit_entries(self, query: AuditQuery) -> int:
        """How many audit entries `query` selects (its cursor and limit aside), read as `audit_entries`."""
        where, params = _audit_conditions(query, with_cursor=False)
        with self._reader("count the audit trail") as conn, _snapshot(conn):
            (count,) = conn.execute(f"SELECT count(*) FROM {_AUDIT_FROM}{where}", params).fetchone()
            if query.kind != STATION_KIND:
                if query.target is None and query.within is None:  # every entry of the batches: no unpacking
                    count += _packed_audit_total(conn, query)
                else:
                    count += sum(1 for _ in _packed_audit_rows(conn, query, with_cursor=False))
            return int(count)

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
            conn = self._conn
            (found,) = conn.execute("PRAGMA user_version").fetchone()
            if found == SCHEMA_VERSION:
                return
            if found > SCHEMA_VERSION:
                raise StoreError(
                    f"the SQLite store {self.url} has schema version {found}, newer than this program "
                    f"knows ({SCHEMA_VERSION}); upgrade graph-service"
                )
            conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in _SCHEMA:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    with suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                raise

    def _write(
        self,
        action: str,
        body: Callable[[sqlite3.Connection, int], None],
        audit: AuditTrail | None = None,
    ) -> int:
        """Run `body(connection, new_version)` in one BEGIN IMMEDIATE transaction that also records
        `audit` and bumps the data version; commit and return the new version, or roll back everything
        and re-raise."""
        with self._lock, self._errors(action):
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                version = _read_version(conn) + 1
                body(conn, version)
                if audit is not None and audit.changes:
                    conn.execute(_INSERT_AUDIT_WRITE, audit_write_row(audit, version))
                    for batch in batches(audit_entry_rows(audit, version), self.batch_size):
                        conn.executemany(_INSERT_AUDIT, batch)
                    conn.executemany(
                        "INSERT INTO audit_batches (first, count, entries, version) VALUES (?, ?, ?, ?)",
                        (
                            (*batch, version)
                            for batch in packed_division_batches(audit, version, self.batch_size)
                        ),
                    )
                conn.execute("UPDATE meta SET value = ? WHERE key = 'data_version'", (version,))
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    with suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                raise
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
            busy = any(word in str(error) for word in ("database is locked", "database is busy"))
            raise (StoreUnavailable if busy else StoreError)(self._describe(error, action)) from error

    def _describe(self, error: sqlite3.Error, action: str) -> str:
        text = str(error)
        where = f"the SQLite store {self.url} ({self.path.resolve()})"
        if "file is not a database" in text:
            return f"{where} could not {action}: the file is not an SQLite database"
        if "unable to open database file" in text:
            return (
                f"{where} could not {action}: the file cannot be opened "
                "(check that its folder exists and is writable)"
            )
        if "database is locked" in text or "database is busy" in text:
            return (
                f"{where} is busy: another process held it locked for more than {self.lock_timeout:g} s, "
                f"so it could not {action}; nothing was written, try again"
            )
        if "readonly" in text:
            return f"{where} could not {action}: the file or its folder is read-only"
        if "closed database" in text:
            return f"{where} could not {action}: the store is closed"
        return f"{where} could not {action}: {text}"


def _read_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key = 'data_version'").fetchone()
    return int(row[0]) if row else 0


def _audit_conditions(query: AuditQuery, *, with_cursor: bool) -> tuple[str, list[object]]:
    """The WHERE clause (empty, or starting with a space) and its parameters for `query`."""
    conditions: list[str] = []
    params: list[object] = []
    if query.target is not None:
        conditions.append("a.target = ?")
        params.append(query.target)
    if query.kind is not None:
        if query.kind not in (STATION_KIND, DIVISION_KIND):
            raise StoreError(f"unknown kind of audit entry: {query.kind!r}")
        conditions.append(f"a.kind = '{query.kind}'")  # a literal, so the partial index applies
    if query.within is not None:
        conditions.append("instr(a.within, ?) > 0")
        params.append(within_pattern(query.within))
    if query.since is not None:
        conditions.append("w.at >= ?")
        params.append(timestamp_text(query.since))
    if with_cursor and query.before_seq is not None:
        conditions.append("a.seq < ?")
        params.append(query.before_seq)
    return (" WHERE " + " AND ".join(conditions) if conditions else ""), params


@contextmanager
def _snapshot(conn: sqlite3.Connection) -> Iterator[None]:
    """One read transaction on `conn` (an autocommit connection): its queries see one snapshot."""
    conn.execute("BEGIN")
    try:
        yield
    finally:
        conn.execute("ROLLBACK")


def _packed_audit_total(conn: sqlite3.Connection, query: AuditQuery) -> int:
    """How many packed division entries the writes `query.since` selects hold."""
    sql = "SELECT coalesce(sum(b.count), 0) FROM audit_batches AS b"
    if query.since is None:
        return int(conn.execute(sql).fetchone()[0])
    sql += " JOIN audit_writes AS w ON w.version = b.version WHERE w.at >= ?"
    return int(conn.execute(sql, (timestamp_text(query.since),)).fetchone()[0])


def _packed_audit_rows(
    conn: sqlite3.Connection, query: AuditQuery, *, with_cursor: bool
) -> Iterator[AuditEntry]:
    """The packed division entries `query` selects (its limit aside), newest first: each batch of the
    writes `since` selects is fetched and unpacked only when reached."""
    sql = (
        "SELECT b.first, b.entries, w.at, w.actor, w.role, w.operation FROM audit_batches AS b "
        "JOIN audit_writes AS w ON w.version = b.version WHERE b.first < ?"
    )
    params: list[object] = [query.before_seq if with_cursor and query.before_seq is not None else 1 << 62]
    if query.since is not None:
        sql += " AND w.at >= ?"
        params.append(timestamp_text(query.since))
    writes: dict[int, tuple[str, str, str, str]] = {}

    def packed() -> Iterator[tuple[int, bytes]]:
        for first, entries, *write in conn.execute(sql + " ORDER BY b.first DESC", params):
            writes[first // AUDIT_SEQ_STRIDE] = tuple(write)
            yield first, entries

    for seq, (operation, target, before, after, _) in unpacked_newest_first(
        packed(), query, with_cursor=with_cursor
    ):
        at, actor, role, write_operation = writes[seq // AUDIT_SEQ_STRIDE]
        yield AuditEntry(
            seq, timestamp_from_text(at), actor, role, operation or write_operation, DIVISION_KIND, target,
            before, after,
        )  # fmt: skip


def _check_versions(conn: sqlite3.Connection, expected: Mapping[str, int | None]) -> None:
    """Raise `ConflictError` listing every station whose stored version is not the expected one."""
    ids = list(expected)
    stored: dict[str, int] = {}
    for chunk in batches(ids, _IDS_PER_QUERY):
        marks = ", ".join("?" * len(chunk))
        stored.update(conn.execute(f"SELECT id, version FROM stations WHERE id IN ({marks})", chunk))
    conflicts = {
        station_id: (want, stored.get(station_id))
        for station_id, want in expected.items()
        if stored.get(station_id) != want
    }
    if conflicts:
        raise ConflictError(conflicts)


def _station_row(station: Station, version: int) -> tuple[object, ...]:
    return (
        station.id,
        station.name,
        str(station.level),
        station.division_code,
        station.parent_id,
        str(station.status),
        _iso(station.opened_on),
        _iso(station.closed_on),
        station.staff,
        station.certified_staff,
        station.volunteers,
        station.version,
        version,
    )


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()
