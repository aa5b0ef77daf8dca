"""Editions over GraphQL (spec §6): `importDivisions(csv, edition)` previewing and applying, the
validity of divisions, and `asOf` on `children`, `divisions` and `uncoveredDivisions`."""

from __future__ import annotations

import pytest

from tests.support.network import Api, token

pytestmark = pytest.mark.anyio

ADMIN = token("admin", "*")

IMPORT = """
mutation ($csv: String!, $edition: Date, $dryRun: Boolean, $successors: String) {
  importDivisions(csv: $csv, edition: $edition, dryRun: $dryRun, successors: $successors) {
    applied created updated unchanged errors { row column message }
  }
}
"""

# A province the seeded network does not hold, in two editions: 老镇 retired and 新镇 created in 2021,
# 昆明 renamed.
YUNNAN_2020 = """\
code,name,level,parent_code
53,云南省,province,
5301,昆明市,city,53
530102,五华区,county,5301
530102001,老镇,township,530102
530102002,留镇,township,530102
"""
YUNNAN_2021 = """\
code,name,level,parent_code
53,云南省,province,
5301,昆明,city,53
530102,五华区,county,5301
530102002,留镇,township,530102
530102003,新镇,township,530102
"""

READ = """
query ($before: Date, $after: Date) {
  retired: division(code: "530102001") {
    name validFrom validTo names { name validFrom } successors { code } predecessors { code }
  }
  created: division(code: "530102003") { successors { code } predecessors { code name } }
  city: division(code: "5301") { name validFrom validTo names { name validFrom } }
  county: division(code: "530102") {
    before: children(asOf: $before) { totalCount edges { node { code } } }
    after: children(asOf: $after) { totalCount edges { node { code } } }
    coverageBefore: coverage(asOf: $before) { level total }
    coverageAfter: coverage(asOf: $after) { level total }
  }
  searchBefore: divisions(nameContains: "镇", under: "53", asOf: $before) { totalCount }
  searchAfter: divisions(nameContains: "镇", under: "53", asOf: $after) { totalCount }
  searchToday: divisions(nameContains: "老镇") { totalCount }
  gapsBefore: uncoveredDivisions(under: "53", level: TOWNSHIP, asOf: $before) {
    edges { node { code } }
  }
  gapsAfter: uncoveredDivisions(under: "53", level: TOWNSHIP, asOf: $after) { edges { node { code } } }
}
"""


async def test_editions_are_previewed_applied_and_read_on_a_date(api: Api) -> None:
    first = {"csv": YUNNAN_2020, "edition": "2020-06-30"}
    report = (await api.data(IMPORT, first, bearer=ADMIN))["importDivisions"]
    assert report == {"applied": True, "created": 5, "updated": 0, "unchanged": 0, "errors": []}

    preview = {"csv": YUNNAN_2021, "edition": "2021-10-31", "dryRun": True}
    report = (await api.data(IMPORT, preview, bearer=ADMIN))["importDivisions"]
    assert report == {"applied": False, "created": 1, "updated": 2, "unchanged": 3, "errors": []}
    second = {
        "csv": YUNNAN_2021,
        "edition": "2021-10-31",
        "successors": "old_code,new_code\n530102001,530102003\n",
    }
    report = (await api.data(IMPORT, second, bearer=ADMIN))["importDivisions"]
    assert report == {"applied": True, "created": 1, "updated": 2, "unchanged": 3, "errors": []}
    again = (await api.data(IMPORT, second, bearer=ADMIN))["importDivisions"]
    assert again["applied"] is True and again["errors"] == []

    data = await api.data(READ, {"before": "2021-10-30", "after": "2021-10-31"})
    assert data["retired"] == {
        "name": "老镇",
        "validFrom": "2020-06-30",
        "validTo": "2021-10-31",
        "names": [{"name": "老镇", "validFrom": "2020-06-30"}],
        "successors": [{"code": "530102003"}],
        "predecessors": [],
    }
    assert data["created"] == {"successors": [], "predecessors": [{"code": "530102001", "name": "老镇"}]}
    assert data["city"] == {
        "name": "昆明",
        "validFrom": "2020-06-30",
        "validTo": None,
        "names": [{"name": "昆明市", "validFrom": "2020-06-30"}, {"name": "昆明", "validFrom": "2021-10-31"}],
    }
    county = data["county"]
    assert [e["node"]["code"] for e in county["before"]["edges"]] == ["530102001", "530102002"]
    assert [e["node"]["code"] for e in county["after"]["edges"]] == ["530102002", "530102003"]
    assert county["coverageBefore"][0] == {"level": "TOWNSHIP", "total": 2}
    assert county["coverageAfter"][0] == {"level": "TOWNSHIP", "total": 2}
    assert (data["searchBefore"]["totalCount"], data["searchAfter"]["totalCount"]) == (2, 2)
    assert data["searchToday"]["totalCount"] == 0  # retired: not found by name today
    assert [e["node"]["code"] for e in data["gapsBefore"]["edges"]] == ["530102001", "530102002"]
    assert [e["node"]["code"] for e in data["gapsAfter"]["edges"]] == ["530102002", "530102003"]


