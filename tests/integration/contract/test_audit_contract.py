"""The audit trail part of the `Store` contract, on every store (SQLite and Neo4j, see `store_factory`):
recorded in the transaction of the write it describes, nothing for a refused write, read back newest
first by row, by subtree and by time, page by page."""

from __future__ import annotations

import threading
from collections.abc import Collection
from datetime import UTC, datetime, timedelta

import pytest

from graph_service.domain.audit import (
    DIVISION_KIND,
    STATION_KIND,
    AuditChange,
    AuditEntry,
    AuditQuery,
    AuditTrail,
    division_json,
    station_json,
    within_of,
)
from graph_service.domain.levels import DivisionLevel, StationLevel, StationStatus
from graph_service.domain.model import Division, Station
from graph_service.ports import ConflictError, Store, StoreError, audit_seq
from tests.support.stores import StoreFactory

AT = datetime(2024, 5, 1, 8, 30, 15, 123456, tzinfo=UTC)

DIVISIONS = [
    Division("52", "贵州省", DivisionLevel.PROVINCE),
    Division("5201", "贵阳市", DivisionLevel.CITY, "52"),
    Division("5223", "黔西南州", DivisionLevel.CITY, "52"),
]
PATHS = {"52": ("52",), "5201": ("52", "5201"), "5223": ("52", "5223")}


def division_trail(divisions: list[Division], at: datetime = AT, actor: str = "alice") -> AuditTrail:
    changes = [
        AuditChange("import", DIVISION_KIND, d.code, None, division_json(d), within_of(PATHS[d.code]))
        for d in divisions
    ]
    return AuditTrail(actor, "admin", at, changes)


def station(sid: str, code: str, *, staff: int = 0, version: int = 1) -> Station:
    return Station(
        sid,
        f"站 {sid}",
        StationLevel.GUIDANCE_CENTRE,
        code,
        status=StationStatus.OPERATING,
        opened_on=datetime(2021, 3, 1).date(),
        staff=staff,
        version=version,
    )


def station_trail(
    operation: str, pairs: list[tuple[Station, Station | None]], at: datetime = AT, actor: str = "bob"
) -> AuditTrail:
    changes = [
        AuditChange(
            operation,
            STATION_KIND,
            new.id,
            station_json(old) if old else None,
            station_json(new),
            within_of(*(PATHS[s.division_code] for s in (old, new) if s is not None)),
        )
        for new, old in pairs
    ]
    return AuditTrail(actor, "editor", at, changes)


def walked(store: Store, page_size: int) -> list[AuditEntry]:
    """Every entry of `store`, read page by page (`page_size` a page, each after the last one's seq)."""
    entries: list[AuditEntry] = []
    before = None
    while page := store.audit_entries(AuditQuery(before_seq=before, limit=page_size)):
        entries += page
        before = page[-1].seq
    return entries


@pytest.fixture
def seeded(store: Store) -> Store:
    """The three divisions, with their audit trail (data version 1)."""
    store.upsert_divisions(DIVISIONS, audit=division_trail(DIVISIONS))
    return store


def test_a_write_records_one_entry_per_changed_row_with_its_values(seeded: Store) -> None:
    entries = seeded.audit_entries(AuditQuery())
    assert [e.target for e in entries] == ["5223", "5201", "52"]  # newest first: later rows count as newer
    assert [e.seq for e in entries] == [audit_seq(1, 2), audit_seq(1, 1), audit_seq(1, 0)]
    newest = entries[0]
    assert (newest.actor, newest.role, newest.operation, newest.kind) == (
        "alice",
        "admin",
        "import",
        "division",
    )
    assert newest.at == AT
    assert newest.before is None
    assert newest.after == {"code": "5223", "name": "黔西南州", "level": "city", "parent_code": "52"}
    assert entries[2].after == {"code": "52", "name": "贵州省", "level": "province", "parent_code": None}
    assert seeded.count_audit_entries(AuditQuery()) == 3


def test_a_station_update_keeps_before_and_after(seeded: Store) -> None:
    first = station("GC-5201", "5201", staff=3)
    seeded.upsert_stations([first], {"GC-5201": None}, audit=station_trail("createStation", [(first, None)]))
    moved = station("GC-5201", "5223", staff=4, version=2)
    seeded.upsert_stations([moved], {"GC-5201": 1}, audit=station_trail("updateStation", [(moved, first)]))
    history = seeded.audit_entries(AuditQuery(kind=STATION_KIND, target="GC-5201"))
    assert [e.operation for e in history] == ["updateStation", "createStation"]
    update = history[0]
    assert update.before is not None and update.after is not None
    assert (update.before["staff"], update.after["staff"]) == (3, 4)
    assert (update.before["division_code"], update.after["division_code"]) == ("5201", "5223")
    assert update.after["opened_on"] == "2021-03-01" and update.after["closed_on"] is None
    # The station sat in both cities: it is in either subtree's trail.
    assert [e.operation for e in seeded.audit_entries(AuditQuery(kind=STATION_KIND, within="5201"))] == [
        "updateStation",
        "createStation",
    ]
    assert [e.operation for e in seeded.audit_entries(AuditQuery(kind=STATION_KIND, within="5223"))] == [
        "updateStation"
    ]


