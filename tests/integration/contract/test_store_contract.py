"""The `Store` contract, run against every store (SQLite and Neo4j, see `store_factory`)."""

from __future__ import annotations

import dataclasses
import threading
import time
import tracemalloc
from collections.abc import Collection, Sequence
from datetime import date

import pytest

from graph_service.domain.editions import AppliedEdition
from graph_service.domain.levels import DivisionLevel, StationLevel, StationStatus
from graph_service.domain.model import Division, Placement, ReportingLine, Station
from graph_service.domain.validity import DivisionName
from graph_service.ports import Changes, ConflictError, StationTotals, Store, StoreError
from tests.integration.contract.records import DIVISIONS, STATIONS, C, K, P, T, V
from tests.support.stores import StoreFactory


class CollectingSink:
    """A `SnapshotSink` that keeps what it is given, and checks divisions all come first."""

    def __init__(self) -> None:
        self.divisions: list[Division] = []
        self.stations: list[Station] = []
        self.successors: dict[str, list[str]] = {}
        self.forgotten = False

    def add_division(self, division: Division) -> None:
        assert self.forgotten or not self.stations, "a division arrived after a station"
        self.divisions.append(division)

    def forget(self, codes: Collection[str], ids: Collection[str]) -> None:
        """Drop what was given of them (they come again, after the stations)."""
        self.forgotten = True
        self.divisions = [d for d in self.divisions if d.code not in codes]
        self.stations = [s for s in self.stations if s.id not in ids]
        for code in codes:
            self.successors.pop(code, None)

    def add_station(self, station: Station) -> None:
        self.stations.append(station)

    def add_successors(self, old_code: str, new_codes: list[str]) -> None:
        self.successors[old_code] = new_codes


class CountingSink:
    """A `SnapshotSink` that only counts."""

    def __init__(self) -> None:
        self.divisions = 0
        self.stations = 0

    def add_division(self, division: Division) -> None:
        self.divisions += 1

    def add_station(self, station: Station) -> None:
        self.stations += 1

    def add_successors(self, old_code: str, new_codes: list[str]) -> None:
        pass

    def forget(self, codes: Collection[str], ids: Collection[str]) -> None:
        raise AssertionError("nothing is written while these tests load")


def snapshot(store: Store) -> tuple[int, list[Division], list[Station]]:
    """Load the store: (version, divisions by code, stations by id); checks keys are unique."""
    sink = CollectingSink()
    version = store.load(sink)
    divisions = sorted(sink.divisions, key=lambda d: d.code)
    stations = sorted(sink.stations, key=lambda s: s.id)
    assert len({d.code for d in divisions}) == len(divisions), "a division code was loaded twice"
    assert len({s.id for s in stations}) == len(stations), "a station id was loaded twice"
    return version, divisions, stations


def by_key(divisions: Sequence[Division] = (), stations: Sequence[Station] = ()) -> tuple[list, list]:
    return sorted(divisions, key=lambda d: d.code), sorted(stations, key=lambda s: s.id)


def seeded(store: Store) -> int:
    """Write DIVISIONS then STATIONS; return the version after both (2)."""
    store.upsert_divisions(DIVISIONS)
    return store.upsert_stations(STATIONS)


# --- round trip and versions ---------------------------------------------------------------------


def test_a_new_store_is_empty(store: Store) -> None:
    assert store.data_version() == 0
    assert snapshot(store) == (0, [], [])
    assert store.changes_since(0) == Changes(0, [], [])
    store.ping()


def test_round_trip_keeps_every_field(store: Store) -> None:
    version = seeded(store)

    loaded_version, divisions, stations = snapshot(store)

    assert loaded_version == version == store.data_version() == 2
    assert (divisions, stations) == by_key(DIVISIONS, STATIONS)
    province = next(d for d in divisions if d.code == "52")
    assert province.parent_code is None and province.level is DivisionLevel.PROVINCE
    closed = next(s for s in stations if s.id == "GS-520102")
    assert closed.opened_on == date(2019, 12, 31) and closed.closed_on == date(2024, 2, 29)
    assert type(closed.opened_on) is date and closed.version == 3
    assert isinstance(closed.level, StationLevel) and isinstance(closed.status, StationStatus)