async def test_a_refused_edition_reports_every_problem_and_writes_nothing(api: Api) -> None:
    await api.data(IMPORT, {"csv": YUNNAN_2021, "edition": "2021-10-31"}, bearer=ADMIN)
    older = (await api.data(IMPORT, {"csv": YUNNAN_2020, "edition": "2020-06-30"}, bearer=ADMIN))[
        "importDivisions"
    ]
    assert older["applied"] is False and older["created"] == 0
    assert [(e["row"], e["column"]) for e in older["errors"]] == [(2, None)]
    assert "an edition dated 2020-06-30 is older" in older["errors"][0]["message"]
    editor = token("editor", "53")
    forbidden = await api.error(
        IMPORT, {"csv": YUNNAN_2021, "edition": "2022-10-31"}, bearer=editor, status=403
    )
    assert forbidden["extensions"]["code"] == "FORBIDDEN"


STATIONS_IMPORT = """
mutation ($csv: String!) { importStations(csv: $csv) { applied created errors { row message } } }
"""
PLACEMENTS = """
query {
  moved: station(id: "TS-530102001") {
    division { code } placements { division { code name validTo } from to }
  }
  stayed: station(id: "TS-530102002") { placements { division { code } from to } }
  county: division(code: "530102") { coverage(asOf: "2021-10-30") { level total covered } }
  after: division(code: "530102") { coverage(asOf: "2021-10-31") { level total covered } }
  old: division(code: "530102001") { covered(asOf: "2021-10-30") after: covered(asOf: "2021-10-31") }
  new: division(code: "530102003") { covered(asOf: "2021-10-30") after: covered(asOf: "2021-10-31") }
}
"""


async def test_a_station_moved_by_an_edition_has_its_placements(api: Api) -> None:
    """Spec §6 over GraphQL: applying an edition with successors moves the stations of a retired
    township from its day; `Station.division` is today's, `Station.placements` the dated history,
    and each day counts the station where it sat."""
    await api.data(IMPORT, {"csv": YUNNAN_2020, "edition": "2020-06-30"}, bearer=ADMIN)
    stations = (
        "id,name,level,division_code,parent_id,status,opened_on,closed_on,staff,certified_staff,volunteers\n"
        "TS-530102001,老镇站,township_station,530102001,,operating,2020-09-01,,2,1,0\n"
        "TS-530102002,留镇站,township_station,530102002,,operating,2020-09-01,,2,1,0\n"
    )
    report = (await api.data(STATIONS_IMPORT, {"csv": stations}, bearer=ADMIN))["importStations"]
    assert report["applied"] is True, report
    second = {
        "csv": YUNNAN_2021,
        "edition": "2021-10-31",
        "successors": "old_code,new_code\n530102001,530102003\n",
    }
    report = (await api.data(IMPORT, second, bearer=ADMIN))["importDivisions"]
    assert report["applied"] is True and report["errors"] == []
    data = await api.data(PLACEMENTS)
    assert data["moved"] == {
        "division": {"code": "530102003"},
        "placements": [
            {
                "division": {"code": "530102001", "name": "老镇", "validTo": "2021-10-31"},
                "from": None,
                "to": "2021-10-31",
            },
            {
                "division": {"code": "530102003", "name": "新镇", "validTo": None},
                "from": "2021-10-31",
                "to": None,
            },
        ],
    }
    assert data["stayed"] == {"placements": [{"division": {"code": "530102002"}, "from": None, "to": None}]}
    township = {"level": "TOWNSHIP", "total": 2, "covered": 2}
    assert data["county"]["coverage"][0] == township and data["after"]["coverage"][0] == township
    assert data["old"] == {"covered": True, "after": False}
    assert data["new"] == {"covered": False, "after": True}


