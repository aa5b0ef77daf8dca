"""The audit trail (spec §9): what one write changed, who made it and when, as plain values.

Every write hands the store an `AuditTrail` (who, when, and one `AuditChange` per changed row) to record
in the same transaction as the write. A row's values before and after are objects keyed by the CSV
column names, as JSON text (`division_json`, `station_json`); None for a created (or deleted) row. Reading the
trail back is an `AuditQuery`, answered newest first with `AuditEntry` values.

`within` is where a change happened, for reading the trail by subtree: the codes of the divisions the
row sat in (before and after) and of all their ancestors at the time of the write, each wrapped in
`WITHIN_MARK` (`|52|5201|520102|`). "Under X" is then "`within` contains `|X|`".
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from json.encoder import encode_basestring
from typing import Any, NamedTuple

from graph_service.domain.model import Division, Station
from graph_service.domain.station_fields import row_object

# Built once: imports encode one row at a time. _ENCODE_TEXT is a string as a JSON string, non-ASCII
# kept as is (what _ENCODE does with one).
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_ENCODE_TEXT = encode_basestring

STATION_KIND = "station"
DIVISION_KIND = "division"
IMPORT_OPERATION = "import"
"""The operation of every entry an import (GraphQL or CLI, divisions or stations) records."""
WITHIN_MARK = "|"
CLI_ROLE = "cli"
"""The role recorded for writes made with the command line (which needs no token: it has the store)."""


class AuditChange(NamedTuple):
    """One changed row: the operation, what it is (`kind`: station or division) and its key, its values
    before and after as JSON text of the row object (`division_json`, `station_json`; None: created /
    deleted), and where it sits (`within`, see the module doc). A tuple: imports make one per row."""

    operation: str
    kind: str
    target: str
    before: str | None
    after: str | None
    within: str


@dataclass(frozen=True, slots=True)
class AuditTrail:
    """What one write records: who (`actor`, `role`), when (`at`, UTC) and each row it changed."""

    actor: str
    role: str
    at: datetime
    changes: Sequence[AuditChange]


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One recorded change, as read back. `seq` orders entries (higher is newer) and is the cursor."""

    seq: int
    at: datetime
    actor: str
    role: str
    operation: str
    kind: str
    target: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Which entries to read: of one row (`kind` and `target`), or within a division's subtree
    (`within`: a division code), at or after `since`, older than the entry `before_seq`; at most
    `limit` of them, newest first. None means "no condition"."""

    kind: str | None = None
    target: str | None = None
    within: str | None = None
    since: datetime | None = None
    before_seq: int | None = None
    limit: int = 100


def division_json(division: Division) -> str:
    """A division as JSON text of an object keyed by the division CSV's columns (an empty parent_code
    is null), and `valid_from`/`valid_to` when set (spec §6), written directly: imports make one per row."""
    parent = _ENCODE_TEXT(division.parent_code) if division.parent_code is not None else "null"
    validity = "".join(
        f',"{key}":"{day.isoformat()}"'
        for key, day in (("valid_from", division.valid_from), ("valid_to", division.valid_to))
        if day is not None
    )
    return (
        f'{{"code":{_ENCODE_TEXT(division.code)},"name":{_ENCODE_TEXT(division.name)},'
        f'"level":"{division.level}","parent_code":{parent}{validity}}}'
    )


def station_json(station: Station) -> str:
    """A station as JSON text of `row_of_station`."""
    return _ENCODE(row_of_station(station))


def row_of_station(station: Station) -> dict[str, Any]:
    """A station keyed by the station CSV's columns (dates as ISO text, counts as numbers, empty as None)."""
    return row_object(station)


def within_of(*paths: Sequence[str]) -> str:
    """The `within` text of a row sitting in the divisions whose code paths (root first, the division
    itself last) are given: every code once, each wrapped in WITHIN_MARK."""
    codes = dict.fromkeys(code for path in paths for code in path)
    return WITHIN_MARK + WITHIN_MARK.join(codes) + WITHIN_MARK if codes else ""


