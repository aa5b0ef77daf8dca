"""Rows for the Neo4j store's writes and from its reads: the order a write creates rows in (parents
first), station rows (`STORED_STATION_COLUMNS`), stored versions, and stored dates read back."""

from __future__ import annotations

import json
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from typing import Any, TypeVar

from neo4j import Transaction

from graph_service.adapters.batching import RowsWritten, batches, write_in_batches
from graph_service.adapters.neo4j_cypher import LOCKED_VERSIONS, STORED_VERSIONS
from graph_service.adapters.rows import station_from_row
from graph_service.domain.model import Division, Station
from graph_service.domain.station_fields import stored_values
from graph_service.ports import Progress

T = TypeVar("T")


def parents_first(
    items: Sequence[T], key: Callable[[T], Any], parent: Callable[[T], Any], stored: set[str]
) -> tuple[list[T], list[T]]:
    """Split rows to write into (created, merged).

    Created rows can simply be created: their key is a string, given once and not in `stored`; they
    are ordered so that a row's parent, when it is created too, comes before it (by depth among the
    created rows, stably; rows already in such an order keep it). Merged rows are the others (stored
    keys, keys given more than once or not strings, members of a parent cycle among new keys), in
    their given order; they are written before the created rows, so a created row may have a merged
    parent.
    """
    keys = [key(item) for item in items]
    fresh = dict(zip(keys, items, strict=True))
    if len(fresh) < len(items) or stored or not all(isinstance(k, str) for k in fresh):
        counts = Counter(keys)
        fresh = {
            k: item
            for k, item in zip(keys, items, strict=True)
            if isinstance(k, str) and counts[k] == 1 and k not in stored
        }
    position = {k: index for index, k in enumerate(fresh)}
    if all(position.get(parent(item), -1) < index for index, item in enumerate(fresh.values())):
        created = list(fresh.values())
    else:
        created = _by_depth(fresh, parent)
    if len(created) == len(items):
        return created, []
    chosen = {key(item) for item in created}
    return created, [item for k, item in zip(keys, items, strict=True) if k not in chosen]


def _by_depth(fresh: dict[str, T], parent: Callable[[T], Any]) -> list[T]:
    """The rows of `fresh` (by key) that are on no parent cycle among them, each after its parent
    when that is in `fresh` too: sorted stably by depth among `fresh`."""
    depth: dict[str, int | None] = {}  # None: on a parent cycle
    for start in fresh:
        path: list[str] = []
        on_path: set[str] = set()
        current = start
        while current in fresh and current not in depth:
            if current in on_path:
                cycle = path.index(current)
                for member in path[cycle:]:
                    depth[member] = None
                del path[cycle:]
                break
            path.append(current)
            on_path.add(current)
            current = parent(fresh[current])
        above = depth.get(current) if current in fresh else None
        level = 0 if above is None else above + 1
        for member in reversed(path):
            depth[member] = level
            level += 1
    ordered = sorted((d, index, k) for index, (k, d) in enumerate(depth.items()) if d is not None)
    return [fresh[k] for _, _, k in ordered]


def stored_versions(tx: Transaction, ids: Sequence[str], lock: bool = False) -> Iterator[tuple[str, int]]:
    """The (id, version) of each stored station of `ids`; with `lock`, read once `tx` holds each one's
    write lock (held until it ends)."""
    for record in tx.run(LOCKED_VERSIONS if lock else STORED_VERSIONS, ids=list(ids)):
        yield record["id"], record["version"]


def division_key(division: Division) -> Any:
    return division.code


def division_parent(division: Division) -> Any:
    return division.parent_code


def station_key(station: Station) -> Any:
    return station.id


def station_parent(station: Station) -> Any:
    return station.parent_id


def station_row(station: Station) -> list[Any]:
    """A station as a row of `STORED_STATION_COLUMNS` for the station statements (dates as dates)."""
    return stored_values(station, _same_date)


def _same_date(day: date) -> date:
    return day


PACK_LINE_ROWS = 1_000
"""Rows on one line of a pack: what a reader parses in one `json.loads`. The parser holds the GIL
throughout a call: parsing a 50,000-row pack in one call kept a server holding the national network
from answering anything for 66-71 ms; a line takes about 1 ms."""