def test_every_committed_write_moves_the_version_by_one(store: Store) -> None:
    assert store.upsert_divisions(DIVISIONS[:2]) == 1
    assert store.upsert_divisions(DIVISIONS[2:]) == 2
    assert store.upsert_stations(STATIONS[:1]) == 3
    assert store.upsert_stations(STATIONS[1:], {s.id: None for s in STATIONS[1:]}) == 4
    assert store.data_version() == 4
    assert store.upsert_divisions([]) == 4
    assert store.upsert_stations([]) == 4
    assert store.data_version() == 4


def test_upserting_the_same_rows_twice_changes_only_the_version(store: Store) -> None:
    seeded(store)
    first = snapshot(store)

    assert store.upsert_divisions(DIVISIONS) == 3
    assert store.upsert_stations(STATIONS) == 4

    again = snapshot(store)
    assert again[0] == 4
    assert again[1:] == first[1:]


def test_updates_replace_fields_and_links(store: Store) -> None:
    seeded(store)
    moved_township = Division("520102001", "新华路街道（改）", T, "522324")
    renamed_city = Division("5223", "黔西南州", C, "52")
    store.upsert_divisions([moved_township, renamed_city])
    moved_station = dataclasses.replace(
        STATIONS[2],
        name="renamed",
        division_code="522324002",
        parent_id="GS-522324",
        status=StationStatus.OPERATING,
        opened_on=date(2024, 1, 1),
        staff=7,
        certified_staff=2,
        volunteers=30,
        version=3,
    )
    orphaned_room = dataclasses.replace(STATIONS[3], parent_id=None, version=2)
    reopened = dataclasses.replace(STATIONS[1], status=StationStatus.OPERATING, closed_on=None, version=4)
    store.upsert_stations([moved_station, orphaned_room, reopened])

    _, divisions, stations = snapshot(store)

    expected_divisions = {d.code: d for d in DIVISIONS} | {d.code: d for d in (moved_township, renamed_city)}
    expected_stations = {s.id: s for s in STATIONS} | {
        s.id: s for s in (moved_station, orphaned_room, reopened)
    }
    assert (divisions, stations) == by_key(
        list(expected_divisions.values()), list(expected_stations.values())
    )


def test_parents_may_come_after_children_in_one_write(store_factory: StoreFactory) -> None:
    store = store_factory(batch_size=2)

    store.upsert_divisions(list(reversed(DIVISIONS)))
    store.upsert_stations(list(reversed(STATIONS)))

    assert snapshot(store) == (2, *by_key(DIVISIONS, STATIONS))


def test_one_write_may_mix_new_and_stored_rows(store_factory: StoreFactory) -> None:
    store = store_factory(batch_size=2)
    seeded(store)
    # New children before their new parents, a stored division moved under a new one, a renamed one.
    new_village = Division("520201001001", "new village", V, "520201001")
    new_township = Division("520201001", "new township", T, "520201")
    moved_township = Division("520102001", "新华路街道", T, "520201")
    new_county = Division("520201", "钟山区", K, "5202")
    renamed_city = Division("5223", "黔西南州", C, "52")
    new_city = Division("5202", "六盘水市", C, "52")
    written = [new_village, new_township, moved_township, new_county, renamed_city, new_city]
    progress: list[int] = []

    assert store.upsert_divisions(written, progress=progress.append) == 3

    expected_divisions = {d.code: d for d in DIVISIONS} | {d.code: d for d in written}
    # New stations reporting to a new station given later, a stored one re-pointed to a new one.
    new_room = Station("VR-520201001001", "new room", StationLevel.VILLAGE_ROOM, "520201001001", "GS-520201")
    new_general = Station("GS-520201", "钟山区总站", StationLevel.GENERAL_STATION, "520201", "GC-5202")
    moved_station = dataclasses.replace(STATIONS[2], parent_id="GS-520201", version=3)
    new_centre = Station("GC-5202", "六盘水市中心", StationLevel.GUIDANCE_CENTRE, "5202")
    assert store.upsert_stations([new_room, new_general, moved_station, new_centre]) == 4

    expected_stations = {s.id: s for s in STATIONS} | {
        s.id: s for s in (new_room, new_general, moved_station, new_centre)
    }
    expected = by_key(list(expected_divisions.values()), list(expected_stations.values()))
    assert snapshot(store) == (4, *expected)
    assert progress == sorted(progress) and progress[-1] == len(written)
    changes = store.changes_since(2)
    assert by_key(changes.divisions, changes.stations) == by_key(
        written, [new_room, new_general, moved_station, new_centre]
    )