def test_a_conflicting_write_records_nothing(seeded: Store) -> None:
    first = station("GC-5201", "5201")
    seeded.upsert_stations([first], {"GC-5201": None}, audit=station_trail("createStation", [(first, None)]))
    stale = station("GC-5201", "5201", staff=9, version=2)
    with pytest.raises(ConflictError):
        seeded.upsert_stations(
            [stale], {"GC-5201": 5}, audit=station_trail("updateStation", [(stale, first)])
        )
    assert [e.operation for e in seeded.audit_entries(AuditQuery(target="GC-5201"))] == ["createStation"]
    assert seeded.count_audit_entries(AuditQuery()) == 4


def test_a_failed_write_records_nothing(seeded: Store) -> None:
    orphan = Division("5299", "无主", DivisionLevel.CITY, "99")
    change = AuditChange("import", DIVISION_KIND, "5299", None, division_json(orphan), "|5299|")
    with pytest.raises(StoreError):
        seeded.upsert_divisions([orphan], audit=AuditTrail("alice", "admin", AT, [change]))
    assert seeded.count_audit_entries(AuditQuery()) == 3
    assert seeded.audit_entries(AuditQuery(target="5299")) == []


def test_a_write_without_a_trail_records_nothing(store: Store) -> None:
    store.upsert_divisions(DIVISIONS[:1])
    assert store.audit_entries(AuditQuery()) == []


def test_pages_walk_backwards_by_seq_and_filters_combine(seeded: Store) -> None:
    later = AT + timedelta(hours=1)
    renamed = [Division("5201", f"贵阳市 {n}", DivisionLevel.CITY, "52") for n in range(3)]
    for n, division in enumerate(renamed):
        seeded.upsert_divisions([division], audit=division_trail([division], at=later + timedelta(minutes=n)))
    everything = seeded.audit_entries(AuditQuery(limit=100))
    assert len(everything) == 6
    assert [e.seq for e in everything] == sorted((e.seq for e in everything), reverse=True)
    assert walked(seeded, page_size=4) == everything
    since = seeded.audit_entries(AuditQuery(since=later))
    assert [e.after["name"] for e in since if e.after] == ["贵阳市 2", "贵阳市 1", "贵阳市 0"]
    assert seeded.count_audit_entries(AuditQuery(since=later, within="5201")) == 3
    assert seeded.count_audit_entries(AuditQuery(since=later, within="5223")) == 0
    assert seeded.count_audit_entries(AuditQuery(within="52")) == 6
    # A code is matched whole: 520 is no prefix match of 5201.
    assert seeded.count_audit_entries(AuditQuery(within="520")) == 0
    assert seeded.count_audit_entries(AuditQuery(kind=STATION_KIND)) == 0


def test_entries_written_in_several_batches_read_back_in_order(store_factory: StoreFactory) -> None:
    store = store_factory(batch_size=2)
    store.upsert_divisions(DIVISIONS, audit=division_trail(DIVISIONS))
    renamed = [Division(d.code, d.name + "（新）", d.level, d.parent_code) for d in DIVISIONS]
    store.upsert_divisions(renamed, audit=division_trail(renamed, at=AT + timedelta(hours=1)))
    first = station("GC-5201", "5201")
    store.upsert_stations([first], {"GC-5201": None}, audit=station_trail("createStation", [(first, None)]))
    everything = store.audit_entries(AuditQuery(limit=100))
    assert [e.target for e in everything] == ["GC-5201", "5223", "5201", "52", "5223", "5201", "52"]
    assert [e.seq for e in everything] == sorted((e.seq for e in everything), reverse=True)
    assert walked(store, page_size=2) == everything
    assert [e.target for e in store.audit_entries(AuditQuery(within="5201"))] == ["GC-5201", "5201", "5201"]
    assert [e.after["name"] for e in store.audit_entries(AuditQuery(target="52")) if e.after] == [
        "贵州省（新）",
        "贵州省",
    ]
    assert store.count_audit_entries(AuditQuery(since=AT + timedelta(minutes=30))) == 3  # the renames
    assert store.count_audit_entries(AuditQuery(kind=DIVISION_KIND, within="52")) == 6
    (newest,) = store.audit_entries(AuditQuery(kind=DIVISION_KIND, limit=1))
    assert (newest.target, newest.before, newest.after and newest.after["name"]) == (
        "5223",
        None,
        "黔西南州（新）",
    )


