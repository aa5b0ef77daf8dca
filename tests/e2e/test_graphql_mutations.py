"""Every mutation of spec §5, end to end over HTTP, for both stores: effects visible in the very next
query (coverage and roll-ups included), optimistic concurrency, imports all-or-nothing."""

from __future__ import annotations

import time
from typing import Any

import anyio
import pytest

from graph_service.bootstrap import open_service
from graph_service.service_layer.auth import Principal
from tests.support.network import STATION_HEADER, Api, settings_for, token

pytestmark = pytest.mark.anyio

ADMIN = token("admin", "*")
EDITOR = token("editor", "522324")

STATION = "id name level status openedOn closedOn staff certifiedStaff volunteers version parent { id }"

CREATE = f"""
mutation ($input: StationInput!) {{ createStation(input: $input) {{ {STATION} division {{ code }} }} }}
"""
UPDATE = f"""
mutation ($id: ID!, $input: StationPatch!, $version: Int) {{
  updateStation(id: $id, input: $input, expectedVersion: $version) {{ {STATION} division {{ code }} }}
}}
"""
CLOSE = f"mutation ($id: ID!, $on: Date!) {{ closeStation(id: $id, on: $on) {{ {STATION} }} }}"
IMPORT = """
mutation ($csv: String!, $dryRun: Boolean) {
  importStations(csv: $csv, dryRun: $dryRun) {
    applied created updated unchanged errors { row column message }
  }
}
"""
SUMMARY = """
query ($code: String!) {
  division(code: $code) {
    covered
    coverage { level covered }
    rollup { townshipStations villageRooms staff certifiedStaff volunteers }
  }
  uncovered: uncoveredDivisions(under: "52", level: VILLAGE) { totalCount }
}
"""
NEW_ROOM = {
    "id": "VR-522324002002",
    "name": "西街社区社会工作室",
    "level": "VILLAGE_ROOM",
    "divisionCode": "522324002002",
    "parentId": "TS-522324002",
    "status": "OPERATING",
    "openedOn": "2023-03-01",
    "staff": 2,
    "certifiedStaff": 1,
    "volunteers": 4,
}


async def station(api: Api, station_id: str) -> dict[str, Any] | None:
    return (await api.data(f'{{ station(id: "{station_id}") {{ {STATION} }} }}'))["station"]


async def test_create_station_is_visible_at_once_with_coverage_and_rollup(api: Api) -> None:
    before = await api.data(SUMMARY, {"code": "522324002"})
    created = (await api.data(CREATE, {"input": NEW_ROOM}, bearer=EDITOR))["createStation"]
    assert created == {
        "id": "VR-522324002002",
        "name": "西街社区社会工作室",
        "level": "VILLAGE_ROOM",
        "status": "OPERATING",
        "openedOn": "2023-03-01",
        "closedOn": None,
        "staff": 2,
        "certifiedStaff": 1,
        "volunteers": 4,
        "version": 1,
        "parent": {"id": "TS-522324002"},
        "division": {"code": "522324002002"},
    }
    assert await station(api, "VR-522324002002") == {
        key: value for key, value in created.items() if key != "division"
    }
    after = await api.data(SUMMARY, {"code": "522324002"})
    assert before["division"]["coverage"] == [{"level": "VILLAGE", "covered": 1}]
    assert after["division"]["coverage"] == [{"level": "VILLAGE", "covered": 2}]
    assert after["division"]["rollup"]["villageRooms"] == before["division"]["rollup"]["villageRooms"] + 1
    assert after["division"]["rollup"]["staff"] == before["division"]["rollup"]["staff"] + 2
    assert after["uncovered"]["totalCount"] == before["uncovered"]["totalCount"] - 1
    village = await api.data('{ division(code: "522324002002") { covered stations { totalCount } } }')
    assert village["division"] == {"covered": True, "stations": {"totalCount": 1}}


async def test_create_station_with_only_the_required_fields(api: Api) -> None:
    minimal = {
        "id": "TS-NEW",
        "name": "新站",
        "level": "TOWNSHIP_STATION",
        "divisionCode": "522324101",
        "status": "PLANNED",
    }
    created = (await api.data(CREATE, {"input": minimal}, bearer=ADMIN))["createStation"]
    assert created["parent"] is None and created["openedOn"] is None
    assert (created["staff"], created["certifiedStaff"], created["volunteers"]) == (0, 0, 0)


