"""The Neo4j store's edition history (spec §6), read and written inside a transaction the store opens:
applied editions (`Edition` nodes), name histories (lists on `Division` nodes), successor links
(`SUCCEEDED_BY`), station placements (dated `SITS_IN`) and reporting lines (dated `REPORTS_TO`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from neo4j import Transaction

from graph_service.adapters.neo4j_cypher import (
    READ_EDITIONS,
    READ_NAMES,
    READ_PREDECESSORS,
    READ_SUCCESSORS,
    WRITE_EDITIONS,
    WRITE_NAMES,
    WRITE_PLACEMENTS,
    WRITE_REPORTING_LINES,
    WRITE_SUCCESSORS,
)
from graph_service.adapters.neo4j_rows import to_date
from graph_service.domain.editions import AppliedEdition
from graph_service.domain.model import Station
from graph_service.domain.validity import DivisionName


def write_editions(tx: Transaction, editions: Mapping[str, AppliedEdition]) -> None:
    """Record the edition applied to each province (`Edition` nodes, one per province)."""
    rows = [{"province": province, "day": e.day, "digest": e.digest} for province, e in editions.items()]
    tx.run(WRITE_EDITIONS, rows=rows).consume()


def write_names(tx: Transaction, names: Mapping[str, Sequence[DivisionName]]) -> None:
    """Store each division's name history as two lists on its node (names, ISO start days)."""
    rows = [
        {
            "code": code,
            "names": [entry.name for entry in history],
            "names_from": [entry.valid_from.isoformat() if entry.valid_from else "" for entry in history],
        }
        for code, history in names.items()
    ]
    tx.run(WRITE_NAMES, rows=rows).consume()


def write_successors(tx: Transaction, successors: Mapping[str, Sequence[str]], version: int) -> None:
    """Link each retired division to its successors (`SUCCEEDED_BY {position}`), marking it written by
    data version `version` (so `changes_since` carries its new links, whether its row changed or not)."""
    links = [{"old_code": old, "new_codes": list(news)} for old, news in successors.items()]
    tx.run(WRITE_SUCCESSORS, rows=links, version=version).consume()


def write_placements(tx: Transaction, stations: Sequence[Station]) -> None:
    """Write the placement history of each of `stations` that has one (one SITS_IN per placement,
    with `from`/`to`) and its reporting history (one REPORTS_TO per line to a station, with
    `from`/`to`; a line to nobody has none). (The dates of a stored station written without such a
    history are taken off its links as they are written, `WRITE_STATION_LINKS`.)"""
    _write_dated(
        tx,
        WRITE_PLACEMENTS,
        {s.id: [(p.division_code, p.from_, p.to) for p in s.placements] for s in stations},
    )
    _write_dated(
        tx,
        WRITE_REPORTING_LINES,
        {s.id: [(line.parent_id, line.from_, line.to) for line in s.reporting_lines] for s in stations},
    )


def _write_dated(
    tx: Transaction,
    write: str,
    histories: Mapping[str, Sequence[tuple[str | None, date | None, date | None]]],
) -> None:
    """Run `write`, the statement of one kind of dated link (`neo4j_cypher._dated_links`), for the
    stations of `histories` that have one (by id: each entry's target key, or None for no link, from,
    to)."""
    rows = [
        {"id": sid, "entries": [{"key": k, "from": a, "to": b} for k, a, b in history if k is not None]}
        for sid, history in histories.items()
        if history
    ]
    if rows:
        tx.run(write, rows=rows).consume()


def read_editions(tx: Transaction) -> dict[str, AppliedEdition]:
    """The latest edition applied to each province, from the `Edition` nodes."""
    return editions_from_rows((r["province"], r["day"], r["digest"]) for r in tx.run(READ_EDITIONS))


def editions_from_rows(rows: Iterable[Sequence[Any]]) -> dict[str, AppliedEdition]:
    """The applied editions by province, from rows of (province, day, digest) as stored."""
    found = {}
    for province, stored_day, digest in rows:
        day = to_date(stored_day)
        assert day is not None
        found[province] = AppliedEdition(day, digest)
    return found


def read_successors(tx: Transaction, codes: Sequence[str]) -> dict[str, list[str]]:
    """The successors of `codes` that have any, in their stored order."""
    links: dict[str, list[str]] = {}
    for record in tx.run(READ_SUCCESSORS, codes=list(codes)):
        links.setdefault(record["code"], []).append(record["other"])
    return links


def read_links(tx: Transaction, codes: Sequence[str]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """The successors and predecessors of `codes`, from the `SUCCEEDED_BY` relationships."""
    found: list[dict[str, list[str]]] = [{}, {}]
    for index, query in enumerate((READ_SUCCESSORS, READ_PREDECESSORS)):
        for record in tx.run(query, codes=list(codes)):
            found[index].setdefault(record["code"], []).append(record["other"])
    return found[0], found[1]


def read_names(tx: Transaction, codes: Sequence[str]) -> dict[str, list[DivisionName]]:
    """The name histories of `codes` that have one, from their nodes, oldest first."""
    found: dict[str, list[DivisionName]] = {}
    for record in tx.run(READ_NAMES, codes=list(codes)):
        found[record["code"]] = [
            DivisionName(name, date.fromisoformat(day) if day else None)
            for name, day in zip(record["names"], record["names_from"], strict=True)
        ]
    return found
