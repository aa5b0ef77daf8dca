"""The SQLite store's audit trail: recorded in the transaction of the write it describes, and read
back: entries in `audit` (joined with their write in `audit_writes`) and packed division entries in
`audit_batches`, newest first."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import islice

from graph_service.adapters.batching import batches
from graph_service.adapters.rows import (
    audit_entry_from_row,
    audit_entry_rows,
    audit_write_row,
    packed_audit_batches,
)
from graph_service.adapters.sqlite_schema import INSERT_AUDIT, INSERT_AUDIT_WRITE
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
from graph_service.ports import AUDIT_SEQ_STRIDE, StoreError

# An entry joined with its write: (seq, at, actor, role, operation, kind, target, before, after).
AUDIT_FROM = f"audit AS a JOIN audit_writes AS w ON w.version = a.seq / {AUDIT_SEQ_STRIDE}"
AUDIT_FIELDS = (
    "a.seq, w.at, w.actor, w.role, coalesce(a.operation, w.operation), a.kind, a.target, a.before, a.after"
)


def read_audit_entries(conn: sqlite3.Connection, query: AuditQuery) -> list[AuditEntry]:
    """The audit entries `query` selects, newest first, in one snapshot of `conn`: rows of `audit`
    (walking the `seq` key backwards) merged with packed division entries (`audit_batches`, newest
    batch first, unpacked until enough are found)."""
    where, params = audit_conditions(query, with_cursor=True)
    sql = f"SELECT {AUDIT_FIELDS} FROM {AUDIT_FROM}{where} ORDER BY a.seq DESC LIMIT ?"
    with snapshot(conn):
        entries = [audit_entry_from_row(row) for row in conn.execute(sql, (*params, query.limit))]
        if query.kind != STATION_KIND:
            entries += islice(packed_audit_rows(conn, query, with_cursor=True), query.limit)
    entries.sort(key=lambda entry: entry.seq, reverse=True)
    return entries[: query.limit]


def count_audit_entries(conn: sqlite3.Connection, query: AuditQuery) -> int:
    """How many audit entries `query` selects (its cursor and limit aside), read as `read_audit_entries`."""
    where, params = audit_conditions(query, with_cursor=False)
    with snapshot(conn):
        (count,) = conn.execute(f"SELECT count(*) FROM {AUDIT_FROM}{where}", params).fetchone()
        if query.kind != STATION_KIND:
            if query.target is None and query.within is None:  # every entry of the batches: no unpacking
                count += packed_audit_total(conn, query)
            else:
                count += sum(1 for _ in packed_audit_rows(conn, query, with_cursor=False))
        return int(count)


def audit_conditions(query: AuditQuery, *, with_cursor: bool) -> tuple[str, list[object]]:
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
def snapshot(conn: sqlite3.Connection) -> Iterator[None]:
    """One read transaction on `conn` (an autocommit connection): its queries see one snapshot."""
    conn.execute("BEGIN")
    try:
        yield
    finally:
        conn.execute("ROLLBACK")


def packed_audit_total(conn: sqlite3.Connection, query: AuditQuery) -> int:
    """How many packed division entries the writes `query.since` selects hold."""
    sql = "SELECT coalesce(sum(b.count), 0) FROM audit_batches AS b"
    if query.since is None:
        return int(conn.execute(sql).fetchone()[0])
    sql += " JOIN audit_writes AS w ON w.version = b.version WHERE w.at >= ?"
    return int(conn.execute(sql, (timestamp_text(query.since),)).fetchone()[0])


def packed_audit_rows(
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


def record_audit(conn: sqlite3.Connection, audit: AuditTrail, version: int, batch_size: int) -> None:
    """Record `audit` as the write of data version `version`, in the open transaction of `conn`: its
    `audit_writes` row, one `audit` row per changed station, divisions packed `batch_size` a row."""
    conn.execute(INSERT_AUDIT_WRITE, audit_write_row(audit, version))
    for batch in batches(audit_entry_rows(audit, version), batch_size):
        conn.executemany(INSERT_AUDIT, batch)
    packed = packed_audit_batches(audit, version, batch_size)
    conn.executemany(
        "INSERT INTO audit_batches (first, count, entries, version) VALUES (?, ?, ?, ?)",
        ((batch.first, batch.count, batch.entries, version) for batch in packed),
    )
