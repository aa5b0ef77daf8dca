"""The Neo4j store's edition history (spec §6), read and written inside a transaction the store opens:
applied editions (`Edition` nodes), name histories (lists on `Division` nodes), successor links
(`SUCCEEDED_BY`) and station placements (dated `SITS_IN`)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date

from neo4j import Transaction

from graph_service.adapters.neo4j_cypher import (
    CLEAR_PLACEMENTS,
    READ_EDITIONS,
    READ_NAMES,
    READ_PREDECESSORS,
    READ_SUCCESSORS,
    WRITE_EDITIONS,
    WRITE_NAMES,
    WRITE_PLACEMENTS,
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


def write_placements(tx: Transaction, stations: Sequence[Station], stored: Collection[str]) -> None:
    """Write the placement history of each of `stations` (one SITS_IN per placement, with
    `from`/`to`), and drop the dated ones of a stored station that has no history."""
    placed = [
        {
            "id": s.id,
            "placements": [{"code": p.division_code, "from": p.from_, "to": p.to} for p in s.placements],
        }
        for s in stations
        if s.placements
    ]
    if placed:
        tx.run(WRITE_PLACEMENTS, rows=placed).consume()
    unplaced = [s.id for s in stations if not s.placements and s.id in stored]
    if unplaced:
        tx.run(CLEAR_PLACEMENTS, ids=unplaced).consume()


def read_editions(tx: Transaction) -> dict[str, AppliedEdition]:
    """The latest edition applied to each province, from the `Edition` nodes."""
    found = {}
    for record in tx.run(READ_EDITIONS):
        day = to_date(record["day"])
        assert day is not None
        found[record["province"]] = AppliedEdition(day, record["digest"])
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
