"""Spec §7 "Values" and "A write either happens whole…", on every GraphQL path and both stores.

Each test reproduces a finding of issues 9 and 10: a legal-looking Int that broke the service for good,
sums past GraphQL's Int, loose dates, lone surrogates and control characters, a malformed row hiding
the others. After every refused write, nothing is written and the engine agrees with the store.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import httpx
import pytest

from graph_service.domain.validation import MAX_SUM
from graph_service.service_layer.syncing import load_engine
from tests.support.network import (
    STATION_HEADER,
    Api,
    assert_engine_agrees_with_store,
    big_rooms_csv,
    single_error,
    token,
)

pytestmark = pytest.mark.anyio

ADMIN = token("admin", "*")
EDITOR = token("editor", "522324")

CREATE = "mutation ($input: StationInput!) { createStation(input: $input) { id name staff version } }"
UPDATE = """
mutation ($id: ID!, $input: StationPatch!) { updateStation(id: $id, input: $input) { id staff } }
"""
IMPORT_STATIONS = """
mutation ($csv: String!) {
  importStations(csv: $csv) { applied created updated errors { row column message } }
}
"""
IMPORT_DIVISIONS = """
mutation ($csv: String!) { importDivisions(csv: $csv) { applied errors { row column message } } }
"""
ROOM = {
    "id": "VR-522324002002",
    "name": "西街社区社会工作室",
    "level": "VILLAGE_ROOM",
    "divisionCode": "522324002002",
    "parentId": "TS-522324002",
    "status": "OPERATING",
    "openedOn": "2023-01-01",
}


async def post_ascii(api: Api, query: str, variables: dict[str, Any], bearer: str) -> httpx.Response:
    """POST with the JSON escaped to ASCII, so a lone surrogate travels as `\\ud800` (as a client's
    JSON encoder sends it; UTF-8 cannot carry it)."""
    body = json.dumps({"query": query, "variables": variables})
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {bearer}"}
    return await api.client.post("/graphql", content=body, headers=headers)


async def refused(api: Api, query: str, variables: dict[str, Any], field: str | None) -> dict[str, Any]:
    """The single BAD_USER_INPUT error of a write that must change nothing; its problems name `field`."""
    before = api.service.store.data_version()
    error = single_error(await post_ascii(api, query, variables, EDITOR))
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    if field is not None:
        fields = [problem["field"] for problem in error["extensions"].get("problems", [])]
        assert field in fields or field in error["message"], error
    assert api.service.store.data_version() == before
    assert_engine_agrees_with_store(api.service)
    return error


# --- per-station bounds ----------------------------------------------------------------------------


async def test_create_station_with_staff_at_int_max_is_refused_and_nothing_breaks(api: Api) -> None:
    """Issue 9 #1: staff 2147483647 by an editor of 522324 gave INTERNAL yet was committed, and broke
    every later load."""
    error = await refused(api, CREATE, {"input": {**ROOM, "staff": 2147483647}}, "staff")
    assert "1,000,000" in error["message"]
    rollup = await api.data('{ division(code: "522324") { rollup { villageRooms staff } } }')
    assert rollup["division"]["rollup"] == {"villageRooms": 1, "staff": 8}
    assert load_engine(api.service.store).problems == []


@pytest.mark.parametrize(
    ("field", "value"),
    [("staff", 1_000_001), ("certifiedStaff", -1), ("volunteers", 1_000_001)],
)
async def test_counts_outside_the_bounds_are_refused(api: Api, field: str, value: int) -> None:
    await refused(api, CREATE, {"input": {**ROOM, "staff": 5, field: value}}, field)


async def test_counts_at_the_bounds_are_accepted(api: Api) -> None:
    created = await api.data(
        CREATE,
        {"input": {**ROOM, "staff": 1_000_000, "certifiedStaff": 0, "volunteers": 1_000_000}},
        bearer=EDITOR,
    )
    assert created["createStation"]["staff"] == 1_000_000
    assert_engine_agrees_with_store(api.service)


async def test_update_station_past_the_bound_is_refused(api: Api) -> None:
    await refused(api, UPDATE, {"id": "TS-522324002", "input": {"staff": 2_000_000}}, "staff")


async def test_import_with_a_huge_count_is_refused(api: Api) -> None:
    """Issue 9 #1: an importStations row with staff 99999999999 was committed and broke the sums."""
    csv = (
        STATION_HEADER
        + "VR-X,某室,village_room,522324002002,TS-522324002,operating,2023-01-01,,99999999999,0,0\n"
    )
    before = api.service.store.data_version()
    report = (await api.data(IMPORT_STATIONS, {"csv": csv}, bearer=EDITOR))["importStations"]
    assert not report["applied"]
    assert [(e["row"], e["column"]) for e in report["errors"]] == [(2, "staff")]
    assert "99,999,999,999" in report["errors"][0]["message"]
    assert api.service.store.data_version() == before
    assert_engine_agrees_with_store(api.service)


