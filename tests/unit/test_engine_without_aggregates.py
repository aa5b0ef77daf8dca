"""An engine loaded only to check writes against (`NetworkEngine.load(..., aggregates=False)`, what
`graph-service seed stations` uses): it refuses coverage questions until its aggregates are built,
builds them when a write's sums or an `apply` need them, and then agrees with a fully loaded engine."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from graph_service.domain.levels import StationLevel
from graph_service.domain.model import Division, Station
from graph_service.domain.station_fields import MAX_COUNT
from graph_service.domain.validation import MAX_SUM
from graph_service.engine import NetworkEngine, Snapshot
from graph_service.ports import Changes
from tests.support.oracle import national_like, station

DAYS = (date(2016, 1, 1), date(2020, 6, 30), date(2026, 1, 1))
CODES = ("P", "C3", "C3X4", "T34", "T34V2")


def loaded(divisions: list[Division], stations: list[Station], *, aggregates: bool) -> NetworkEngine:
    snapshot = Snapshot()
    for division in divisions:
        snapshot.add_division(division)
    for record in stations:
        snapshot.add_station(record)
    return NetworkEngine.load(snapshot, 7, aggregates=aggregates)


def assert_same_answers(engine: NetworkEngine, other: NetworkEngine) -> None:
    for code in CODES:
        for day in DAYS:
            assert engine.rollup(code, day) == other.rollup(code, day), (code, day)
            assert engine.coverage(code, day) == other.coverage(code, day), (code, day)


def test_it_answers_no_coverage_and_checks_sums_without_building_them() -> None:
    divisions, stations = national_like(200)
    engine = loaded(divisions, stations, aggregates=False)
    assert engine._unbuilt is not None
    with pytest.raises(RuntimeError, match="without its aggregates"):
        engine.coverage("P", DAYS[0])
    with pytest.raises(RuntimeError, match="without its aggregates"):
        engine.uncovered("P", divisions[-1].level, DAYS[0])
    assert engine.station(stations[0].id) == stations[0]
    assert engine.problems == []
    more = [dataclasses.replace(s, id=f"{s.id}-2", staff=1_000) for s in stations[:50]]
    assert engine.sums_over_limit([], more) == []
    assert engine._unbuilt is not None  # the stations' own totals settled it


def test_a_write_that_may_pass_the_limit_builds_them_and_finds_what_a_full_engine_finds() -> None:
    divisions, stations = national_like(200)
    light, full = (loaded(divisions, stations, aggregates=a) for a in (False, True))
    huge = [
        dataclasses.replace(stations[0], id="BIG-1", staff=MAX_SUM - 10),
        dataclasses.replace(stations[1], id="BIG-2", staff=MAX_SUM - 10),
    ]
    found = light.sums_over_limit([], huge)
    assert light._unbuilt is None
    assert found and found == full.sums_over_limit([], huge)
    near = [dataclasses.replace(stations[0], id="BIG-1", staff=MAX_SUM // 2)]
    assert loaded(divisions, stations, aggregates=False).sums_over_limit([], near) == []
    assert_same_answers(light, full)


def test_applying_a_write_builds_them_first() -> None:
    divisions, stations = national_like(200)
    light = loaded(divisions, stations[:600], aggregates=False)
    light.apply(Changes(8, stations=stations[600:]))
    assert_same_answers(light, loaded(divisions, stations, aggregates=True))


def test_a_store_whose_sums_may_pass_the_limit_is_loaded_whole() -> None:
    """Only the aggregates can tell which stored division's roll-up passes `MAX_SUM` (a damaged store):
    when the stations' own totals do not rule that out, the load builds them as a full load does."""
    divisions, stations = national_like(20)
    township = next(s for s in stations if s.level is StationLevel.TOWNSHIP_STATION)
    damaged = stations + [  # each valid alone (staff at most MAX_COUNT); 2,148 of them pass MAX_SUM
        station(f"HUGE-{n}", StationLevel.VILLAGE_ROOM, "T1V1", date(2020, 1, 1), staff=MAX_COUNT)
        for n in range(2_148)
    ]
    light, full = (loaded(divisions, damaged, aggregates=a) for a in (False, True))
    assert light._unbuilt is None
    assert light.problems == full.problems
    assert {(p.key, p.column) for p in light.problems} == {
        (code, "staff") for code in ("P", "C1", "C1X0", "T1", "T1V1")
    }
    assert light.rollup(township.division_code, DAYS[2]) == full.rollup(township.division_code, DAYS[2])
