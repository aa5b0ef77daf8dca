"""The ports: the store protocol every adapter implements, and its value types.

`Store`, `SnapshotSink`, `Changes`, the store errors and the audit sequence numbering live here. This
module imports the domain only, never an adapter: the engine and the service layer depend on it, the
adapters (`graph_service.adapters`) implement it, and `graph_service.bootstrap` picks the adapter.
`Changes` is plain data of the domain (`graph_service.domain.changes`), re-exported here.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from graph_service.domain.audit import AuditEntry, AuditQuery, AuditTrail
from graph_service.domain.changes import Changes as Changes  # re-exported: part of the ports
from graph_service.domain.editions import AppliedEdition
from graph_service.domain.model import Division, Station
from graph_service.domain.validity import DivisionName
from graph_service.domain.write_basis import WrittenSince

DEFAULT_BATCH_SIZE = 10_000
"""Rows per write batch (and per read batch of a load) when nothing else is configured."""
LOCK_TIMEOUT_SECONDS = 2.0
"""How long a write waits for another writer (another process) to finish before the store reports
itself busy (`StoreUnavailable`) instead of making its caller wait on."""


# Called with the number of rows written so far, after each batch of a write.
Progress = Callable[[int], None]

AUDIT_SEQ_STRIDE = 1 << 32
"""An audit entry's `seq` is `data version * AUDIT_SEQ_STRIDE + its index in the write`: unique, and
higher for newer entries (later rows of one write count as newer)."""


def audit_seq(version: int, index: int) -> int:
    """The `seq` of the `index`-th change recorded by the write that made data version `version`."""
    return version * AUDIT_SEQ_STRIDE + index


class StoreError(Exception):
    """The store could not do what was asked (unreachable, misconfigured, or a failed write)."""


class StoreUnavailable(StoreError):
    """The store is unreachable or busy (another writer holds its lock past the wait allowed):
    nothing was written, and the same call may be tried again later."""


class OutcomeUnknown(StoreError):
    """The connection was lost while a write was committing: it may or may not have been written
    (the next catch-up with the store tells)."""


class ConflictError(StoreError):
    """A write found a station at another version than expected; nothing was written.

    `conflicts` maps each station id to (expected version, stored version); a version of None means
    "does not exist".
    """

    def __init__(self, conflicts: Mapping[str, tuple[int | None, int | None]]) -> None:
        self.conflicts = dict(conflicts)
        details = ", ".join(
            f"{station_id} (expected {'absent' if want is None else f'version {want}'}, "
            f"found {'absent' if have is None else f'version {have}'})"
            for station_id, (want, have) in sorted(self.conflicts.items())
        )
        super().__init__(f"stations changed since they were read: {details}")


class BasisChanged(ConflictError):
    """Another writer committed, after a write was checked, something that write relied on (spec §6:
    an edition of the same province, a division retired under a station import); nothing was
    written. `reasons` names what changed."""

    def __init__(self, reasons: Sequence[str]) -> None:
        self.conflicts = {}
        self.reasons = list(reasons)
        Exception.__init__(self, "the network changed since this write was checked: " + "; ".join(reasons))


@dataclass(frozen=True, slots=True)
class WriteBasis:
    """What a write was checked against, re-checked by the store inside the write's transaction once
    it holds the write lock: `check(written since version, latest edition of each province)` gives
    the reasons the write no longer holds (`domain.write_basis`); any reason refuses the write
    (`BasisChanged`, nothing written)."""

    version: int
    check: Callable[[WrittenSince, Mapping[str, AppliedEdition]], list[str]]
    station_ids: frozenset[str] | None = None
    """Only the stations with these ids matter to `check` (None: every station written since)."""

    def verify(
        self,
        stored: int,
        read_written: Callable[[int, frozenset[str] | None], WrittenSince],
        read_editions: Callable[[], Mapping[str, AppliedEdition]],
    ) -> None:
        """Raise `BasisChanged` unless the write still holds over the store at data version `stored`
        (what was written since `version`, of the stations `station_ids` only, read with
        `read_written(version, station_ids)` only when anything was)."""
        since = read_written(self.version, self.station_ids) if stored > self.version else WrittenSince()
        reasons = self.check(since, read_editions())
        if reasons:
            raise BasisChanged(reasons)


@dataclass(frozen=True, slots=True)
class StationTotals:
    """What all stored stations together add at most to any roll-up total: how many there are and the
    sums of their staff, certified staff and volunteers (a negative or unreadable value counted as 0,
    hidden rows of unfinished writes counted too): an upper bound for the whole network."""

    stations: int
    staff: int
    certified_staff: int
    volunteers: int


class SnapshotSink(Protocol):
    """Receives a store's whole network in one streaming pass: every division, the successor links,
    then every station; then, from a store that read without holding writers back (Neo4j), the
    records written meanwhile: `forget` them, and each again as it now is, in the same order."""

    def add_division(self, division: Division) -> None: ...

    def add_station(self, station: Station) -> None: ...

    def add_successors(self, old_code: str, new_codes: list[str]) -> None:
        """The successors of one retired division, in the admin's order (spec §6), after the
        divisions and before the stations."""
        ...

    def reject(self, kind: str, key: str, message: str, version: int | None = None) -> None:
        """A stored row that cannot be read as a record (kind "division" or "station", its code or
        id, why, and a station's stored version): the load goes on without it."""
        ...

    def forget(self, codes: Collection[str], ids: Collection[str]) -> None:
        """Drop what was given of the divisions `codes` (their successor links too) and the stations
        `ids`, rejections included: the store gives them again as they now are (a store that reads
        without holding writers back, and saw them written meanwhile)."""
        ...


class Store(Protocol):
    """A durable home for the network. Every write is all-or-nothing and moves the data version on.

    The data version is a monotonic integer: 0 for an empty store, bumped by one in the same
    transaction as every committed write, never by a failed one. Each written row remembers the
    version that wrote it, which is how `changes_since` finds what another process changed.
    """

    url: str

    def load(self, sink: SnapshotSink) -> int:
        """Stream the whole network into `sink` (all divisions, then all stations) from one consistent
        read, in memory proportional to one batch; return the data version it reflects."""
        ...

    def load_part(
        self,
        sink: SnapshotSink,
        *,
        station_ids: Collection[str] = (),
        reporting_to: Collection[str] = (),
        division_codes: Collection[str] = (),
    ) -> None:
        """Give `sink`, as `load` would, the stored stations named `station_ids`, the stations whose
        parent (now) is one of `reporting_to`, and the divisions `division_codes` with every division
        above them (no successor links), each once, from one read (index lookups: its cost grows with
        what it gives, not with the store). Names that are not stored are skipped."""
        ...

    def station_totals(self) -> StationTotals:
        """The upper bound of every roll-up total over the whole stored network (one aggregate read)."""
        ...

    def data_version(self) -> int:
        """The current data version (cheap: one small read)."""
        ...

    def changes_since(self, version: int) -> Changes:
        """Every division and station written after `version`, and the version they bring the reader to."""
        ...

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
        """Insert or replace divisions by code (parent links included) in one transaction, written in
        batches; return the new data version. An empty sequence (and no `editions`) writes nothing and
        returns the current one. `progress`, when given, is called with the number of rows written so
        far after each batch. `audit`, when given, is recorded in the same transaction (see
        `audit_entries`); so are `editions` (province code -> the edition now its latest, spec §6)
        and `names` (code of a division written -> its whole dated name history, replacing any) and
        `successors` (code of a retired division -> its successors' codes in order, replacing any),
        and the `stations` an edition moves or re-parents, each with its placement history (spec §6;
        written as `upsert_stations` writes them, their history replacing any stored). `basis`, when
        given, is verified inside the transaction before anything is written (`WriteBasis.verify`:
        `BasisChanged` and nothing written when another writer broke it)."""
        ...

    def applied_editions(self) -> dict[str, AppliedEdition]:
        """The latest edition of the division table applied to each province (by province code)."""
        ...

    def division_links(self, codes: Sequence[str]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        """The successor links of `codes` (spec §6): (code -> its successors in the order given, code
        -> its predecessors by code), each holding only the codes that have any."""
        ...

    def division_names(self, codes: Sequence[str]) -> dict[str, list[DivisionName]]:
        """The dated name history of each of `codes` that has one (a division never renamed by an
        edition has none), oldest first."""
        ...

    def upsert_stations(
        self,
        stations: Sequence[Station],
        expected_versions: Mapping[str, int | None] | None = None,
        *,
        progress: Progress | None = None,
        audit: AuditTrail | None = None,
        basis: WriteBasis | None = None,
    ) -> int:
        """Insert or replace stations by id (division and parent links included) in one transaction.

        `expected_versions` maps station ids to the version the caller read (None: must not exist yet);
        when any stored version differs, raise `ConflictError` and write nothing. Stations are stored
        with the `version` they carry. Returns the new data version. `progress`, `audit` and `basis` as
        for divisions.
        """
        ...

    def audit_entries(self, query: AuditQuery) -> list[AuditEntry]:
        """The recorded changes `query` selects, newest first (highest `seq` first), at most
        `query.limit` of them. Each change of a write's `AuditTrail` is one entry, whose `seq` is
        `audit_seq(the write's data version, its index in the trail)`."""
        ...

    def count_audit_entries(self, query: AuditQuery) -> int:
        """How many recorded changes `query` selects, ignoring its `before_seq` and `limit`."""
        ...

    def ping(self) -> None:
        """Raise `StoreError` unless the store answers."""
        ...

    def warm_up(self) -> None:
        """Get the store ready to answer a server's first single writes and catch-ups as fast as
        later ones, writing nothing (a server calls it once, at start; `StoreError` when it cannot)."""
        ...

    def close(self) -> None: ...
