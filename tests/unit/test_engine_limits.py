"""The engine's limits (issue 9): totals exact past any fixed width, and a reporting line that goes to a
lower level named as such."""

from __future__ import annotations

import pytest

from graph_service.domain.levels import DivisionLevel, StationLevel, StationStatus
from graph_service.domain.model import Division, Station
from graph_service.engine import EngineLoadError, NetworkEngine
from graph_service.engine.timeline import STAFF, Timeline


def test_timeline_totals_are_exact_past_64_bits() -> None:
    timeline = Timeline()
    for day in (30, 10, 20):
        timeline.add(day, [(STAFF, 2**62)])
    assert timeline.value_at(25, STAFF) == 2**63
    assert timeline.value_at(30, STAFF) == 3 * 2**62
    rebuilt = Timeline.from_daily_changes(dict(timeline.daily_changes()))
    assert rebuilt.value_at(31, STAFF) == 3 * 2**62


def test_a_station_reporting_to_a_lower_level_is_told_so() -> None:
    divisions = [
        Division("52", "省", DivisionLevel.PROVINCE),
        Division("5201", "市", DivisionLevel.CITY, "52"),
        Division("520101", "县", DivisionLevel.COUNTY, "5201"),
        Division("520101001", "镇", DivisionLevel.TOWNSHIP, "520101"),
    ]
    stations = [
        Station("GS", "总站", StationLevel.GENERAL_STATION, "520101", "TS", StationStatus.PLANNED),
        Station("TS", "站", StationLevel.TOWNSHIP_STATION, "520101001", None, StationStatus.PLANNED),
    ]
    with pytest.raises(EngineLoadError) as raised:
        NetworkEngine.from_records(divisions, stations)
    assert raised.value.problems == [
        "station GS, parent_id: a general_station reports to a guidance_centre, but TS is a township_station"
    ]