def test_a_key_given_twice_in_one_write_keeps_its_last_row(store: Store) -> None:
    first = [Division("52", "first", P), Division("5201", "first", C, "52")]
    last = [Division("52", "贵州省", P), Division("5201", "贵阳市", C, "52")]
    store.upsert_divisions([*first, *last, Division("5223", "黔西南布依族苗族自治州", C, "52")])
    store.upsert_stations([dataclasses.replace(STATIONS[0], name="first"), STATIONS[0]])

    _, divisions, stations = snapshot(store)

    assert divisions == by_key([*last, DIVISIONS[5]])[0]
    assert stations == [STATIONS[0]]


def test_progress_reports_the_rows_written(store_factory: StoreFactory) -> None:
    store = store_factory(batch_size=2)
    division_calls: list[int] = []
    station_calls: list[int] = []

    store.upsert_divisions(DIVISIONS, progress=division_calls.append)
    store.upsert_stations(STATIONS, progress=station_calls.append)

    for calls, total in ((division_calls, len(DIVISIONS)), (station_calls, len(STATIONS))):
        assert calls == sorted(calls) and len(calls) >= 2
        assert calls[-1] == total


# --- all or nothing ------------------------------------------------------------------------------


def test_a_failing_second_batch_writes_nothing(store_factory: StoreFactory) -> None:
    store = store_factory(batch_size=2)
    seeded(store)
    before = snapshot(store)
    new = [Division("5202", "六盘水市", C, "52"), Division("520201", "钟山区", K, "5202")]
    broken = Division(None, "no code", K, "5201")  # type: ignore[arg-type]  # the DB refuses it

    with pytest.raises(StoreError):
        store.upsert_divisions([*new, broken, Division("520203", "六枝特区", K, "5202")])

    assert store.data_version() == 2
    assert snapshot(store) == before
    assert store.changes_since(2) == Changes(2, [], [])


def test_a_failure_after_the_first_batch_rolls_back_everything(store_factory: StoreFactory) -> None:
    store = store_factory(batch_size=2)
    seeded(store)
    before = snapshot(store)

    def fail_on_second_batch(written: int) -> None:
        if written > 2:
            raise RuntimeError("stop after the first batch")

    renamed = [dataclasses.replace(d, name=d.name + "!") for d in DIVISIONS]
    with pytest.raises(RuntimeError, match="stop after the first batch"):
        store.upsert_divisions(renamed, progress=fail_on_second_batch)
    bumped = [dataclasses.replace(s, staff=s.staff + 1, version=s.version + 1) for s in STATIONS]
    with pytest.raises(RuntimeError, match="stop after the first batch"):
        store.upsert_stations(bumped, {s.id: s.version for s in STATIONS}, progress=fail_on_second_batch)

    assert store.data_version() == 2
    assert snapshot(store) == before


def test_unknown_references_are_refused_and_nothing_is_written(store_factory: StoreFactory) -> None:
    store = store_factory(batch_size=2)
    seeded(store)
    before = snapshot(store)
    fine = Station("GC-5223", "ok", StationLevel.GUIDANCE_CENTRE, "5223")

    with pytest.raises(StoreError, match="nowhere"):
        store.upsert_divisions([Division("5299", "x", C, "52"), Division("529901", "y", K, "nowhere")])
    with pytest.raises(StoreError, match="999999"):
        store.upsert_stations([fine, Station("GS-X", "x", StationLevel.GENERAL_STATION, "999999")])
    with pytest.raises(StoreError, match="GC-nowhere"):
        store.upsert_stations(
            [fine, Station("GS-Y", "y", StationLevel.GENERAL_STATION, "522324", parent_id="GC-nowhere")]
        )

    assert snapshot(store) == before


