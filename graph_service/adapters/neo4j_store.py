"""The Neo4j store, through the official `neo4j` driver (Bolt).

Model (see `neo4j.cypher`, applied idempotently on first use):
`(:Division {code, name, level, changed_in})-[:PART_OF]->(:Division)`,
`(:Station {id, name, level, status, opened_on, closed_on, staff, certified_staff, volunteers, version,
changed_in})-[:SITS_IN]->(:Division)`, `(:Station)-[:REPORTS_TO]->(:Station)` and
`(:Meta {key: 'data', version})`. Dates are Neo4j `Date` values. The audit trail is
`(:AuditWrite {version, at, actor, role, operation})`, one per write; one
`(:AuditEntry {seq, station, before, after, within})` per changed station (`seq` names its write: see
`audit_seq`; `before`/`after` JSON text; `at` ISO text in UTC); and changed divisions in
`(:AuditBatch {version, first, count, entries})` nodes, `batch_size` entries each as one compressed byte
array (`audit_batch_bytes`) (a national import's 670,000 entries as nodes would not fit in one
transaction's memory). All unlinked, created in the transaction of the write they record.

Every write is one explicit transaction whose first statement bumps `Meta.version`: that write lock
makes concurrent writers (in any process) take turns, and makes `load` and `changes_since`, which take
the same lock, see whole writes only (Neo4j reads are read-committed, not snapshots).

Failures: a server that cannot be reached, or a transient error (a deadlock, a lock wait cut short),
raises `StoreUnavailable` after being retried with backoff for up to `RETRY_SECONDS` where that is safe
(every call but `load`, which streams into its sink; a write is retried only when it failed before its
commit, so nothing of it was written). A write first waits at most `lock_timeout` seconds for another
writer (in a short transaction of its own that takes the lock and lets it go), then gives up the same
way; the write itself has a generous transaction timeout (a fixed grace plus an allowance per row).
A connection lost during a commit leaves the outcome unknown: `OutcomeUnknown` says so.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import date
from importlib import resources
from itertools import islice
from typing import Any, TypeVar
from urllib.parse import urlsplit

from neo4j import Driver, GraphDatabase, Transaction
from neo4j.exceptions import (
    AuthError,
    ClientError,
    ConfigurationError,
    DriverError,
    IncompleteCommit,
    Neo4jError,
    ServiceUnavailable,
    SessionExpired,
)

from graph_service.adapters.batching import batches, check_batch_size
from graph_service.adapters.rows import (
    audit_entry_from_row,
    audit_entry_rows,
    audit_write_row,
    division_from_row,
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
    OutcomeUnknown,
    Progress,
    SnapshotSink,
    StoreError,
    StoreUnavailable,
    audit_seq,
)

SCHEMA_RESOURCE = "neo4j.cypher"
URL_SCHEMES = frozenset({"bolt", "neo4j", "bolt+s", "neo4j+s", "bolt+ssc", "neo4j+ssc"})
CONNECTION_TIMEOUT_SECONDS = 10.0
RETRY_SECONDS = 2.0
"""How long a failed call is retried (with backoff from `FIRST_RETRY_DELAY`) before it gives up."""
FIRST_RETRY_DELAY = 0.1
WRITE_GRACE_SECONDS = 30.0
WRITE_SECONDS_PER_ROW = 0.002
"""A write's own allowance per row on top of the grace (15× the rows/s measured on a small box)."""
_TIMED_OUT = ("TransactionTimedOut", "LockAcquisitionTimeout", "LockClientStopped")

T = TypeVar("T")

# Bumps the data version and holds the Meta node's write lock until the transaction ends.
_BUMP_VERSION = """
MERGE (m:Meta {key: 'data'}) ON CREATE SET m.version = 0
SET m.version = m.version + 1
RETURN m.version AS version
"""
# Takes the same lock without changing anything, so no write can interleave with a read.
_LOCK_VERSION = """
MERGE (m:Meta {key: 'data'}) ON CREATE SET m.version = 0
SET m.version = m.version
RETURN m.version AS version
"""
_READ_VERSION = "OPTIONAL MATCH (m:Meta {key: 'data'}) RETURN coalesce(m.version, 0) AS version"