# A re-coded township landing in another county, and back again in an edition dated after today.
LINES_2020 = """\
code,name,level,parent_code
53,云南省,province,
5301,昆明市,city,53
530102,五华区,county,5301
530103,盘龙区,county,5301
530102001,老镇,township,530102
"""
LINES_2021 = LINES_2020.replace("530102001,老镇,township,530102", "530103001,新镇,township,530103")
LINES_2099 = LINES_2020.replace("530102001,老镇,township,530102", "530102005,回镇,township,530102")
LINE_STATIONS = (
    "id,name,level,division_code,parent_id,status,opened_on,closed_on,staff,certified_staff,volunteers\n"
    "GS-530102,五华区总站,general_station,530102,,operating,2020-09-01,,2,1,0\n"
    "GS-530103,盘龙区总站,general_station,530103,,operating,2020-09-01,,2,1,0\n"
    "TS-530102001,老镇站,township_station,530102001,GS-530102,operating,2020-09-01,,2,1,0\n"
)
REPORTING = """
query {
  moved: station(id: "TS-530102001") {
    division { code } parent { id } reportingLines { parent { id name } from to }
  }
  general: station(id: "GS-530102") { parent { id } reportingLines { parent { id } from to } }
}
"""


async def _moved_there_and_back(api: Api) -> None:
    """The station TS-530102001 under GS-530102, then (from 2021-10-31) under GS-530103 as its
    township moves to 盘龙区, then (from 2099-06-30, after today) under GS-530102 again."""
    await api.data(IMPORT, {"csv": LINES_2020, "edition": "2020-06-30"}, bearer=ADMIN)
    report = (await api.data(STATIONS_IMPORT, {"csv": LINE_STATIONS}, bearer=ADMIN))["importStations"]
    assert report["applied"] is True, report
    for table, day, successor in (
        (LINES_2021, "2021-10-31", "530103001"),
        (LINES_2099, "2099-06-30", "530102005"),
    ):
        old = "530102001" if day.startswith("2021") else "530103001"
        links = f"old_code,new_code\n{old},{successor}\n"
        report = (await api.data(IMPORT, {"csv": table, "edition": day, "successors": links}, bearer=ADMIN))[
            "importDivisions"
        ]
        assert report["applied"] is True and report["errors"] == [], report


async def test_a_reporting_line_changed_by_an_edition_is_dated(api: Api) -> None:
    """Spec §6 over GraphQL: a station that moves to another county reports, from the edition's day,
    to that county's one general station; `Station.reportingLines` is the dated history and
    `Station.parent` today's line, which an edition dated after today does not change yet (nor
    `Station.division`, where it sits today)."""
    await _moved_there_and_back(api)
    data = await api.data(REPORTING)
    assert data["moved"] == {
        "division": {"code": "530103001"},
        "parent": {"id": "GS-530103"},  # today's: the 2099 edition's change is not in force yet
        "reportingLines": [
            {"parent": {"id": "GS-530102", "name": "五华区总站"}, "from": None, "to": "2021-10-31"},
            {"parent": {"id": "GS-530103", "name": "盘龙区总站"}, "from": "2021-10-31", "to": "2099-06-30"},
            {"parent": {"id": "GS-530102", "name": "五华区总站"}, "from": "2099-06-30", "to": None},
        ],
    }
    assert data["general"] == {"parent": None, "reportingLines": [{"parent": None, "from": None, "to": None}]}


REPORTING_STATIONS = """
query {
  wuhua: station(id: "GS-530102") { reportingStations { totalCount edges { node { id parent { id } } } } }
  panlong: station(id: "GS-530103") { reportingStations { totalCount edges { node { id parent { id } } } } }
}
"""


async def test_reporting_stations_follow_the_reporting_line_valid_today(api: Api) -> None:
    """`Station.reportingStations` lists the stations whose reporting line valid today points at the
    station, as `Station.parent` reads it: the edition dated 2099 that gives TS-530102001 back to
    GS-530102 (its latest parent) does not move it there yet, and GS-530103 still has it."""
    await _moved_there_and_back(api)
    data = await api.data(REPORTING_STATIONS)
    assert data["wuhua"]["reportingStations"] == {"totalCount": 0, "edges": []}
    assert data["panlong"]["reportingStations"] == {
        "totalCount": 1,
        "edges": [{"node": {"id": "TS-530102001", "parent": {"id": "GS-530103"}}}],
    }
