"""Domain validation reports every problem a row has, and names the real cause."""

from __future__ import annotations

from graph_service.domain.levels import DivisionLevel
from graph_service.domain.model import Division
from graph_service.domain.validation import STATION_COLUMNS, read_csv_rows, validate_stations
from graph_service.engine import NetworkEngine

HEADER = ",".join(STATION_COLUMNS)
NETWORK = NetworkEngine.from_records(
    [
        Division("52", "贵州省", DivisionLevel.PROVINCE),
        Division("5201", "贵阳市", DivisionLevel.CITY, "52"),
        Division("520102", "南明区", DivisionLevel.COUNTY, "5201"),
    ],
    [],
)


def problems_of(body: str) -> list[tuple[int, str | None, str]]:
    rows, problems = read_csv_rows(f"{HEADER}\n{body}", STATION_COLUMNS)
    assert not problems
    _, problems = validate_stations(rows, NETWORK)
    return [(p.row, p.column, p.message) for p in problems]


def test_a_bad_date_does_not_hide_a_count_problem() -> None:
    found = problems_of("GC,中心,guidance_centre,5201,,operating,2021-02-30,,1,3,0\n")
    assert [(row, column) for row, column, _ in found] == [(2, "opened_on"), (2, "certified_staff")]


def test_bad_counts_do_not_hide_a_status_problem() -> None:
    found = problems_of("GC,中心,guidance_centre,5201,,planned,2021-01-01,,x,-1,0\n")
    assert [(row, column) for row, column, _ in found] == [
        (2, "opened_on"),
        (2, "staff"),
        (2, "certified_staff"),
    ]


def test_reporting_to_a_rejected_row_names_that_row() -> None:
    found = problems_of(
        "GC,中心,guidance_centre,5201,,operating,not-a-date,,1,0,0\n"
        "GS,总站,general_station,520102,GC,operating,2021-01-01,,1,0,0\n"
    )
    assert found[-1] == (
        3,
        "parent_id",
        "parent station 'GC' (row 2) has problems of its own; fix that row first",
    )


def test_moving_a_division_away_from_its_stations_parents_is_refused() -> None:
    from graph_service.domain.levels import StationLevel, StationStatus
    from graph_service.domain.model import Station
    from graph_service.domain.validation import DIVISION_COLUMNS, validate_divisions

    divisions = [
        Division("52", "贵州省", DivisionLevel.PROVINCE),
        Division("5201", "贵阳市", DivisionLevel.CITY, "52"),
        Division("5202", "六盘水市", DivisionLevel.CITY, "52"),
        Division("520102", "南明区", DivisionLevel.COUNTY, "5201"),
        Division("520103", "云岩区", DivisionLevel.COUNTY, "5201"),
        Division("520102001", "街道", DivisionLevel.TOWNSHIP, "520102"),
    ]
    stations = [
        Station("GC", "中心", StationLevel.GUIDANCE_CENTRE, "5201", None, StationStatus.PLANNED),
        Station("GS", "总站", StationLevel.GENERAL_STATION, "520102", "GC", StationStatus.PLANNED),
        Station("TS", "服务站", StationLevel.TOWNSHIP_STATION, "520102001", "GS", StationStatus.PLANNED),
    ]
    network = NetworkEngine.from_records(divisions, stations)

    def check(body: str) -> list[tuple[int, str | None, str]]:
        rows, problems = read_csv_rows("code,name,level,parent_code\n" + body, DIVISION_COLUMNS)
        assert not problems
        return [(p.row, p.column, p.message) for p in validate_divisions(rows, network)[1]]

    assert check("520102,南明区,county,5202\n") == [
        (
            2,
            "parent_code",
            "moving 520102 under 5202 would leave station GS reporting to GC, "
            "which sits in 5201, no longer above it",
        )
    ]
    assert check("520103,云岩区,county,5202\n") == []  # no station below it
    assert check("520102001,街道,township,520103\n") == [
        (
            2,
            "parent_code",
            "moving 520102001 under 520103 would leave station TS reporting to GS, "
            "which sits in 520102, no longer above it",
        )
    ]
