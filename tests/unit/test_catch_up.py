"""Catching up with many written stations at once: prepared in bulk beside the live aggregates, swapped
in at once, right, and about as costly as building those stations (not one update per station)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graph_service.domain.levels import DivisionLevel, StationLevel, StationStatus
from graph_service.domain.model import Division, ReportingLine, Station
from graph_service.engine import NetworkEngine, applying, bulk, columnar, daily
from graph_service.engine.timeline import STAFF, WIDTH, SharedTimeline, Timeline
from graph_service.ports import Changes
from tests.support.oracle import (
    BASE,
    DAYS,
    Oracle,
    assert_matches,
    forests,
    national_like,
    station,
    station_at,
    stations_for,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_bulk_catch_up_matches_the_recount(data: st.DataObject) -> None:
    """New stations, rewritten ones (other dates, counts, divisions) and unchanged ones, all in one
    catch-up taking the bulk path, give the answers of a recount; preparing changes nothing live."""
    divisions = data.draw(forests())
    stations = data.draw(stations_for(divisions))
    engine = NetworkEngine.from_records(divisions, stations)
    before = Oracle(divisions, stations)
    after = Oracle(divisions, stations)
    placeable = [d for d in divisions if d.level.station_level is not None]
    written: list[Station] = []
    for n in range(data.draw(st.integers(1, 12))):
        sid = data.draw(st.sampled_from([*before.stations, f"B{n}"]))
        changed = data.draw(station_at(data.draw(st.sampled_from(placeable)), sid))
        written.append(changed)
        after.stations[sid] = changed
    days = data.draw(st.lists(DAYS | st.just(BASE + timedelta(days=10)), min_size=1, max_size=3))
    engine._prepare_stations(written)
    assert_matches(engine, before, days)
    with mock.patch.object(applying, "SMALL_CHANGE", 0):
        engine.apply(Changes(1, stations=written))
    assert engine.version == 1
    assert_matches(engine, after, days)


def test_catching_up_with_an_import_costs_about_what_building_it_costs() -> None:
    """12,000 stations written by another process: applying them costs about what building an engine
    holding them does, not 12,000 single updates (each rewriting its ancestors' timelines from its
    day on); the bound is generous (3× the build), the old way took over 10× on this network."""
    divisions, stations = national_like(2_000)
    engine = NetworkEngine.from_records(divisions, [])
    started = time.process_time()
    built = NetworkEngine.from_records(divisions, stations)
    build = time.process_time() - started
    started = time.process_time()
    engine.apply(Changes(1, stations=stations))
    apply = time.process_time() - started
    assert apply <= 3 * build + 0.2, f"applying took {apply:.2f} s of CPU, building {build:.2f} s"
    day = date(2020, 6, 30)
    assert engine.rollup("P", day) == built.rollup("P", day)
    assert engine.coverage("P", day) == built.coverage("P", day)
    # A second import that rewrites half of them (other staff, some closed) is applied the same way.
    rewritten = [
        dataclasses.replace(s, staff=s.staff + 1, certified_staff=s.certified_staff, version=2)
        for s in stations[::2]
    ]
    engine.apply(Changes(2, stations=rewritten))
    rebuilt = NetworkEngine.from_records(divisions, [*rewritten, *stations[1::2]])
    for code in ("P", "C3", "C3X4", "T34", "T34V2"):
        for day in (date(2016, 1, 1), date(2020, 6, 30), date(2026, 1, 1)):
            assert engine.rollup(code, day) == rebuilt.rollup(code, day), (code, day)
            assert engine.coverage(code, day) == rebuilt.coverage(code, day), (code, day)


def test_a_bulk_catch_up_links_stations_to_their_divisions_and_parents() -> None:
    """New stations reporting to new and to stored stations, and stored ones moved to another
    division and parent, in one bulk catch-up: the graph's links are those of a build."""
    divisions, _ = national_like(20)
    first = [
        station("GC", StationLevel.GUIDANCE_CENTRE, "C0", date(2016, 1, 1)),
        station("GS", StationLevel.GENERAL_STATION, "C0X0", date(2016, 1, 1), parent="GC"),
    ]
    engine = NetworkEngine.from_records(divisions, first)
    batch = [
        station("GS2", StationLevel.GENERAL_STATION, "C0X0", date(2017, 1, 1), parent="GC"),
        station("GS3", StationLevel.GENERAL_STATION, "C0X1", date(2017, 2, 1), parent="GC"),
        station("TS0", StationLevel.TOWNSHIP_STATION, "T0", date(2018, 1, 1), parent="GS2"),
        station("TS10", StationLevel.TOWNSHIP_STATION, "T10", date(2018, 1, 2), parent="GS3"),
        dataclasses.replace(first[1], division_code="C0X0", parent_id=None, version=2),
    ]
    batch += [
        station(f"VR{t}", StationLevel.VILLAGE_ROOM, f"T{t}V0", date(2019, 1, 1), parent=f"TS{t}")
        for t in range(0, 20, 10)
    ]
    batch += [station(f"X{n}", StationLevel.VILLAGE_ROOM, "T0V1", date(2020, 1, 1)) for n in range(70)]
    with mock.patch.object(applying, "SMALL_CHANGE", 0):
        engine.apply(Changes(1, stations=batch))
    built = NetworkEngine.from_records(divisions, [first[0], *batch])
    for sid in ("GC", "GS", "GS2", "GS3", "TS0", "TS10"):
        assert engine.stations_reporting_to(sid) == built.stations_reporting_to(sid), sid
    for code in ("C0", "C0X0", "T0", "T0V0", "T0V1", "T10V0"):
        assert engine.stations_in(code).items == built.stations_in(code).items, code
    assert set(engine.graph.edges) == set(built.graph.edges)
    day = date(2021, 1, 1)
    assert engine.rollup("P", day) == built.rollup("P", day)
    assert engine.coverage("P", day) == built.coverage("P", day)


