"""Rehearsing a single write and a catch-up on Neo4j, so that it plans their statements before a
server's first real ones: Neo4j plans a statement the first time it sees it, and a write does that
inside its transaction, holding the store's write lock meanwhile (the first `createStation` after
a Neo4j restart took 0.99 s against 0.03–0.07 s for the next ones; under load, seconds, and other
processes' writes then get `UNAVAILABLE`). `EXPLAIN` does not do it: Neo4j keeps no plan made
without the statement's parameters."""

from __future__ import annotations

import secrets
from contextlib import suppress
from datetime import UTC, date, datetime

from neo4j import Transaction

from graph_service.adapters.neo4j_audit import prepare_audit, record_audit, write_audit_batches
from graph_service.adapters.neo4j_cypher import (
    BUMP_VERSION,
    CHANGES_CHUNK,
    PUBLISH_STATIONS,
    STATIONS_CHANGED,
)
from graph_service.adapters.neo4j_editions import read_editions
from graph_service.adapters.neo4j_reads import read_changes, read_written_since
from graph_service.adapters.neo4j_rows import stored_versions
from graph_service.adapters.neo4j_writes import write_stations
from graph_service.adapters.rows import packed_audit_batches
from graph_service.domain.audit import STATION_KIND, AuditChange, AuditTrail
from graph_service.domain.levels import StationLevel, StationStatus
from graph_service.domain.model import Station
from graph_service.ports import StoreError

BEYOND = 1 << 62
"""A data version no store reaches: reads of what was written since it find nothing."""


def rehearse_writes(tx: Transaction, batch_size: int) -> None:
    """Run in `tx` every statement a single station write and a large catch-up run in a transaction (a
    small catch-up is one statement run alone, which `Neo4jStore.warm_up` rehearses so), with
    parameters of their real shapes: a made-up station (pending token for a version, a division that
    does not exist) created then rewritten and published, its stored version, a write basis's reads,
    its audit entry (as a node, and packed as a large write's are), and the read of what changed. The
    caller rolls `tx` back; nothing here takes the write lock (the version's bump is only planned,
    with `EXPLAIN`: it has no parameters)."""
    token = -1 - secrets.randbelow(1 << 53)  # never a data version
    # Values of every type a real row has: Neo4j keeps a plan per statement and parameter types.
    station = Station(
        f"warm-up-{-token}",
        "warm-up",
        StationLevel.VILLAGE_ROOM,
        f"warm-up-{-token}",
        status=StationStatus.OPERATING,
        opened_on=date(2000, 1, 1),
        staff=1,
        certified_staff=1,
        volunteers=1,
    )
    for _ in range(2):  # created, then (stored by the first pass) rewritten: both sets of statements
        with suppress(StoreError):  # the made-up division is unknown, as it should be
            write_stations(tx, token, [station], None, batch_size)
    tx.run(PUBLISH_STATIONS, token=token, version=-1).consume()  # as a large write publishes its rows
    list(stored_versions(tx, [station.id]))
    read_written_since(tx, BEYOND, [station.id])  # a few stations named, found by id
    read_written_since(tx, BEYOND, None)  # every station (an edition's basis)
    read_editions(tx)
    change = AuditChange("createStation", STATION_KIND, station.id, None, "{}", "")
    # Version -1 for the entry: its sequence number (version times a stride) must fit 64 bits.
    trail = AuditTrail("warm-up", "admin", datetime.now(UTC), [change])
    record_audit(tx, prepare_audit(trail, batch_size), -1, batch_size)
    packed = packed_audit_batches(trail, -1, batch_size, STATION_KIND)  # a large write's entries
    write_audit_batches(tx, -1, [(STATION_KIND, batch) for batch in packed])
    read_changes(tx, BEYOND, BEYOND)
    tx.run("EXPLAIN " + BUMP_VERSION).consume()


def rehearse_large_read(tx: Transaction) -> None:
    """Read every stored station in `tx` as a large catch-up reads the ones written since its version
    (`STATIONS_CHANGED`, the same statement, so the same plan and code), the rows thrown away. Neo4j's
    JVM compiles the code a statement runs once it has run it on many rows: after a start (and the
    rehearsal above), the first 50,000-row catch-up took 2.65 s, the next ones 1.2 s; after this
    read of the national store's 114,000 stations (2.4 s), the first took 1.33 s."""
    tx.run(STATIONS_CHANGED, since=0, upto=BEYOND, chunk=CHANGES_CHUNK).consume()