# --- optimistic concurrency ----------------------------------------------------------------------


def test_a_stale_expected_version_conflicts_and_writes_nothing(store: Store) -> None:
    seeded(store)
    before = snapshot(store)
    station = dataclasses.replace(STATIONS[1], name="changed", version=4)
    other = dataclasses.replace(STATIONS[0], name="also changed", version=2)

    with pytest.raises(ConflictError) as caught:
        store.upsert_stations([other, station], {"GC-5201": 1, "GS-520102": 2})

    assert caught.value.conflicts == {"GS-520102": (2, 3)}
    assert snapshot(store) == before
    assert store.upsert_stations([other, station], {"GC-5201": 1, "GS-520102": 3}) == 3


def test_creating_an_existing_id_conflicts(store: Store) -> None:
    seeded(store)
    before = snapshot(store)
    duplicate = dataclasses.replace(STATIONS[0], name="a second one")
    fresh = Station("GC-5223", "new", StationLevel.GUIDANCE_CENTRE, "5223")

    with pytest.raises(ConflictError) as caught:
        store.upsert_stations([fresh, duplicate], {"GC-5223": None, "GC-5201": None})

    assert caught.value.conflicts == {"GC-5201": (None, 1)}
    assert snapshot(store) == before


def test_expecting_a_version_of_a_missing_station_conflicts(store: Store) -> None:
    seeded(store)
    before = snapshot(store)
    ghost = Station("GC-5223", "ghost", StationLevel.GUIDANCE_CENTRE, "5223", version=2)

    with pytest.raises(ConflictError) as caught:
        store.upsert_stations([ghost], {"GC-5223": 1})

    assert caught.value.conflicts == {"GC-5223": (1, None)}
    assert snapshot(store) == before


def test_concurrent_writers_take_turns(store_factory: StoreFactory) -> None:
    store_factory().upsert_divisions(DIVISIONS)
    stores = [store_factory() for _ in range(4)]
    versions: list[int] = []
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            for n in range(5):
                name = f"written by {worker} #{n}"
                versions.append(stores[worker].upsert_divisions([Division(f"59{worker}{n}", name, C, "52")]))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=write, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors
    assert sorted(versions) == list(range(2, 22))
    assert stores[0].data_version() == 21
    assert len(snapshot(stores[0])[1]) == len(DIVISIONS) + 20


# --- keys and changes ----------------------------------------------------------------------------


def test_keys_stay_unique_across_writes(store: Store) -> None:
    seeded(store)
    store.upsert_divisions([Division("5201", "贵阳", C, "52")])
    store.upsert_divisions([Division("5201", "贵阳市", C, "52")])
    store.upsert_stations([dataclasses.replace(STATIONS[0], version=2)])
    store.upsert_stations([dataclasses.replace(STATIONS[0], version=3)])

    version, divisions, stations = snapshot(store)

    assert version == 6
    assert [d for d in divisions if d.code == "5201"] == [Division("5201", "贵阳市", C, "52")]
    assert [s.version for s in stations if s.id == "GC-5201"] == [3]
    assert (len(divisions), len(stations)) == (len(DIVISIONS), len(STATIONS))


def test_changes_since_returns_exactly_what_later_writes_touched(store: Store) -> None:
    seeded(store)  # versions 1 and 2
    renamed = Division("522324", "晴隆", K, "5223")
    new_city = Division("5202", "六盘水市", C, "52")
    assert store.upsert_divisions([renamed, new_city]) == 3
    moved = dataclasses.replace(STATIONS[4], parent_id=None, name="moved", version=2)
    assert store.upsert_stations([moved]) == 4

    since_2 = store.changes_since(2)
    assert since_2.version == 4
    assert by_key(since_2.divisions, since_2.stations) == by_key([new_city, renamed], [moved])

    since_3 = store.changes_since(3)
    assert (since_3.version, since_3.divisions, since_3.stations) == (4, [], [moved])

    since_1 = store.changes_since(1)
    expected_stations = [s for s in STATIONS if s.id != moved.id] + [moved]
    assert by_key(since_1.divisions, since_1.stations) == by_key([new_city, renamed], expected_stations)

    everything = store.changes_since(0)
    current = {d.code: d for d in DIVISIONS} | {renamed.code: renamed, new_city.code: new_city}
    assert by_key(everything.divisions, everything.stations) == by_key(
        list(current.values()), expected_stations
    )

    assert store.changes_since(4) == Changes(4, [], [])