async def test_two_rows_of_one_and_a_half_billion_are_both_refused(api: Api) -> None:
    csv = STATION_HEADER + "".join(
        f"VR-{n},某室{n},village_room,522324002002,TS-522324002,operating,2023-01-01,,1500000000,0,0\n"
        for n in (1, 2)
    )
    report = (await api.data(IMPORT_STATIONS, {"csv": csv}, bearer=EDITOR))["importStations"]
    assert [(e["row"], e["column"]) for e in report["errors"]] == [(2, "staff"), (3, "staff")]
    assert_engine_agrees_with_store(api.service)


# --- sums past GraphQL's Int ---------------------------------------------------------------------

# 2,147 rooms of 1,000,000 staff in one village: the province's staff sum is then 2,147,000,014
# (the seeded network's 14 active staff included), 483,633 below GraphQL's Int limit.
BIG_ROOMS = 2_147
SEEDED_STAFF = 14


async def test_an_import_that_takes_a_sum_past_int_max_is_refused_whole(api: Api) -> None:
    before = api.service.store.data_version()
    report = (await api.data(IMPORT_STATIONS, {"csv": big_rooms_csv(BIG_ROOMS + 1)}, bearer=ADMIN))[
        "importStations"
    ]
    assert not report["applied"] and report["created"] == 0
    assert {e["column"] for e in report["errors"]} == {"staff"}
    assert "2,147,483,647" in report["errors"][0]["message"]
    assert report["errors"][0]["row"] == BIG_ROOMS + 2  # the last row, which takes it over
    assert api.service.store.data_version() == before
    assert_engine_agrees_with_store(api.service)


async def test_a_write_may_take_a_sum_to_int_max_but_not_past_it(api: Api) -> None:
    report = (await api.data(IMPORT_STATIONS, {"csv": big_rooms_csv(BIG_ROOMS)}, bearer=ADMIN))[
        "importStations"
    ]
    assert report["applied"] and report["created"] == BIG_ROOMS
    room = 522324002001  # a second room in 东街社区, which reports to the same township station
    allowed = MAX_SUM - BIG_ROOMS * 1_000_000 - SEEDED_STAFF
    over = {**ROOM, "id": "VR-LAST", "divisionCode": str(room), "staff": allowed + 1}
    error = await refused(api, CREATE, {"input": over}, "staff")
    assert "52 贵州省" in error["message"] and "2023-01-01" in error["message"]
    await refused(api, UPDATE, {"id": "VR-522324002001", "input": {"staff": 1 + allowed + 1}}, "staff")
    at_limit = await api.data(CREATE, {"input": {**over, "staff": allowed}}, bearer=ADMIN)
    assert at_limit["createStation"]["staff"] == allowed
    data = await api.data('{ division(code: "52") { rollup(asOf: "2024-01-01") { staff } } }')
    assert data["division"]["rollup"]["staff"] == MAX_SUM
    assert_engine_agrees_with_store(api.service)


