"""Spec §6 station moves of an edition (pure): who moves where, the reporting lines that change, and
the refusal for a retired division holding stations with no successor."""

from __future__ import annotations

import dataclasses
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from graph_service.domain.levels import DivisionLevel, StationLevel, StationStatus
from graph_service.domain.model import Division, Placement, ReportingLine, Station
from graph_service.domain.moves import (
    Move,
    ReportingChange,
    Stranded,
    moved_records,
    moves_on,
    plan_moves,
    reporting_changes,
)
from graph_service.domain.validity import parent_on, placement_on

C, K, T = DivisionLevel.CITY, DivisionLevel.COUNTY, DivisionLevel.TOWNSHIP
D2021 = date(2021, 10, 31)
GC, GS, TS = StationLevel.GUIDANCE_CENTRE, StationLevel.GENERAL_STATION, StationLevel.TOWNSHIP_STATION

# After the 2021 edition: 水城县 (520221) and its townships retired; 水城区 (520204) new.
AFTER = {
    d.code: d
    for d in [
        Division("5202", "六盘水市", C, "52"),
        Division("520221", "水城县", K, "5202", valid_to=D2021),
        Division("520204", "水城区", K, "5202", valid_from=D2021),
        Division("520201", "钟山区", K, "5202"),
        Division("520221001", "双水街道", T, "520221", valid_to=D2021),
        Division("520221102", "比德镇", T, "520221", valid_to=D2021),
        Division("520221103", "化乐镇", T, "520221", valid_to=D2021),
        Division("520204002", "双水街道", T, "520204", valid_from=D2021),
        Division("520201115", "比德镇", T, "520201", valid_from=D2021),
    ]
}
SUCCESSORS = {"520221": ["520204"], "520221001": ["520204002", "520201115"], "520221102": ["520201115"]}
RETIRED = [code for code, d in AFTER.items() if d.valid_to == D2021]


def _station(sid: str, level: StationLevel, code: str, parent: str | None = None, **more: object) -> Station:
    return Station(sid, sid, level, code, parent, **more)  # type: ignore[arg-type]


def _operating(sid: str, level: StationLevel, code: str, parent: str | None = None) -> Station:
    return _station(sid, level, code, parent, status=StationStatus.OPERATING, opened_on=date(2020, 1, 1))


def test_which_stations_move() -> None:
    assert moves_on(_station("a", TS, "x"), D2021)  # planned
    assert moves_on(_station("a", TS, "x", status=StationStatus.CLOSED, closed_on=date(2021, 11, 1)), D2021)
    assert not moves_on(_station("a", TS, "x", status=StationStatus.CLOSED, closed_on=D2021), D2021)


def test_stations_follow_the_first_listed_successor() -> None:
    stations = [
        _operating("GS-SC", GS, "520221"),
        _operating("TS-SS", TS, "520221001", "GS-SC"),
        _station(
            "TS-closed",
            TS,
            "520221001",
            status=StationStatus.CLOSED,
            opened_on=date(2019, 1, 1),
            closed_on=date(2021, 1, 1),
        ),  # fmt: skip
        _operating("GS-ZS", GS, "520201"),
    ]
    moves, stranded = plan_moves(stations, RETIRED, SUCCESSORS, D2021)
    assert moves == [Move("GS-SC", "520221", "520204"), Move("TS-SS", "520221001", "520204002")]
    assert stranded == []


def test_a_retired_division_holding_stations_without_successor_is_named() -> None:
    stations = [_operating("TS-HL-1", TS, "520221103"), _station("TS-HL-2", TS, "520221103")]
    moves, stranded = plan_moves(stations, RETIRED, SUCCESSORS, D2021)
    assert moves == []
    assert stranded == [Stranded("520221103", ("TS-HL-1", "TS-HL-2"))]
    assert str(stranded[0]).startswith("division 520221103 is retired and holds stations TS-HL-1, TS-HL-2")


def test_reporting_lines_follow_the_moves() -> None:
    stations = [
        _operating("GC", GC, "5202"),
        _operating("GS-SC", GS, "520221", "GC"),
        _operating("GS-ZS", GS, "520201", "GC"),
        _operating("TS-SS", TS, "520221001", "GS-SC"),  # moves with its parent: stays in line
        _operating("TS-BD", TS, "520221102", "GS-SC"),  # moves under 钟山区: GS-ZS is the only one there
    ]
    moves, _ = plan_moves(stations, RETIRED, SUCCESSORS, D2021)
    assert reporting_changes(stations, moves, AFTER.get, D2021) == [
        ReportingChange("TS-BD", "GS-SC", "GS-ZS")
    ]


def test_a_station_whose_parent_moved_away_from_above_it() -> None:
    stations = [
        _operating("GS-SC", GS, "520221"),
        _operating("TS-SS", TS, "520221001", "GS-SC"),
    ]
    moves = [Move("GS-SC", "520221", "520201")]  # a parent moved to another county
    assert reporting_changes(stations, moves, AFTER.get, D2021) == [ReportingChange("TS-SS", "GS-SC", None)]