# --- part of the network -------------------------------------------------------------------------


def part(
    store: Store, station_ids: Sequence[str] = (), reporting_to: Sequence[str] = (), codes: Sequence[str] = ()
) -> tuple[list[Division], list[Station]]:
    """`load_part` into a sink: (divisions by code, stations by id); checks each came once."""
    sink = CollectingSink()
    store.load_part(sink, station_ids=station_ids, reporting_to=reporting_to, division_codes=codes)
    assert len({d.code for d in sink.divisions}) == len(sink.divisions), "a division came twice"
    assert len({s.id for s in sink.stations}) == len(sink.stations), "a station came twice"
    return by_key(sink.divisions, sink.stations)


def test_load_part_gives_the_divisions_asked_with_every_one_above(store: Store) -> None:
    seeded(store)
    expected = [d for d in DIVISIONS if d.code in {"52", "5201", "520102", "520102001", "520102001001"}]
    assert part(store, codes=["520102001001"]) == by_key(expected)
    assert part(store, codes=["520102001001", "520102", "no-such-code"]) == by_key(expected)
    assert part(store, codes=["5223"]) == by_key([d for d in DIVISIONS if d.code in {"52", "5223"}])
    assert part(store) == ([], [])


def test_load_part_gives_the_stations_asked_and_those_reporting_to_them(store: Store) -> None:
    seeded(store)
    stored = {s.id: s for s in STATIONS}
    assert part(store, station_ids=["GC-5201", "VR-520102001001", "missing"]) == by_key(
        stations=[stored["GC-5201"], stored["VR-520102001001"]]
    )
    assert part(store, reporting_to=["GS-520102", "TS-520102001"]) == by_key(
        stations=[stored["TS-520102001"], stored["VR-520102001001"]]
    )
    # A station both asked for and reporting to one asked about comes once.
    assert part(store, station_ids=["TS-520102001"], reporting_to=["GS-520102"]) == by_key(
        stations=[stored["TS-520102001"]]
    )


def test_load_part_reads_placement_histories_and_current_parents(store: Store) -> None:
    """A station moved by an edition comes with its placement history, and reports (now) to the
    parent its open line names: as `load` gives it."""
    seeded(store)
    day = date(2021, 10, 31)
    township = next(s for s in STATIONS if s.level is StationLevel.TOWNSHIP_STATION)
    history = (Placement(township.division_code, None, day), Placement("522324002", day, None))
    moved = dataclasses.replace(
        township, division_code="522324002", parent_id=None, placements=history, version=township.version + 1
    )
    retired = dataclasses.replace(
        next(d for d in DIVISIONS if d.code == township.division_code), valid_to=day
    )
    store.upsert_divisions([retired], stations=[moved])
    assert part(store, station_ids=[moved.id]) == ([], [moved])
    assert part(store, reporting_to=["GS-520102"]) == ([], [])  # it reports to nobody now


def test_station_totals_bound_every_roll_up(store: Store) -> None:
    assert store.station_totals() == StationTotals(0, 0, 0, 0)
    seeded(store)
    assert store.station_totals() == StationTotals(
        len(STATIONS),
        sum(s.staff for s in STATIONS),
        sum(s.certified_staff for s in STATIONS),
        sum(s.volunteers for s in STATIONS),
    )


# --- reading while others write ------------------------------------------------------------------


