"""Spec §6 recounted by brute force over a sequence of editions (domain/edition_history.py), on a
tiny province: a county re-coded by the second edition, a township merged away, stations following
their divisions to the successors and stations listed with today's codes counted in predecessors."""

from __future__ import annotations

from datetime import date

import pytest

from graph_service.domain.edition_history import (
    Edition,
    EditionError,
    apply_editions,
    figures_on,
    station_placements,
    station_rows,
    table_rows,
)
from graph_service.domain.levels import DivisionLevel, StationLevel
from graph_service.domain.validity import Placement

D1, D2 = date(2020, 6, 30), date(2021, 10, 31)
TABLE_1 = """code,name,level,parent_code
52,贵州省,province,
5202,六盘水市,city,52
520221,水城县,county,5202
520221001,双水街道,township,520221
520221203,石径乡,township,520221
520222,盘县,county,5202
520222001,亦资街道,township,520222
"""
TABLE_2 = """code,name,level,parent_code
52,贵州省,province,
5202,六盘水市,city,52
520204,水城区,county,5202
520204002,双水街道,township,520204
520222,盘县,county,5202
520222001,亦资街道,township,520222
520222002,新街道,township,520222
"""
SUCCESSORS_2 = """old_code,new_code
520221,520204
520221001,520204002
520221203,520204002
"""
HEADER = "id,name,level,division_code,parent_id,status,opened_on,closed_on,staff,certified_staff,volunteers\n"
STATIONS = HEADER + (
    "GS-OLD,总站,general_station,520221,,operating,2019-01-01,,2,0,0\n"
    "TS-OLD,双水站,township_station,520221001,GS-OLD,operating,2020-01-01,,1,0,0\n"
    "TS-SHUT,石径站,township_station,520221203,GS-OLD,closed,2020-01-01,2021-06-01,1,0,0\n"
    "TS-TODAY,新街道站,township_station,520222002,,operating,2020-03-01,,3,0,0\n"
    "TS-YIZI,亦资站,township_station,520222001,,operating,2021-01-01,,4,0,0\n"
)


def _editions(successors: str = SUCCESSORS_2) -> list[Edition]:
    return [
        Edition(D1, table_rows(TABLE_1), name="table 1"),
        Edition(D2, table_rows(TABLE_2), successors, "table 2"),
    ]


def test_divisions_get_their_validity_and_the_successor_links() -> None:
    history = apply_editions(_editions())
    assert history.divisions["520221001"].valid_from == D1
    assert history.divisions["520221001"].valid_to == D2
    assert history.divisions["520204002"].valid_from == D2
    assert history.divisions["520222001"].valid_to is None
    assert history.retired[D2] == ["520221", "520221001", "520221203"]
    assert history.successors["520221203"] == ["520204002"]


def test_stations_follow_their_division_unless_closed_by_the_edition() -> None:
    history = apply_editions(_editions())
    placements = station_placements(history, station_rows(STATIONS))
    assert placements["TS-OLD"] == [Placement("520221001", None, D2), Placement("520204002", D2, None)]
    assert placements["GS-OLD"][-1] == Placement("520204", D2, None)
    assert placements["TS-SHUT"] == [Placement("520221203")]  # closed before the edition: stays
    assert placements["TS-TODAY"] == [Placement("520222002")]


def test_figures_count_the_divisions_valid_that_day_and_stations_where_they_sat() -> None:
    history = apply_editions(_editions())
    stations = station_rows(STATIONS)
    placements = station_placements(history, stations)
    before = figures_on(history, stations, placements, date(2021, 1, 31))
    assert before.totals[DivisionLevel.TOWNSHIP] == 3  # 双水, 石径, 亦资 (新街道 not yet)
    # TS-TODAY lists 新街道, created in table 2 with no predecessor: it covers nothing before, but counts.
    assert before.covered[DivisionLevel.TOWNSHIP] == 3
    assert before.stations[StationLevel.TOWNSHIP_STATION] == 4
    assert before.staff == 2 + 1 + 1 + 3 + 4
    after = figures_on(history, stations, placements, date(2021, 12, 31))
    assert after.totals[DivisionLevel.TOWNSHIP] == 3  # 双水 (new code), 亦资, 新街道
    assert after.covered[DivisionLevel.TOWNSHIP] == 3
    assert after.covered[DivisionLevel.COUNTY] == 1  # 水城区, by the moved general station
    assert after.stations[StationLevel.TOWNSHIP_STATION] == 3  # TS-SHUT closed
    assert after.staff == 2 + 1 + 3 + 4


def test_a_station_listed_with_todays_code_counts_in_its_predecessor_before() -> None:
    history = apply_editions(_editions())
    stations = station_rows(
        HEADER + "TS-NEW,双水站,township_station,520204002,,operating,2020-01-01,,1,0,0\n"
    )
    figures = figures_on(history, stations, station_placements(history, stations), date(2021, 1, 31))
    assert figures.covered[DivisionLevel.TOWNSHIP] == 1  # 双水街道 520221001, the lowest predecessor


def test_a_retired_division_holding_stations_with_no_successor_is_refused() -> None:
    history = apply_editions(_editions("old_code,new_code\n520221,520204\n"))
    with pytest.raises(EditionError, match="520221001.*TS-OLD"):
        station_placements(history, station_rows(STATIONS))


def test_bad_files_are_refused_naming_the_file_and_row() -> None:
    with pytest.raises(EditionError, match=r"table 2: .*row 2"):
        apply_editions(_editions("old_code,new_code\n520222001,520204002\n"))
    with pytest.raises(EditionError, match="older"):
        apply_editions([Edition(D2, table_rows(TABLE_2)), Edition(D1, table_rows(TABLE_1))])
    with pytest.raises(EditionError, match="bad table"):
        table_rows("code,name,level,parent_code\n52,贵州省,nation,\n", "bad table")
    with pytest.raises(EditionError, match="stations"):
        station_rows(HEADER + "X,站,township_station,520222001,,operating,,,1,0,0\n")