# --- names, ids, dates ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "\ud800 lone surrogate"),
        ("name", "bad\x00name"),
        ("name", "tab\tinside"),
        ("name", "del\x7f"),
        ("name", "x" * 201),
        ("name", "   "),
        ("id", "   "),
        ("id", "has space"),
        ("id", "x" * 65),
        ("id", "\udc00"),
    ],
)
async def test_bad_names_and_ids_are_refused_naming_the_field(api: Api, field: str, value: str) -> None:
    """Issue 10 #5 and #7: a lone surrogate gave INTERNAL; NUL, controls, 100,000 characters and an id
    of three spaces were accepted."""
    await refused(api, CREATE, {"input": {**ROOM, field: value}}, field)


async def test_names_are_stored_trimmed_and_may_be_200_characters(api: Api) -> None:
    name = "长" * 200
    created = await api.data(CREATE, {"input": {**ROOM, "name": f"  {name}\u3000 "}}, bearer=EDITOR)
    assert created["createStation"]["name"] == name
    assert api.service.store is not None
    assert load_engine(api.service.store).station(ROOM["id"]).name == name


@pytest.mark.parametrize("kind", ["stations", "divisions"])
async def test_imports_refuse_a_lone_surrogate_in_a_name(api: Api, kind: str) -> None:
    if kind == "stations":
        query = IMPORT_STATIONS
        csv = STATION_HEADER + "VR-S,坏\ud800名,village_room,522324002002,TS-522324002,planned,,,0,0,0\n"
    else:
        query = IMPORT_DIVISIONS
        csv = "code,name,level,parent_code\n522324002003,坏\udfff名,village,522324002\n"
    response = await post_ascii(api, query, {"csv": csv}, ADMIN)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    report = body["data"][f"import{kind.capitalize()}"]
    assert not report["applied"]
    assert [(e["row"], e["column"]) for e in report["errors"]] == [(2, "name")]
    assert "lone surrogate" in report["errors"][0]["message"]


@pytest.mark.parametrize(
    "value", ["20240101", "2024-W05-3", "2024-1-5", "1899-12-31", "2101-01-01", "2024-02-30"]
)
async def test_loose_dates_are_refused_in_variables_and_literals(api: Api, value: str) -> None:
    """Issue 10 #7: the Date scalar accepted 20240101 and 2024-W05-3."""
    close_variable = 'mutation ($on: Date!) { closeStation(id: "GS-522324", on: $on) { id } }'
    error = await refused(api, close_variable, {"on": value}, None)
    assert "$on" in error["message"] and "YYYY-MM-DD" in error["message"] or "1900..2100" in error["message"]
    close_literal = f'mutation {{ closeStation(id: "GS-522324", on: "{value}") {{ id }} }}'
    error = await refused(api, close_literal, {}, None)
    assert "Date" in error["message"]
    await refused(api, CREATE, {"input": {**ROOM, "openedOn": value}}, None)
    read = await api.error(f'{{ division(code: "52") {{ covered(asOf: "{value}") }} }}')
    assert read["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_date_inside_the_years_is_accepted() -> None:
    from graph_service.domain.validation import parse_date

    assert parse_date("1900-01-01") == date(1900, 1, 1) and parse_date("2100-12-31") == date(2100, 12, 31)


# --- every bad row reported ------------------------------------------------------------------------


async def test_a_row_of_twelve_fields_does_not_hide_ten_other_bad_rows(api: Api) -> None:
    """Issue 9 #3: only "row 13: expected 11 fields, found 12" was reported."""
    good = "VR-OK,好室,village_room,522324002002,TS-522324002,planned,,,0,0,0\n"
    bad = [f"VR-B{n},坏室{n},village_room,522324002002,TS-522324002,planned,,,x,0,0\n" for n in range(10)]
    twelve = "VR-12,十二,village_room,522324002002,TS-522324002,planned,,,0,0,0,extra\n"
    csv = STATION_HEADER + good + "".join(bad[:5]) + twelve + "".join(bad[5:])
    report = (await api.data(IMPORT_STATIONS, {"csv": csv}, bearer=ADMIN))["importStations"]
    assert not report["applied"]
    rows = [error["row"] for error in report["errors"]]
    assert rows == [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]
    assert {"row": 8, "column": None, "message": "expected 11 fields, found 12"} in report["errors"]