def test_load_sees_a_write_made_during_it_wholly_or_not_at_all(store_factory: StoreFactory) -> None:
    """A load is as of one data version, whatever is written while it runs."""
    store = store_factory()
    seeded(store)
    before = snapshot(store)
    writer = store_factory()
    done = threading.Event()
    errors: list[BaseException] = []

    def write() -> None:
        try:
            writer.upsert_divisions([Division("5299", "written during the load", C, "52")])
            writer.upsert_stations([dataclasses.replace(STATIONS[0], staff=99, version=2)])
        except BaseException as error:
            errors.append(error)
        finally:
            done.set()

    class StartsAWriter(CollectingSink):
        def add_division(self, division: Division) -> None:
            if not self.divisions:
                thread = threading.Thread(target=write)
                thread.start()
                # Give the writer every chance to commit now, unless the store holds it back.
                done.wait(timeout=1.5)
            super().add_division(division)

    sink = StartsAWriter()
    version = store.load(sink)
    assert done.wait(timeout=60) and not errors

    after = snapshot(store)
    assert after[0] == 4
    assert next(s for s in after[2] if s.id == "GC-5201").staff == 99
    # As of a data version: before the writes (SQLite's snapshot), or after one or both of them
    # (Neo4j's load, which lets writers through and gives what they wrote meanwhile again).
    between = (3, *by_key([*before[1], Division("5299", "written during the load", C, "52")], before[2]))
    assert (version, *by_key(sink.divisions, sink.stations)) in (before, between, after)


def test_an_error_in_the_sink_leaves_the_store_usable(store: Store) -> None:
    seeded(store)

    class Failing(CollectingSink):
        def add_station(self, station: Station) -> None:
            raise ValueError("the sink is full")

    with pytest.raises(ValueError, match="the sink is full"):
        store.load(Failing())
    assert store.upsert_divisions([Division("5202", "六盘水市", C, "52")]) == 3
    assert snapshot(store)[0] == 3


def test_reopening_keeps_the_data(store_factory: StoreFactory) -> None:
    seeded(store_factory())
    again = store_factory()
    assert snapshot(again) == (2, *by_key(DIVISIONS, STATIONS))
    assert store_factory().upsert_divisions(DIVISIONS[:1]) == 3
    assert again.data_version() == 3


# --- volume --------------------------------------------------------------------------------------


def generated_divisions(count: int) -> list[Division]:
    """A made-up province of `count` divisions shaped like a real one: 10 cities of 10 counties of
    20 townships, and villages spread over the townships."""
    divisions = [Division("99", "province", P)]
    cities = [f"99{c:02d}" for c in range(1, 11)]
    divisions += [Division(code, f"city {code}", C, "99") for code in cities]
    counties = [f"{city}{k:02d}" for city in cities for k in range(1, 11)]
    divisions += [Division(code, f"county {code}", K, code[:4]) for code in counties]
    townships = [f"{county}{t:03d}" for county in counties for t in range(1, 21)]
    divisions += [Division(code, f"township {code}", T, code[:6]) for code in townships]
    n = 0
    while len(divisions) < count:
        township = townships[n % len(townships)]
        code = f"{township}{n // len(townships) + 1:03d}"
        divisions.append(Division(code, f"village {code}", V, township))
        n += 1
    return divisions


def test_a_large_network_loads_as_a_stream(store_factory: StoreFactory) -> None:
    count = 200_000
    divisions = generated_divisions(count)
    started = time.perf_counter()
    assert store_factory().upsert_divisions(divisions) == 1
    imported = time.perf_counter() - started
    stations = [Station(f"VR-{d.code}", "room", StationLevel.VILLAGE_ROOM, d.code) for d in divisions[-1000:]]
    store_factory().upsert_stations(stations)
    del divisions, stations

    store = store_factory(batch_size=2_000)
    sink = CountingSink()
    tracemalloc.start()
    try:
        started = time.perf_counter()
        version = store.load(sink)
        loaded = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert (version, sink.divisions, sink.stations) == (2, count, 1000)
    # Holding 200,000 Division objects at once would take well over 40 MB; a stream of 2,000-row
    # batches stays at a few MB whatever the size of the network.
    assert peak < 16_000_000, f"load held {peak / 1e6:.1f} MB at its peak: it does not stream"
    print(f"\n{count} divisions: import {imported:.1f} s, load {loaded:.1f} s, peak {peak / 1e6:.1f} MB")


# --- divisions through time (spec §6) ------------------------------------------------------------


