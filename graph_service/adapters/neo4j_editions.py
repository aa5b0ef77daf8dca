"""The Neo4j store's edition history (spec §6), read and written inside a transaction the store opens:
applied editions (`Edition` nodes), name histories (lists on `Division` nodes), successor links
(`SUCCEEDED_BY`), station placements (dated `SITS_IN`) and reporting lines (dated `REPORTS_TO`)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date

from neo4j import Transaction

from graph_service.adapters.neo4j_cypher import (
    CLEAR_PLACEMENTS,
    CLEAR_REPORTING_LINES,
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


def write_successors(tx: Transaction, successors: Mapping[str, Sequence[str]]) -> None:
    """Link each retired division to its successors (`SUCCEEDED_BY {position}`)."""
    links = [{"old_code": old, "new_codes": list(news)} for old, news in successors.items()]
    tx.run(WRITE_SUCCESSORS, rows=links).consume()


def write_placements(tx: Transaction, stations: Sequence[Station], stored: Collection[str]) -> None:
    """Write the placement history of each of `stations` (one SITS_IN per placement, with
    `from`/`to`), and drop the dated ones of a stored station that has no history; then their
    reporting lines (`write_reporting_lines`)."""
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
    write_reporting_lines(tx, stations, stored)


def write_reporting_lines(tx: Transaction, stations: Sequence[Station], stored: Collection[str]) -> None:
    """Write the reporting history of each of `stations` (one REPORTS_TO per line to a station, with
    `from`/`to`; a line to nobody has none), and drop the dated ones of a stored station that has no
    reporting history."""
    lined = [
        {
            "id": s.id,
            "lines": [
                {"parent": line.parent_id, "from": line.from_, "to": line.to}
                for line in s.reporting_lines
                if line.parent_id is not None
            ],
        }
        for s in stations
        if s.reporting_lines
    ]
    if lined:
        tx.run(WRITE_REPORTING_LINES, rows=lined).consume()
    unlined = [s.id for s in stations if not s.reporting_lines and s.id in stored]
    if unlined:
        tx.run(CLEAR_REPORTING_LINES, ids=unlined).consume()


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
