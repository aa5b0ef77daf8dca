"""The committed seed files: the real 2023 divisions, and the demo stations listed with today's codes
(`stations-guizhou-demo.csv`, for a store holding the 2023 table alone) matching Guizhou's published
figures.

Counts are redone here with plain Python from the two CSV files (spec §3 "active on D"), so these
tests do not depend on the query engine. The demo as `scripts/demo` seeds it (the four editions and
`stations-guizhou-demo-editions.csv`) is checked in `test_seed_demo_editions.py`.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

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
from tests.support.paths import REPO

SEED = REPO / "seed"
DIVISIONS_CSV = SEED / "divisions-guizhou-2023.csv"
STATIONS_CSV = SEED / "stations-guizhou-demo.csv"
SCRIPT = SEED / "make_demo_stations.py"

REPORT_DAY = date(2021, 12, 31)
TARGET_DAY = date(2025, 12, 31)
RELOCATION_MARK = "易地扶贫搬迁安置点"


class DivisionsOnly:
    """A `NetworkView` of a store holding the divisions and no stations yet."""

    def __init__(self, divisions: Iterable[Division]) -> None:
        self._divisions = {division.code: division for division in divisions}

    def division(self, code: str) -> Division | None:
        return self._divisions.get(code)

    def station(self, station_id: str) -> Station | None:
        return None

    def stations_reporting_to(self, station_id: str) -> Iterable[Station]:
        return ()


@dataclass(frozen=True)
class Seed:
    divisions: dict[str, Division]
    stations: dict[str, Station]

    def of_level(self, level: DivisionLevel) -> list[Division]:
        return [d for d in self.divisions.values() if d.level is level]

    def active(self, day: date, level: StationLevel | None = None) -> list[Station]:
        return [
            s for s in self.stations.values() if s.is_active_on(day) and (level is None or s.level is level)
        ]

    def covered(self, day: date, level: StationLevel) -> set[str]:
        return {s.division_code for s in self.active(day, level)}


@pytest.fixture(scope="module")
def seed() -> Seed:
    division_rows, problems = read_csv_rows(DIVISIONS_CSV.read_text(encoding="utf-8"), DIVISION_COLUMNS)
    assert problems == []
    divisions, problems = validate_divisions(division_rows, EmptyNetwork())
    assert problems == []
    station_rows, problems = read_csv_rows(STATIONS_CSV.read_text(encoding="utf-8"), STATION_COLUMNS)
    assert problems == []
    stations, problems = validate_stations(station_rows, DivisionsOnly(divisions))
    assert [str(p) for p in problems] == []
    assert len(stations) == len(station_rows)
    return Seed({d.code: d for d in divisions}, {s.id: s for s in stations})


def test_divisions_are_the_nbs_2023_guizhou_table(seed: Seed) -> None:
    counts = Counter(d.level for d in seed.divisions.values())
    assert counts == {
        DivisionLevel.PROVINCE: 1,
        DivisionLevel.CITY: 9,
        DivisionLevel.COUNTY: 88,
        DivisionLevel.TOWNSHIP: 1510,
        DivisionLevel.VILLAGE: 17964,
    }


def test_every_station_row_is_valid_and_dated_by_the_end_of_2025(seed: Seed) -> None:
    # The fixture already proved every row passes spec §2 validation; dates stay in the plan period.
    for station in seed.stations.values():
        for day in (station.opened_on, station.closed_on):
            assert day is None or day <= TARGET_DAY, station


def test_one_guidance_centre_per_city_and_one_general_station_per_county_before_2020(seed: Seed) -> None:
    for level, division_level in (
        (StationLevel.GUIDANCE_CENTRE, DivisionLevel.CITY),
        (StationLevel.GENERAL_STATION, DivisionLevel.COUNTY),
    ):
        stations = [s for s in seed.stations.values() if s.level is level]
        assert sorted(s.division_code for s in stations) == sorted(
            d.code for d in seed.of_level(division_level)
        )
        for station in stations:
            assert station.status is StationStatus.OPERATING
            assert station.opened_on is not None and station.opened_on < date(2020, 1, 1)
    assert len(seed.active(REPORT_DAY, StationLevel.GUIDANCE_CENTRE)) == 9
    assert len(seed.active(REPORT_DAY, StationLevel.GENERAL_STATION)) == 88


def test_every_station_reports_to_the_station_of_its_parent_division(seed: Seed) -> None:
    for station in seed.stations.values():
        if station.level is StationLevel.GUIDANCE_CENTRE:
            assert station.parent_id is None
            continue
        assert station.parent_id is not None, station
        parent = seed.stations[station.parent_id]
        assert parent.division_code == seed.divisions[station.division_code].parent_code
        if station.opened_on is not None:
            assert parent.opened_on is not None and parent.opened_on <= station.opened_on, station


def test_430_township_stations_in_430_townships_on_2021_12_31_64_in_relocation_sites(seed: Seed) -> None:
    active = seed.active(REPORT_DAY, StationLevel.TOWNSHIP_STATION)
    assert len(active) == 430
    assert len({s.division_code for s in active}) == 430
    assert sum(RELOCATION_MARK in s.name for s in active) == 64


def test_every_township_covered_on_2025_12_31(seed: Seed) -> None:
    townships = {d.code for d in seed.of_level(DivisionLevel.TOWNSHIP)}
    assert len(townships) == 1510
    assert seed.covered(TARGET_DAY, StationLevel.TOWNSHIP_STATION) == townships
    assert seed.covered(date(2024, 12, 31), StationLevel.TOWNSHIP_STATION) < townships


def test_about_900_resident_social_workers_on_2021_12_31(seed: Seed) -> None:
    staff = sum(s.staff for s in seed.active(REPORT_DAY))
    assert 880 <= staff <= 920


def test_village_coverage_grows_every_year_to_about_a_third(seed: Seed) -> None:
    villages = len(seed.of_level(DivisionLevel.VILLAGE))
    shares = [
        len(seed.covered(date(year, 12, 31), StationLevel.VILLAGE_ROOM)) / villages
        for year in range(2019, 2026)
    ]
    assert shares == sorted(set(shares)), shares  # strictly rising
    assert 0.01 <= shares[2021 - 2019] <= 0.10
    assert 0.30 <= shares[-1] <= 0.40


def test_the_data_has_some_closed_and_unbuilt_stations(seed: Seed) -> None:
    statuses = Counter(s.status for s in seed.stations.values())
    assert statuses[StationStatus.CLOSED] > 0
    assert statuses[StationStatus.PLANNED] + statuses[StationStatus.BUILDING] > 0


def test_the_script_reproduces_the_committed_file(tmp_path: Path) -> None:
    out = tmp_path / "stations.csv"
    subprocess.run([sys.executable, str(SCRIPT), "--out", str(out)], check=True, capture_output=True)
    assert out.read_bytes() == STATIONS_CSV.read_bytes()