def test_division_validity_round_trips_and_is_in_the_changes(store: Store) -> None:
    """`valid_from`/`valid_to` are stored, loaded back as dates, and carried by `changes_since`;
    rewriting a division may set or clear them."""
    store.upsert_divisions(DIVISIONS)
    retired = dataclasses.replace(DIVISIONS[3], valid_to=date(2021, 10, 31))
    created = Division("520102012", "新街道", T, "520102", date(2021, 10, 31))
    bounded = Division("520102013", "两头", T, "520102", date(2020, 6, 30), date(2022, 10, 31))
    version = store.upsert_divisions([retired, created, bounded])

    _, divisions, _ = snapshot(store)
    loaded = {d.code: d for d in divisions}
    assert loaded[retired.code] == retired and loaded[created.code] == created
    assert loaded[bounded.code] == bounded and type(loaded[bounded.code].valid_to) is date
    assert loaded["52"].valid_from is None and loaded["52"].valid_to is None
    assert by_key(store.changes_since(version - 1).divisions) == by_key([retired, created, bounded])

    store.upsert_divisions([DIVISIONS[3]])
    _, divisions, _ = snapshot(store)
    assert {d.code: d for d in divisions}[retired.code] == DIVISIONS[3]


def test_applied_editions_are_written_with_the_divisions(store: Store) -> None:
    """The latest edition of each province is recorded in the division write's transaction (also a
    write of editions alone), and replaced by a later one."""
    assert store.applied_editions() == {}
    first = AppliedEdition(date(2020, 6, 30), "a" * 64)
    version = store.upsert_divisions(DIVISIONS[:2], editions={"52": first})
    assert store.applied_editions() == {"52": first}
    later = AppliedEdition(date(2021, 10, 31), "b" * 64)
    assert store.upsert_divisions([], editions={"52": later, "53": first}) == version + 1
    assert store.applied_editions() == {"52": later, "53": first}


def test_name_histories_are_written_with_the_divisions_and_replaced_whole(store: Store) -> None:
    store.upsert_divisions(DIVISIONS)
    assert store.division_names(["5201"]) == {}
    history = [DivisionName("贵阳市", None), DivisionName("贵阳", date(2021, 10, 31))]
    renamed = dataclasses.replace(DIVISIONS[1], name="贵阳")
    store.upsert_divisions([renamed], names={"5201": history})
    assert store.division_names(["5201", "52"]) == {"5201": history}
    longer = [*history, DivisionName("筑城", date(2023, 6, 30))]
    store.upsert_divisions([dataclasses.replace(renamed, name="筑城")], names={"5201": longer})
    assert store.division_names(["5201"]) == {"5201": longer}


def test_successor_links_are_written_with_the_divisions_in_order(store: Store) -> None:
    store.upsert_divisions(DIVISIONS)
    assert store.division_links(["520102001"]) == ({}, {})
    store.upsert_divisions([], successors={"520102001": ["522324002", "520102001001"]})
    store.upsert_divisions([], successors={"522324100": ["522324002"]})
    successors, predecessors = store.division_links(["520102001", "522324002", "522324100"])
    assert successors == {"520102001": ["522324002", "520102001001"], "522324100": ["522324002"]}
    assert predecessors == {"522324002": ["520102001", "522324100"]}
    version = store.upsert_divisions([], successors={"520102001": ["520102001001"]})
    assert store.division_links(["520102001"])[0] == {"520102001": ["520102001001"]}
    # Links written without their division's row still reach a follower (spec §6; issue 12).
    changes = store.changes_since(version - 1)
    assert [d.code for d in changes.divisions] == ["520102001"]
    assert changes.successors == {"520102001": ["520102001001"]}
    sink = CollectingSink()
    store.load(sink)  # every link, for the engine's predecessor rule (spec §6)
    assert sink.successors == {"520102001": ["520102001001"], "522324100": ["522324002"]}
    retired = dataclasses.replace(DIVISIONS[8], valid_to=date(2021, 10, 31))
    version = store.upsert_divisions([retired], successors={"522324100": ["522324002", "520102001"]})
    changes = store.changes_since(version - 1)  # a retired division's links come with it
    assert changes.divisions == [retired] and changes.successors == {"522324100": ["522324002", "520102001"]}