def test_villages_given_alike_rooms_in_bulk_share_a_timeline_that_no_later_write_changes() -> None:
    """Village rooms of one bulk catch-up opened on the same day with the same counts, each the only
    thing in its village, give their villages one read-only timeline between them (`SharedTimeline`);
    a later write to one of those rooms, in place or in bulk, changes its own village only."""
    divisions, _ = national_like(20)
    engine = NetworkEngine.from_records(divisions, [])
    opened = date(2024, 3, 1)
    rooms = [
        station(f"R{t}V{v}", StationLevel.VILLAGE_ROOM, f"T{t}V{v}", opened, None, 2, 1, 3)
        for t in range(20)
        for v in range(5)
    ]
    rooms[-1] = dataclasses.replace(rooms[-1], staff=7)
    engine.apply(Changes(1, stations=rooms))
    shared = engine._node["T0V0"]["timeline"]
    assert isinstance(shared, SharedTimeline)
    assert all(engine._node[room.division_code]["timeline"] is shared for room in rooms[:-1])
    assert engine._node["T19V4"]["timeline"] is not shared
    day = date(2025, 1, 1)
    assert engine.rollup("T0V1", day).staff == 2
    # One room rewritten in place, then a batch of them in bulk: the others keep their counts.
    engine.apply(Changes(2, stations=[dataclasses.replace(rooms[0], staff=5, version=2)]))
    with mock.patch.object(applying, "SMALL_CHANGE", 0):
        engine.apply(Changes(3, stations=[dataclasses.replace(r, staff=9, version=2) for r in rooms[10:15]]))
    written = [
        dataclasses.replace(rooms[0], staff=5, version=2),
        *rooms[1:10],
        *(dataclasses.replace(r, staff=9, version=2) for r in rooms[10:15]),
        *rooms[15:],
    ]
    built = NetworkEngine.from_records(divisions, written)
    assert (engine.rollup("T0V0", day).staff, engine.rollup("T0V1", day).staff) == (5, 2)
    for code in ("P", "C0", "C0X0", "T0", "T0V0", "T0V1", "T2V0", "T3V0", "T19V4"):
        assert engine.rollup(code, day) == built.rollup(code, day), code
        assert engine.coverage(code, day) == built.coverage(code, day), code


