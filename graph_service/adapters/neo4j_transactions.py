"""The Neo4j store's driver and the transactions it runs: the schema applied on first use, one explicit
transaction per read (or, for a read that is one statement, that statement alone, auto-committed), and
the write protocol (the write lock, taken first or, for a large station
write, last, its new rows committed hidden before; the basis verified once it is held; the audit trail
recorded; retries). The model and
the locking rules are described in `neo4j_store`."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from functools import partial
from typing import Any, LiteralString

from neo4j import Driver, GraphDatabase, Query, Record, Transaction
from neo4j.exceptions import ConfigurationError, DriverError, Neo4jError

from graph_service.adapters.neo4j_audit import prepare_audit, record_audit
from graph_service.adapters.neo4j_connection import (
    CONNECTION_TIMEOUT_SECONDS,
    RETRY_SECONDS,
    apply_schema,
    retrying,
    translated_errors,
)
from graph_service.adapters.neo4j_cypher import DISCARD_PENDING, LOCK_VERSION, PENDING_WRITE
from graph_service.adapters.neo4j_reads import bump_version, verify_basis
from graph_service.domain.audit import AuditTrail
from graph_service.ports import OutcomeUnknown, StoreError, StoreUnavailable, WriteBasis

WRITE_GRACE_SECONDS = 30.0
WRITE_SECONDS_PER_ROW = 0.002
"""A write's own allowance per row on top of the grace (15× the rows/s measured on a small box)."""


@dataclass(frozen=True, slots=True)
class LateLock:
    """How a large write takes the write lock last (`Neo4jTransactions.write`).

    `publish` publishes the rows stamped with `$token` as the data `$version` (the rows keep the token:
    the write's PendingWrite node becomes a PublishedWrite node with the version), returning `rows` (how
    many rows the token has) and `pending` (whether the node was there), as `PUBLISH_STATIONS` does; the
    write gives up unless it finds its `rows` rows.
    `hidden(in_transaction, token)`, when given, runs first, once the write's PendingWrite node is
    committed: it creates the write's new rows with the token, in transactions of its own, each run
    with `in_transaction(work)` (`work(tx)` in one transaction, committed, tried again while it fails
    before its commit). They are hidden from every read until `publish` publishes them, so the locked
    transaction commits only the rest (the commit of 50,000 new stations took 1.5-3.9 s with the lock
    held, idle). If the write fails, they are discarded (`discard_pending`)."""

    publish: LiteralString
    rows: int
    hidden: Callable[[InTransaction, int], None] | None = None


InTransaction = Callable[[Callable[[Transaction], Any]], Any]
"""Runs `work(tx)` in a transaction of its own, committed, and returns what it returns (`LateLock`)."""