def test_placement_histories_are_written_with_an_edition_and_read_back(store: Store) -> None:
    """Spec §6: the stations an edition moves are written in the division write's transaction with
    their placement history, which `load` and `changes_since` read back; a station written later
    without one (a correction) keeps none."""
    seeded(store)
    day = date(2021, 10, 31)
    township = next(s for s in STATIONS if s.level is StationLevel.TOWNSHIP_STATION)
    retired = dataclasses.replace(
        next(d for d in DIVISIONS if d.code == township.division_code), valid_to=day
    )
    target = next(d.code for d in DIVISIONS if d.level is T and d.code != township.division_code)
    history = (Placement(township.division_code, None, day), Placement(target, day, None))
    moved = dataclasses.replace(
        township, division_code=target, parent_id=None, placements=history, version=township.version + 1
    )
    version = store.upsert_divisions([retired], stations=[moved])
    _, _, stations = snapshot(store)
    loaded = {s.id: s for s in stations}[moved.id]
    assert loaded == moved and loaded.placements == history and type(loaded.placements[1].from_) is date
    assert store.changes_since(version - 1).stations == [moved]
    assert {s.id: s for s in stations}[STATIONS[0].id].placements == ()

    again = store.upsert_stations([moved.with_version(moved.version + 1)])  # rewritten as it is
    assert store.changes_since(again - 1).stations[0].placements == history
    corrected = dataclasses.replace(moved, placements=(), version=moved.version + 2)
    store.upsert_stations([corrected])
    _, _, stations = snapshot(store)
    assert {s.id: s for s in stations}[moved.id] == corrected


def test_reporting_lines_are_written_with_an_edition_and_read_back(store_factory: StoreFactory) -> None:
    """Spec §6: the stations whose reporting line an edition changes are written with their dated
    reporting history (lines to a station and to nobody, a parent left and come back to), which
    `load` and `changes_since` read back, in this handle and in another on the same store (a
    follower); rewriting a station as it is keeps its lines, and a correction of its parent corrects
    only its current line."""
    store = store_factory()
    seeded(store)
    d1, d2 = date(2021, 10, 31), date(2022, 10, 31)
    by_id = {s.id: s for s in STATIONS}
    township, room = by_id["TS-520102001"], by_id["VR-520102001001"]
    to_other = (
        ReportingLine("GS-520102", None, d1),
        ReportingLine(None, d1, d2),
        ReportingLine("GS-522324", d2, None),
    )
    to_nobody = (ReportingLine("TS-520102001", None, d1), ReportingLine(None, d1, None))
    changed = [
        dataclasses.replace(township, parent_id="GS-522324", reporting_lines=to_other, version=3),
        dataclasses.replace(room, parent_id=None, reporting_lines=to_nobody, version=2),
    ]
    version = store.upsert_divisions([], stations=changed)
    follower = store_factory()
    for reader in (store, follower):
        _, _, stations = snapshot(reader)
        loaded = {s.id: s for s in stations}
        assert [loaded[s.id] for s in changed] == changed
        assert type(loaded[township.id].reporting_lines[0].to) is date
        assert loaded["GS-522324"].reporting_lines == ()
        assert reader.changes_since(version - 1).stations == changed

    again = store.upsert_stations([changed[0].with_version(4)])  # rewritten as it is
    assert store.changes_since(again - 1).stations[0].reporting_lines == to_other
    corrected = dataclasses.replace(changed[1], parent_id="TS-520102001", version=3)
    assert corrected.reporting_lines == ()  # it always reported to its parent: a correction
    corrected_township = dataclasses.replace(changed[0], parent_id=None, version=5)
    assert corrected_township.reporting_lines == (
        ReportingLine("GS-520102", None, d1),
        ReportingLine(None, d1),
    )
    store.upsert_stations([corrected, corrected_township])
    for reader in (store, follower):
        _, _, stations = snapshot(reader)
        loaded = {s.id: s for s in stations}
        assert loaded[room.id] == corrected and loaded[township.id] == corrected_township