def test_stations_reporting_to_a_station_on_a_day_follow_their_dated_lines_on_every_path() -> None:
    """(spec §6) With a day, `stations_reporting_to` lists the stations whose reporting line valid
    that day points at the station, not those whose latest parent it is: the same after a build, a
    catch-up in place and a bulk one (a dated history added, rewritten and dropped)."""
    divisions, _ = national_like(20)
    moved, later, today = date(2021, 10, 31), date(2099, 6, 30), date(2026, 11, 29)
    lines = (
        ReportingLine("GS1", None, moved),
        ReportingLine("GS2", moved, later),
        ReportingLine("GS1", later),
    )
    generals = [
        station(f"GS{n}", StationLevel.GENERAL_STATION, f"C0X{n - 1}", date(2016, 1, 1)) for n in (1, 2)
    ]
    dated = dataclasses.replace(
        station("TS0", StationLevel.TOWNSHIP_STATION, "T0", date(2018, 1, 1), parent="GS1"),
        reporting_lines=lines,
    )
    plain = station("TS10", StationLevel.TOWNSHIP_STATION, "T10", date(2018, 1, 1), parent="GS2")

    def reporting(engine: NetworkEngine, sid: str, day: date | None) -> list[str]:
        return [s.id for s in engine.stations_reporting_to(sid, day)]

    def check(engine: NetworkEngine, gs1_today: list[str], gs2_today: list[str]) -> None:
        assert reporting(engine, "GS1", today) == gs1_today
        assert reporting(engine, "GS2", today) == gs2_today
        for day in (None, date(2020, 1, 1), later):  # the latest parents; the lines before and after
            assert reporting(engine, "GS1", day) == ["TS0"]
            assert reporting(engine, "GS2", day) == ["TS10"]

    built = NetworkEngine.from_records(divisions, [*generals, dated, plain])
    check(built, [], ["TS0", "TS10"])
    in_place = NetworkEngine.from_records(divisions, [*generals, plain])
    in_place.apply(Changes(1, stations=[dated]))
    check(in_place, [], ["TS0", "TS10"])
    fillers = [station(f"X{n}", StationLevel.VILLAGE_ROOM, "T0V1", date(2020, 1, 1)) for n in range(70)]
    with mock.patch.object(applying, "SMALL_CHANGE", 0):
        in_bulk = NetworkEngine.from_records(divisions, [*generals, plain])
        in_bulk.apply(Changes(1, stations=[dated, *fillers]))
        check(in_bulk, [], ["TS0", "TS10"])
        # Rewritten with its line to GS2 ending earlier, then without a dated history at all.
        back = date(2022, 1, 1)
        shorter = (lines[0], ReportingLine("GS2", moved, back), ReportingLine("GS1", back))
        in_bulk.apply(Changes(2, stations=[dataclasses.replace(dated, reporting_lines=shorter), *fillers]))
        check(in_bulk, ["TS0"], ["TS10"])
        assert reporting(in_bulk, "GS2", date(2021, 12, 1)) == ["TS0", "TS10"]
        in_bulk.apply(Changes(3, stations=[dataclasses.replace(dated, reporting_lines=()), *fillers]))
        check(in_bulk, ["TS0"], ["TS10"])
        assert reporting(in_bulk, "GS2", date(2021, 12, 1)) == ["TS10"]
    in_place.apply(Changes(2, stations=[dataclasses.replace(dated, reporting_lines=())]))
    check(in_place, ["TS0"], ["TS10"])


FULL_ROWS = st.lists(st.integers(-3, 3), min_size=WIDTH, max_size=WIDTH)


@settings(max_examples=200, deadline=None)
@given(
    old=st.dictionaries(st.integers(0, 60), FULL_ROWS, max_size=30),
    changes=st.dictionaries(st.integers(0, 60), FULL_ROWS, min_size=1, max_size=12),
    columnwise_from=st.sampled_from([1, 8, 1_000]),
    huge=st.booleans(),
)
def test_a_timeline_plus_changes_is_the_timeline_of_the_summed_changes(
    old: dict[int, list[int]], changes: dict[int, list[int]], columnwise_from: int, huge: bool
) -> None:
    """The bulk catch-up's merge of a timeline with per-day changes (row by row or column by column,
    past 64 bits too) equals building the timeline from both sets of changes at once."""
    if huge:  # one change far past 64 bits: the rows turn into Python integers
        changes = {day: [n * 2**70 for n in row] for day, row in changes.items()}
    timeline = Timeline.from_daily_changes(old)
    combined = {day: list(row) for day, row in old.items()}
    daily.merge_daily(combined, changes)
    expected = Timeline.from_daily_changes(combined)
    with mock.patch.object(daily, "_COLUMNWISE_FROM", columnwise_from):
        merged = daily.with_changes(timeline, changes)
    assert merged is not None
    assert list(merged.days) == list(expected.days)
    assert list(merged.rows) == list(expected.rows)
    assert list(timeline.rows) == list(Timeline.from_daily_changes(old).rows)  # left as it was