def test_no_single_station_above_means_reporting_to_nobody() -> None:
    stations = [
        _operating("GS-SC", GS, "520221"),
        _operating("GS-ZS-1", GS, "520201"),
        _operating("GS-ZS-2", GS, "520201"),
        _operating("TS-BD", TS, "520221102", "GS-SC"),
    ]
    moves, _ = plan_moves(stations, RETIRED, {"520221102": ["520201115"]}, D2021)
    assert reporting_changes(stations, moves, AFTER.get, D2021) == [ReportingChange("TS-BD", "GS-SC", None)]


def test_no_station_above_means_reporting_to_nobody() -> None:
    stations = [_operating("GS-SC", GS, "520221"), _operating("TS-BD", TS, "520221102", "GS-SC")]
    moves, _ = plan_moves(stations, RETIRED, {"520221102": ["520201115"]}, D2021)  # 钟山区 has none
    assert reporting_changes(stations, moves, AFTER.get, D2021) == [ReportingChange("TS-BD", "GS-SC", None)]


def test_the_records_date_the_moves_and_the_line_changes() -> None:
    """Spec §6: from the edition's day a moved station sits in its new division and a re-parented one
    reports to its new parent; before it, both are as they were (the history keeps the old line)."""
    stations = [
        _operating("GS-SC", GS, "520221"),
        _operating("GS-ZS", GS, "520201"),
        _operating("TS-BD", TS, "520221102", "GS-SC"),
        _operating("TS-SS", TS, "520221001", "GS-SC"),
    ]
    moves, _ = plan_moves(stations, RETIRED, {**SUCCESSORS, "520221001": ["520201115"]}, D2021)
    changes = reporting_changes(stations, moves, AFTER.get, D2021)
    records = {r.id: r for r in moved_records({s.id: s for s in stations}, moves, changes, D2021)}
    bide = records["TS-BD"]
    assert bide.parent_id == "GS-ZS" and bide.version == 2
    assert bide.reporting_lines == (ReportingLine("GS-SC", None, D2021), ReportingLine("GS-ZS", D2021, None))
    assert bide.placements == (Placement("520221102", None, D2021), Placement("520201115", D2021, None))
    the_day_before = date(2021, 10, 30)
    assert parent_on(bide.lines(), the_day_before) == "GS-SC" and parent_on(bide.lines(), D2021) == "GS-ZS"
    assert placement_on(bide.placements, the_day_before) == "520221102"
    general = records["GS-SC"]  # moved, in line with nobody above it: its line does not change
    assert general.reporting_lines == () and general.lines() == (ReportingLine(None),)


# --- property: after the moves and reporting changes, every line of report runs upwards -------------

_COUNTIES = ["520221", "520204", "520201"]
_TOWNSHIPS = ["520221001", "520221102", "520204002", "520201115"]


@st.composite
def networks(draw: st.DrawFn) -> list[Station]:
    """General stations in random counties, township stations in random townships reporting to a
    general station of their county (or none), some closed by the edition's date."""
    general = [
        _operating(f"GS{n}", GS, draw(st.sampled_from(_COUNTIES))) for n in range(draw(st.integers(0, 4)))
    ]
    townships = []
    for n in range(draw(st.integers(0, 6))):
        code = draw(st.sampled_from(_TOWNSHIPS))
        above = [s.id for s in general if s.division_code == AFTER[code].parent_code]
        township = _operating(f"TS{n}", TS, code, draw(st.sampled_from([None, *above])))
        if draw(st.booleans()):
            township = dataclasses.replace(township, status=StationStatus.CLOSED, closed_on=D2021)
        townships.append(township)
    return general + townships


@settings(max_examples=80, deadline=None)
@given(networks())
def test_reporting_lines_run_upwards_after_the_moves(stations: list[Station]) -> None:
    moves, stranded = plan_moves(stations, RETIRED, SUCCESSORS, D2021)
    assert stranded == []
    where = {s.id: s.division_code for s in stations} | {m.station_id: m.new_code for m in moves}
    assert all(AFTER[where[s.id]].valid_to is None for s in stations if moves_on(s, D2021))
    parent = {s.id: s.parent_id for s in stations}
    changes = reporting_changes(stations, moves, AFTER.get, D2021)
    parent |= {c.station_id: c.new_parent for c in changes}
    for station in stations:
        if parent[station.id] is not None:  # closed stations too: every stored line holds
            assert AFTER[where[station.id]].parent_code == where[parent[station.id]]  # type: ignore[index]
    moved = {m.station_id for m in moves}
    assert all(c.station_id in moved or c.old_parent in moved for c in changes)
    for change in changes:  # the one general station of the new county, else nobody
        county = AFTER[where[change.station_id]].parent_code
        there = [s.id for s in stations if s.level is GS and where[s.id] == county and moves_on(s, D2021)]
        assert change.new_parent == (there[0] if len(there) == 1 else None)
    records = {r.id: r for r in moved_records({s.id: s for s in stations}, moves, changes, D2021)}
    before = date(2020, 12, 31)
    for station in stations:  # the change is dated: the old line before the day, the new one from it
        record = records.get(station.id, station)
        assert parent_on(record.lines(), before) == station.parent_id
        assert parent_on(record.lines(), D2021) == record.parent_id == parent[station.id]
        assert bool(record.reporting_lines) == (record.parent_id != station.parent_id)