class Neo4jTransactions:
    """The driver of one Neo4j store (`url`, `database`, credentials) and the transactions it runs,
    fetching `batch_size` records at a time; a write waits at most `lock_timeout` seconds for another
    writer. Safe to share between threads."""

    def __init__(
        self,
        url: str,
        *,
        batch_size: int,
        lock_timeout: float,
        user: str,
        password: str,
        database: str | None,
    ) -> None:
        """Create the driver (cheap: no connection is made until first use)."""
        self.url = url
        self.batch_size = batch_size
        self.lock_timeout = lock_timeout
        self.user = user
        self.has_password = bool(password)
        self._database = database
        self._schema_ready = False
        self._schema_lock = threading.Lock()
        try:
            self._driver: Driver = GraphDatabase.driver(
                url,
                auth=(user, password) if password else None,
                connection_timeout=CONNECTION_TIMEOUT_SECONDS,
                notifications_min_severity="OFF",
                telemetry_disabled=True,  # one message less per transaction for the server to handle
            )
        except (ConfigurationError, ValueError) as error:
            raise StoreError(f"invalid Neo4j store URL {url!r}: {error}") from error

    def ensure_schema(self) -> None:
        """Apply the constraints and indexes of `neo4j.cypher` (each IF NOT EXISTS) once per store
        object, and wait for the indexes to come online."""
        if self._schema_ready:
            return
        with self._schema_lock:
            if self._schema_ready:
                return
            with self.errors("apply the schema"), self._driver.session(database=self._database) as session:
                apply_schema(session)
            self._schema_ready = True

    @contextmanager
    def transaction(self, action: str, timeout: float | None = None) -> Iterator[Transaction]:
        """One explicit transaction (schema applied first; ended by the server after `timeout`
        seconds when given), committed when the block ends normally and rolled back when it raises;
        driver errors become `StoreError`."""
        self.ensure_schema()
        with (
            self.errors(action),
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

    def one_statement(
        self, action: str, query: LiteralString, timeout: float | None = None, **parameters: Any
    ) -> Record:
        """The one record of `query` run alone in an auto-commit transaction (ended by the server after
        `timeout` seconds when given): one round trip, where an explicit transaction takes three (its
        BEGIN, the statement, its COMMIT), so about half the driver's CPU and the server's. Schema
        applied first; driver errors become `StoreError`. For statements that are whole on their own
        (nothing else needs to be read or written in the same transaction)."""
        self.ensure_schema()
        with self.errors(action), self._driver.session(database=self._database) as session:
            return session.run(Query(query, timeout=timeout), parameters).single(strict=True)

    def write(
        self,
        action: str,
        body: Callable[[Transaction, int], None],
        rows: int,
        audit: AuditTrail | None = None,
        late: LateLock | None = None,
        basis: WriteBasis | None = None,
    ) -> int:
        """Run `body(tx, new_version)` in one transaction that first bumps the data version (taking
        the write lock) and ends by recording `audit`; return the new version once committed. When
        another writer holds the lock for more than `lock_timeout` seconds, nothing is written
        (`StoreUnavailable`); the write itself may take `WRITE_GRACE_SECONDS` plus
        `WRITE_SECONDS_PER_ROW` for each of its `rows`.

        With `late`, the lock is taken last instead: `body` runs with a pending token (negative,
        unique to this write) for the version, then the version is bumped and `late.publish` run,
        then `audit`; and before that transaction, a PendingWrite node for the token is committed and
        `late.hidden` commits the new rows hidden (see `LateLock`). Either way `basis` is verified
        as soon as the lock is held, before anything is committed. What of `audit` is packed is
        packed before the transaction begins (`prepare_audit`), not under the lock.
        """
        prepared = prepare_audit(audit, self.batch_size) if audit is not None and audit.changes else None
        token = -1 - secrets.randbelow(1 << 53)
        timeout = self.lock_timeout + WRITE_GRACE_SECONDS + rows * WRITE_SECONDS_PER_ROW
        pending = published = False

        def in_transaction(work: Callable[[Transaction], Any]) -> Any:
            with self.transaction(action, timeout) as tx:
                return work(tx)

        def mark_pending(tx: Transaction) -> None:
            tx.run(DISCARD_PENDING, token=None).consume()  # those of writes long given up
            # Time enough for the hidden rows and the locked transaction, with its retries, before
            # anyone else may take them for a dead write's.
            tx.run(PENDING_WRITE, token=token, seconds=3 * timeout + RETRY_SECONDS).consume()

        def attempt() -> int:
            nonlocal published
            self.wait_for_lock(action)
            with self.transaction(action, timeout) as tx:
                if late is None:
                    version, editions = bump_version(tx)
                    verify_basis(basis, tx, version, editions)
                    body(tx, version)
                else:
                    body(tx, token)
                    version, editions = bump_version(tx)  # the write lock, held from here to the commit
                    verify_basis(basis, tx, version, editions)
                    found = tx.run(late.publish, token=token, version=version).single(strict=True)
                    if found["rows"] != late.rows or (pending and not found["pending"]):
                        raise StoreUnavailable(
                            f"{action}: of its {late.rows} rows, {found['rows']} were found to "
                            "publish (the new ones it committed hidden were discarded: it took longer "
                            "than it was given); nothing was written, try again"
                        )
                if prepared is not None:
                    record_audit(tx, prepared, version, self.batch_size)
                published = True  # from here on, a commit cut off may have published the rows
            return version

        try:
            if late is not None and late.hidden is not None:
                retrying(partial(in_transaction, mark_pending))
                pending = True
                late.hidden(lambda work: retrying(partial(in_transaction, work)), token)
            return retrying(attempt)
        except BaseException as error:
            # Every attempt has been rolled back by now, unless the locked commit was cut off: that one
            # may have published the rows, so they are left for when the write's time is up.
            if pending and not (published and isinstance(error, OutcomeUnknown)):
                self.discard_pending(action, token, timeout)
            raise

    def discard_pending(self, action: str, token: int | None = None, timeout: float | None = None) -> None:
        """Delete the rows a write committed hidden with `token` (and its PendingWrite node), or with no
        `token` those of every write whose time is up (it died before publishing them), in a
        transaction of its own (ended by the server after `timeout` seconds when given); best effort:
        what the store cannot delete now, the next large write or load does, once its write's time is
        up. Without the write lock, which a busy store would make it wait for: nothing of such a write
        is committing any more, and a row another write published is not of its token."""
        with suppress(StoreError), self.transaction(f"{action} (discarding hidden rows)", timeout) as tx:
            tx.run(DISCARD_PENDING, token=token).consume()

    def wait_for_lock(self, action: str) -> None:
        """Take the write lock and let it go again, waiting at most `lock_timeout` seconds for it: a
        write about to start behind a long one (another process's import) fails fast instead."""
        self.one_statement(action, LOCK_VERSION, self.lock_timeout)  # net, it changes nothing

    def ping(self) -> None:
        """Raise `StoreError` (`StoreUnavailable` when it cannot be reached) unless the server answers
        `RETURN 1` (once: the store retries)."""
        with self.errors("answer a ping"), self._driver.session(database=self._database) as session:
            session.run("RETURN 1").consume()

    def close(self) -> None:
        """Close the driver and its connections."""
        self._driver.close()

    def errors(self, action: str) -> AbstractContextManager[None]:
        """Driver errors raised inside become a `StoreError` naming the URL and what failed
        (`neo4j_connection.translated_errors`)."""
        if self.has_password:
            hint = f"check NEO4J_USER (now {self.user!r}) and NEO4J_PASSWORD"
        else:
            hint = "it needs a password: set NEO4J_PASSWORD (and NEO4J_USER if not 'neo4j')"
        return translated_errors(self.url, action, self.lock_timeout, hint)