def test_a_catch_up_sets_its_switch_interval_and_puts_the_one_before_back() -> None:
    """While catch-ups run (nested ones too) the switch interval is the catch-up's; after the last, as
    before."""
    import sys

    from graph_service.service_layer.following import CATCH_UP_SWITCH_INTERVAL, catch_up_switching

    before = sys.getswitchinterval()
    with catch_up_switching():
        assert sys.getswitchinterval() == CATCH_UP_SWITCH_INTERVAL
        with catch_up_switching():
            assert sys.getswitchinterval() == CATCH_UP_SWITCH_INTERVAL
        assert sys.getswitchinterval() == CATCH_UP_SWITCH_INTERVAL
    assert sys.getswitchinterval() == before


def _steps(engine: NetworkEngine, code: str) -> list[tuple[int, list[int]]]:
    """A division's timeline as a step function: (day, totals) where the totals change, from zero."""
    timeline = engine.graph.nodes[code]["timeline"]
    steps: list[tuple[int, list[int]]] = []
    previous = [0] * WIDTH
    for day, row in timeline.totals_from(timeline.days[0]) if timeline is not None and len(timeline) else []:
        if list(row) != previous:
            steps.append((day, list(row)))
            previous = list(row)
    return steps


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), bulk=st.booleans())
def test_applying_changes_leaves_what_building_them_builds(data: st.DataObject, bulk: bool) -> None:
    """Applying written stations (new ones, rewritten ones: other dates, counts, divisions; unchanged
    ones), in bulk or one by one, leaves every division's totals and timeline (as a step function)
    and the graph's links exactly as building the network with the final stations does."""
    divisions = data.draw(forests())
    stations = data.draw(stations_for(divisions))
    engine = NetworkEngine.from_records(divisions, stations)
    final = {s.id: s for s in stations}
    placeable = [d for d in divisions if d.level.station_level is not None]
    written: list[Station] = []
    for n in range(data.draw(st.integers(1, 20))):
        sid = data.draw(st.sampled_from([*final, f"B{n}"]))
        if sid in final and data.draw(st.booleans()):
            changed = final[sid]  # written again unchanged
        else:
            changed = data.draw(station_at(data.draw(st.sampled_from(placeable)), sid))
        written.append(changed)
        final[sid] = changed
    with mock.patch.object(applying, "SMALL_CHANGE", 0 if bulk else 1_000):
        engine.apply(Changes(1, stations=written))
    built = NetworkEngine.from_records(divisions, final.values())
    for division in divisions:
        assert engine.graph.nodes[division.code]["totals"] == built.graph.nodes[division.code]["totals"]
        assert _steps(engine, division.code) == _steps(built, division.code), division.code
    assert set(engine.graph.edges) == set(built.graph.edges)
    assert engine.version == 1 and not engine.stale


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), huge=st.booleans())
def test_column_wise_timelines_equal_the_per_division_merge(data: st.DataObject, huge: bool) -> None:
    """The bulk catch-up's column-wise timelines (numpy, `columnar.timelines_in_bulk`) are exactly
    those of the per-division merge (`bulk._timelines_with`) for the same own changes of divisions at
    any levels (old timelines or none; levels skipped); a change that may not fit 64 bits makes it
    hand over to the exact per-division way (None). Leaves (`DivisionChanges.add_leaf`: a division
    with no timeline and nothing below it, given one station's days) are among them."""
    divisions = data.draw(forests())
    engine = NetworkEngine.from_records(divisions, data.draw(stations_for(divisions)))
    nodes, pred = engine._node, engine._pred
    changes = columnar.DivisionChanges()

    def huger(row: list[int]) -> list[int]:  # one staff sum far past 64 bits
        return [n * 2**70 + (c == 4) * 2**70 for c, n in enumerate(row)] if huge else row

    empty = [d for d in divisions if not pred[d.code] and nodes[d.code]["timeline"] is None]
    leaves = data.draw(st.lists(st.sampled_from(empty), unique=True)) if empty else []
    for leaf in leaves:
        opened = data.draw(st.integers(730_000, 740_000))
        closed = data.draw(st.none() | st.integers(opened + 1, opened + 30))
        row = huger(data.draw(FULL_ROWS))
        changes.add_leaf(nodes[leaf.code], leaf.parent_code, opened, closed, row)
    others = [d for d in divisions if d not in leaves]
    for division in data.draw(st.lists(st.sampled_from(others), min_size=1, max_size=8)):
        own = data.draw(st.dictionaries(st.integers(730_000, 740_000), FULL_ROWS, min_size=1, max_size=4))
        changes.add_all(division.code, nodes[division.code], {day: huger(row) for day, row in own.items()})
    per_division = bulk._timelines_with(nodes, changes.as_dicts())
    column_wise = columnar.timelines_in_bulk(nodes, changes)
    if huge:
        assert column_wise is None
        return
    assert column_wise is not None
    assert _by_code(column_wise) == _by_code(per_division)


