"""Spec §9 over HTTP, on both stores: every GraphQL write leaves the right audit entries (and a refused
or dry-run one leaves none); `Station.history` and `Query.auditLog` read them newest first, page by
page, under the access rules (admins anywhere, editors within their scope, viewers never)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support.network import STATION_HEADER, Api, token

pytestmark = pytest.mark.anyio

ENTRY = "at actor role operation target before after"
HISTORY = f"""
query ($id: ID!, $first: Int, $after: String) {{
  station(id: $id) {{
    history(first: $first, after: $after) {{
      totalCount edges {{ cursor node {{ {ENTRY} }} }} pageInfo {{ hasNextPage endCursor }}
    }}
  }}
}}
"""
AUDIT_LOG = f"""
query ($under: String, $since: DateTime, $first: Int, $after: String) {{
  auditLog(under: $under, since: $since, first: $first, after: $after) {{
    totalCount edges {{ cursor node {{ {ENTRY} }} }} pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""
CREATE = """
mutation ($input: StationInput!) { createStation(input: $input) { id version } }
"""
UPDATE = """
mutation ($id: ID!, $input: StationPatch!, $v: Int) {
  updateStation(id: $id, input: $input, expectedVersion: $v) { id version }
}
"""
CLOSE = 'mutation { closeStation(id: "TS-522324002", on: "2025-01-01") { id status } }'
IMPORT_STATIONS = """
mutation ($csv: String!, $dry: Boolean) {
  importStations(csv: $csv, dryRun: $dry) { applied created updated unchanged errors { message } }
}
"""
IMPORT_DIVISIONS = """
mutation ($csv: String!) { importDivisions(csv: $csv) { applied created updated unchanged } }
"""
NEW_STATION = {
    "id": "TS-522324100-2",
    "name": "沙子镇新站",
    "level": "TOWNSHIP_STATION",
    "divisionCode": "522324100",
    "parentId": "GS-522324",
    "status": "OPERATING",
    "openedOn": "2024-03-01",
    "staff": 2,
}

ADMIN = token("admin", "*")
EDITOR = token("editor", "522324")  # its sub is "editor@522324"


async def history(api: Api, station_id: str, bearer: str = ADMIN, **args: Any) -> dict[str, Any]:
    data = await api.data(HISTORY, {"id": station_id, **args}, bearer=bearer)
    return data["station"]["history"]


async def audit_log(api: Api, bearer: str = ADMIN, **args: Any) -> dict[str, Any]:
    return (await api.data(AUDIT_LOG, args, bearer=bearer))["auditLog"]


def nodes(connection: dict[str, Any]) -> list[dict[str, Any]]:
    return [edge["node"] for edge in connection["edges"]]


async def test_create_update_close_each_record_who_when_and_the_row(api: Api) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    await api.data(CREATE, {"input": NEW_STATION}, bearer=EDITOR)
    await api.data(UPDATE, {"id": "TS-522324100-2", "input": {"staff": 3, "volunteers": 7}}, bearer=ADMIN)
    entries = nodes(await history(api, "TS-522324100-2"))
    assert [e["operation"] for e in entries] == ["updateStation", "createStation"]
    update, create = entries
    assert (create["actor"], create["role"], create["target"]) == (
        "editor@522324",
        "editor",
        "TS-522324100-2",
    )
    assert (update["actor"], update["role"]) == ("admin@*", "admin")
    assert create["before"] is None
    assert create["after"] == {
        "id": "TS-522324100-2",
        "name": "沙子镇新站",
        "level": "township_station",
        "division_code": "522324100",
        "parent_id": "GS-522324",
        "status": "operating",
        "opened_on": "2024-03-01",
        "closed_on": None,
        "staff": 2,
        "certified_staff": 0,
        "volunteers": 0,
    }
    assert update["before"] == create["after"]
    assert update["after"] == {**create["after"], "staff": 3, "volunteers": 7}
    at = datetime.fromisoformat(update["at"])
    assert at.utcoffset() == timedelta(0)
    assert before <= at <= datetime.now(UTC)

    await api.data(CLOSE, bearer=EDITOR)
    (close,) = nodes(await history(api, "TS-522324002", first=1))
    assert close["operation"] == "closeStation"
    assert (close["before"]["status"], close["after"]["status"]) == ("operating", "closed")
    assert (close["before"]["closed_on"], close["after"]["closed_on"]) == (None, "2025-01-01")


async def test_an_import_records_one_entry_per_changed_row_and_a_dry_run_none(api: Api) -> None:
    service = api.service
    rows = [
        "TS-522324101,碧痕镇社会工作服务站,township_station,522324101,GS-522324,operating,2024-02-01,,2,1,0",
        "TS-522324002,莲城街道社会工作服务站,township_station,522324002,GS-522324,operating,2021-06-01,,3,1,5",
        "VR-522324100001,沙子村社会工作室,village_room,522324100001,TS-522324100,planned,,,0,0,0",
    ]
    csv = STATION_HEADER + "\n".join(rows) + "\n"
    count = (await audit_log(api))["totalCount"]
    version = service.store.data_version()
    dry = await api.data(IMPORT_STATIONS, {"csv": csv, "dry": True}, bearer=EDITOR)
    assert dry["importStations"]["applied"] is False
    assert service.store.data_version() == version
    assert (await audit_log(api))["totalCount"] == count

    report = (await api.data(IMPORT_STATIONS, {"csv": csv}, bearer=EDITOR))["importStations"]
    assert (report["created"], report["updated"], report["unchanged"]) == (1, 1, 1)
    log = await audit_log(api, first=2)
    assert log["totalCount"] == count + 2
    new, changed = nodes(log)
    assert {new["target"], changed["target"]} == {"TS-522324101", "VR-522324100001"}
    by_target = {e["target"]: e for e in (new, changed)}
    assert all(e["operation"] == "import" and e["actor"] == "editor@522324" for e in (new, changed))
    assert by_target["VR-522324100001"]["before"] is None
    updated = by_target["TS-522324101"]
    assert (updated["before"]["status"], updated["after"]["status"]) == ("planned", "operating")
    assert nodes(await history(api, "TS-522324002"))[0]["operation"] == "import"  # the seed, not this one
    assert len(nodes(await history(api, "TS-522324002"))) == 1


async def test_a_division_import_records_the_rows_it_changed(api: Api) -> None:
    csv = (
        "code,name,level,parent_code\n"
        "5201,贵阳市（新）,city,52\n52,贵州省,province,\n522399,新县,county,5223\n"
    )
    report = (await api.data(IMPORT_DIVISIONS, {"csv": csv}, bearer=ADMIN))["importDivisions"]
    assert (report["created"], report["updated"], report["unchanged"]) == (1, 1, 1)
    entries = nodes(await audit_log(api, first=2))
    assert {e["target"] for e in entries} == {"5201", "522399"}
    renamed = next(e for e in entries if e["target"] == "5201")
    assert renamed["before"] == {"code": "5201", "name": "贵阳市", "level": "city", "parent_code": "52"}
    assert renamed["after"]["name"] == "贵阳市（新）"
    assert renamed["operation"] == "import" and renamed["role"] == "admin"
    # The new county is within 5223 (through the stored parent), the renamed city within 5201 only.
    assert "522399" in {e["target"] for e in nodes(await audit_log(api, under="5223"))}
    assert "5201" not in {e["target"] for e in nodes(await audit_log(api, under="5223"))}


@pytest.mark.parametrize(
    ("query", "variables", "bearer", "code"),
    [
        (UPDATE, {"id": "TS-522324101", "input": {"name": "x"}}, None, "UNAUTHENTICATED"),
        (UPDATE, {"id": "TS-522324101", "input": {"name": "x"}}, token("viewer", "52"), "FORBIDDEN"),
        (UPDATE, {"id": "TS-522324101", "input": {"name": "x"}}, token("editor", "5201"), "FORBIDDEN"),
        (UPDATE, {"id": "TS-522324101", "input": {"name": "x"}, "v": 7}, ADMIN, "CONFLICT"),
        (UPDATE, {"id": "TS-522324101", "input": {"staff": 1, "certifiedStaff": 2}}, ADMIN, "BAD_USER_INPUT"),
        (CREATE, {"input": {**NEW_STATION, "id": "GC-5223"}}, ADMIN, "CONFLICT"),
    ],
    ids=["anonymous", "viewer", "editor outside", "stale version", "bad value", "duplicate id"],
)
async def test_a_refused_write_records_nothing(
    api: Api, query: str, variables: dict[str, Any], bearer: str | None, code: str
) -> None:
    count = (await audit_log(api))["totalCount"]
    status = {"UNAUTHENTICATED": 401, "FORBIDDEN": 403}.get(code, 200)
    error = await api.error(query, variables, bearer=bearer, status=status)
    assert error["extensions"]["code"] == code
    assert (await audit_log(api))["totalCount"] == count


async def test_history_pages_newest_first(api: Api) -> None:
    for staff in range(1, 6):
        await api.data(UPDATE, {"id": "TS-522324101", "input": {"staff": staff}}, bearer=ADMIN)
    seen: list[int] = []
    after = None
    pages = 0
    while True:
        page = await history(api, "TS-522324101", first=2, after=after)
        assert page["totalCount"] == 6
        seen += [e["after"]["staff"] for e in nodes(page)]
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert pages == 3
    assert seen == [5, 4, 3, 2, 1, 0]  # the last is the seed's import


@pytest.mark.parametrize(
    ("args", "message"),
    [({"first": 0}, "first"), ({"first": 101}, "first"), ({"after": "bm9wZQ"}, "cursor")],
)
async def test_paging_arguments_are_checked(api: Api, args: dict[str, Any], message: str) -> None:
    for query, variables in ((AUDIT_LOG, args), (HISTORY, {"id": "GC-5223", **args})):
        error = await api.error(query, variables, bearer=ADMIN)
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert message in error["message"]


async def test_since_keeps_the_later_entries(api: Api) -> None:
    cut = datetime.now(UTC)
    await api.data(UPDATE, {"id": "TS-522324101", "input": {"staff": 4}}, bearer=ADMIN)
    later = await audit_log(api, since=cut.isoformat())
    assert [(e["operation"], e["target"]) for e in nodes(later)] == [("updateStation", "TS-522324101")]
    future = (cut + timedelta(days=1)).isoformat()
    assert (await audit_log(api, since=future))["totalCount"] == 0


async def test_audit_log_access(api: Api) -> None:
    await api.data(UPDATE, {"id": "TS-522324101", "input": {"staff": 4}}, bearer=ADMIN)
    await api.data(CREATE, {"input": {**NEW_STATION, "id": "GC-5201", "level": "GUIDANCE_CENTRE",
                                       "divisionCode": "5201", "parentId": None}}, bearer=ADMIN)  # fmt: skip
    everything = await audit_log(api)
    assert {"GC-5201", "TS-522324101", "52"} <= {e["target"] for e in nodes(everything)}

    anonymous = await api.error(AUDIT_LOG, {}, status=401)
    assert anonymous["extensions"]["code"] == "UNAUTHENTICATED"
    viewer = await api.error(AUDIT_LOG, {}, bearer=token("viewer", "52"), status=403)
    assert viewer["extensions"]["code"] == "FORBIDDEN"
    outside = await api.error(AUDIT_LOG, {"under": "5201"}, bearer=EDITOR, status=403)
    assert outside["extensions"]["code"] == "FORBIDDEN"

    scoped = nodes(await audit_log(api, bearer=EDITOR))
    assert scoped and "GC-5201" not in {e["target"] for e in scoped}
    assert "TS-522324101" in {e["target"] for e in scoped}
    assert {e["target"] for e in scoped} <= {e["target"] for e in nodes(everything)}
    township = nodes(await audit_log(api, bearer=EDITOR, under="522324101"))
    assert {e["target"] for e in township} == {"522324101", "TS-522324101"}

    unknown = await api.error(AUDIT_LOG, {"under": "99"}, bearer=ADMIN)
    assert unknown["extensions"]["code"] == "NOT_FOUND"


async def test_history_access(api: Api) -> None:
    assert (await api.error(HISTORY, {"id": "GC-5223"}))["extensions"]["code"] == "UNAUTHENTICATED"
    viewer = await api.error(HISTORY, {"id": "GC-5223"}, bearer=token("viewer", "52"))
    assert viewer["extensions"]["code"] == "FORBIDDEN"
    outside = await api.error(HISTORY, {"id": "GC-5223"}, bearer=EDITOR)  # sits in 5223, above 522324
    assert outside["extensions"]["code"] == "FORBIDDEN"
    inside = await history(api, "GS-522324", bearer=EDITOR)
    assert [e["operation"] for e in nodes(inside)] == ["import"]
    assert nodes(inside)[0]["actor"] == "local-admin"


async def test_an_audit_answer_is_never_served_from_the_cache_to_another_caller(api: Api) -> None:
    assert (await audit_log(api))["totalCount"] > 0
    assert (await audit_log(api))["totalCount"] > 0
    assert (await api.error(AUDIT_LOG, {}, status=401))["extensions"]["code"] == "UNAUTHENTICATED"
    viewer = await api.error(AUDIT_LOG, {}, bearer=token("viewer", "52"), status=403)
    assert viewer["extensions"]["code"] == "FORBIDDEN"
