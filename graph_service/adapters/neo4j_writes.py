"""The Neo4j store's division and station writes, inside the write transaction the store opens: new
keys take a fast path (nodes created with their links, parents first), the others are merged (all
nodes first, then their links), `batch_size` rows a statement (`neo4j_rows.write_passes`)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from neo4j import Transaction

from graph_service.adapters.batching import RowsWritten
from graph_service.adapters.neo4j_cypher import (
    COUNT_DIVISIONS,
    COUNT_STATIONS,
    CREATE_DIVISIONS,
    CREATE_STATIONS,
    EXISTING_DIVISIONS,
    EXISTING_STATIONS,
    WRITE_DIVISION_LINKS,
    WRITE_DIVISION_NODES,
    WRITE_STATION_LINKS,
    WRITE_STATION_NODES,
    WRITE_STATIONS_WHOLE,
)
from graph_service.adapters.neo4j_editions import write_placements
from graph_service.adapters.neo4j_rows import (
    division_key,
    division_parent,
    parents_first,
    station_key,
    station_parent,
    station_row,
    stored_keys,
    write_passes,
)
from graph_service.domain.model import Division, Station
from graph_service.ports import Progress, StoreError


def write_divisions(
    tx: Transaction, version: int, divisions: Sequence[Division], progress: Progress | None, batch_size: int
) -> None:
    """Write `divisions` (nodes and PART_OF links) in `tx` at data version `version`; `progress` as in
    `Neo4jStore.upsert_divisions`. Raises `StoreError` when a parent_code names no division."""
    stored = stored_keys(tx, COUNT_DIVISIONS, EXISTING_DIVISIONS, [d.code for d in divisions], batch_size)
    created, merged = parents_first(divisions, division_key, division_parent, stored)
    missing: list[str] = []

    def merge_nodes(batch: Sequence[Division]) -> None:
        rows = [
            {
                "code": d.code,
                "name": d.name,
                "level": str(d.level),
                "valid_from": d.valid_from,
                "valid_to": d.valid_to,
            }
            for d in batch
        ]
        tx.run(WRITE_DIVISION_NODES, rows=rows, version=version).consume()

    def create(batch: Sequence[Division]) -> None:
        rows = [[d.code, d.name, str(d.level), d.parent_code, d.valid_from, d.valid_to] for d in batch]
        missing.extend(tx.run(CREATE_DIVISIONS, rows=rows, version=version).single(strict=True)["missing"])

    def merge_links(batch: Sequence[Division]) -> None:
        rows = [{"code": d.code, "parent_code": d.parent_code} for d in batch]
        missing.extend(tx.run(WRITE_DIVISION_LINKS, rows=rows).single(strict=True)["missing"])

    write_passes(created, merged, create, merge_nodes, merge_links, progress, batch_size)
    if missing:
        raise StoreError("unknown parent division: " + ", ".join(missing[:5]))


def write_stations(
    tx: Transaction,
    version: int,
    stations: Sequence[Station],
    progress: Progress | None,
    batch_size: int,
    stored: set[str] | None = None,
) -> None:
    """Write `stations` (nodes, SITS_IN and REPORTS_TO links) in `tx`, then the placement history
    and reporting lines of each (spec §6: one SITS_IN per placement and one REPORTS_TO per line, with
    `from`/`to`; none for a station no edition moved or re-parented). `stored` names those of them
    stored already, when the caller knows (else they are looked up). Raises `StoreError` when a
    division_code or parent_id names nothing."""
    if stored is None:
        stored = stored_keys(tx, COUNT_STATIONS, EXISTING_STATIONS, [s.id for s in stations], batch_size)
    created, merged = parents_first(stations, station_key, station_parent, stored)
    no_division: list[str] = []
    no_parent: list[str] = []

    def merge_nodes(batch: Sequence[Station]) -> None:
        rows = [station_row(s) for s in batch]
        tx.run(WRITE_STATION_NODES, rows=rows, version=version).consume()

    def link(statement: str, batch: Sequence[Station]) -> None:
        rows = [station_row(s) for s in batch]
        record = tx.run(statement, rows=rows, version=version).single(strict=True)
        no_division.extend(record["no_division"])
        no_parent.extend(record["no_parent"])

    if merged and not created and len(merged) <= batch_size:  # a single update: nodes and links at once
        link(WRITE_STATIONS_WHOLE, merged)
        RowsWritten(progress).add(len(merged))
    else:
        create, merge_links = partial(link, CREATE_STATIONS), partial(link, WRITE_STATION_LINKS)
        write_passes(created, merged, create, merge_nodes, merge_links, progress, batch_size)
    if no_division:
        raise StoreError("unknown division: " + ", ".join(no_division[:5]))
    if no_parent:
        raise StoreError("unknown parent station: " + ", ".join(no_parent[:5]))
    write_placements(tx, stations)