def _by_code(
    made: Iterable[tuple[dict[str, Any], Timeline | None]],
) -> dict[str, tuple[list[int], list[int]]]:
    """Each division's timeline (paired with its node attributes) as plain lists, by code."""
    return {data["division"].code: (list(t.days), list(t.rows)) if t else ([], []) for data, t in made}


def test_first_stations_of_empty_villages_are_applied_as_the_leaves_they_are() -> None:
    """A bulk catch-up of village rooms that are the first station of villages with nothing in them
    (the commonest import) makes each such village's timeline its station's days, without merging its
    level; the villages and every division above have the timelines and totals a build gives, also
    with some of the rooms closed and others in villages that already had one."""
    divisions, stations = national_like(40)
    empty = [Division(f"V{n}", "村", DivisionLevel.VILLAGE, f"C{n % 10}X{n % 7}T") for n in range(30)]
    counties = {d.code for d in divisions if d.level is DivisionLevel.COUNTY}
    townships = [Division(f"{c}T", "镇", DivisionLevel.TOWNSHIP, c) for c in sorted(counties)]
    divisions += townships + empty
    engine = NetworkEngine.from_records(divisions, stations)
    opened = BASE + timedelta(days=3)
    rooms = [
        station(
            f"R{n}",
            StationLevel.VILLAGE_ROOM,
            v.code,
            opened,
            opened + timedelta(days=5) if n % 3 else None,
            n,
        )
        for n, v in enumerate(empty)
    ]
    taken = [s for s in stations if s.level is StationLevel.VILLAGE_ROOM][:5]
    rooms += [station(f"R-{s.id}", s.level, s.division_code, opened, None, 2) for s in taken]
    made = mock.patch.object(columnar, "_leaf_timelines", wraps=columnar._leaf_timelines)
    with made as leaf_timelines, mock.patch.object(applying, "SMALL_CHANGE", 0):
        engine.apply(Changes(1, stations=rooms))
    assert leaf_timelines.call_count == 1
    assert len(leaf_timelines.call_args.args[1].leaves) == len(empty)
    built = NetworkEngine.from_records(divisions, [*stations, *rooms])
    for division in divisions:
        assert engine.graph.nodes[division.code]["totals"] == built.graph.nodes[division.code]["totals"]
        assert _steps(engine, division.code) == _steps(built, division.code), division.code


def test_column_wise_timelines_keep_a_long_history_before_the_changes_as_it_was() -> None:
    """A division whose old timeline has many days before its first change keeps those rows as they
    were (copied, not merged), and the rows from the change on are merged: the same timelines as the
    per-division merge, for changes on a day inside the history and on a day after all of it; the
    old timelines themselves are left untouched (readers still use them)."""
    divisions = [
        Division("p", "P", DivisionLevel.PROVINCE, None),
        Division("q", "Q", DivisionLevel.CITY, "p"),
        Division("c", "C", DivisionLevel.COUNTY, "q"),
        Division("t", "T", DivisionLevel.TOWNSHIP, "c"),
    ]
    first = date(2020, 1, 1)
    rooms = [
        Station(
            f"S-{n}",
            f"S-{n}",
            StationLevel.TOWNSHIP_STATION,
            "t",
            None,
            StationStatus.OPERATING,
            first + timedelta(days=7 * n),
            None,
            staff=n + 1,
        )
        for n in range(40)
    ]
    engine = NetworkEngine.from_records(divisions, rooms)
    nodes = engine._node
    before = _by_code((nodes[code], nodes[code]["timeline"]) for code in "pqct")
    for day in (first + timedelta(days=7 * 25 + 3), first + timedelta(days=7 * 60)):
        changes = columnar.DivisionChanges()
        row = [0] * WIDTH
        row[STAFF] = 5
        changes.add_all("t", nodes["t"], {day.toordinal(): row})
        per_division = bulk._timelines_with(nodes, changes.as_dicts())
        column_wise = columnar.timelines_in_bulk(nodes, changes)
        assert column_wise is not None
        made = _by_code(column_wise)
        assert made == _by_code(per_division)
        assert len(made["t"][0]) == 41  # the change day comes in between, or after the last
    assert before == _by_code((nodes[code], nodes[code]["timeline"]) for code in "pqct")


