"""An in-memory store for the unit tests: `FakeStore` implements the store protocol
(`graph_service.ports.Store`) with dicts, as cosmicpython's `FakeRepository` does its repository.

It keeps the protocol's promises that the service layer relies on: a data version bumped by every
write, rows remembering the version that wrote them (`changes_since`), optimistic concurrency on
station versions (`ConflictError`), links checked (`StoreError`), all-or-nothing writes, the audit
trail numbered with `audit_seq`. It is not a mock: nothing is scripted, a test sees what it wrote.

Several handles may share one store's contents (`FakeStore.handle()`), as processes share a database
file; each handle has its own `closed` state. `service_over(store)` is a service on one. The contract
suite the real stores pass (tests/integration/contract/) runs against it too, so it cannot drift from
them unseen.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import count
from threading import RLock

from graph_service.domain.audit import (
    DIVISION_KIND,
    STATION_KIND,
    AuditEntry,
    AuditQuery,
    AuditTrail,
    row_from_json,
    within_pattern,
)
from graph_service.domain.editions import AppliedEdition
from graph_service.domain.model import Division, Station
from graph_service.domain.validity import DivisionName
from graph_service.domain.write_basis import StationPlace, WrittenSince
from graph_service.ports import (
    DEFAULT_BATCH_SIZE,
    Changes,
    ConflictError,
    Progress,
    SnapshotSink,
    StationTotals,
    StoreError,
    WriteBasis,
    audit_seq,
)
from graph_service.service_layer.services import NetworkService
from graph_service.service_layer.settings import Settings
from graph_service.service_layer.syncing import load_engine
from tests.support.network import settings_for

_names = count(1)


@dataclass
class _Contents:
    """What one fake store holds: rows by key, each with the data version that last wrote it."""

    version: int = 0
    divisions: dict[str, tuple[Division, int]] = field(default_factory=dict)
    stations: dict[str, tuple[Station, int]] = field(default_factory=dict)
    audit: list[tuple[AuditEntry, str]] = field(default_factory=list)
    """Every recorded change, oldest first, with its `within` text."""
    editions: dict[str, AppliedEdition] = field(default_factory=dict)
    """The latest edition applied to each province."""
    successors: dict[str, list[str]] = field(default_factory=dict)
    """A retired division's successors, in order."""
    names: dict[str, list[DivisionName]] = field(default_factory=dict)
    """A division's dated name history, as written."""
    lock: RLock = field(default_factory=RLock)
    """Held by each write and by each read's copy, so readers see a write wholly or not at all."""


