"""The Neo4j store, through the official `neo4j` driver (Bolt).

Model (see `neo4j.cypher`, applied idempotently on first use):
`(:Division {code, name, level, valid_from, valid_to, changed_in})-[:PART_OF]->(:Division)`,
`(:Station {id, name, level, status, opened_on, closed_on, staff, certified_staff, volunteers, version,
changed_in})-[:SITS_IN]->(:Division)`, `(:Station)-[:REPORTS_TO]->(:Station)` and
`(:Meta {key: 'data', version})`. A station an edition moved (spec §6) has one `SITS_IN {from, to}`
per placement of its history, the current one without `to`; any other station one `SITS_IN` without
dates. Likewise a station whose reporting line an edition changed has one `REPORTS_TO {from, to}` per
line to a station (a line to nobody has no link), the current one without `to`. A station with a
negative `changed_in` (a token) was written by a large write, in the version of its token's
`(:PublishedWrite {token, version})` node, or is not published yet while there is none (see below).
Successor links are `(:Division)-[:SUCCEEDED_BY {position}]->(:Division)`. Dates are Neo4j `Date`
values. The audit trail is `(:AuditWrite {version, at, actor, role, operation})`, one per write; one
`(:AuditEntry {seq, station, before, after, within})` per changed station (`seq` names its write: see
`audit_seq`; `before`/`after` JSON text; `at` ISO text in UTC); and changed divisions in
`(:AuditBatch {version, first, count, entries, kind, low, high, targets})` nodes, `batch_size` entries
each as one compressed byte array (`pack_entries`) (a national import's 670,000 entries as nodes would
not fit in one transaction's memory), as are the changed stations of a write of
`PACKED_STATION_ENTRIES` or more (`neo4j_audit`: as nodes they doubled the end of a large import's
transaction, which holds the write lock). All unlinked, created in the transaction of the write they record.

Every write is one explicit transaction that bumps `Meta.version`: that write lock makes concurrent
writers (in any process) take turns, and makes `load` and `changes_since`, which take the same lock,
see whole writes only (Neo4j reads are read-committed, not snapshots; both hold it only briefly,
reading the bulk of the rows without it, see there). Most writes take it with their
first statement. A large station write (an import of `LATE_LOCK_ROWS` stations or more) takes it
with its last statements instead, so other writers and readers are not held for the whole import,
only for its end, and commits most of its rows before that end:
1. it commits a `(:PendingWrite {token, until})` node for a pending token (negative: never a data
   version), checks that its new stations are not stored, and creates them with the token in
   `changed_in`, committing them a batch at a time (in one transaction, the commit of 50,000 kept
   Neo4j busy on both cores for 1.6-1.9 s): rows of a token not published are hidden from every read
   (`STATION_PAGE` leaves them out; the other reads ask for versions above one, or for the tokens
   published in them), but their ids are taken (another write of one conflicts);
2. in the locked transaction, it locks the stored stations it replaces and checks their expected
   versions (`LOCKED_VERSIONS`), rewrites them with the same token, then bumps the version and
   publishes the token's rows by making the PendingWrite node a PublishedWrite node with the version,
   not by giving it to each row (`PUBLISH_STATIONS`: one node, where giving it to 50,000 rows held the
   lock 0.4 s more, idle), verifies its basis, records the audit trail and commits. The rows keep the
   token: reads take their version from its node (`PUBLISHED_STATION`, `CURRENT_STATION`,
   `PUBLISHED_TOKENS`).
If the write fails once its PendingWrite node is committed (before or in its locked transaction), it
deletes its hidden rows (`DISCARD_PENDING`), without waiting for the lock; if it cannot (the process or
Neo4j died, or its locked commit was cut off, so it may have published them), the next large write or
load does once the PendingWrite's `until` has passed (never once it is published).
Both take the PendingWrite node's lock before touching a station, so a write past its time and the
discarding of its rows take turns; a write that finds its PendingWrite gone, or fewer rows of its
token than it wrote, when it comes to publish gives up (`StoreUnavailable`). Rows it writes stay
locked row by row until it commits. It also keeps its stations packed in one value on a
`(:PackedStations {version, stations})` node (the newest `PACKS_KEPT` others are kept), which other
processes catching up with it read instead of its rows (`read_changes`).

Failures: a server that cannot be reached, or a transient error (a deadlock, a lock wait cut short),
raises `StoreUnavailable` after being retried with backoff for up to `RETRY_SECONDS` where that is safe
(every call but `load`, which streams into its sink; a write is retried only when it failed before its
commit, so nothing of it was written). A write first waits at most `lock_timeout` seconds for another
writer (in a short transaction of its own that takes the lock and lets it go), then gives up the same
way; the write itself has a generous transaction timeout (a fixed grace plus an allowance per row).
A connection lost during a commit leaves the outcome unknown: `OutcomeUnknown` says so.

This module is the `Store` facade over the others: the statements are in `neo4j_cypher`, error
translation and retries in `neo4j_connection`, the driver, the transactions and the write protocol
above in `neo4j_transactions`, the reads of what was written since a version (`changes_since`, a
write's basis) in `neo4j_reads`, the audit trail in `neo4j_audit`, row ordering and encoding in
`neo4j_rows`, the division and station writes in `neo4j_writes`, the edition history (editions,
names, successors, placements, reporting lines) in `neo4j_editions`.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from contextlib import suppress
from functools import partial

from neo4j import Transaction

from graph_service.adapters.batching import (
    batches,
    check_batch_size,
    check_versions,
)
from graph_service.adapters.neo4j_audit import count_audit_entries, read_audit_entries
from graph_service.adapters.neo4j_connection import (
    Transient,
    check_url,
    checked_version,
    retrying,
    run_version,
    schema_statements,
    schema_text,
)
from graph_service.adapters.neo4j_cypher import (
    ALL_SUCCESSORS,
    COUNT_STATIONS,
    DIVISION_PAGE,
    DIVISIONS_WITH_ANCESTORS,
    EXISTING_STATIONS,
    FEW_CHANGES_LOCKED,
    LOCK_VERSION,
    PUBLISH_STATIONS,
    READ_VERSION,
    STATION_PAGE,
    STATION_TOTALS,
    STATIONS_BY_ID,
    STATIONS_REPORTING_TO,
    WRITE_PACKED_STATIONS,
)
from graph_service.adapters.neo4j_editions import (
    read_editions,
    read_links,
    read_names,
    write_editions,
    write_names,
    write_successors,
)
from graph_service.adapters.neo4j_reads import few_changes, load_written_since, read_changes
from graph_service.adapters.neo4j_rows import (
    pack_stations,
    pages,
    parents_first,
    station_key,
    station_parent,
    stored_keys,
    stored_versions,
    to_date,
)
from graph_service.adapters.neo4j_transactions import InTransaction, LateLock, Neo4jTransactions
from graph_service.adapters.neo4j_warm_up import BEYOND, rehearse_large_read, rehearse_writes
from graph_service.adapters.neo4j_writes import write_divisions, write_stations
from graph_service.adapters.rows import load_division_row, load_station_row
from graph_service.domain.audit import AuditEntry, AuditQuery, AuditTrail
from graph_service.domain.editions import AppliedEdition
from graph_service.domain.model import Division, Station
from graph_service.domain.station_fields import COUNT_COLUMNS
from graph_service.domain.validity import DivisionName
from graph_service.ports import (
    DEFAULT_BATCH_SIZE,
    LOCK_TIMEOUT_SECONDS,
    Changes,
    Progress,
    SnapshotSink,
    StationTotals,
    StoreUnavailable,
    WriteBasis,
)

__all__ = ["Neo4jStore", "Transient", "check_url", "retrying", "schema_statements", "schema_text"]

WARM_UP_SECONDS = 60.0
"""How long Neo4j may take to plan the statements `warm_up` rehearses."""
WARM_UP_LOCK_SECONDS = 1.0
"""How long `warm_up`'s small catch-up waits for the write lock (given up after that: Neo4j has planned
it by then, which is all the warm-up is for)."""
LOCKED_READ_ROWS = 2_000
"""`changes_since` reads up to this many changed rows in one statement under the write lock (a few
writes' catch-up, and a packed import's, whose stations come from its pack and do not count: one
round trip); more are read without it (another process's unpacked import)."""
LATE_LOCK_ROWS = 1_000
"""A station write of this many rows or more takes the version lock last (its expected versions are
checked once it holds each station's own lock), and keeps its stations packed beside their rows too
(`pack_stations`: unless one has a placement or reporting history) for catch-ups to read at once."""
PACKS_KEPT = 3
"""How many earlier writes' packed stations a large station write leaves in the store (the newest)."""


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
        self._transactions = Neo4jTransactions(
            url,
            batch_size=self.batch_size,
            lock_timeout=lock_timeout,
            user=user,
            password=password,
            database=database,
        )

    # --- the Store protocol -----------------------------------------------------------------------

    def load(self, sink: SnapshotSink) -> int:
        """Stream every division (with its parent code), then every station (with its division code
        and parent id), into `sink`, `batch_size` records at a time; return the data version they
        are as of. Writers are held back only briefly, as `changes_since` does: the version `upto` is
        read under the write lock (every write up to it has committed), the rows last written up to
        it are read without the lock, then, under the lock again, the rows written meanwhile are
        given again as they now are, in place of what was given of them (`SnapshotSink.forget`)."""
        self._transactions.discard_pending("load the network")  # rows of writes that died
        with self._transactions.transaction("load the network") as tx:
            upto = run_version(tx, LOCK_VERSION)
        with self._transactions.transaction("load the network") as tx:
            for row in pages(tx, DIVISION_PAGE, self.batch_size, upto):
                load_division_row(sink, row, to_date)
            for record in tx.run(ALL_SUCCESSORS):
                sink.add_successors(record["code"], list(record["others"]))
            for row in pages(tx, STATION_PAGE, self.batch_size, upto):
                load_station_row(sink, row, to_date)
        with self._transactions.transaction("load the network") as tx:
            current = run_version(tx, LOCK_VERSION)
            if current != upto:
                load_written_since(tx, sink, upto, current)
            return current

    def load_part(
        self,
        sink: SnapshotSink,
        *,
        station_ids: Collection[str] = (),
        reporting_to: Collection[str] = (),
        division_codes: Collection[str] = (),
    ) -> None:
        """Give `sink` the stations `station_ids`, those reporting to `reporting_to` and the divisions
        `division_codes` with every division above them (`Store.load_part`), `batch_size` names per
        statement, in one transaction (after clearing the hidden rows of writes that died, as `load`
        does, so that their ids are free again)."""
        if station_ids or reporting_to:
            self._transactions.discard_pending("read part of the network")
        # What was given, each once: an ancestor comes back with every chunk below it, and a station
        # may be both asked for and reporting to one asked about.
        codes: set[str] = set()
        ids: set[str] = set()
        reads = (
            (DIVISIONS_WITH_ANCESTORS, division_codes, load_division_row, codes),
            (STATIONS_BY_ID, station_ids, load_station_row, ids),
            (STATIONS_REPORTING_TO, reporting_to, load_station_row, ids),
        )
        with self._transactions.transaction("read part of the network") as tx:
            for query, keys, load_row, given in reads:
                for chunk in batches(sorted(keys), self.batch_size):
                    for row in tx.run(query, keys=list(chunk)).single(strict=True)["rows"]:
                        if row[0] not in given:
                            given.add(row[0])
                            load_row(sink, row, to_date)

    def station_totals(self) -> StationTotals:
        """The upper bound of every roll-up total over the whole stored network (`Store.station_totals`):
        one aggregate statement."""

        def read() -> StationTotals:
            record = self._transactions.one_statement("read the stations' totals", STATION_TOTALS)
            sums = (math.ceil(record[column]) for column in COUNT_COLUMNS)
            return StationTotals(record["stations"], *sums)

        return retrying(read)

    def data_version(self) -> int:
        """The current data version: 0 for a store never written to (one statement, auto-committed:
        the version of the last write that committed, taking no lock)."""

        def read() -> int:
            record = self._transactions.one_statement("read the data version", READ_VERSION)
            return checked_version(record["version"])

        return retrying(read)

    def changes_since(self, version: int) -> Changes:
        """Every division and station last written in a data version above `version`, as of the data version
        they bring the reader to, without holding writers back while the bulk of them is read (an
        import's 50,000 rows take seconds to read and decode).

        The version `upto` is read under the write lock, so every write up to it has committed (up to
        `LOCKED_READ_ROWS` changed rows are read right there, all in one statement run alone: one round
        trip, `FEW_CHANGES_LOCKED`; the stations of versions kept packed come from their packs and do
        not count, so a large import is read that way too); else the rows of versions up to `upto` are
        then read without the lock; last, under the lock again, the rows written meanwhile (above
        `upto`, among them any row a later write changed while it was being read, in its latest
        state) take the place of theirs: in one round trip again when they are few (the writes of
        the second or so the bulk took), else in a transaction of their own."""

        def locked_few(since: int) -> tuple[int, Changes | None]:
            """The data version, read under the lock, and the changes above `since` up to it when
            they are few (else None)."""
            record = self._transactions.one_statement(
                "read the changes", FEW_CHANGES_LOCKED, since=since, most=LOCKED_READ_ROWS
            )
            current = checked_version(record["version"])
            if current <= since:
                return current, Changes(current)
            return current, few_changes(record, current) if record["rows"] <= LOCKED_READ_ROWS else None

        def read() -> Changes:
            upto, few = locked_few(version)
            if few is not None:
                return few
            with self._transactions.transaction("read the changes") as tx:
                changes = read_changes(tx, upto, version)
            current, few = locked_few(upto)
            if few is not None:
                return changes if current == upto else changes.followed_by(few)
            with self._transactions.transaction("read the changes") as tx:
                current = run_version(tx, LOCK_VERSION)
                return changes.followed_by(read_changes(tx, current, upto))

        return retrying(read)

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
        """Insert or replace `divisions` by code in one transaction (a parent may come later in the
        sequence than its children); return the new data version. The `stations` an edition moves
        (spec §6) are written after them, in the same transaction.

        Codes not stored yet take a fast path: their nodes are created together with their PART_OF
        links, parents first. The others (stored codes, codes given twice, parent cycles among new
        codes) are merged: all their nodes first, before the new ones, then their links.

        `progress` is called after each batch with the rows written so far, counting a merged row half
        written once its node is and whole once its links are (so it ends at `len(divisions)`).

        `audit` is recorded in the same transaction, in batches after the rows; so are `editions`
        (`Edition` nodes, one per province), `names` (lists on the nodes, after the rows) and
        `successors` (`SUCCEEDED_BY` relationships, after the rows). `basis` is verified first, once
        the transaction holds the write lock (`BasisChanged`, nothing written, when another writer
        broke it).

        Raises `StoreError` (nothing written) when a parent_code names no division.
        """
        if not (divisions or editions or names or successors or stations):
            return self.data_version()

        def write(tx: Transaction, version: int) -> None:
            if editions:
                write_editions(tx, editions)
            write_divisions(tx, version, divisions, progress, self.batch_size)
            if names:
                write_names(tx, names)
            if successors:
                write_successors(tx, successors, version)
            if stations:
                write_stations(tx, version, stations, None, self.batch_size)

        return self._transactions.write("upsert divisions", write, len(divisions), audit, basis=basis)

    def applied_editions(self) -> dict[str, AppliedEdition]:
        """The latest edition applied to each province, from the `Edition` nodes."""

        def read() -> dict[str, AppliedEdition]:
            with self._transactions.transaction("read the applied editions") as tx:
                return read_editions(tx)

        return retrying(read)

    def division_links(self, codes: Sequence[str]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        """The successors and predecessors of `codes`, from the `SUCCEEDED_BY` relationships."""

        def read() -> tuple[dict[str, list[str]], dict[str, list[str]]]:
            with self._transactions.transaction("read the successor links") as tx:
                return read_links(tx, codes)

        return retrying(read)

    def division_names(self, codes: Sequence[str]) -> dict[str, list[DivisionName]]:
        """The name histories of `codes` that have one, from their nodes, oldest first."""

        def read() -> dict[str, list[DivisionName]]:
            with self._transactions.transaction("read the division names") as tx:
                return read_names(tx, codes)

        return retrying(read)

    def upsert_stations(
        self,
        stations: Sequence[Station],
        expected_versions: Mapping[str, int | None] | None = None,
        *,
        progress: Progress | None = None,
        audit: AuditTrail | None = None,
        basis: WriteBasis | None = None,
    ) -> int:
        """Insert or replace `stations` by id in one transaction, with their SITS_IN and REPORTS_TO
        links (a parent station may come later in the sequence); return the new data version. New ids
        take the fast path of `upsert_divisions`, the others are merged; `progress`, `audit` and
        `basis` as there.

        Raises `ConflictError` when a stored version differs from `expected_versions` (checked inside
        the transaction, after taking the write lock), and `StoreError` when a division_code or
        parent_id names nothing; in both cases nothing is written.
        """
        if not stations:
            return self.data_version()
        if len(stations) < LATE_LOCK_ROWS:

            def write(tx: Transaction, version: int) -> None:
                stored = None
                if expected_versions:
                    check_versions(expected_versions, partial(stored_versions, tx), self.batch_size)
                    stored = _stored_as_expected(stations, expected_versions)
                write_stations(tx, version, stations, progress, self.batch_size, stored)

            return self._transactions.write("upsert stations", write, len(stations), audit, basis=basis)
        return self._write_large(stations, expected_versions, progress, audit, basis)

    def _write_large(
        self,
        stations: Sequence[Station],
        expected_versions: Mapping[str, int | None] | None,
        progress: Progress | None,
        audit: AuditTrail | None,
        basis: WriteBasis | None,
    ) -> int:
        """`upsert_stations` for `LATE_LOCK_ROWS` stations or more. Its new stations are created first,
        hidden, in transactions of their own, a batch each (once checked absent); then, in the locked
        transaction, the stored ones are locked, their expected versions checked and rewritten, and
        every row is given the new version (`Neo4jTransactions.write`). New ids that the order of
        `parents_first` cannot create first (given twice, a parent cycle) make it all one transaction.
        """
        packed = pack_stations(stations)
        replaced: list[Station] = []
        stored: set[str] = set()

        def split(tx: Transaction) -> list[Station]:
            """The stations to create (checked absent), after setting `stored` and `replaced`."""
            nonlocal replaced, stored
            known = _stored_as_expected(stations, expected_versions)
            if known is None:
                ids = [station.id for station in stations]
                known = stored_keys(tx, COUNT_STATIONS, EXISTING_STATIONS, ids, self.batch_size)
            stored = known
            created, replaced = parents_first(stations, station_key, station_parent, stored)
            if any(station.id not in stored for station in replaced):
                created, replaced = [], list(stations)
            if expected_versions:
                absent = {s.id: expected_versions[s.id] for s in created if s.id in expected_versions}
                check_versions(absent, partial(stored_versions, tx), self.batch_size)
            return created

        def write_new(in_transaction: InTransaction, token: int) -> None:
            # One transaction per batch: the transaction state Neo4j holds (and collects) stays
            # small. A batch's parents are in it or in one before (`parents_first`).
            created: list[Station] = in_transaction(split)
            for done in range(0, len(created), self.batch_size):
                batch = created[done : done + self.batch_size]
                in_transaction(partial(write_batch, token, batch, done))

        def write_batch(token: int, batch: list[Station], done: int, tx: Transaction) -> None:
            """Write new stations `batch`, the first `done` written before it, with `token`."""
            counted = None if progress is None else (lambda written: progress(done + written))
            write_stations(tx, token, batch, counted, self.batch_size, set())

        def write(tx: Transaction, token: int) -> None:
            if expected_versions:
                expected = {s.id: expected_versions[s.id] for s in replaced if s.id in expected_versions}
                check_versions(expected, partial(stored_versions, tx, lock=True), self.batch_size)
            if replaced:
                done = len(stations) - len(replaced)
                counted = None if progress is None else (lambda written: progress(done + written))
                write_stations(tx, token, replaced, counted, self.batch_size, stored)
            if packed is not None:
                tx.run(WRITE_PACKED_STATIONS, version=token, stations=packed, kept=PACKS_KEPT).consume()

        late = LateLock(PUBLISH_STATIONS, len({station.id for station in stations}), write_new)
        return self._transactions.write("upsert stations", write, len(stations), audit, late, basis)

    def audit_entries(self, query: AuditQuery) -> list[AuditEntry]:
        """The audit entries `query` selects, newest first (`neo4j_audit.read_audit_entries`)."""
        with self._transactions.transaction("read the audit trail") as tx:
            return read_audit_entries(tx, query)

    def count_audit_entries(self, query: AuditQuery) -> int:
        """How many audit entries `query` selects (its cursor and limit aside)."""
        with self._transactions.transaction("count the audit trail") as tx:
            return count_audit_entries(tx, query)

    def ping(self) -> None:
        """Raise `StoreError` (`StoreUnavailable` when it cannot be reached) unless the server answers
        `RETURN 1`."""
        retrying(self._transactions.ping)

    def warm_up(self) -> None:
        """Have Neo4j plan the statements of a single write and a catch-up (`rehearse_writes`), in a
        transaction rolled back, without taking the write lock; then the two a server runs alone,
        auto-committed (Neo4j plans those apart from the same text in a transaction: the first real
        ones took 40 and 360 ms at national scale after the rehearsal, 5 and 10 ms with this): the
        poll, and a small catch-up reading nothing, which holds the lock only while it runs and waits
        for it at most `WARM_UP_LOCK_SECONDS` (planned all the same when a writer holds it longer);
        last, a large catch-up's read of every station, for Neo4j to compile its code
        (`rehearse_large_read`)."""

        class Rehearsed(Exception):
            """Ends the rehearsal's transaction, which rolls it back."""

        with suppress(Rehearsed), self._transactions.transaction("warm up", WARM_UP_SECONDS) as tx:
            rehearse_writes(tx, self.batch_size)
            raise Rehearsed
        self._transactions.one_statement("warm up", READ_VERSION)
        with suppress(StoreUnavailable):
            self._transactions.one_statement(
                "warm up", FEW_CHANGES_LOCKED, WARM_UP_LOCK_SECONDS, since=BEYOND, most=LOCKED_READ_ROWS
            )
        with self._transactions.transaction("warm up", WARM_UP_SECONDS) as tx:
            rehearse_large_read(tx)

    def close(self) -> None:
        """Close the driver and its connections."""
        self._transactions.close()

    def __enter__(self) -> Neo4jStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Neo4jStore({self.url!r})"

    def ensure_schema(self) -> None:
        """Apply the constraints and indexes of `neo4j.cypher` once per store object (done by every
        call on first use; `Neo4jTransactions.ensure_schema`)."""
        self._transactions.ensure_schema()


def _stored_as_expected(
    stations: Sequence[Station], expected_versions: Mapping[str, int | None] | None
) -> set[str] | None:
    """The ids of `stations` stored already if their `expected_versions` hold (those expected at a
    version), when those name every one of them; else None (they must be looked up)."""
    if not expected_versions or not all(station.id in expected_versions for station in stations):
        return None
    return {key for key, expected in expected_versions.items() if expected is not None}