async def test_create_station_duplicate_id_is_a_conflict(api: Api) -> None:
    duplicate = {**NEW_ROOM, "id": "VR-522324002001"}
    error = await api.error(CREATE, {"input": duplicate}, bearer=EDITOR)
    assert error["extensions"]["code"] == "CONFLICT"
    assert error["path"] == ["createStation"]
    assert (await station(api, "VR-522324002001"))["name"] == "东街社区社会工作室"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"certifiedStaff": 5}, "certifiedStaff"),
        ({"divisionCode": "522324002"}, "divisionCode"),
        ({"divisionCode": "999999"}, "divisionCode"),
        ({"parentId": "GS-522324"}, "parentId"),
        ({"status": "PLANNED"}, "openedOn"),
        ({"closedOn": "2023-01-01", "status": "CLOSED"}, "closedOn"),
        ({"staff": -1}, "staff"),
        ({"name": "  "}, "name"),
    ],
)
async def test_create_station_breaking_a_rule_writes_nothing(
    api: Api, changes: dict[str, Any], field: str
) -> None:
    error = await api.error(CREATE, {"input": {**NEW_ROOM, **changes}}, bearer=ADMIN)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert field in {problem["field"] for problem in error["extensions"]["problems"]}
    assert await station(api, NEW_ROOM["id"]) is None


async def test_update_station_with_and_without_expected_version(api: Api) -> None:
    renamed = (await api.data(UPDATE, {"id": "TS-522324101", "input": {"name": "碧痕镇站"}}, bearer=EDITOR))[
        "updateStation"
    ]
    assert (renamed["name"], renamed["version"]) == ("碧痕镇站", 2)
    opened = (
        await api.data(
            UPDATE,
            {
                "id": "TS-522324101",
                "input": {"status": "OPERATING", "openedOn": "2024-02-01", "staff": 3},
                "version": 2,
            },
            bearer=EDITOR,
        )
    )["updateStation"]
    assert (opened["status"], opened["openedOn"], opened["staff"], opened["version"]) == (
        "OPERATING",
        "2024-02-01",
        3,
        3,
    )
    assert opened["name"] == "碧痕镇站" and opened["parent"] == {"id": "GS-522324"}
    summary = await api.data(SUMMARY, {"code": "522324101"})
    assert summary["division"]["covered"] is True
    assert summary["division"]["rollup"]["staff"] == 3


async def test_update_station_with_a_stale_version_is_a_conflict_and_writes_nothing(api: Api) -> None:
    await api.data(UPDATE, {"id": "TS-522324101", "input": {"volunteers": 7}, "version": 1}, bearer=EDITOR)
    error = await api.error(
        UPDATE, {"id": "TS-522324101", "input": {"volunteers": 9}, "version": 1}, bearer=EDITOR
    )
    assert error["extensions"]["code"] == "CONFLICT"
    current = await station(api, "TS-522324101")
    assert (current["volunteers"], current["version"]) == (7, 2)


async def test_update_station_seen_by_another_process_then_stale_here(api: Api) -> None:
    """A write by another process (another service on the same store) is seen within a second (the
    app's follower catches up), and makes an expectedVersion read before it stale."""
    other = open_service(settings_for(api.service.store.url))
    try:
        other.update_station(Principal.local_admin(), "TS-522324101", {"name": "另一进程"}, 1)
    finally:
        other.close()
    deadline = time.monotonic() + 1
    while (await station(api, "TS-522324101"))["name"] != "另一进程":
        assert time.monotonic() < deadline, "another process's write not seen within 1 s"
        await anyio.sleep(0.01)
    error = await api.error(
        UPDATE, {"id": "TS-522324101", "input": {"name": "本进程"}, "version": 1}, bearer=EDITOR
    )
    assert error["extensions"]["code"] == "CONFLICT"


async def test_update_station_null_clears_dates_and_parent_absent_keeps(api: Api) -> None:
    cleared = (
        await api.data(
            UPDATE,
            {"id": "TS-522324100", "input": {"status": "PLANNED", "openedOn": None, "closedOn": None}},
            bearer=EDITOR,
        )
    )["updateStation"]
    assert (cleared["status"], cleared["openedOn"], cleared["closedOn"]) == ("PLANNED", None, None)
    assert cleared["parent"] == {"id": "GS-522324"} and cleared["name"] == "沙子镇社会工作服务站"
    orphan = (await api.data(UPDATE, {"id": "TS-522324100", "input": {"parentId": None}}, bearer=EDITOR))[
        "updateStation"
    ]
    assert orphan["parent"] is None
    then = await api.data('{ division(code: "52") { rollup(asOf: "2021-07-01") { townshipStations } } }')
    assert then["division"]["rollup"]["townshipStations"] == 1