_WRITE_DIVISION_NODES = """
UNWIND $rows AS row
MERGE (d:Division {code: row.code})
SET d.name = row.name, d.level = row.level, d.changed_in = $version
"""
# The far end of a link from a bound node is left without a label on purpose: with a label and a
# predicate on its indexed key, a planner working from stale statistics (e.g. just after a large
# import) may scan that whole index for every row instead of following the node's few links.
_WRITE_DIVISION_LINKS = """
UNWIND $rows AS row
MATCH (d:Division {code: row.code})
OPTIONAL MATCH (d)-[old:PART_OF]->(former)
  WHERE row.parent_code IS NULL OR former.code <> row.parent_code
DELETE old
WITH DISTINCT d, row
OPTIONAL MATCH (p:Division {code: row.parent_code})
FOREACH (_ IN CASE WHEN p IS NULL THEN [] ELSE [1] END | MERGE (d)-[:PART_OF]->(p))
RETURN collect(
  CASE WHEN row.parent_code IS NOT NULL AND p IS NULL
  THEN row.code + ' names parent ' + row.parent_code END
)[..5] AS missing
"""
_WRITE_STATION_NODES = """
UNWIND $rows AS row
MERGE (s:Station {id: row.id})
SET s.name = row.name, s.level = row.level, s.status = row.status,
    s.opened_on = row.opened_on, s.closed_on = row.closed_on,
    s.staff = row.staff, s.certified_staff = row.certified_staff, s.volunteers = row.volunteers,
    s.version = row.version, s.changed_in = $version
"""
_WRITE_STATION_LINKS = """
UNWIND $rows AS row
MATCH (s:Station {id: row.id})
OPTIONAL MATCH (s)-[old_in:SITS_IN]->(former_division)
  WHERE former_division.code <> row.division_code
OPTIONAL MATCH (s)-[old_to:REPORTS_TO]->(former_parent)
  WHERE row.parent_id IS NULL OR former_parent.id <> row.parent_id
DELETE old_in, old_to
WITH DISTINCT s, row
OPTIONAL MATCH (d:Division {code: row.division_code})
OPTIONAL MATCH (p:Station {id: row.parent_id})
FOREACH (_ IN CASE WHEN d IS NULL THEN [] ELSE [1] END | MERGE (s)-[:SITS_IN]->(d))
FOREACH (_ IN CASE WHEN p IS NULL THEN [] ELSE [1] END | MERGE (s)-[:REPORTS_TO]->(p))
RETURN
  collect(CASE WHEN d IS NULL THEN 'station ' + row.id + ' sits in ' + row.division_code END)[..5]
    AS no_division,
  collect(
    CASE WHEN row.parent_id IS NOT NULL AND p IS NULL
    THEN 'station ' + row.id + ' reports to ' + row.parent_id END
  )[..5] AS no_parent
"""
# The fast path for rows whose key is not stored yet (a first seed, new divisions or stations): one
# statement creates a batch of nodes and links each to its parent, which an earlier statement of the
# write (or an earlier row of the same batch: CREATE before MATCH makes the planner finish the CREATE
# first) has already written, since such rows go parents first. Rows are lists, not maps, which is
# cheaper to send: [code, name, level, parent_code] and [id, name, level, status, opened_on,
# closed_on, staff, certified_staff, volunteers, version, division_code, parent_id].
# Answered from the count store, without reading nodes: on an empty store no key needs looking up.
_COUNT_DIVISIONS = "MATCH (d:Division) RETURN count(d) AS count"
_COUNT_STATIONS = "MATCH (s:Station) RETURN count(s) AS count"
_EXISTING_DIVISIONS = """
UNWIND $keys AS key
MATCH (d:Division {code: key})
RETURN collect(d.code) AS keys
"""
_CREATE_DIVISIONS = """
UNWIND $rows AS row
CREATE (d:Division {code: row[0], name: row[1], level: row[2], changed_in: $version})
WITH d, row
OPTIONAL MATCH (p:Division {code: row[3]})
FOREACH (_ IN CASE WHEN p IS NULL THEN [] ELSE [1] END | CREATE (d)-[:PART_OF]->(p))
RETURN collect(CASE WHEN row[3] IS NOT NULL AND p IS NULL THEN row[0] + ' names parent ' + row[3] END)[..5]
  AS missing
"""
_EXISTING_STATIONS = """
UNWIND $keys AS key
MATCH (s:Station {id: key})
RETURN collect(s.id) AS keys
"""
_CREATE_STATIONS = """
UNWIND $rows AS row
CREATE (s:Station {id: row[0], name: row[1], level: row[2], status: row[3], opened_on: row[4],
                   closed_on: row[5], staff: row[6], certified_staff: row[7], volunteers: row[8],
                   version: row[9], changed_in: $version})
WITH s, row
OPTIONAL MATCH (d:Division {code: row[10]})
OPTIONAL MATCH (p:Station {id: row[11]})
FOREACH (_ IN CASE WHEN d IS NULL THEN [] ELSE [1] END | CREATE (s)-[:SITS_IN]->(d))
FOREACH (_ IN CASE WHEN p IS NULL THEN [] ELSE [1] END | CREATE (s)-[:REPORTS_TO]->(p))
RETURN
  collect(CASE WHEN d IS NULL THEN 'station ' + row[0] + ' sits in ' + row[10] END)[..5] AS no_division,
  collect(
    CASE WHEN row[11] IS NOT NULL AND p IS NULL THEN 'station ' + row[0] + ' reports to ' + row[11] END
  )[..5] AS no_parent
"""
# One write's who, when and operation go once on an AuditWrite node; each changed row is an AuditEntry
# holding only its own values (a national import holds all of them in one transaction's memory). An
# entry carries `operation` only when it differs from its write's. Rows are in AUDIT_WRITE_COLUMNS and
# AUDIT_ENTRY_COLUMNS order; an entry's kind (row[2]) names the property its target goes in.
_CREATE_AUDIT_WRITE = """
CREATE (:AuditWrite {version: $row[0], at: $row[1], actor: $row[2], role: $row[3], operation: $row[4]})
"""
_CREATE_AUDIT = f"""
UNWIND $rows AS row
CREATE (:AuditEntry {{seq: row[0], operation: row[1], {STATION_KIND}: row[3], before: row[4], after: row[5],
                     within: row[6]}})
"""
_AUDIT_WRITE_OF_ENTRY = f"MATCH (w:AuditWrite {{version: a.seq / {AUDIT_SEQ_STRIDE}}})"
_AUDIT_FIELDS = (
    "[a.seq, w.at, w.actor, w.role, coalesce(a.operation, w.operation), "
    f"CASE WHEN a.station IS NULL THEN '{DIVISION_KIND}' ELSE '{STATION_KIND}' END, "
    "coalesce(a.station, a.division), a.before, a.after]"
)
_FIRST_AUDIT_WRITE_SINCE = "MATCH (w:AuditWrite) WHERE w.at >= $since RETURN min(w.version) AS version"
# Division entries (a national import makes 670,000 of them, more than one transaction's memory holds as
# nodes or as lists of strings) are kept `batch_size` at a time in one AuditBatch node: `entries` is the
# zlib-compressed JSON array of the batch's entries (`audit_batch_bytes`); entry i has seq `first + i`.
_CREATE_AUDIT_BATCH = """
CREATE (:AuditBatch {version: $version, first: $first, count: $count, entries: $entries})
"""
_AUDIT_BATCH_ENTRIES = "MATCH (b:AuditBatch {first: $first}) RETURN b.entries AS entries"
_AUDIT_BATCH_SINCE = " MATCH (w:AuditWrite {version: b.version}) WHERE w.at >= $since"
_AUDIT_WRITES = """
MATCH (w:AuditWrite) WHERE w.version IN $versions
RETURN w.version AS version, w.at AS at, w.actor AS actor, w.role AS role, w.operation AS operation
"""
_STORED_VERSIONS = """
UNWIND $ids AS id
MATCH (s:Station {id: id})
RETURN s.id AS id, s.version AS version
"""
# Whole-network reads go page by page in key order (the uniqueness index gives that order for
# free), each page one record holding a list of rows: far cheaper for the Python driver than one
# Bolt message per row.
_DIVISION_PAGE = """
MATCH (d:Division) WHERE d.code > $after
WITH d ORDER BY d.code LIMIT $limit
OPTIONAL MATCH (d)-[:PART_OF]->(p)
RETURN collect([d.code, d.name, d.level, p.code]) AS rows
"""
_STATION_PAGE = """
MATCH (s:Station) WHERE s.id > $after
WITH s ORDER BY s.id LIMIT $limit
OPTIONAL MATCH (s)-[:SITS_IN]->(d)
OPTIONAL MATCH (s)-[:REPORTS_TO]->(p)
RETURN collect([s.id, s.name, s.level, d.code, p.id, s.status, s.opened_on, s.closed_on,
                s.staff, s.certified_staff, s.volunteers, s.version]) AS rows
"""
# Changes are read through the changed_in indexes, in records of `CHANGES_CHUNK` rows each: one Bolt
# message per row would cost the driver seconds for a large import, and one message holding every row
# would hold the GIL while the driver decodes it (the event loop answering requests waits meanwhile).
_DIVISIONS_CHANGED = """
MATCH (d:Division) WHERE d.changed_in > $since
OPTIONAL MATCH (d)-[:PART_OF]->(p)
WITH collect([d.code, d.name, d.level, p.code]) AS rows
UNWIND range(0, size(rows) - 1, $chunk) AS start
RETURN rows[start..start + $chunk] AS rows
"""
_STATIONS_CHANGED = """
MATCH (s:Station) WHERE s.changed_in > $since
OPTIONAL MATCH (s)-[:SITS_IN]->(d)
OPTIONAL MATCH (s)-[:REPORTS_TO]->(p)
WITH collect([s.id, s.name, s.level, d.code, p.id, s.status, s.opened_on, s.closed_on,
              s.staff, s.certified_staff, s.volunteers, s.version]) AS rows
UNWIND range(0, size(rows) - 1, $chunk) AS start
RETURN rows[start..start + $chunk] AS rows
"""
CHANGES_CHUNK = 2_000
"""How many changed rows one record of `changes_since` carries."""