def test_changes_followed_by_later_ones_keep_each_record_s_latest_state() -> None:
    """`Changes.followed_by` (how a store joins what it read in two parts): a record the later part
    has replaces the earlier one, the others stay, and the later version is the one reached."""
    room = StationLevel.VILLAGE_ROOM
    kept, replaced, added = (station(sid, room, "a") for sid in ("S-1", "S-2", "S-3"))
    newer = dataclasses.replace(replaced, staff=replaced.staff + 1)
    district = Division("a", "A", DivisionLevel.PROVINCE, None)
    renamed = dataclasses.replace(district, name="A2")
    retired, unlinked = (Division(code, code, DivisionLevel.PROVINCE, None) for code in ("x", "v"))
    earlier = Changes(4, [district, retired, unlinked], [kept, replaced], {"x": ["y"], "v": ["u"]})
    later = Changes(6, [renamed, unlinked], [newer, added], {"z": ["w"]})  # "v" lost its links
    assert earlier.followed_by(later) == Changes(
        6, [retired, renamed, unlinked], [kept, newer, added], {"x": ["y"], "z": ["w"]}
    )


def test_a_snapshot_forgets_what_a_store_gives_again() -> None:
    """`Snapshot.forget` (a Neo4j load's last step): the divisions, their successor links, the
    stations and the rejections of the keys given are dropped, the others kept."""
    from graph_service.engine import Snapshot

    snapshot = Snapshot()
    kept, again = (Division(code, code, DivisionLevel.PROVINCE, None) for code in ("a", "b"))
    for division in (kept, again):
        snapshot.add_division(division)
    snapshot.add_successors("a", ["x"])
    snapshot.add_successors("b", ["y"])
    room = StationLevel.VILLAGE_ROOM
    stay, redo = station("S-1", room, "a"), station("S-2", room, "a")
    snapshot.add_station(stay)
    snapshot.add_station(redo)
    snapshot.reject("station", "S-3", "unreadable", 2)
    snapshot.reject("division", "b", "unreadable")
    snapshot.reject("station", "S-4", "unreadable", 1)
    snapshot.forget({"b"}, {"S-2", "S-3"})
    assert snapshot.divisions == [kept] and snapshot.successors == {"a": ["x"]}
    assert snapshot.stations == [stay]
    assert [(p.kind, p.key) for p in snapshot.problems] == [("station", "S-4")]


def test_a_catch_up_reads_and_checks_with_the_collector_paused_and_freezes_nothing() -> None:
    """(issue 9: with the cyclic collector on, reading an import's 50,000 stations cost 0.28-0.31 CPU
    s against 0.22-0.23 s paused, at national scale) The store's read and the check of what it gave
    run with the collector off; afterwards it is on again, and a small catch-up (every write of
    another process brings one) has frozen nothing: a frozen cycle of garbage is never freed."""
    import gc

    from graph_service.service_layer.syncing import load_engine, sync
    from tests.unit.fakes import FakeStore

    store = FakeStore()
    province = Division("52", "贵州省", DivisionLevel.PROVINCE)
    store.upsert_divisions([province, Division("5201", "贵阳市", DivisionLevel.CITY, "52")])
    engine = load_engine(store.handle())
    store.upsert_stations([Station("P", "贵阳市指导中心", StationLevel.GUIDANCE_CENTRE, "5201")])
    seen: dict[str, bool] = {}
    read, check = store.changes_since, engine.can_apply

    def reading(version: int) -> Changes:
        seen["read"] = gc.isenabled()
        return read(version)

    def checking(changes: Changes) -> bool:
        seen["check"] = gc.isenabled()
        return check(changes)

    with (
        mock.patch.object(store, "changes_since", reading),
        mock.patch.object(engine, "can_apply", checking),
        mock.patch.object(gc, "freeze", wraps=gc.freeze) as freeze,
    ):
        assert sync(engine, store)
    assert seen == {"read": False, "check": False}
    assert gc.isenabled()
    freeze.assert_not_called()
    assert engine.station("P") is not None
