"""The Neo4j store's audit trail: recording a write's entries in its transaction, and reading them
back newest first (station entries as AuditEntry nodes, division entries packed in AuditBatch nodes, and
so are the station entries of a write of `PACKED_STATION_ENTRIES` stations or more)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from itertools import islice
from typing import Any

from neo4j import Transaction

from graph_service.adapters.batching import batches, batches_by_size
from graph_service.adapters.neo4j_cypher import (
    AUDIT_BATCH_ENTRIES,
    AUDIT_BATCH_KIND,
    AUDIT_BATCH_SINCE,
    AUDIT_FIELDS,
    AUDIT_WRITE_OF_ENTRY,
    AUDIT_WRITES,
    CREATE_AUDIT,
    CREATE_AUDIT_BATCHES,
    CREATE_AUDIT_WRITE_AND_ENTRIES,
    FIRST_AUDIT_WRITE_SINCE,
)
from graph_service.adapters.rows import (
    PackedBatch,
    audit_entry_from_row,
    audit_entry_rows,
    audit_write_row,
    packed_audit_batches,
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
from graph_service.ports import AUDIT_SEQ_STRIDE, StoreError, audit_seq

PACKED_STATION_ENTRIES = 1_000
"""From this many changed stations on, a write's station entries are packed in AuditBatch nodes, as
division entries are, instead of one AuditEntry node each: a 50,000-row import's entries as nodes (and
their two index entries each) took its commit, during which it holds the write lock, from about 1.6 s
to about 4 s, longer than other writers wait for the lock."""


PACKED_STATION_BATCH = 1_000
"""At most this many station entries to an AuditBatch node (divisions: `batch_size`): asking for one
station's history unpacks a batch that holds it, about 3 ms for 1,000 entries against 44 ms for
10,000 (measured on the national store)."""


AUDIT_STATEMENT_BYTES = 4_000_000
"""About how many bytes of packed entries one statement creating AuditBatch nodes carries (a batch
larger than that goes alone)."""


@dataclass(frozen=True, slots=True)
class PreparedAudit:
    """A write's audit trail made ready before the write begins (`prepare_audit`): its packed batches,
    by kind, each batch's `first` counted from the write's first seq (0), since the write's data
    version is known only once it holds the lock."""

    trail: AuditTrail
    batches: list[tuple[str, PackedBatch]]
    stations_packed: bool


def prepare_audit(audit: AuditTrail, batch_size: int) -> PreparedAudit:
    """Pack `audit`'s entries that are kept packed (divisions', and stations' from
    `PACKED_STATION_ENTRIES` on), `batch_size` to a batch (stations: `PACKED_STATION_BATCH` at most):
    CPU work that need not hold the write lock (0.1 s for 50,000 station entries)."""
    stations_packed = (
        sum(1 for change in audit.changes if change.kind == STATION_KIND) >= PACKED_STATION_ENTRIES
    )
    kinds = [DIVISION_KIND, STATION_KIND] if stations_packed else [DIVISION_KIND]
    batches = [
        (kind, batch)
        for kind in kinds
        for batch in packed_audit_batches(
            audit, 0, min(batch_size, PACKED_STATION_BATCH) if kind == STATION_KIND else batch_size, kind
        )
    ]
    return PreparedAudit(audit, batches, stations_packed)


def record_audit(tx: Transaction, audit: PreparedAudit, version: int, batch_size: int) -> None:
    """Record `audit` (the write of data version `version`) in the write's transaction: the write's
    node, its station entries kept as nodes (`batch_size` a statement), and its packed batches."""
    station_rows = [] if audit.stations_packed else audit_entry_rows(audit.trail, version)
    station_batches = batches(station_rows, batch_size)
    leading = next(station_batches, [])  # with the write's node: a single write's trail in one statement
    tx.run(
        CREATE_AUDIT_WRITE_AND_ENTRIES, row=list(audit_write_row(audit.trail, version)), rows=leading
    ).consume()
    for batch in station_batches:
        tx.run(CREATE_AUDIT, rows=batch).consume()
    base = audit_seq(version, 0)
    write_audit_batches(
        tx, version, [(kind, replace(packed, first=base + packed.first)) for kind, packed in audit.batches]
    )


def write_audit_batches(tx: Transaction, version: int, packed: Iterable[tuple[str, PackedBatch]]) -> None:
    """Create an AuditBatch node for each (kind, batch) of `packed`, entries of the write of data
    version `version`: with the range of its targets, and for stations the targets themselves (an
    import's rows come in any order, so a range of station ids may span most of them; a division table
    comes by code). As few statements as `AUDIT_STATEMENT_BYTES` allows: a 50,000-row import's 50
    batches in one, not 50 round trips under the write lock."""
    for run in batches_by_size(packed, lambda pair: len(pair[1].entries), AUDIT_STATEMENT_BYTES):
        rows = [
            {
                "first": batch.first,
                "count": batch.count,
                "entries": batch.entries,
                "kind": kind,
                "low": batch.targets[0],
                "high": batch.targets[-1],
                "targets": batch.targets if kind == STATION_KIND else None,
            }
            for kind, batch in run
        ]
        tx.run(CREATE_AUDIT_BATCHES, version=version, batches=rows).consume()


def read_audit_entries(tx: Transaction, query: AuditQuery) -> list[AuditEntry]:
    """The audit entries `query` selects, newest first: station entries kept as nodes (the `seq` index
    read backwards, each joined with its write's node for who, when and the operation) merged with
    packed entries (their batches read newest first until enough are found)."""
    entries = [] if query.kind == DIVISION_KIND else _station_audit_entries(tx, query)
    entries += _packed_audit_entries(tx, query)
    entries.sort(key=lambda entry: entry.seq, reverse=True)
    return entries[: query.limit]


def count_audit_entries(tx: Transaction, query: AuditQuery) -> int:
    """How many audit entries `query` selects (its cursor and limit aside)."""
    count = 0
    if query.kind != DIVISION_KIND:
        selection = _audit_selection(tx, query, with_cursor=False)
        if selection is not None:
            match, params = selection
            count += tx.run(f"{match} RETURN count(a) AS count", **params).single(strict=True)["count"]
    if query.target is None and query.within is None:  # every entry of the batches: no unpacking
        since: dict[str, Any] = {} if query.since is None else {"since": timestamp_text(query.since)}
        count += tx.run(
            f"MATCH (b:AuditBatch) WHERE {AUDIT_BATCH_KIND} IN $kinds{AUDIT_BATCH_SINCE if since else ''} "
            "RETURN coalesce(sum(b.count), 0) AS count",
            kinds=_packed_kinds(query),
            **since,
        ).single(strict=True)["count"]
    else:
        count += sum(1 for _ in _packed_audit_rows(tx, query, with_cursor=False))
    return int(count)


def _packed_audit_entries(tx: Transaction, query: AuditQuery) -> list[AuditEntry]:
    """Up to `query.limit` packed entries, newest first: batch by batch, newest batch first."""
    rows = list(islice(_packed_audit_rows(tx, query, with_cursor=True), query.limit))
    writes = {
        record["version"]: record
        for record in tx.run(AUDIT_WRITES, versions=sorted({row[1] for row in rows}))
    }
    return [
        AuditEntry(
            seq=seq,
            at=timestamp_from_text(writes[version]["at"]),
            actor=writes[version]["actor"],
            role=writes[version]["role"],
            operation=operation or writes[version]["operation"],
            kind=kind,
            target=target,
            before=before,
            after=after,
        )
        for seq, version, kind, (operation, target, before, after, _) in rows
    ]


def _station_audit_entries(tx: Transaction, query: AuditQuery) -> list[AuditEntry]:
    """Up to `query.limit` station entries kept as AuditEntry nodes, newest first."""
    selection = _audit_selection(tx, query, with_cursor=True)
    if selection is None:
        return []
    match, params = selection
    cypher = (
        f"{match} WITH a, w ORDER BY a.seq DESC LIMIT $limit "
        if query.since is not None
        else f"{match} WITH a ORDER BY a.seq DESC LIMIT $limit {AUDIT_WRITE_OF_ENTRY} "
    ) + f"RETURN {AUDIT_FIELDS} AS row ORDER BY a.seq DESC"
    return [audit_entry_from_row(r["row"]) for r in tx.run(cypher, **params, limit=query.limit)]


def _packed_kinds(query: AuditQuery) -> list[str]:
    """The kinds of packed entries `query` selects."""
    return [query.kind] if query.kind is not None else [DIVISION_KIND, STATION_KIND]


def _packed_audit_rows(
    tx: Transaction, query: AuditQuery, *, with_cursor: bool
) -> Iterator[tuple[int, int, str, list[Any]]]:
    """The packed entries `query` selects (its limit aside), newest first, as (seq, write version, kind,
    unpacked entry): the AuditBatch nodes of the kinds and writes (`since`) it selects, and when it
    asks for one target only those that may hold it, read newest first, one at a time."""
    upper = query.before_seq if with_cursor and query.before_seq is not None else 1 << 62
    conditions = f"b.first < $upper AND {AUDIT_BATCH_KIND} IN $kinds"
    params: dict[str, Any] = {"upper": upper, "kinds": _packed_kinds(query)}
    if query.target is not None:  # a batch written before batches had a range may hold any target
        conditions += (
            " AND (b.low IS NULL OR (b.low <= $target AND $target <= b.high))"
            " AND (b.targets IS NULL OR $target IN b.targets)"
        )
        params["target"] = query.target
    if query.since is not None:
        conditions += AUDIT_BATCH_SINCE
        params["since"] = timestamp_text(query.since)
    found = [
        (record["first"], record["kind"])
        for record in tx.run(
            f"MATCH (b:AuditBatch) WHERE {conditions} "
            f"RETURN b.first AS first, {AUDIT_BATCH_KIND} AS kind ORDER BY first DESC",
            **params,
        )
    ]
    for first, kind in found:
        packed = bytes(tx.run(AUDIT_BATCH_ENTRIES, first=first).single(strict=True)["entries"])
        for seq, entry in unpacked_newest_first([(first, packed)], query, with_cursor=with_cursor):
            yield seq, seq // AUDIT_SEQ_STRIDE, kind, entry


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
        first = tx.run(FIRST_AUDIT_WRITE_SINCE, since=since).single(strict=True)["version"]
        if first is None:
            return None
        # Writes are numbered in commit order; `at` is taken as a write starts, so the join checks it.
        conditions.append("a.seq >= $since_seq")
        params.update(since_seq=audit_seq(first, 0), since=since)
        joined = f" {AUDIT_WRITE_OF_ENTRY} WHERE w.at >= $since"
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