def schema_text() -> str:
    """The Cypher schema file shipped with the package (identical to schema/neo4j.cypher)."""
    return resources.files("graph_service.adapters").joinpath(SCHEMA_RESOURCE).read_text(encoding="utf-8")


def schema_statements(text: str) -> list[str]:
    """Split a Cypher schema file into its statements: `//` comment lines dropped, split on `;`."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("//")]
    return [statement.strip() for statement in "\n".join(lines).split(";") if statement.strip()]


def check_url(url: str) -> None:
    """Raise `StoreError` unless `url` is a Bolt URL with a host (and, if any, a numeric port)."""
    parts = urlsplit(url)
    problem = None
    if parts.scheme.lower() not in URL_SCHEMES:
        problem = "the scheme must be one of " + ", ".join(f"{scheme}://" for scheme in sorted(URL_SCHEMES))
    elif not parts.hostname or " " in parts.netloc:
        problem = "it names no host"
    else:
        try:
            parts.port  # noqa: B018  (parsing the port is the check)
        except ValueError:
            problem = "the port is not a number"
    if problem:
        raise StoreError(f"invalid Neo4j store URL {url!r}: {problem} (expected bolt://HOST:PORT)")


class Neo4jStore:
    """A `Store` in a Neo4j database reached over Bolt. Safe to share between threads.

    `user` and `password` are the credentials (an empty password: no authentication); `database`
    picks a database other than the server's default. `graph_service.bootstrap` passes them from the
    settings (NEO4J_USER, NEO4J_PASSWORD, NEO4J_DATABASE).
    """

    def __init__(
        self,
        url: str,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        lock_timeout: float = LOCK_TIMEOUT_SECONDS,
        user: str = "neo4j",
        password: str = "",
        database: str | None = None,
    ) -> None:
        """Create the driver (cheap: no connection is made until first use)."""
        check_url(url)
        self.url = url
        self.batch_size = check_batch_size(batch_size)
        self.lock_timeout = lock_timeout
        self._user = user
        self._has_password = bool(password)
        self._database = database
        self._schema_ready = False
        self._schema_lock = threading.Lock()
        try:
            self._driver: Driver = GraphDatabase.driver(
                url,
                auth=(self._user, password) if password else None,
                connection_timeout=CONNECTION_TIMEOUT_SECONDS,
                notifications_min_severity="OFF",
            )
        except (ConfigurationError, ValueError) as error:
            raise StoreError(f"invalid Neo4j store URL {url!r}: {error}") from error

    # --- the Store protocol -----------------------------------------------------------------------

    def load(self, sink: SnapshotSink) -> int:
        """Stream every division (with its parent code), then every station (with its division code
        and parent id), into `sink` from one transaction, `batch_size` records at a time; return the
        data version read in that transaction. Writers wait while a load runs (see the module doc)."""
        with self._transaction("load the network") as tx:
            version = _run_version(tx, _LOCK_VERSION)
            for row in self._pages(tx, _DIVISION_PAGE):
                load_division_row(sink, row)
            for row in self._pages(tx, _STATION_PAGE):
                load_station_row(sink, row, _to_date)
            return version

    def data_version(self) -> int:
        """The current data version: 0 for a store never written to."""

        def read() -> int:
            with self._transaction("read the data version") as tx:
                return _run_version(tx, _READ_VERSION)

        return _retrying(read)

    def changes_since(self, version: int) -> Changes:
        """Every division and station whose `changed_in` is above `version`, read in one transaction
        together with the data version they bring the reader to."""

        def read() -> Changes:
            with self._transaction("read the changes") as tx:
                current = _run_version(tx, _LOCK_VERSION)
                chunk = CHANGES_CHUNK
                divisions = [
                    division_from_row(row)
                    for record in tx.run(_DIVISIONS_CHANGED, since=version, chunk=chunk)
                    for row in record[0]
                ]
                stations = [
                    station_from_row(row, _to_date)
                    for record in tx.run(_STATIONS_CHANGED, since=version, chunk=chunk)
                    for row in record[0]
                ]
            return Changes(current, divisions, stations)

        return _retrying(read)

    def upsert_divisions(
        self,
        divisions: Sequence[Division],
        *,
        progress: Progress | None = None,
        audit: AuditTrail | None = None,
    ) -> int:
        """Insert or replace `divisions` by code in one transaction (a parent may come later in the
        sequence than its children); return the new data version.

        Codes not stored yet take a fast path: their nodes are created together with their PART_OF
        links, parents first. The others (stored codes, codes given twice, parent cycles among new
        codes) are merged: all their nodes first, before the new ones, then their links.

        `progress` is called after each batch with the rows written so far, counting a merged row half
        written once its node is and whole once its links are (so it ends at `len(divisions)`).

        `audit` is recorded in the same transaction, in batches after the rows.

        Raises `StoreError` (nothing written) when a parent_code names no division.
        """
        if not divisions:
            return self.data_version()

        def write(tx: Transaction, version: int) -> None:
            stored = self._stored_keys(tx, _COUNT_DIVISIONS, _EXISTING_DIVISIONS, [d.code for d in divisions])
            created, merged = _parents_first(divisions, _division_key, _division_parent, stored)
            report = _HalfSteps(progress)
            for batch in batches(merged, self.batch_size):
                rows = [{"code": d.code, "name": d.name, "level": str(d.level)} for d in batch]
                tx.run(_WRITE_DIVISION_NODES, rows=rows, version=version).consume()
                report.done(len(batch))
            missing: list[str] = []
            for batch in batches(created, self.batch_size):
                new_rows = [[d.code, d.name, str(d.level), d.parent_code] for d in batch]
                record = tx.run(_CREATE_DIVISIONS, rows=new_rows, version=version).single(strict=True)
                missing += record["missing"]
                report.done(2 * len(batch))
            for batch in batches(merged, self.batch_size):
                links = [{"code": d.code, "parent_code": d.parent_code} for d in batch]
                missing += tx.run(_WRITE_DIVISION_LINKS, rows=links).single(strict=True)["missing"]
                report.done(len(batch))
            if missing:
                raise StoreError("unknown parent division: " + ", ".join(missing[:5]))

        return self._write("upsert divisions", write, len(divisions), audit)

    def upsert_stations(
        self,
        stations: Sequence[Station],
        expected_versions: Mapping[str, int | None] | None = None,
        *,
        progress: Progress | None = None,
        audit: AuditTrail | None = None,
    ) -> int:
        """Insert or replace `stations` by id in one transaction, with their SITS_IN and REPORTS_TO
        links (a parent station may come later in the sequence); return the new data version. New ids
        take the fast path of `upsert_divisions`, the others are merged; `progress` and `audit` as there.

        Raises `ConflictError` when a stored version differs from `expected_versions` (checked inside
        the transaction, after taking the write lock), and `StoreError` when a division_code or
        parent_id names nothing; in both cases nothing is written.
        """
        if not stations:
            return self.data_version()

        def write(tx: Transaction, version: int) -> None:
            if expected_versions:
                self._check_versions(tx, expected_versions)
            stored = self._stored_keys(tx, _COUNT_STATIONS, _EXISTING_STATIONS, [s.id for s in stations])
            created, merged = _parents_first(stations, _station_key, _station_parent, stored)
            report = _HalfSteps(progress)
            for batch in batches(merged, self.batch_size):
                rows = [_station_params(s) for s in batch]
                tx.run(_WRITE_STATION_NODES, rows=rows, version=version).consume()
                report.done(len(batch))
            no_division: list[str] = []
            no_parent: list[str] = []
            for batch in batches(created, self.batch_size):
                new_rows = [_station_row(s) for s in batch]
                record = tx.run(_CREATE_STATIONS, rows=new_rows, version=version).single(strict=True)
                no_division += record["no_division"]
                no_parent += record["no_parent"]
                report.done(2 * len(batch))
            for batch in batches(merged, self.batch_size):
                rows = [
                    {"id": s.id, "division_code": s.division_code, "parent_id": s.parent_id} for s in batch
                ]
                record = tx.run(_WRITE_STATION_LINKS, rows=rows).single(strict=True)
                no_division += record["no_division"]
                no_parent += record["no_parent"]
                report.done(len(batch))
            if no_division:
                raise StoreError("unknown division: " + ", ".join(no_division[:5]))
            if no_parent:
                raise StoreError("unknown parent station: " + ", ".join(no_parent[:5]))

        return self._write("upsert stations", write, len(stations), audit)

    def audit_entries(self, query: AuditQuery) -> list[AuditEntry]:
        """The audit entries `query` selects, newest first: station entries (the `seq` index read
        backwards, each joined with its write's node for who, when and the operation) merged with
        division entries (their batches read newest first until enough are found)."""
        with self._transaction("read the audit trail") as tx:
            entries = [] if query.kind == DIVISION_KIND else self._station_audit_entries(tx, query)
            if query.kind != STATION_KIND:
                entries += self._division_audit_entries(tx, query)
            entries.sort(key=lambda entry: entry.seq, reverse=True)
            return entries[: query.limit]

    def count_audit_entries(self, query: AuditQuery) -> int:
        """How many audit entries `query` selects (its cursor and limit aside)."""
        with self._transaction("count the audit trail") as tx:
            count = 0
            if query.kind != DIVISION_KIND:
                selection = _audit_selection(tx, query, with_cursor=False)
                if selection is not None:
                    match, params = selection
                    count += tx.run(f"{match} RETURN count(a) AS count", **params).single(strict=True)[
                        "count"
                    ]
            if query.kind != STATION_KIND:
                if query.target is None and query.within is None:  # every entry of the batches: no unpacking
                    since: dict[str, Any] = (
                        {} if query.since is None else {"since": timestamp_text(query.since)}
                    )
                    count += tx.run(
                        f"MATCH (b:AuditBatch){_AUDIT_BATCH_SINCE if since else ''} "
                        "RETURN coalesce(sum(b.count), 0) AS count",
                        **since,
                    ).single(strict=True)["count"]
                else:
                    count += sum(1 for _ in _division_audit_rows(tx, query, with_cursor=False))
            return int(count)

    def _division_audit_entries(self, tx: Transaction, query: AuditQuery) -> list[AuditEntry]:
        """Up to `query.limit` division entries, newest first: batch by batch, newest batch first."""
        rows = list(islice(_division_audit_rows(tx, query, with_cursor=True), query.limit))
        writes = {
            record["version"]: record
            for record in tx.run(_AUDIT_WRITES, versions=sorted({row[1] for row in rows}))
        }
        return [
            AuditEntry(
                seq=seq,
                at=timestamp_from_text(writes[version]["at"]),
                actor=writes[version]["actor"],
                role=writes[version]["role"],
                operation=operation or writes[version]["operation"],
                kind=DIVISION_KIND,
                target=target,
                before=before,
                after=after,
            )
            for seq, version, (operation, target, before, after, _) in rows
        ]

    def _station_audit_entries(self, tx: Transaction, query: AuditQuery) -> list[AuditEntry]:
        """Up to `query.limit` station entries (AuditEntry nodes), newest first."""
        selection = _audit_selection(tx, query, with_cursor=True)
        if selection is None:
            return []
        match, params = selection
        cypher = (
            f"{match} WITH a, w ORDER BY a.seq DESC LIMIT $limit "
            if query.since is not None
            else f"{match} WITH a ORDER BY a.seq DESC LIMIT $limit {_AUDIT_WRITE_OF_ENTRY} "
        ) + f"RETURN {_AUDIT_FIELDS} AS row ORDER BY a.seq DESC"
        return [audit_entry_from_row(r["row"]) for r in tx.run(cypher, **params, limit=query.limit)]

    def ping(self) -> None:
        """Raise `StoreError` (`StoreUnavailable` when it cannot be reached) unless the server answers
        `RETURN 1`."""

        def ping() -> None:
            with self._errors("answer a ping"), self._driver.session(database=self._database) as session:
                session.run("RETURN 1").consume()

        _retrying(ping)

    def close(self) -> None:
        """Close the driver and its connections."""
        self._driver.close()

    def __enter__(self) -> Neo4jStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Neo4jStore({self.url!r})"

    # --- helpers ----------------------------------------------------------------------------------

    def ensure_schema(self) -> None:
        """Apply the constraints and indexes of `neo4j.cypher` (each IF NOT EXISTS) once per store
        object, and wait for the indexes to come online."""
        if self._schema_ready:
            return
        with self._schema_lock:
            if self._schema_ready:
                return
            with self._errors("apply the schema"), self._driver.session(database=self._database) as session:
                for statement in schema_statements(schema_text()):
                    try:
                        session.run(statement).consume()
                    except ClientError as error:
                        # Another process may create the same rule at the same moment.
                        if "AlreadyExists" not in (error.code or ""):
                            raise
                session.run("CALL db.awaitIndexes(300)").consume()
            self._schema_ready = True

    @contextmanager
    def _transaction(self, action: str, timeout: float | None = None) -> Iterator[Transaction]:
        """One explicit transaction (schema applied first; ended by the server after `timeout`
        seconds when given), committed when the block ends normally and rolled back when it raises;
        driver errors become `StoreError`."""
        self.ensure_schema()
        with (
            self._errors(action),
            self._driver.session(database=self._database, fetch_size=self.batch_size) as session,
        ):
            tx = session.begin_transaction(timeout=timeout)
            try:
                yield tx
                tx.commit()
            except BaseException:
                if not tx.closed():
                    with suppress(Neo4jError, DriverError):
                        tx.rollback()
                raise
            finally:
                tx.close()

    def _write(
        self,
        action: str,
        body: Callable[[Transaction, int], None],
        rows: int,
        audit: AuditTrail | None = None,
    ) -> int:
        """Run `body(tx, new_version)` in one transaction that first bumps the data version (taking
        the write lock) and ends by recording `audit`; return the new version once committed. When
        another writer holds the lock for more than `lock_timeout` seconds, nothing is written
        (`StoreUnavailable`); the write itself may take `WRITE_GRACE_SECONDS` plus
        `WRITE_SECONDS_PER_ROW` for each of its `rows`."""

        def attempt() -> int:
            self._wait_for_lock(action)
            timeout = self.lock_timeout + WRITE_GRACE_SECONDS + rows * WRITE_SECONDS_PER_ROW
            with self._transaction(action, timeout) as tx:
                version = _run_version(tx, _BUMP_VERSION)
                body(tx, version)
                if audit is not None and audit.changes:
                    self._record(tx, audit, version)
            return version

        return _retrying(attempt)

    def _wait_for_lock(self, action: str) -> None:
        """Take the write lock and let it go again, waiting at most `lock_timeout` seconds for it: a
        write about to start behind a long one (another process's import) fails fast instead."""
        self.ensure_schema()
        with self._errors(action), self._driver.session(database=self._database) as session:
            tx = session.begin_transaction(timeout=self.lock_timeout)
            try:
                _run_version(tx, _LOCK_VERSION)
            finally:
                tx.close()  # rolls back: nothing to keep

    def _record(self, tx: Transaction, audit: AuditTrail, version: int) -> None:
        """Record `audit` (the write of data version `version`) in the write's transaction."""
        tx.run(_CREATE_AUDIT_WRITE, row=list(audit_write_row(audit, version))).consume()
        for batch in batches(audit_entry_rows(audit, version), self.batch_size):
            tx.run(_CREATE_AUDIT, rows=batch).consume()
        for first, count, entries in packed_division_batches(audit, version, self.batch_size):
            tx.run(_CREATE_AUDIT_BATCH, version=version, first=first, count=count, entries=entries).consume()

    def _pages(self, tx: Transaction, query: str) -> Iterator[list[Any]]:
        """Run a paging `query` (parameters `after`, `limit`; one record with `rows`, each row's key
        first) until it returns no rows, yielding every row; holds one page in memory at a time."""
        after = ""
        while True:
            rows: list[list[Any]] = tx.run(query, after=after, limit=self.batch_size).single(strict=True)[
                "rows"
            ]
            if not rows:
                return
            yield from rows
            after = max(row[0] for row in rows)

    def _stored_keys(self, tx: Transaction, count_query: str, query: str, keys: list[Any]) -> set[str]:
        """Which of `keys` are stored already: none when `count_query` (one record with `count`)
        counts no node, else asked `batch_size` keys at a time with `query` (parameter `keys`; one
        record with `keys`)."""
        stored: set[str] = set()
        if tx.run(count_query).single(strict=True)["count"] == 0:
            return stored
        wanted = [key for key in keys if isinstance(key, str)]
        for chunk in batches(wanted, self.batch_size):
            stored.update(tx.run(query, keys=list(chunk)).single(strict=True)["keys"])
        return stored

    def _check_versions(self, tx: Transaction, expected: Mapping[str, int | None]) -> None:
        """Raise `ConflictError` listing every station whose stored version is not the expected one."""
        stored: dict[str, int] = {}
        for chunk in batches(list(expected), self.batch_size):
            for record in tx.run(_STORED_VERSIONS, ids=list(chunk)):
                stored[record["id"]] = int(record["version"])
        conflicts = {
            station_id: (want, stored.get(station_id))
            for station_id, want in expected.items()
            if stored.get(station_id) != want
        }
        if conflicts:
            raise ConflictError(conflicts)

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Turn driver errors raised inside into a `StoreError` naming the URL and what failed."""
        try:
            yield
        except StoreError:
            raise
        except AuthError as error:
            if self._has_password:
                hint = f"check NEO4J_USER (now {self._user!r}) and NEO4J_PASSWORD"
            else:
                hint = "it needs a password: set NEO4J_PASSWORD (and NEO4J_USER if not 'neo4j')"
            raise StoreError(
                f"Neo4j at {self.url} refused the credentials ({hint}): {error.message}"
            ) from error
        except IncompleteCommit as error:
            raise OutcomeUnknown(
                f"the connection to Neo4j at {self.url} was lost while committing, so whether it could "
                f"{action} is unknown: {error}"
            ) from error
        except (ServiceUnavailable, SessionExpired) as error:
            raise _Transient(
                f"cannot reach Neo4j at {self.url} to {action}: {error}. Is it running? "
                "(locally: neo4j-local/neo4j-local start); nothing was written, try again"
            ) from error
        except Neo4jError as error:
            if any(name in (error.code or "") for name in _TIMED_OUT):
                raise StoreUnavailable(
                    f"Neo4j at {self.url} is busy: another writer held the lock for more than "
                    f"{self.lock_timeout:g} s, so it could not {action}; nothing was written, try again"
                ) from error
            if error.is_retryable():
                raise _Transient(
                    f"Neo4j at {self.url} could not {action} for now ({error.code}: {error.message}); "
                    "nothing was written, try again"
                ) from error
            raise StoreError(
                f"Neo4j at {self.url} could not {action}: {error.code}: {error.message}"
            ) from error
        except (DriverError, ConfigurationError, OSError) as error:
            raise StoreError(f"Neo4j at {self.url} could not {action}: {error}") from error


class _Transient(StoreUnavailable):
    """A failure worth retrying at once (the server was unreachable, or a transient error): the
    transaction did not commit."""


def _retrying(call: Callable[[], T]) -> T:
    """`call()`, tried again with doubling delays while it fails with `_Transient`, for up to
    `RETRY_SECONDS`; then its last error. Only for calls that write nothing unless they succeed."""
    deadline = time.monotonic() + RETRY_SECONDS
    delay = FIRST_RETRY_DELAY
    while True:
        try:
            return call()
        except _Transient:
            if time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay *= 2


def _run_version(tx: Transaction, query: str) -> int:
    """Run a query that returns the data version as `version`, and return it."""
    version = tx.run(query).single(strict=True)["version"]
    if not isinstance(version, int):
        raise StoreError(
            f"the data version on the Meta node is {version!r}, not a number "
            "(was the database wiped while this ran?)"
        )
    return version


def _division_audit_rows(
    tx: Transaction, query: AuditQuery, *, with_cursor: bool
) -> Iterator[tuple[int, int, list[Any]]]:
    """The division entries `query` selects (its limit aside), newest first, as (seq, write version,
    unpacked entry): the AuditBatch nodes of the writes `since` selects are read newest first, one at a
    time."""
    upper = query.before_seq if with_cursor and query.before_seq is not None else 1 << 62
    since_join = ""
    params: dict[str, Any] = {}
    if query.since is not None:
        since_join, params = _AUDIT_BATCH_SINCE, {"since": timestamp_text(query.since)}
    found = tx.run(
        f"MATCH (b:AuditBatch) WHERE b.first < $upper{since_join} "
        "RETURN b.first AS first ORDER BY first DESC",
        upper=upper,
        **params,
    ).value("first")

    def packed() -> Iterator[tuple[int, bytes]]:
        for first in found:
            record = tx.run(_AUDIT_BATCH_ENTRIES, first=first).single(strict=True)
            yield first, bytes(record["entries"])

    for seq, entry in unpacked_newest_first(packed(), query, with_cursor=with_cursor):
        yield seq, seq // AUDIT_SEQ_STRIDE, entry


def _audit_selection(
    tx: Transaction, query: AuditQuery, *, with_cursor: bool
) -> tuple[str, dict[str, Any]] | None:
    """The MATCH of the entries `query` selects (`a`; with `since`, also their write `w`) and its
    parameters; None when nothing can match (no write at or after `since`)."""
    conditions: list[str] = []
    params: dict[str, Any] = {}
    joined = ""
    if query.since is not None:
        since = timestamp_text(query.since)
        first = tx.run(_FIRST_AUDIT_WRITE_SINCE, since=since).single(strict=True)["version"]
        if first is None:
            return None
        # Writes are numbered in commit order; `at` is taken as a write starts, so the join checks it.
        conditions.append("a.seq >= $since_seq")
        params.update(since_seq=audit_seq(first, 0), since=since)
        joined = f" {_AUDIT_WRITE_OF_ENTRY} WHERE w.at >= $since"
    where, more = _audit_conditions(query, with_cursor=with_cursor, extra=conditions)
    return f"MATCH (a:AuditEntry){where}{joined}", {**params, **more}


def _audit_conditions(
    query: AuditQuery, *, with_cursor: bool, extra: list[str]
) -> tuple[str, dict[str, Any]]:
    """The WHERE clause (empty, or starting with a space) on `a` and its parameters for `query`
    (its `since` aside), with the `extra` conditions."""
    conditions: list[str] = list(extra)
    params: dict[str, Any] = {}
    if query.kind is not None and query.kind not in (STATION_KIND, DIVISION_KIND):
        raise StoreError(f"unknown kind of audit entry: {query.kind!r}")
    if query.target is not None:
        key = f"a.{query.kind}" if query.kind is not None else "coalesce(a.station, a.division)"
        conditions.append(f"{key} = $target")
        params["target"] = query.target
    elif query.kind is not None:
        conditions.append(f"a.{query.kind} IS NOT NULL")
    if query.within is not None:
        conditions.append("a.within CONTAINS $within")
        params["within"] = within_pattern(query.within)
    if with_cursor and query.before_seq is not None:
        conditions.append("a.seq < $before_seq")
        params["before_seq"] = query.before_seq
    elif with_cursor and not extra:
        # A condition on the indexed key lets the planner read the index backwards for ORDER BY.
        conditions.append("a.seq >= 0")
    return (" WHERE " + " AND ".join(conditions) if conditions else ""), params


class _HalfSteps:
    """Reports progress for a write whose merged rows take two passes (nodes, then links), each pass
    over a row counting as half a row written, and whose created rows take one (two halves)."""

    def __init__(self, progress: Progress | None) -> None:
        self._progress = progress
        self._halves = 0

    def done(self, rows: int) -> None:
        """Count one pass over `rows` more rows and report the rows written so far."""
        self._halves += rows
        if self._progress is not None:
            self._progress(self._halves // 2)


def _parents_first(
    items: Sequence[T], key: Callable[[T], Any], parent: Callable[[T], Any], stored: set[str]
) -> tuple[list[T], list[T]]:
    """Split rows to write into (created, merged).

    Created rows can simply be created: their key is a string, given once and not in `stored`; they
    are ordered so that a row's parent, when it is created too, comes before it (by depth among the
    created rows, stably; rows already in such an order keep it). Merged rows are the others (stored
    keys, keys given more than once or not strings, members of a parent cycle among new keys), in
    their given order; they are written before the created rows, so a created row may have a merged
    parent.
    """
    keys = [key(item) for item in items]
    fresh = dict(zip(keys, items, strict=True))
    if len(fresh) < len(items) or stored or not all(isinstance(k, str) for k in fresh):
        counts = Counter(keys)
        fresh = {
            k: item
            for k, item in zip(keys, items, strict=True)
            if isinstance(k, str) and counts[k] == 1 and k not in stored
        }
    position = {k: index for index, k in enumerate(fresh)}
    if all(position.get(parent(item), -1) < index for index, item in enumerate(fresh.values())):
        created = list(fresh.values())
    else:
        created = _by_depth(fresh, parent)
    if len(created) == len(items):
        return created, []
    chosen = {key(item) for item in created}
    return created, [item for k, item in zip(keys, items, strict=True) if k not in chosen]


def _by_depth(fresh: dict[str, T], parent: Callable[[T], Any]) -> list[T]:
    """The rows of `fresh` (by key) that are on no parent cycle among them, each after its parent
    when that is in `fresh` too: sorted stably by depth among `fresh`."""
    depth: dict[str, int | None] = {}  # None: on a parent cycle
    for start in fresh:
        path: list[str] = []
        on_path: set[str] = set()
        current = start
        while current in fresh and current not in depth:
            if current in on_path:
                cycle = path.index(current)
                for member in path[cycle:]:
                    depth[member] = None
                del path[cycle:]
                break
            path.append(current)
            on_path.add(current)
            current = parent(fresh[current])
        above = depth.get(current) if current in fresh else None
        level = 0 if above is None else above + 1
        for member in reversed(path):
            depth[member] = level
            level += 1
    ordered = sorted((d, index, k) for index, (k, d) in enumerate(depth.items()) if d is not None)
    return [fresh[k] for _, _, k in ordered]


def _division_key(division: Division) -> Any:
    return division.code


def _division_parent(division: Division) -> Any:
    return division.parent_code


def _station_key(station: Station) -> Any:
    return station.id


def _station_parent(station: Station) -> Any:
    return station.parent_id


def _station_row(station: Station) -> list[Any]:
    """A station as a row of `_CREATE_STATIONS`."""
    return [
        station.id,
        station.name,
        str(station.level),
        str(station.status),
        station.opened_on,
        station.closed_on,
        station.staff,
        station.certified_staff,
        station.volunteers,
        station.version,
        station.division_code,
        station.parent_id,
    ]


def _station_params(station: Station) -> dict[str, Any]:
    return {
        "id": station.id,
        "name": station.name,
        "level": str(station.level),
        "status": str(station.status),
        "opened_on": station.opened_on,
        "closed_on": station.closed_on,
        "staff": station.staff,
        "certified_staff": station.certified_staff,
        "volunteers": station.volunteers,
        "version": station.version,
    }


def _to_date(value: Any) -> date | None:
    """A stored date (a Neo4j Date, or ISO text written by hand) as a `datetime.date`."""
    if value is None:
        return None
    if isinstance(value, str):
        return date.fromisoformat(value)
    native = value.to_native()
    assert isinstance(native, date)
    return native