@pytest.mark.parametrize("field", ["name", "level", "status", "divisionCode", "staff"])
async def test_update_station_null_for_a_required_field_is_bad_input(api: Api, field: str) -> None:
    error = await api.error(UPDATE, {"id": "TS-522324101", "input": {field: None}}, bearer=EDITOR)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert field in error["message"]
    assert (await station(api, "TS-522324101"))["version"] == 1


async def test_update_station_to_an_empty_name_is_bad_input(api: Api) -> None:
    error = await api.error(UPDATE, {"id": "TS-522324101", "input": {"name": " "}}, bearer=EDITOR)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["problems"] == [{"field": "name", "message": "name is empty"}]
    assert (await station(api, "TS-522324101"))["version"] == 1


async def test_update_station_that_changes_nothing_keeps_the_version(api: Api) -> None:
    same = (
        await api.data(UPDATE, {"id": "TS-522324101", "input": {"staff": 0}, "version": 1}, bearer=EDITOR)
    )["updateStation"]
    assert same["version"] == 1


async def test_update_station_moves_it_within_scope(api: Api) -> None:
    """Moving the closed township station to another township moves its past coverage along."""
    moved = (
        await api.data(UPDATE, {"id": "TS-522324100", "input": {"divisionCode": "522324101"}}, bearer=EDITOR)
    )["updateStation"]
    assert moved["division"] == {"code": "522324101"}
    query = """
    { a: division(code: "522324100") { covered(asOf: "2021-07-01") stations { totalCount } }
      b: division(code: "522324101") { covered(asOf: "2021-07-01") stations { totalCount } } }
    """
    data = await api.data(query)
    assert data["a"] == {"covered": False, "stations": {"totalCount": 0}}
    assert data["b"] == {"covered": True, "stations": {"totalCount": 2}}


async def test_update_unknown_station_is_not_found(api: Api) -> None:
    error = await api.error(UPDATE, {"id": "nope", "input": {"name": "x"}}, bearer=ADMIN)
    assert error["extensions"]["code"] == "NOT_FOUND"


async def test_close_station_updates_coverage_rollup_and_gaps(api: Api) -> None:
    before = await api.data(SUMMARY, {"code": "522324002"})
    closed = (await api.data(CLOSE, {"id": "VR-522324002001", "on": "2024-01-01"}, bearer=EDITOR))[
        "closeStation"
    ]
    assert (closed["status"], closed["closedOn"], closed["openedOn"], closed["version"]) == (
        "CLOSED",
        "2024-01-01",
        "2022-05-01",
        2,
    )
    after = await api.data(SUMMARY, {"code": "522324002"})
    assert after["division"]["coverage"] == [{"level": "VILLAGE", "covered": 0}]
    assert after["division"]["rollup"]["villageRooms"] == before["division"]["rollup"]["villageRooms"] - 1
    assert after["uncovered"]["totalCount"] == before["uncovered"]["totalCount"] + 1
    past = await api.data('{ division(code: "522324002001") { covered(asOf: "2023-12-31") } }')
    assert past["division"]["covered"] is True


async def test_close_station_that_never_opened_or_before_it_opened_is_bad_input(api: Api) -> None:
    planned = await api.error(CLOSE, {"id": "TS-522324101", "on": "2024-01-01"}, bearer=EDITOR)
    assert planned["extensions"]["code"] == "BAD_USER_INPUT"
    early = await api.error(CLOSE, {"id": "TS-522324002", "on": "2021-01-01"}, bearer=EDITOR)
    assert early["extensions"]["code"] == "BAD_USER_INPUT"
    assert (await station(api, "TS-522324002"))["status"] == "OPERATING"
    unknown = await api.error(CLOSE, {"id": "nope", "on": "2024-01-01"}, bearer=EDITOR)
    assert unknown["extensions"]["code"] == "NOT_FOUND"


IMPORT_FILE = STATION_HEADER + (
    # unchanged
    "GS-522324,晴隆县社会工作总站,general_station,522324,GC-5223,operating,2021-01-15,,4,2,8\n"
    # updated: now operating
    "TS-522324101,碧痕镇社会工作服务站,township_station,522324101,GS-522324,operating,2023-06-01,,2,1,1\n"
    # created
    "VR-522324002002,西街社区社会工作室,village_room,522324002002,TS-522324002,operating,2023-03-01,,1,1,0\n"
)


