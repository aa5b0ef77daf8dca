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
