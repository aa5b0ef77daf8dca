"""The Neo4j store's reads of what was written since a data version, inside a transaction the store
opens: the changes a reader catches up with (`read_changes`, or `few_changes` from the one statement
that reads a few), and what a write's basis is checked against (`read_written_since`, `verify_basis`)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from functools import partial
from typing import Any, TypeVar

from neo4j import Record, Transaction

from graph_service.adapters.neo4j_connection import checked_version
from graph_service.adapters.neo4j_cypher import (
    BUMP_VERSION,
    CHANGES_CHUNK,
    DIVISION_CODES_CHANGED,
    DIVISIONS_CHANGED,
    PACKED_STATIONS_CHANGED,
    PUBLISHED_TOKENS,
    STATION_PLACES_CHANGED,
    STATION_PLACES_CHANGED_OF,
    STATIONS_CHANGED,
)
from graph_service.adapters.neo4j_editions import editions_from_rows, read_editions, read_successors
from graph_service.adapters.neo4j_rows import to_date, unpack_stations
from graph_service.adapters.rows import (
    division_from_row,
    load_division_row,
    load_station_row,
    station_from_row,
)
from graph_service.domain.editions import AppliedEdition
from graph_service.domain.model import Station
from graph_service.domain.write_basis import StationPlace, WrittenSince
from graph_service.ports import Changes, SnapshotSink, WriteBasis

D = TypeVar("D")
S = TypeVar("S")

PLACES_BY_ID_MOST = 1_000
"""Up to how many stations named by id a write's basis reads by their ids (`STATION_PLACES_CHANGED_OF`);
more are picked out of every station written since (a few writes' worth, as a rule)."""


def read_changes(tx: Transaction, current: int, version: int) -> Changes:
    """Every division and station last written in a data version above `version` and at most `current`
    (divisions with their successor links: a write of links marks the division written), read in
    `tx`, bringing the reader to data version `current`.

    The stations of a large write kept packed (`WRITE_PACKED_STATIONS`) are read from its pack, one
    value, instead of a row each (50,000 rows cost Neo4j 0.35-0.45 CPU seconds to give; their pack,
    next to nothing). A pack holds its stations as that write left them: one written again since
    is read at its later version, which takes the pack's place."""
    packed = {
        record["version"]: record["stations"]
        for record in tx.run(PACKED_STATIONS_CHANGED, since=version, upto=current)
    }
    divisions, stations = _written_since(
        tx,
        version,
        current,
        partial(division_from_row, to_date=to_date),
        partial(station_from_row, to_date=to_date),
        packed.keys(),
    )
    links = read_successors(tx, [d.code for d in divisions]) if divisions else {}
    return Changes(current, divisions, _latest_stations(packed, stations), links)


def few_changes(record: Record, current: int) -> Changes:
    """The changes a `FEW_CHANGES_LOCKED` record holds (divisions with their successor links, and
    stations, those of packed versions from their packs), bringing the reader to data version
    `current`."""
    divisions = [division_from_row(row, to_date) for row in record["divisions"]]
    stations = [station_from_row(row, to_date) for row in record["stations"]]
    links = {code: [other for _, other in sorted(pairs)] for code, pairs in record["links"] if pairs}
    packed = {version: pack for version, pack in record["packs"]}
    return Changes(current, divisions, _latest_stations(packed, stations), links)


def _latest_stations(packed: Mapping[int, bytes], stations: list[Station]) -> list[Station]:
    """Each station once, in its latest state: those of the packs (data version -> `pack_stations`
    value), a later pack's taking the place of an earlier one's, then `stations`, read from the rows
    of the versions without a pack (a row is a station's latest: one written again since has left its
    packed version), taking the place of theirs. `ValueError` for a pack that cannot be read."""
    if not packed:
        return stations
    latest = {station.id: station for _, pack in sorted(packed.items()) for station in unpack_stations(pack)}
    latest.update((station.id, station) for station in stations)
    return list(latest.values())


def load_written_since(tx: Transaction, sink: SnapshotSink, version: int, current: int) -> None:
    """Give `sink` again, as they are now, the divisions (with their successor links) and stations
    last written in a data version above `version` and at most `current`, after it forgets what it was given
    of them (a load's last step: rows written while it read)."""
    division_rows, station_rows = _written_since(tx, version, current, _as_is, _as_is)
    codes = {str(row[0]) for row in division_rows}
    sink.forget(codes, {str(row[0]) for row in station_rows})
    for row in division_rows:
        load_division_row(sink, row, to_date)
    for code, others in read_successors(tx, sorted(codes)).items():
        sink.add_successors(code, others)
    for row in station_rows:
        load_station_row(sink, row, to_date)


def _written_since(
    tx: Transaction,
    version: int,
    current: int,
    division: Callable[[list[Any]], D],
    station: Callable[[list[Any]], S],
    packed: Collection[int] = (),
) -> tuple[list[D], list[S]]:
    """The divisions and the stations last written in a data version above `version` and at most
    `current` (the stations of the `packed` versions left out), read in `tx`, each stored row (as the
    load's pages give it) made into what `division` and `station` make of it as its record arrives.
    The stations of a large write published in those versions keep its token (`PUBLISH_STATIONS`):
    they are read as the range (token - 1, token]."""
    bounds = {"since": version, "upto": current, "chunk": CHANGES_CHUNK}
    divisions = [division(row) for record in tx.run(DIVISIONS_CHANGED, bounds) for row in record[0]]
    tokens = [
        (record["token"] - 1, record["token"])
        for record in tx.run(PUBLISHED_TOKENS, since=version, upto=current)
        if record["version"] not in packed
    ]
    stations = [
        station(row)
        for since, upto in [*_versions_between(version, current, packed), *tokens]
        for record in tx.run(STATIONS_CHANGED, bounds, since=since, upto=upto)
        for row in record[0]
    ]
    return divisions, stations


def _versions_between(version: int, current: int, left_out: Collection[int]) -> Iterator[tuple[int, int]]:
    """The data versions above `version` up to `current` but those `left_out`, as the fewest
    (since, upto] ranges, none empty. (One statement per range, not `NOT s.changed_in IN $list`:
    Neo4j plans a statement again for each new list size, and that plan took 0.6 s on a busy box.)"""
    since = version
    for skipped in sorted(left_out):
        if skipped > since + 1:
            yield since, skipped - 1
        since = max(since, skipped)
    if current > since:
        yield since, current


def _as_is(row: list[Any]) -> list[Any]:
    return row


def read_written_since(tx: Transaction, version: int, ids: Collection[str] | None) -> WrittenSince:
    """The codes of the divisions and the places of the stations (of those `ids` only, unless None)
    last written in a data version above `version`, read in `tx` (index reads of a few properties;
    a few `ids` are looked up by id, not picked out of every station written since)."""
    codes = list(tx.run(DIVISION_CODES_CHANGED, since=version).value("code"))
    if ids is not None and len(ids) <= PLACES_BY_ID_MOST:  # a few: each found by its id
        records = tx.run(STATION_PLACES_CHANGED_OF, since=version, ids=sorted(ids)) if ids else ()
    else:
        records = tx.run(STATION_PLACES_CHANGED, since=version, ids=None if ids is None else sorted(ids))
    places = [StationPlace(r["id"], r["division_code"], r["parent_id"], r["level"]) for r in records]
    return WrittenSince(codes, places)


def bump_version(tx: Transaction) -> tuple[int, Callable[[], dict[str, AppliedEdition]]]:
    """Bump the data version in `tx`, taking the write lock (`BUMP_VERSION`); return the new version
    and what gives the editions applied (read by the same statement, once the lock was held) to
    `verify_basis`."""
    record = tx.run(BUMP_VERSION).single(strict=True)
    editions = editions_from_rows(record["editions"])
    return checked_version(record["version"]), lambda: dict(editions)


def verify_basis(
    basis: WriteBasis | None,
    tx: Transaction,
    version: int,
    editions: Callable[[], Mapping[str, AppliedEdition]] | None = None,
) -> None:
    """Verify `basis` (when given) inside the write transaction that makes data version `version`
    (it holds the write lock: nothing else commits meanwhile); `editions` gives the editions applied
    when they were read already (`bump_version`), else they are read in `tx`."""
    if basis is not None:
        basis.verify(version - 1, partial(read_written_since, tx), editions or partial(read_editions, tx))