class FakeStore:
    """The store protocol in memory (see the module doc)."""

    def __init__(
        self, *, batch_size: int = DEFAULT_BATCH_SIZE, contents: _Contents | None = None, url: str = ""
    ) -> None:
        self.url = url or f"fake://store-{next(_names)}"
        self.batch_size = batch_size
        self.closed = False
        self.writes = 0
        """Committed writes made through this handle (what a test may count)."""
        self._contents = contents if contents is not None else _Contents()

    def handle(self, *, batch_size: int | None = None) -> FakeStore:
        """Another handle on the same contents (as a second process opening the same database)."""
        return FakeStore(batch_size=batch_size or self.batch_size, contents=self._contents, url=self.url)

    # --- reads -----------------------------------------------------------------------------------

    def load(self, sink: SnapshotSink) -> int:
        """Every division, then every station, into `sink`; the data version they reflect."""
        self.ping()
        with self._contents.lock:
            version = self._contents.version
            divisions = [division for division, _ in self._contents.divisions.values()]
            links = {old: list(news) for old, news in self._contents.successors.items() if news}
            stations = [station for station, _ in self._contents.stations.values()]
        for division in divisions:
            sink.add_division(division)
        for old, news in sorted(links.items()):
            sink.add_successors(old, news)
        for station in stations:
            sink.add_station(station)
        return version

    def load_part(
        self,
        sink: SnapshotSink,
        *,
        station_ids: Collection[str] = (),
        reporting_to: Collection[str] = (),
        division_codes: Collection[str] = (),
    ) -> None:
        """The stations `station_ids` and those whose parent is one of `reporting_to`, and the
        divisions `division_codes` with every division above them, each once, into `sink`."""
        self.ping()
        contents = self._contents
        with contents.lock:
            divisions: dict[str, Division] = {}
            for code in division_codes:
                while code in contents.divisions and code not in divisions:
                    division = divisions[code] = contents.divisions[code][0]
                    if division.parent_code is None:
                        break
                    code = division.parent_code
            stations = {sid: contents.stations[sid][0] for sid in station_ids if sid in contents.stations}
            wanted = set(reporting_to)
            for station, _ in contents.stations.values():
                if station.parent_id in wanted:
                    stations.setdefault(station.id, station)
        for division in divisions.values():
            sink.add_division(division)
        for station in stations.values():
            sink.add_station(station)

    def station_totals(self) -> StationTotals:
        """How many stations are stored, and the sums of their counts (negative ones as 0)."""
        self.ping()
        with self._contents.lock:
            stations = [station for station, _ in self._contents.stations.values()]
        return StationTotals(
            len(stations),
            sum(max(0, s.staff) for s in stations),
            sum(max(0, s.certified_staff) for s in stations),
            sum(max(0, s.volunteers) for s in stations),
        )

    def data_version(self) -> int:
        """The current data version (0 before the first write)."""
        self.ping()
        return self._contents.version

    def changes_since(self, version: int) -> Changes:
        """The rows written after `version`, and the version they bring the reader to."""
        self.ping()
        return self._changes(version)

    def _changes(self, version: int) -> Changes:
        """`changes_since` without the closed check (also what a write's basis is verified on)."""
        contents = self._contents
        with contents.lock:
            divisions = [division for division, written in contents.divisions.values() if written > version]
            return Changes(
                contents.version,
                divisions,
                [station for station, written in contents.stations.values() if written > version],
                {
                    d.code: list(contents.successors[d.code])
                    for d in divisions
                    if contents.successors.get(d.code)
                },
            )

    def applied_editions(self) -> dict[str, AppliedEdition]:
        """The latest edition applied to each province."""
        self.ping()
        with self._contents.lock:
            return dict(self._contents.editions)

    def division_links(self, codes: Sequence[str]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        """The successors of `codes` (in their order) and their predecessors (by code)."""
        self.ping()
        wanted = set(codes)
        with self._contents.lock:
            links = {old: list(news) for old, news in self._contents.successors.items()}
        successors = {old: news for old, news in links.items() if old in wanted and news}
        predecessors: dict[str, list[str]] = {}
        for old in sorted(links):
            for new in links[old]:
                if new in wanted:
                    predecessors.setdefault(new, []).append(old)
        return successors, predecessors

    def division_names(self, codes: Sequence[str]) -> dict[str, list[DivisionName]]:
        """The name histories of `codes` that have one, oldest first (an undated name first)."""
        self.ping()
        with self._contents.lock:
            found = {
                code: list(self._contents.names[code]) for code in codes if self._contents.names.get(code)
            }
        return {
            code: sorted(history, key=lambda entry: (entry.valid_from is not None, entry.valid_from or 0))
            for code, history in found.items()
        }

    def audit_entries(self, query: AuditQuery) -> list[AuditEntry]:
        """The recorded changes `query` selects, newest first, at most `query.limit`."""
        return self._selected(query, with_cursor=True)[: query.limit]

    def count_audit_entries(self, query: AuditQuery) -> int:
        """How many recorded changes `query` selects, its cursor and limit aside."""
        return len(self._selected(query, with_cursor=False))

    # --- writes ----------------------------------------------------------------------------------

    def upsert_divisions(
        self,
        divisions: Sequence[Division],
        *,
        progress: Progress | None = None,
        audit: AuditTrail | None = None,
        editions: Mapping[str, AppliedEdition] | None = None,
        names: Mapping[str, Sequence[DivisionName]] | None = None,
        successors: Mapping[str, Sequence[str]] | None = None,
        stations: Sequence[Station] = (),
        basis: WriteBasis | None = None,
    ) -> int:
        """Insert or replace `divisions` by code, with `editions`, `names` (replacing a code's history),
        `successors` (replacing a retired code's) and the `stations` an edition moves (with their
        placement history); `StoreError` (nothing written) when a code is missing or a parent_code
        names no division, stored or written; `BasisChanged` when `basis` no longer holds."""
        self.ping()
        with self._contents.lock:
            if not (divisions or editions or names or successors or stations):
                return self._contents.version
            self._verify(basis)
            _require_keys("division code", [d.code for d in divisions])
            written = {d.code: d for d in divisions}
            known = self._contents.divisions.keys() | written.keys()
            missing = [
                f"{d.code} names parent {d.parent_code}"
                for d in divisions
                if d.parent_code is not None and d.parent_code not in known
            ]
            if missing:
                raise StoreError("unknown parent division: " + ", ".join(missing))
            version = self._contents.version + 1
            self._report_batches(len(divisions), progress)
            self._contents.editions.update(editions or {})
            self._contents.successors.update({old: list(news) for old, news in (successors or {}).items()})
            self._contents.names.update({code: list(history) for code, history in (names or {}).items()})
            for code, division in written.items():
                self._contents.divisions[code] = (division, version)
            for code in successors or {}:  # a write of links marks the division written
                if code in self._contents.divisions and code not in written:
                    self._contents.divisions[code] = (self._contents.divisions[code][0], version)
            for station in stations:
                self._contents.stations[station.id] = (station, version)
            return self._commit(version, audit)

    def upsert_stations(
        self,
        stations: Sequence[Station],
        expected_versions: Mapping[str, int | None] | None = None,
        *,
        progress: Progress | None = None,
        audit: AuditTrail | None = None,
        basis: WriteBasis | None = None,
    ) -> int:
        """Insert or replace `stations` by id; `ConflictError` when a stored version is not the expected
        one or `basis` no longer holds, `StoreError` when an id is missing or a division_code or
        parent_id names nothing (nothing written either way)."""
        self.ping()
        with self._contents.lock:
            if not stations:
                return self._contents.version
            self._verify(basis)
            _require_keys("station id", [s.id for s in stations])
            stored = self._contents.stations
            versions = {
                sid: stored[sid][0].version if sid in stored else None for sid in expected_versions or {}
            }
            conflicts = {
                sid: (want, versions[sid])
                for sid, want in (expected_versions or {}).items()
                if versions[sid] != want
            }
            if conflicts:
                raise ConflictError(conflicts)
            written = {s.id: s for s in stations}
            no_division = [
                f"station {s.id} sits in {s.division_code}"
                for s in stations
                if s.division_code not in self._contents.divisions
            ]
            if no_division:
                raise StoreError("unknown division: " + ", ".join(no_division))
            no_parent = [
                f"station {s.id} reports to {s.parent_id}"
                for s in stations
                if s.parent_id is not None and s.parent_id not in stored and s.parent_id not in written
            ]
            if no_parent:
                raise StoreError("unknown parent station: " + ", ".join(no_parent))
            version = self._contents.version + 1
            self._report_batches(len(stations), progress)
            for sid, station in written.items():
                stored[sid] = (station, version)
            return self._commit(version, audit)

    # --- the handle ------------------------------------------------------------------------------

    def ping(self) -> None:
        """Raise `StoreError` once this handle is closed."""
        if self.closed:
            raise StoreError(f"{self.url} is closed")

    def warm_up(self) -> None:
        """Nothing to get ready."""

    def close(self) -> None:
        self.closed = True

    def __repr__(self) -> str:
        return f"FakeStore({self.url!r}, version {self._contents.version})"

    # --- helpers ---------------------------------------------------------------------------------

    def _written_since(self, version: int, ids: Collection[str] | None) -> WrittenSince:
        """The codes and places of what was written after `version` (of the stations `ids` only, unless
        None): what a write's basis is checked on."""
        changes = self._changes(version)
        places = [StationPlace.of(s) for s in changes.stations if ids is None or s.id in ids]
        return WrittenSince([d.code for d in changes.divisions], places)

    def _verify(self, basis: WriteBasis | None) -> None:
        """Verify `basis` (when given) against the contents, under their lock."""
        if basis is not None:
            basis.verify(self._contents.version, self._written_since, lambda: dict(self._contents.editions))

    def _report_batches(self, rows: int, progress: Progress | None) -> None:
        """Tell `progress` the rows written after each batch, as a store writing in batches does."""
        if progress is not None:
            for done in range(self.batch_size, rows + self.batch_size, self.batch_size):
                progress(min(done, rows))

    def _commit(self, version: int, audit: AuditTrail | None) -> int:
        """Record `audit` as written by `version`, move the data version on; the new version."""
        if audit is not None:
            for index, change in enumerate(audit.changes):
                entry = AuditEntry(
                    audit_seq(version, index),
                    audit.at,
                    audit.actor,
                    audit.role,
                    change.operation,
                    change.kind,
                    change.target,
                    row_from_json(change.before),
                    row_from_json(change.after),
                )
                self._contents.audit.append((entry, change.within))
        self._contents.version = version
        self.writes += 1
        return version

    def _selected(self, query: AuditQuery, *, with_cursor: bool) -> list[AuditEntry]:
        """The entries `query` selects, newest first (its limit aside)."""
        self.ping()
        if query.kind not in (None, STATION_KIND, DIVISION_KIND):
            raise StoreError(f"unknown kind of audit entry: {query.kind!r}")
        pattern = within_pattern(query.within) if query.within is not None else None
        with self._contents.lock:
            recorded = list(self._contents.audit)
        return [
            entry
            for entry, within in reversed(recorded)
            if (query.kind is None or entry.kind == query.kind)
            and (query.target is None or entry.target == query.target)
            and (pattern is None or pattern in within)
            and (query.since is None or entry.at >= query.since)
            and not (with_cursor and query.before_seq is not None and entry.seq >= query.before_seq)
        ]


def _require_keys(what: str, keys: Sequence[object]) -> None:
    """Refuse rows without a key, as a database refuses a NULL or empty primary key."""
    if any(not isinstance(key, str) or not key for key in keys):
        raise StoreError(f"a row has no {what}")


def service_over(store: FakeStore, settings: Settings | None = None) -> NetworkService:
    """A service over `store` (the tests' settings, the store asked at every refresh, unless given)."""
    return NetworkService(store, load_engine(store), settings or settings_for(store.url))