async def test_import_stations_applies_then_reimport_changes_nothing(api: Api) -> None:
    report = (await api.data(IMPORT, {"csv": IMPORT_FILE}, bearer=EDITOR))["importStations"]
    assert report == {"applied": True, "created": 1, "updated": 1, "unchanged": 1, "errors": []}
    assert (await station(api, "TS-522324101"))["version"] == 2
    assert (await station(api, "VR-522324002002"))["version"] == 1
    summary = await api.data(SUMMARY, {"code": "522324"})
    assert summary["division"]["coverage"] == [
        {"level": "TOWNSHIP", "covered": 2},
        {"level": "VILLAGE", "covered": 2},
    ]
    again = (await api.data(IMPORT, {"csv": IMPORT_FILE}, bearer=EDITOR))["importStations"]
    assert again == {"applied": True, "created": 0, "updated": 0, "unchanged": 3, "errors": []}
    assert (await station(api, "TS-522324101"))["version"] == 2


async def test_import_stations_dry_run_reports_and_writes_nothing(api: Api) -> None:
    report = (await api.data(IMPORT, {"csv": IMPORT_FILE, "dryRun": True}, bearer=EDITOR))["importStations"]
    assert report == {"applied": False, "created": 1, "updated": 1, "unchanged": 1, "errors": []}
    assert await station(api, "VR-522324002002") is None
    assert (await station(api, "TS-522324101"))["version"] == 1


async def test_import_stations_with_bad_rows_reports_every_one_and_writes_nothing(api: Api) -> None:
    bad = IMPORT_FILE + (
        "VR-X,坏站,village_room,522324002002,TS-522324002,operating,2023-13-01,,1,0,0\n"
        "VR-Y,坏站,hamlet_room,522324002002,,planned,,,0,0,0\n"
        "VR-Z,坏站,village_room,522324002002,TS-522324002,planned,,,1,2,0\n"
    )
    report = (await api.data(IMPORT, {"csv": bad}, bearer=EDITOR))["importStations"]
    assert report["applied"] is False
    assert [(e["row"], e["column"]) for e in report["errors"]] == [
        (5, "opened_on"),
        (6, "level"),
        (7, "certified_staff"),
    ]
    assert all(e["message"] for e in report["errors"])
    assert await station(api, "VR-522324002002") is None
    assert (await station(api, "TS-522324101"))["version"] == 1


async def test_import_stations_with_a_bad_header_or_empty_file(api: Api) -> None:
    for csv in ("id,name\nx,y\n", "", STATION_HEADER):
        report = (await api.data(IMPORT, {"csv": csv}, bearer=EDITOR))["importStations"]
        assert report["applied"] is False and report["errors"], csv
        assert report["errors"][0]["row"] in (1, 2)


async def test_import_stations_access(api: Api) -> None:
    outside = token("editor", "522301")
    forbidden = await api.error(IMPORT, {"csv": IMPORT_FILE}, bearer=outside, status=403)
    assert forbidden["extensions"]["code"] == "FORBIDDEN"
    viewer = await api.error(IMPORT, {"csv": IMPORT_FILE}, bearer=token("viewer", "52"), status=403)
    assert viewer["extensions"]["code"] == "FORBIDDEN"
    anonymous = await api.error(IMPORT, {"csv": IMPORT_FILE}, status=401)
    assert anonymous["extensions"]["code"] == "UNAUTHENTICATED"
    assert await station(api, "VR-522324002002") is None
    report = (await api.data(IMPORT, {"csv": IMPORT_FILE}, bearer=ADMIN))["importStations"]
    assert report["applied"] is True


async def test_import_divisions_is_for_admins(api: Api) -> None:
    mutation = """
    mutation ($csv: String!, $dryRun: Boolean) {
      importDivisions(csv: $csv, dryRun: $dryRun) { applied created updated unchanged errors { row column } }
    }
    """
    csv = "code,name,level,parent_code\n522324101001,碧痕村,village,522324101\n"
    forbidden = await api.error(mutation, {"csv": csv}, bearer=EDITOR, status=403)
    assert forbidden["extensions"]["code"] == "FORBIDDEN"
    dry = (await api.data(mutation, {"csv": csv, "dryRun": True}, bearer=ADMIN))["importDivisions"]
    assert dry == {"applied": False, "created": 1, "updated": 0, "unchanged": 0, "errors": []}
    report = (await api.data(mutation, {"csv": csv}, bearer=ADMIN))["importDivisions"]
    assert report == {"applied": True, "created": 1, "updated": 0, "unchanged": 0, "errors": []}
    data = await api.data('{ division(code: "522324101") { children { totalCount } coverage { total } } }')
    assert data["division"] == {"children": {"totalCount": 1}, "coverage": [{"total": 1}]}
    bad = "code,name,level,parent_code\n522324101002,坏村,village,404\n"
    rejected = (await api.data(mutation, {"csv": bad}, bearer=ADMIN))["importDivisions"]
    assert rejected["applied"] is False and rejected["errors"] == [{"row": 2, "column": "parent_code"}]