def test_a_large_station_write_reads_back_entry_by_entry(store_factory: StoreFactory) -> None:
    """The entries of a write of many stations read back as a single write's do: each one, newest
    first, by station, subtree, kind and time, page by page, and counted. (Neo4j keeps the station
    entries of a write of `PACKED_STATION_ENTRIES` or more packed, `batch_size` to a node.)"""
    store = store_factory(batch_size=400)
    store.upsert_divisions(DIVISIONS, audit=division_trail(DIVISIONS))
    later = AT + timedelta(hours=1)
    created = [station(f"S-{n:04d}", "5223" if n % 3 == 0 else "5201") for n in range(1_200)]
    store.upsert_stations(
        created,
        {s.id: None for s in created},
        audit=station_trail("import", [(s, None) for s in created], later),
    )
    first = created[7]
    moved = station(first.id, "5223", staff=3, version=2)
    update = station_trail("updateStation", [(moved, first)], later + timedelta(minutes=1))
    store.upsert_stations([moved], {first.id: 1}, audit=update)

    everything = store.audit_entries(AuditQuery(limit=2_000))
    assert len(everything) == 3 + 1_200 + 1
    assert [e.seq for e in everything] == sorted((e.seq for e in everything), reverse=True)
    assert [e.target for e in everything[:3]] == [first.id, "S-1199", "S-1198"]
    assert [e.target for e in everything[-4:]] == ["S-0000", "5223", "5201", "52"]
    newest_import = everything[1]
    assert newest_import.seq == audit_seq(2, 1_199)
    assert (newest_import.kind, newest_import.operation, newest_import.actor, newest_import.role) == (
        STATION_KIND,
        "import",
        "bob",
        "editor",
    )
    assert newest_import.at == later
    assert newest_import.before is None
    assert newest_import.after is not None and newest_import.after["id"] == "S-1199"
    assert newest_import.after["division_code"] == "5201"

    history = store.audit_entries(AuditQuery(target=first.id))
    assert [(e.operation, e.before is None, e.kind) for e in history] == [
        ("updateStation", False, STATION_KIND),
        ("import", True, STATION_KIND),
    ]
    assert [e.seq for e in store.audit_entries(AuditQuery(kind=STATION_KIND, target="S-0500"))] == [
        audit_seq(2, 500)
    ]
    assert store.audit_entries(AuditQuery(kind=DIVISION_KIND, target="S-0500")) == []
    assert store.audit_entries(AuditQuery(target="S-9999")) == []
    assert store.count_audit_entries(AuditQuery()) == 1_204
    assert store.count_audit_entries(AuditQuery(kind=STATION_KIND)) == 1_201
    assert store.count_audit_entries(AuditQuery(kind=DIVISION_KIND)) == 3
    assert store.count_audit_entries(AuditQuery(since=later)) == 1_201
    assert store.count_audit_entries(AuditQuery(since=later + timedelta(seconds=1))) == 1
    assert store.count_audit_entries(AuditQuery(target=first.id)) == 2
    assert store.count_audit_entries(AuditQuery(within="5223")) == 400 + 1 + 1  # the update: both cities
    assert [e.target for e in store.audit_entries(AuditQuery(kind=STATION_KIND, within="5223", limit=3))] == [
        first.id,
        "S-1197",
        "S-1194",
    ]
    assert walked(store, page_size=350) == everything
    oldest_stations = store.audit_entries(AuditQuery(kind=STATION_KIND, before_seq=audit_seq(2, 2)))
    assert [e.target for e in oldest_stations] == ["S-0001", "S-0000"]


def test_reads_under_way_never_make_a_write_reuse_a_data_version(store_factory: StoreFactory) -> None:
    """Reads that take the write lock for a consistent view (`changes_since`, `load`), from another
    handle while writes commit, never undo a write: every write gets its own data version, and a
    station's history lists each write once, under its own operation. (On Neo4j the lock taken as
    `SET m.version = m.version` wrote back the version read before waiting for it: the next write
    reused the version, and an entry was listed twice, once as another write's operation.)"""
    writer, reader = store_factory(), store_factory()
    writer.upsert_divisions(DIVISIONS)
    writes = 40
    done = threading.Event()
    failures: list[BaseException] = []

    def read() -> None:
        try:
            while not done.is_set():
                reader.changes_since(0)
                reader.load(_Discarding())
        except BaseException as error:  # reported by the test, not lost in the thread
            failures.append(error)

    readers = [threading.Thread(target=read) for _ in range(2)]
    for thread in readers:
        thread.start()
    versions = []
    try:
        for index in range(writes):
            operation = "updateStation" if index % 2 else "closeStation"
            before = station("GC-1", "5201", version=index) if index else None
            after = station("GC-1", "5201", staff=index, version=index + 1)
            versions.append(
                writer.upsert_stations([after], audit=station_trail(operation, [(after, before)]))
            )
    finally:
        done.set()
        for thread in readers:
            thread.join(timeout=60)
    assert failures == []
    assert versions == list(range(2, writes + 2))
    assert writer.data_version() == writes + 1
    history = writer.audit_entries(AuditQuery(target="GC-1", limit=100))
    assert [(e.operation, e.after["staff"]) for e in history] == [
        ("updateStation" if index % 2 else "closeStation", index) for index in reversed(range(writes))
    ]


class _Discarding:
    """A `SnapshotSink` that keeps nothing."""

    def add_division(self, division: Division) -> None:
        pass

    def add_station(self, station: Station) -> None:
        pass

    def add_successors(self, old_code: str, new_codes: list[str]) -> None:
        pass

    def reject(self, kind: str, key: str, message: str, version: int | None = None) -> None:
        pass

    def forget(self, codes: Collection[str], ids: Collection[str]) -> None:
        pass