def within_pattern(code: str) -> str:
    """What `within` contains for a row in the subtree of division `code`."""
    return f"{WITHIN_MARK}{code}{WITHIN_MARK}"


def utc_now() -> datetime:
    """The time of a write, in UTC."""
    return datetime.now(UTC)


def timestamp_text(moment: datetime) -> str:
    """A time as stored: UTC, ISO 8601 with microseconds and a Z, so that text order is time order."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def timestamp_from_text(text: str) -> datetime:
    """A stored time back as an aware UTC datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def row_from_json(text: str | None) -> dict[str, Any] | None:
    """A stored before/after object back as a dict (None stays None)."""
    return None if text is None else json.loads(text)


class DivisionPaths:
    """The code path (root first, the division itself last) of any division, from a parent lookup
    (`parent_of(code)`: the parent's code, or None at a root or for an unknown code), each path worked
    out once. The hierarchy must be a forest (validated before any write)."""

    def __init__(self, parent_of: Callable[[str], str | None]) -> None:
        self._parent_of = parent_of
        self._paths: dict[str, tuple[str, ...]] = {}
        self._within: dict[str, str] = {}

    def path(self, code: str) -> tuple[str, ...]:
        """`code`'s ancestors, root first, then `code`."""
        found = self._paths.get(code)
        if found is None:
            parent = self._parent_of(code)
            found = (*self.path(parent), code) if parent is not None else (code,)
            self._paths[code] = found
        return found

    def within(self, *codes: str | None) -> str:
        """The `within` text of a row sitting in each of the divisions `codes` (None ones skipped)."""
        given = [code for code in codes if code is not None]
        if len(given) == 1 or (len(given) == 2 and given[0] == given[1]):
            return self.within_one(given[0])
        return within_of(*(self.path(code) for code in given))

    def within_one(self, code: str) -> str:
        """The `within` text of a row sitting in division `code`: its parent's and `code` (each worked
        out once)."""
        found = self._within.get(code)
        if found is None:
            parent = self._parent_of(code)
            above = self.within_one(parent) if parent is not None else WITHIN_MARK
            found = self._within[code] = f"{above}{code}{WITHIN_MARK}"
        return found


def pack_entries(entries: Sequence[tuple[str | None, str, str | None, str | None, str]]) -> bytes:
    """Many entries (`operation` or None for the write's, `target`, `before`, `after` as JSON text or
    None, `within`) as one compact value: the zlib-compressed JSON array of `[operation, target, before,
    after, within]` arrays, the row objects embedded as they are. A national import's division entries
    are stored this way (one value per batch instead of five strings per row)."""
    text = ",".join(
        f"[{'null' if op is None else _ENCODE_TEXT(op)},{_ENCODE_TEXT(target)},"
        f"{before or 'null'},{after or 'null'},{_ENCODE_TEXT(within)}]"
        for op, target, before, after, within in entries
    )
    return zlib.compress(f"[{text}]".encode(), 1)


def unpack_entries(packed: bytes) -> list[list[Any]]:
    """The entries of `pack_entries`, in order, each `[operation, target, before, after, within]` with
    `before`/`after` as dicts (or None)."""
    entries: list[list[Any]] = json.loads(zlib.decompress(packed))
    return entries


def unpacked_newest_first(
    batches: Iterable[tuple[int, bytes]], query: AuditQuery, *, with_cursor: bool
) -> Iterator[tuple[int, list[Any]]]:
    """The entries of packed batches (`(first seq, pack_entries value)`, newest batch first) that
    `query`'s target, subtree and (`with_cursor`) cursor select, newest first, as (seq, entry). Which
    batches (kind, `since`) is the caller's choice; each batch is unpacked only when reached."""
    upper = query.before_seq if with_cursor and query.before_seq is not None else None
    pattern = within_pattern(query.within) if query.within is not None else None
    for first, packed in batches:
        entries = unpack_entries(packed)
        for index in range(len(entries) - 1, -1, -1):
            entry = entries[index]
            if upper is not None and first + index >= upper:
                continue
            if query.target is not None and entry[1] != query.target:
                continue
            if pattern is not None and pattern not in entry[4]:
                continue
            yield first + index, entry
