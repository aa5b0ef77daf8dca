"""Spec §6 validity rules (pure): valid on a day, names and placements through time, and the division
a station counts in on a day (the predecessor rule)."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from graph_service.domain.levels import DivisionLevel, StationLevel
from graph_service.domain.model import Division, ReportingLine, Station
from graph_service.domain.validity import (
    Counting,
    DivisionName,
    Placement,
    changed_lines,
    counting_division,
    is_valid_on,
    moved_placements,
    name_on,
    parent_on,
    placement_on,
    predecessors_of,
    renamed_history,
    station_counts_in,
    valid_on,
)

T = DivisionLevel.TOWNSHIP
D2020, D2021, D2022 = date(2020, 6, 30), date(2021, 10, 31), date(2022, 10, 31)
days = st.dates(date(1990, 1, 1), date(2040, 12, 31))


def test_bounds_are_from_inclusive_to_exclusive() -> None:
    division = Division("1", "x", T, "0", valid_from=D2020, valid_to=D2021)
    assert not is_valid_on(division, D2020 - timedelta(days=1))
    assert is_valid_on(division, D2020)
    assert is_valid_on(division, D2021 - timedelta(days=1))
    assert not is_valid_on(division, D2021)


def test_empty_bounds_are_open() -> None:
    assert is_valid_on(Division("1", "x", T, "0"), date(1900, 1, 1))
    assert is_valid_on(Division("1", "x", T, "0", valid_to=D2021), date(1900, 1, 1))
    assert is_valid_on(Division("1", "x", T, "0", valid_from=D2020), date(2100, 12, 31))


def test_existing_constructor_calls_still_work() -> None:
    division = Division("52", "贵州省", DivisionLevel.PROVINCE)
    assert (division.valid_from, division.valid_to) == (None, None)
    assert division == Division("52", "贵州省", DivisionLevel.PROVINCE, None)


@given(days, st.one_of(st.none(), days), st.one_of(st.none(), days))
def test_valid_on_matches_the_spec_definition(day: date, start: date | None, end: date | None) -> None:
    division = Division("1", "x", T, "0", valid_from=start, valid_to=end)
    expected = (start is None or start <= day) and (end is None or day < end)
    assert is_valid_on(division, day) is expected
    assert valid_on([division], day) == ([division] if expected else [])


def test_name_on_follows_the_history_in_any_order() -> None:
    names = [DivisionName("党武街道", D2021), DivisionName("党武镇", None)]
    assert name_on(names, D2020) == "党武镇"
    assert name_on(names, D2021) == "党武街道"
    assert name_on([DivisionName("x", D2021)], D2020) is None


def test_placement_history() -> None:
    history = [Placement("520221001", None, D2021), Placement("520204002", D2021, None)]
    assert placement_on(history, D2020) == "520221001"
    assert placement_on(history, D2021) == "520204002"
    assert placement_on([Placement("a", D2021, None)], D2020) == "a"
    assert placement_on([], D2020) is None


def test_a_move_closes_the_open_placement() -> None:
    start = [Placement("old")]
    assert moved_placements(start, "new", D2021) == [Placement("old", None, D2021), Placement("new", D2021)]
    assert moved_placements(start, "old", D2021) == start
    assert moved_placements([Placement("old", D2022)], "new", D2021) == [Placement("new", D2022)]


def test_a_line_change_closes_the_open_line_and_is_read_by_day() -> None:
    """Spec §6: a reporting line changed by an edition is dated like a move; the line is read by day."""
    lines = changed_lines([ReportingLine("GS-old")], "GS-new", D2021)
    assert lines == [ReportingLine("GS-old", None, D2021), ReportingLine("GS-new", D2021)]
    assert parent_on(lines, D2020) == "GS-old" and parent_on(lines, D2021) == "GS-new"
    to_nobody = changed_lines(lines, None, D2022)
    assert to_nobody[-2:] == [ReportingLine("GS-new", D2021, D2022), ReportingLine(None, D2022)]
    assert parent_on(to_nobody, D2022) is None and parent_on(to_nobody, D2021) == "GS-new"
    assert changed_lines(to_nobody, None, date(2023, 1, 1)) == to_nobody  # no change: kept as is


def test_a_parent_correction_corrects_the_current_line_only() -> None:
    """Spec §6: a parent_id changed by an import or updateStation is a correction, not dated: the
    current line takes it; a line left equal to the one before merges with it, and a single line open
    both ways is no history at all."""
    lines = (ReportingLine("A", None, D2021), ReportingLine("B", D2021, D2022), ReportingLine(None, D2022))
    station = Station("TS", "TS", StationLevel.TOWNSHIP_STATION, "t", None, reporting_lines=lines)
    corrected = dataclasses.replace(station, parent_id="C")
    assert corrected.reporting_lines == (*lines[:2], ReportingLine("C", D2022))
    merged = dataclasses.replace(station, parent_id="B")
    assert merged.reporting_lines == (lines[0], ReportingLine("B", D2021, None))
    assert dataclasses.replace(merged, parent_id="A").reporting_lines == ()
    assert Station("x", "x", StationLevel.TOWNSHIP_STATION, "t", "A").lines() == (ReportingLine("A"),)
    fresh = Station("TS", "renamed", StationLevel.TOWNSHIP_STATION, "t", None)  # an import row
    assert fresh.keeping_history(station).reporting_lines == lines


def _network() -> dict[str, Division]:
    """A county re-coded in 2021 (水城县 → 水城区) with a township under each; a new township in 2022
    that had no predecessor."""
    divisions = [
        Division("5202", "六盘水市", DivisionLevel.CITY, "52"),
        Division("520221", "水城县", DivisionLevel.COUNTY, "5202", valid_to=D2021),
        Division("520204", "水城区", DivisionLevel.COUNTY, "5202", valid_from=D2021),
        Division("520221001", "双水街道", T, "520221", valid_to=D2021),
        Division("520221999", "另一街道", T, "520221", valid_to=D2021),
        Division("520204002", "双水街道", T, "520204", valid_from=D2021, valid_to=D2022),
        Division("520204010", "双水新街道", T, "520204", valid_from=D2022),
        Division("520204011", "新设街道", T, "520204", valid_from=D2022),
    ]
    return {d.code: d for d in divisions}


def test_counts_in_its_division_when_valid() -> None:
    network = _network()
    assert counting_division("520204002", D2021, network.get, {}) == Counting("520204002", "520204002")


def test_counts_in_the_predecessor_before_its_division_existed() -> None:
    network = _network()
    predecessors = predecessors_of(
        {"520221001": ["520204002"], "520221999": ["520204002"], "520204002": ["520204010"]}
    )
    assert counting_division("520204002", D2020, network.get, predecessors) == Counting(
        "520221001", "520221001"
    )
    # two steps back: the 2022 township's predecessor's predecessor, the lowest code of several
    assert counting_division("520204010", D2020, network.get, predecessors).covers == "520221001"
    assert counting_division("520204010", D2021, network.get, predecessors).covers == "520204002"


def test_without_a_predecessor_it_rolls_up_under_the_nearest_valid_ancestor() -> None:
    network = _network()
    assert counting_division("520204011", D2021, network.get, {}) == Counting(None, "520204")
    assert counting_division("520204011", D2020, network.get, {}) == Counting(None, "5202")
    assert counting_division("nowhere", D2020, network.get, {}) == Counting(None, None)


def test_after_its_division_was_retired_it_covers_nothing() -> None:
    network = _network()
    predecessors = predecessors_of({"520221001": ["520204002"]})
    # 520204002 retired on 2022-10-31; its predecessor is no answer after that
    assert counting_division("520204002", date(2023, 1, 1), network.get, predecessors) == Counting(
        None, "520204"
    )


def test_a_moved_station_counts_where_it_sat_that_day() -> None:
    network = _network()
    history = [Placement("520221001", None, D2021), Placement("520204002", D2021, None)]
    assert station_counts_in(history, D2020, network.get, {}) == Counting("520221001", "520221001")
    assert station_counts_in(history, D2021, network.get, {}) == Counting("520204002", "520204002")
    assert station_counts_in([], D2021, network.get, {}) == Counting(None, None)


def test_a_renamed_history_starts_from_the_current_name_and_replaces_a_rename_of_the_same_day() -> None:
    division = Division("520111103", "党武镇", DivisionLevel.TOWNSHIP, "520111", D2020)
    first = renamed_history([], division, "党武街道", D2021)
    assert first == [DivisionName("党武镇", D2020), DivisionName("党武街道", D2021)]
    assert renamed_history(first, division, "党武街道", D2021) == first
    later = date(2023, 6, 30)
    assert renamed_history(first, division, "党武", later) == [*first, DivisionName("党武", later)]