def pack_stations(stations: Sequence[Station]) -> bytes | None:
    """`stations` as one compact value, what a catch-up reads in place of their rows
    (`WRITE_PACKED_STATIONS`): the zlib-compressed JSON array of their `stored_values` rows (the rows
    the station statements read, dates as ISO text), PACK_LINE_ROWS rows to a line (JSON text holds
    no newline but between values). None when any of them has a placement or reporting history
    (spec §6): those are read from their links."""
    if any(station.placements or station.reporting_lines for station in stations):
        return None
    rows = [stored_values(station) for station in stations]
    lines = (
        json.dumps(rows[start : start + PACK_LINE_ROWS], ensure_ascii=False, separators=(",", ":"))[1:-1]
        for start in range(0, len(rows), PACK_LINE_ROWS)
    )
    return zlib.compress(("[" + ",\n".join(lines) + "]").encode(), 1)


def unpack_stations(packed: bytes) -> list[Station]:
    """The stations of a `pack_stations` value, in order, parsed a line at a time (a pack on one line,
    as versions before lines wrote it, in one call); `ValueError` when it is not one."""
    try:
        text = zlib.decompress(packed)
    except zlib.error as error:
        raise ValueError(f"packed stations that cannot be read: {error}") from error
    lines = text.split(b"\n")
    if len(lines) > 1:  # "[" + rows + ",", rows + ",", ..., rows + "]": each line's rows as an array
        lines = [b"[" + line[1 if number == 0 else 0 : -1] + b"]" for number, line in enumerate(lines)]
    rows: list[Any] = []
    for line in lines:
        parsed = json.loads(line)
        if not isinstance(parsed, list):
            raise ValueError("packed stations that are not a list of rows")
        rows.extend(parsed)
    return [station_from_row(row, to_date) for row in rows]


def to_date(value: Any) -> date | None:
    """A stored date as a `datetime.date`: ISO text (how the statements give a stored Date back, and
    text written by hand) or a Neo4j Date."""
    if isinstance(value, str):
        return date.fromisoformat(value)
    if value is None:
        return None
    native = value.to_native()
    assert isinstance(native, date)
    return native


def pages(tx: Transaction, query: str, size: int, upto: int) -> Iterator[list[Any]]:
    """Run a paging `query` (parameters `after`, `limit`: `size`, `upto`; one record with `rows`, each
    row's key first, and `current`: whether each was last written at or before data version `upto`)
    until it returns no rows, yielding every current row; holds one page in memory at a time."""
    after = ""
    while True:
        record = tx.run(query, after=after, limit=size, upto=upto).single(strict=True)
        rows: list[list[Any]] = record["rows"]
        if not rows:
            return
        yield from (row for row, current in zip(rows, record["current"], strict=True) if current)
        after = max(row[0] for row in rows)


def stored_keys(tx: Transaction, count_query: str, query: str, keys: list[Any], size: int) -> set[str]:
    """Which of `keys` are stored already: none when `count_query` (one record with `count`)
    counts no node, else asked `size` keys at a time with `query` (parameter `keys`; one
    record with `keys`)."""
    stored: set[str] = set()
    if tx.run(count_query).single(strict=True)["count"] == 0:
        return stored
    wanted = [key for key in keys if isinstance(key, str)]
    for chunk in batches(wanted, size):
        stored.update(tx.run(query, keys=list(chunk)).single(strict=True)["keys"])
    return stored


def write_passes(
    created: Sequence[T],
    merged: Sequence[T],
    create: Callable[[Sequence[T]], None],
    merge_nodes: Callable[[Sequence[T]], None],
    merge_links: Callable[[Sequence[T]], None],
    progress: Progress | None,
    size: int,
) -> None:
    """Write rows split by `parents_first`, `size` at a time: the merged rows' nodes, then
    the created rows (nodes and links at once), then the merged rows' links. `progress` hears the
    rows written after each batch, a merged row counting half written once its node is."""
    written = RowsWritten(progress, passes=2)
    write_in_batches(merged, size, merge_nodes, written)
    write_in_batches(created, size, create, written, passes=2)
    write_in_batches(merged, size, merge_links, written)
