"""The engine against hand-worked answers, a brute-force recount, and the real Guizhou table."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graph_service.domain.levels import DivisionLevel, StationLevel, StationStatus
from graph_service.domain.model import Division, Station
from graph_service.domain.validation import (
    DIVISION_COLUMNS,
    STATION_COLUMNS,
    EmptyNetwork,
    read_csv_rows,
    validate_divisions,
    validate_stations,
)
from graph_service.engine import EngineLoadError, NetworkEngine
from graph_service.engine.timeline import SharedTimeline
from graph_service.ports import Changes
from tests.support.oracle import (
    BASE,
    DAYS,
    Oracle,
    assert_matches,
    forests,
    moved_from,
    station,
    station_at,
    stations_for,
    successor_links,
    validity,
)
from tests.support.paths import REPO

P, C, X, T, V = (
    DivisionLevel.PROVINCE,
    DivisionLevel.CITY,
    DivisionLevel.COUNTY,
    DivisionLevel.TOWNSHIP,
    DivisionLevel.VILLAGE,
)

SEED = REPO / "seed"


# A small hand-made tree: one province, two cities, a county, three townships (one directly under a
# city: skipping a level is allowed), two villages.
TREE = [
    Division("52", "贵州省", P),
    Division("5201", "贵阳市", C, "52"),
    Division("5202", "六盘水市", C, "52"),
    Division("520102", "南明区", X, "5201"),
    Division("520102001", "新华路街道", T, "520102"),
    Division("520102002", "西湖路街道", T, "520102"),
    Division("520201001", "直辖镇", T, "5202"),
    Division("520102001001", "一村", V, "520102001"),
    Division("520102001002", "二村", V, "520102001"),
]
HISTORY = [
    station(
        "GC1", StationLevel.GUIDANCE_CENTRE, "5201", date(2019, 1, 1), staff=5, certified=3, volunteers=10
    ),
    station(
        "GS1", StationLevel.GENERAL_STATION, "520102", date(2020, 1, 1), staff=3, certified=1, parent="GC1"
    ),
    # Township 001 has two stations whose spans touch: covered without a gap from 2020-06-01 on.
    station(
        "TS1",
        StationLevel.TOWNSHIP_STATION,
        "520102001",
        date(2020, 6, 1),
        date(2021, 6, 1),
        staff=2,
        parent="GS1",
    ),
    station(
        "TS1B",
        StationLevel.TOWNSHIP_STATION,
        "520102001",
        date(2021, 6, 1),
        staff=4,
        certified=4,
        parent="GS1",
    ),
    # Township 002 is covered for 2021 only.
    station("TS2", StationLevel.TOWNSHIP_STATION, "520102002", date(2021, 1, 1), date(2022, 1, 1), staff=1),
    station("TS3", StationLevel.TOWNSHIP_STATION, "520201001"),  # planned: never active
    station(
        "VR1", StationLevel.VILLAGE_ROOM, "520102001001", date(2021, 12, 31), volunteers=7, parent="TS1B"
    ),
]


@pytest.fixture
def engine() -> NetworkEngine:
    return NetworkEngine.from_records(TREE, HISTORY)


def coverage_of(engine: NetworkEngine, code: str, day: date) -> list[tuple[str, int, int]]:
    return [(str(c.level), c.total, c.covered) for c in engine.coverage(code, day)]


def test_coverage_worked_by_hand(engine: NetworkEngine) -> None:
    assert coverage_of(engine, "52", date(2018, 12, 31)) == [
        ("city", 2, 0),
        ("county", 1, 0),
        ("township", 3, 0),
        ("village", 2, 0),
    ]
    assert coverage_of(engine, "52", date(2021, 12, 31)) == [
        ("city", 2, 1),
        ("county", 1, 1),
        ("township", 3, 2),
        ("village", 2, 1),
    ]
    # TS2 closed on 2022-01-01: it does not count that day.
    assert coverage_of(engine, "52", date(2022, 1, 1)) == [
        ("city", 2, 1),
        ("county", 1, 1),
        ("township", 3, 1),
        ("village", 2, 1),
    ]
    assert coverage_of(engine, "520102001", date(2022, 1, 1)) == [("village", 2, 1)]
    assert engine.coverage("520102001001", date(2022, 1, 1)) == []
    rates = [c.rate for c in engine.coverage("5202", date(2022, 1, 1))]
    assert rates == [None, 0.0, None]  # no county and no village under 5202: total 0, rate null


def test_covered_spans_touching_stations_without_gap(engine: NetworkEngine) -> None:
    for day in (date(2020, 6, 1), date(2021, 5, 31), date(2021, 6, 1), date(2030, 1, 1)):
        assert engine.covered("520102001", day) is True
    assert engine.covered("520102001", date(2020, 5, 31)) is False
    assert engine.covered("52", date(2022, 1, 1)) is None


def test_rollup_worked_by_hand(engine: NetworkEngine) -> None:
    rollup = engine.rollup("52", date(2021, 12, 31))
    assert dataclasses.astuple(rollup) == (1, 1, 2, 1, 5 + 3 + 4 + 1, 3 + 1 + 4, 10 + 7)
    # On 2021-06-01 TS1 has closed and TS1B opened: one township station each way, not two.
    assert engine.rollup("520102001", date(2021, 6, 1)).township_stations == 1
    assert engine.rollup("520102001", date(2021, 5, 31)).staff == 2
    assert dataclasses.astuple(engine.rollup("5202", date(2024, 1, 1))) == (0,) * 7


def test_uncovered_by_code(engine: NetworkEngine) -> None:
    page = engine.uncovered("52", T, date(2022, 1, 1))
    assert [d.code for d in page.items] == ["520102002", "520201001"]
    assert (page.total, page.has_next) == (2, False)
    first = engine.uncovered("52", T, date(2020, 1, 1), first=2)
    assert [d.code for d in first.items] == ["520102001", "520102002"] and first.has_next
    rest = engine.uncovered("52", T, date(2020, 1, 1), after="520102002", first=2)
    assert [d.code for d in rest.items] == ["520201001"] and not rest.has_next
    assert engine.uncovered("520102001001", V, date(2020, 1, 1)).items[0].code == "520102001001"


def test_structure_queries(engine: NetworkEngine) -> None:
    assert [d.code for d in engine.ancestors("520102001001")] == ["52", "5201", "520102", "520102001"]
    assert [d.code for d in engine.children("52").items] == ["5201", "5202"]
    assert [s.id for s in engine.stations_in("520102001").items] == ["TS1", "TS1B"]
    assert [s.id for s in engine.stations_reporting_to("GS1")] == ["TS1", "TS1B"]
    assert [d.code for d in engine.search("街道").items] == ["520102001", "520102002"]
    assert [d.code for d in engine.search("村", level=V, under="520102001").items] == [
        "520102001001",
        "520102001002",
    ]
    assert engine.search("不存在").total == 0
    assert engine.is_within("520102001001", "5201") and not engine.is_within("5201", "520102")


def test_invalid_network_is_refused_with_every_problem() -> None:
    bad = [
        *TREE,
        Division("999", "孤儿", T, "404"),
        Division("5203", "错级", C, "520102"),
    ]
    stations = [
        *HISTORY,
        station("BAD1", StationLevel.VILLAGE_ROOM, "520102001"),
        station("BAD2", StationLevel.TOWNSHIP_STATION, "520102002", parent="GC1"),
    ]
    with pytest.raises(EngineLoadError) as raised:
        NetworkEngine.from_records(bad, stations)
    text = "\n".join(raised.value.problems)
    assert len(raised.value.problems) == 4
    assert "division 999, parent_code: unknown parent '404'" in text
    assert "division 5203, parent_code: parent 520102 is a county" in text
    assert "station BAD1" in text and "station BAD2" in text


def test_writes_move_only_what_they_touch(engine: NetworkEngine) -> None:
    day = date(2023, 1, 1)
    moved = dataclasses.replace(
        HISTORY[4], division_code="520201001", version=2, closed_on=None, status=StationStatus.OPERATING
    )
    engine.apply(Changes(version=1, stations=[moved]))
    assert engine.version == 1
    assert engine.covered("520201001", day) and not engine.covered("520102002", day)
    assert engine.rollup("5202", day).township_stations == 1
    assert engine.rollup("5201", day).township_stations == 1
    # Re-parent a township from the county to the other city: totals and history move with it.
    engine.apply(Changes(version=2, divisions=[dataclasses.replace(TREE[4], parent_code="5202")]))
    assert coverage_of(engine, "5202", day) == [("county", 0, 0), ("township", 2, 2), ("village", 2, 1)]
    assert coverage_of(engine, "5201", day) == [("county", 1, 1), ("township", 1, 0), ("village", 0, 0)]
    assert engine.rollup("5202", date(2021, 5, 1)).staff == 2 + 1  # TS1, and TS2 moved in above


# --- property tests: random forests, histories and writes against the brute-force recount ---------


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_built_engine_matches_recount(data: st.DataObject) -> None:
    divisions = data.draw(forests())
    stations = data.draw(stations_for(divisions))
    moving = data.draw(
        st.lists(st.sampled_from(stations), unique_by=lambda s: s.id) if stations else st.just([])
    )
    for _ in range(data.draw(st.integers(1, 2))):  # one or two dated moves each, as editions make
        moving = [data.draw(moved_from(s, divisions)) for s in moving]
    moved = {s.id: s for s in moving}
    stations = [moved.get(s.id, s) for s in stations]
    links = data.draw(successor_links(divisions))
    days = data.draw(st.lists(DAYS | st.just(BASE - timedelta(days=1)), min_size=1, max_size=4))
    engine = NetworkEngine.from_records(divisions, stations, successors=links)
    assert_matches(engine, Oracle(divisions, stations, links), days)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_uncovered_pages_in_code_order_where_codes_do_not_follow_the_tree(data: st.DataObject) -> None:
    # forests() gives a child its parent's code and more, so code order is tree order there; shuffled
    # codes make a first page's walk down rely on its bounds alone to find the lowest codes first.
    divisions = data.draw(forests())
    codes = [d.code for d in divisions]
    code_of = dict(zip(codes, data.draw(st.permutations(codes)), strict=True))
    divisions = [
        dataclasses.replace(d, code=code_of[d.code], parent_code=d.parent_code and code_of[d.parent_code])
        for d in divisions
    ]
    stations = data.draw(stations_for(divisions))
    days = data.draw(st.lists(DAYS, min_size=1, max_size=3))
    engine = NetworkEngine.from_records(divisions, stations)
    assert_matches(engine, Oracle(divisions, stations), days)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_engine_kept_current_through_writes_matches_recount(data: st.DataObject) -> None:
    divisions = data.draw(forests())
    stations = data.draw(stations_for(divisions))
    links = data.draw(successor_links(divisions))
    engine = NetworkEngine.from_records(divisions, stations, successors=links)
    oracle = Oracle(divisions, stations, links)
    for version in range(1, data.draw(st.integers(1, 8)) + 1):
        kind = data.draw(
            st.sampled_from(["station", "station", "move", "new division", "validity", "dated move", "links"])
        )
        changes = Changes(version)
        placeable = [d for d in oracle.divisions.values() if d.level.station_level is not None]
        if kind == "station":
            # Create a station, or rewrite an existing one (new dates, counts, even a new division).
            sid = data.draw(st.sampled_from([*oracle.stations, f"N{version}"]))
            changed = data.draw(station_at(data.draw(st.sampled_from(placeable)), sid))
            changes.stations.append(changed)
            oracle.stations[sid] = changed
        elif kind == "links":  # an edition recording successors (replacing a division's earlier ones)
            links = data.draw(successor_links(list(oracle.divisions.values())))
            changes.successors.update(links)
            oracle.successors.update(links)
        elif kind == "dated move" and oracle.stations:  # an edition moving a station from a day (spec §6)
            moving = oracle.stations[data.draw(st.sampled_from(sorted(oracle.stations)))]
            moved = data.draw(moved_from(moving, list(oracle.divisions.values())))
            changes.stations.append(moved)
            oracle.stations[moved.id] = moved
        elif kind == "move":
            movable = [d for d in oracle.divisions.values() if d.parent_code is not None]
            division = data.draw(st.sampled_from(movable))
            subtree = {d.code for d in oracle.subtree(division.code)}
            parents = [
                d
                for d in oracle.divisions.values()
                if d.level.rank < division.level.rank and d.code not in subtree
            ]
            moved = dataclasses.replace(division, parent_code=data.draw(st.sampled_from(parents)).code)
            changes.divisions.append(moved)
            oracle.divisions[moved.code] = moved
        elif kind == "validity":  # an edition retiring or (re)dating a division (spec §6)
            division = data.draw(st.sampled_from(list(oracle.divisions.values())))
            valid_from, valid_to = data.draw(validity())
            dated = dataclasses.replace(division, valid_from=valid_from, valid_to=valid_to)
            changes.divisions.append(dated)
            oracle.divisions[dated.code] = dated
        else:
            parent = data.draw(st.sampled_from([d for d in oracle.divisions.values() if d.level is not V]))
            level = data.draw(st.sampled_from([lvl for lvl in DivisionLevel if lvl.rank > parent.level.rank]))
            valid_from, valid_to = data.draw(validity())
            new = Division(f"{parent.code}.n{version}", "新", level, parent.code, valid_from, valid_to)
            changes.divisions.append(new)
            oracle.divisions[new.code] = new
        # Ask before each write, so answers kept between writes would show up stale.
        for level in (C, X, T, V):
            engine.uncovered(next(iter(oracle.divisions)), level, BASE + timedelta(days=10))
        engine.apply(changes)
    days = data.draw(st.lists(DAYS | st.just(BASE + timedelta(days=10)), min_size=1, max_size=4))
    assert_matches(engine, oracle, days)


# --- the real Guizhou table --------------------------------------------------------------------------


def load_seed() -> tuple[list[Division], list[Station]]:
    rows, problems = read_csv_rows((SEED / "divisions-guizhou-2023.csv").read_text("utf-8"), DIVISION_COLUMNS)
    divisions, more = validate_divisions(rows, EmptyNetwork())
    assert not problems and not more
    network = NetworkEngine.from_records(divisions, [])
    rows, problems = read_csv_rows((SEED / "stations-guizhou-demo.csv").read_text("utf-8"), STATION_COLUMNS)
    stations, more = validate_stations(rows, network)
    assert not problems and not more
    return divisions, stations


def test_guizhou_table_and_demo_figures() -> None:
    divisions, stations = load_seed()
    engine = NetworkEngine.from_records(divisions, stations)
    end_2021, end_2025 = date(2021, 12, 31), date(2025, 12, 31)
    coverage = {str(c.level): (c.total, c.covered) for c in engine.coverage("52", end_2021)}
    assert {level: total for level, (total, _) in coverage.items()} == {
        "city": 9,
        "county": 88,
        "township": 1510,
        "village": 17964,
    }
    assert coverage["township"][1] == 430
    assert engine.rollup("52", end_2021).township_stations == 430
    assert engine.uncovered("52", T, end_2025).total == 0
    assert engine.uncovered("52", T, end_2021).total == 1510 - 430
    # The recount agrees at a city and a county on a few dates.
    oracle = Oracle(divisions, stations)
    for code in ("5223", "522324"):
        for day in (date(2020, 1, 1), end_2021, date(2023, 7, 1), end_2025):
            assert [(c.level, c.total, c.covered) for c in engine.coverage(code, day)] == oracle.coverage(
                code, day
            )
            assert dataclasses.astuple(engine.rollup(code, day)) == oracle.rollup(code, day)


def test_divisions_with_only_their_validity_share_one_timeline_changed_by_copy() -> None:
    """Divisions with nothing below them and no stations, valid over the same days at one level, hold
    one shared timeline (`SharedTimeline`: an edition's villages cost one timeline, not one each);
    a write to one of them changes its own copy, never the others', and every answer stays that of
    the recount."""
    d1, d2 = BASE + timedelta(days=5), BASE + timedelta(days=20)
    divisions = [
        Division("P", "省", P),
        Division("P.C", "市", C, "P"),
        Division("P.C.X", "县", X, "P.C", valid_from=d1),
        Division("P.C.X.T", "镇", T, "P.C.X", valid_from=d1),
        *[Division(f"P.C.X.T.{n}", f"村{n}", V, "P.C.X.T", valid_from=d1) for n in range(3)],
        Division("P.C.X.T.3", "村3", V, "P.C.X.T", valid_from=d1, valid_to=d2),
        Division("P.C.X.U", "乡", T, "P.C.X", valid_from=d1),
    ]
    stations = [station("S0", StationLevel.TOWNSHIP_STATION, "P.C.X.T", d1 + timedelta(days=2), staff=3)]
    engine = NetworkEngine.from_records(divisions, stations)
    nodes = engine.graph.nodes
    shared = nodes["P.C.X.T.0"]["timeline"]
    assert isinstance(shared, SharedTimeline)
    assert all(nodes[f"P.C.X.T.{n}"]["timeline"] is shared for n in (1, 2))
    assert nodes["P.C.X.T.3"]["timeline"] is not shared  # other days: another shared one
    assert not isinstance(nodes["P.C.X.T"]["timeline"], SharedTimeline)  # a station and villages below
    assert isinstance(nodes["P.C.X.U"]["timeline"], SharedTimeline)  # a lone township
    days = [BASE, d1, d1 + timedelta(days=2), d2, d2 + timedelta(days=1)]
    assert_matches(engine, Oracle(divisions, stations), days)
    with pytest.raises(TypeError, match="read-only"):
        shared.add(d1.toordinal(), ((0, 1),))
    before = (list(shared.days), list(shared.rows))

    moved = dataclasses.replace(divisions[4], valid_to=d2)  # village 0 retired: a revalidation
    added = station("S1", StationLevel.VILLAGE_ROOM, "P.C.X.T.1", d1 + timedelta(days=1), staff=2)
    engine.apply(Changes(1, divisions=[moved], stations=[added]))
    divisions[4] = moved
    stations.append(added)
    assert (list(shared.days), list(shared.rows)) == before
    assert nodes["P.C.X.T.2"]["timeline"] is shared
    assert all(nodes[f"P.C.X.T.{n}"]["timeline"] is not shared for n in (0, 1))
    assert_matches(engine, Oracle(divisions, stations), days)
