"""Every query of spec §5, end to end over HTTP, for both stores."""

from __future__ import annotations

import pytest

from tests.support.network import UNCOVERED_VILLAGES, Api, token

pytestmark = pytest.mark.anyio

DIVISION_FIELDS = """
query ($code: String!) {
  division(code: $code) {
    code name level
    parent { code }
    ancestors { code level }
    children { totalCount edges { cursor node { code } } pageInfo { hasNextPage endCursor } }
    stations { totalCount edges { node { id } } }
  }
}
"""


async def test_division_fields_parent_ancestors_children_and_stations(api: Api) -> None:
    division = (await api.data(DIVISION_FIELDS, {"code": "522324"}))["division"]
    assert division["code"] == "522324"
    assert division["name"] == "晴隆县"
    assert division["level"] == "COUNTY"
    assert division["parent"] == {"code": "5223"}
    assert division["ancestors"] == [{"code": "52", "level": "PROVINCE"}, {"code": "5223", "level": "CITY"}]
    children = division["children"]
    assert children["totalCount"] == 3
    assert [edge["node"]["code"] for edge in children["edges"]] == ["522324002", "522324100", "522324101"]
    assert children["pageInfo"] == {"hasNextPage": False, "endCursor": children["edges"][-1]["cursor"]}
    assert division["stations"] == {"totalCount": 1, "edges": [{"node": {"id": "GS-522324"}}]}


async def test_a_province_has_no_parent_and_no_ancestors(api: Api) -> None:
    division = (await api.data(DIVISION_FIELDS, {"code": "52"}))["division"]
    assert division["parent"] is None
    assert division["ancestors"] == []
    assert [edge["node"]["code"] for edge in division["children"]["edges"]] == ["5201", "5223"]
    assert division["stations"] == {"totalCount": 0, "edges": []}


async def test_unknown_division_and_station_are_null(api: Api) -> None:
    data = await api.data('{ division(code: "99") { code } station(id: "nope") { id } }')
    assert data == {"division": None, "station": None}


async def test_station_fields(api: Api) -> None:
    query = """
    query ($id: ID!) {
      station(id: $id) {
        id name level status openedOn closedOn staff certifiedStaff volunteers version
        division { code name }
        parent { id level parent { id } }
        reportingStations { totalCount edges { node { id } } }
      }
    }
    """
    station = (await api.data(query, {"id": "TS-522324100"}))["station"]
    assert station == {
        "id": "TS-522324100",
        "name": "沙子镇社会工作服务站",
        "level": "TOWNSHIP_STATION",
        "status": "CLOSED",
        "openedOn": "2020-01-01",
        "closedOn": "2022-01-01",
        "staff": 2,
        "certifiedStaff": 1,
        "volunteers": 0,
        "version": 1,
        "division": {"code": "522324100", "name": "沙子镇"},
        "parent": {"id": "GS-522324", "level": "GENERAL_STATION", "parent": {"id": "GC-5223"}},
        "reportingStations": {"totalCount": 0, "edges": []},
    }
    general = (await api.data(query, {"id": "GS-522324"}))["station"]
    assert [edge["node"]["id"] for edge in general["reportingStations"]["edges"]] == [
        "TS-522324002",
        "TS-522324100",
        "TS-522324101",
    ]
    centre = (await api.data(query, {"id": "GC-5223"}))["station"]
    assert centre["parent"] is None
    assert centre["level"] == "GUIDANCE_CENTRE"


async def test_covered_is_null_for_a_province_and_follows_the_day(api: Api) -> None:
    query = """
    query ($code: String!, $day: Date) { division(code: $code) { today: covered then: covered(asOf: $day) } }
    """

    async def covered(code: str, day: str) -> tuple[bool | None, bool | None]:
        division = (await api.data(query, {"code": code, "day": day}))["division"]
        return division["today"], division["then"]

    assert await covered("52", "2021-07-01") == (None, None)
    assert await covered("5223", "2020-02-29") == (True, False)
    assert await covered("5201", "2021-07-01") == (False, False)
    # Closed on 2022-01-01: active up to the day before, not covered today.
    assert await covered("522324100", "2021-12-31") == (False, True)
    assert await covered("522324100", "2022-01-01") == (False, False)
    assert await covered("522324101", "2024-01-01") == (False, False)


async def test_coverage_lists_each_level_below_top_down(api: Api) -> None:
    query = """
    query ($code: String!, $day: Date) {
      division(code: $code) {
        today: coverage { level total covered rate }
        then: coverage(asOf: $day) { level covered }
      }
    }
    """
    province = (await api.data(query, {"code": "52", "day": "2021-07-01"}))["division"]
    assert province["today"] == [
        {"level": "CITY", "total": 2, "covered": 1, "rate": 0.5},
        {"level": "COUNTY", "total": 3, "covered": 1, "rate": pytest.approx(1 / 3)},
        {"level": "TOWNSHIP", "total": 4, "covered": 1, "rate": 0.25},
        {"level": "VILLAGE", "total": 7, "covered": 1, "rate": pytest.approx(1 / 7)},
    ]
    assert [level["covered"] for level in province["then"]] == [1, 1, 2, 0]
    county = (await api.data(query, {"code": "520102", "day": "2021-07-01"}))["division"]
    assert county["today"] == [
        {"level": "TOWNSHIP", "total": 0, "covered": 0, "rate": None},
        {"level": "VILLAGE", "total": 0, "covered": 0, "rate": None},
    ]
    village = (await api.data(query, {"code": "522324002001", "day": "2021-07-01"}))["division"]
    assert village == {"today": [], "then": []}


async def test_rollup_today_and_on_a_past_day(api: Api) -> None:
    query = """
    query ($code: String!, $day: Date) {
      division(code: $code) {
        today: rollup { ...all }
        then: rollup(asOf: $day) { ...all }
      }
    }
    fragment all on Rollup {
      guidanceCentres generalStations townshipStations villageRooms staff certifiedStaff volunteers
    }
    """
    province = (await api.data(query, {"code": "52", "day": "2021-07-01"}))["division"]
    assert province["today"] == {
        "guidanceCentres": 1,
        "generalStations": 1,
        "townshipStations": 1,
        "villageRooms": 1,
        "staff": 14,
        "certifiedStaff": 6,
        "volunteers": 25,
    }
    assert province["then"] == {
        "guidanceCentres": 1,
        "generalStations": 1,
        "townshipStations": 2,
        "villageRooms": 0,
        "staff": 15,
        "certifiedStaff": 7,
        "volunteers": 23,
    }
    before = (await api.data(query, {"code": "52", "day": "2019-12-31"}))["division"]["then"]
    assert set(before.values()) == {0}
    township = (await api.data(query, {"code": "522324002", "day": "2021-07-01"}))["division"]
    assert township["today"]["staff"] == 4 and township["today"]["villageRooms"] == 1


async def test_uncovered_divisions_full_pagination_walk(api: Api) -> None:
    query = """
    query ($after: String, $first: Int) {
      uncoveredDivisions(under: "52", level: VILLAGE, first: $first, after: $after) {
        totalCount
        edges { cursor node { code level } }
        pageInfo { hasNextPage endCursor hasPreviousPage startCursor }
      }
    }
    """
    for first, pages in ((2, 3), (4, 2), (1, 6), (100, 1)):
        codes: list[str] = []
        cursors: list[str] = []
        after = None
        for page_number in range(1, pages + 1):
            page = (await api.data(query, {"after": after, "first": first}))["uncoveredDivisions"]
            assert page["totalCount"] == len(UNCOVERED_VILLAGES)
            assert all(edge["node"]["level"] == "VILLAGE" for edge in page["edges"])
            info = page["pageInfo"]
            assert info["endCursor"] == page["edges"][-1]["cursor"]
            assert info["startCursor"] == page["edges"][0]["cursor"]
            assert info["hasPreviousPage"] is (after is not None)
            assert info["hasNextPage"] is (page_number < pages)
            codes += [edge["node"]["code"] for edge in page["edges"]]
            cursors += [edge["cursor"] for edge in page["edges"]]
            after = info["endCursor"]
        assert codes == UNCOVERED_VILLAGES
        assert len(set(cursors)) == len(cursors)
    # Cursors are stable: asking again after any cursor gives the same continuation.
    again = (await api.data(query, {"after": cursors[1], "first": 2}))["uncoveredDivisions"]
    assert [edge["cursor"] for edge in again["edges"]] == cursors[2:4]
    past_the_end = (await api.data(query, {"after": cursors[-1], "first": 2}))["uncoveredDivisions"]
    assert past_the_end["edges"] == []
    assert past_the_end["pageInfo"]["hasNextPage"] is False
    assert past_the_end["pageInfo"]["endCursor"] is None


async def test_a_cursor_survives_a_write_before_it(api: Api) -> None:
    """A key-based cursor keeps its place when an earlier item leaves the list."""
    query = """
    query ($after: String) {
      uncoveredDivisions(under: "52", level: VILLAGE, first: 2, after: $after) {
        totalCount edges { node { code } } pageInfo { endCursor }
      }
    }
    """
    first_page = (await api.data(query))["uncoveredDivisions"]
    await api.data(
        """mutation { createStation(input: {id: "VR-522324002002", name: "西街社区社会工作室",
           level: VILLAGE_ROOM, divisionCode: "522324002002", parentId: "TS-522324002",
           status: OPERATING, openedOn: "2023-03-01"}) { id } }""",
        bearer=token("editor", "522324"),
    )
    after = first_page["pageInfo"]["endCursor"]
    second_page = (await api.data(query, {"after": after}))["uncoveredDivisions"]
    assert second_page["totalCount"] == len(UNCOVERED_VILLAGES) - 1
    assert [edge["node"]["code"] for edge in second_page["edges"]] == UNCOVERED_VILLAGES[2:4]


async def test_uncovered_divisions_default_to_today_and_take_as_of(api: Api) -> None:
    query = """
    query ($day: Date) {
      today: uncoveredDivisions(under: "5223", level: TOWNSHIP) { totalCount edges { node { code } } }
      then: uncoveredDivisions(under: "5223", level: TOWNSHIP, asOf: $day) { edges { node { code } } }
      county: uncoveredDivisions(under: "522324", level: COUNTY) { totalCount }
    }
    """
    data = await api.data(query, {"day": "2021-07-01"})
    assert [e["node"]["code"] for e in data["today"]["edges"]] == ["522301001", "522324100", "522324101"]
    assert data["today"]["totalCount"] == 3
    assert [e["node"]["code"] for e in data["then"]["edges"]] == ["522301001", "522324101"]
    assert data["county"] == {"totalCount": 0}


async def test_divisions_search_by_name_level_and_under(api: Api) -> None:
    query = """
    query ($text: String!, $level: DivisionLevel, $under: String, $first: Int, $after: String) {
      divisions(nameContains: $text, level: $level, under: $under, first: $first, after: $after) {
        totalCount edges { node { code name } } pageInfo { hasNextPage endCursor }
      }
    }
    """

    async def codes(**variables: object) -> list[str]:
        result = (await api.data(query, variables))["divisions"]
        return [edge["node"]["code"] for edge in result["edges"]]

    assert await codes(text="镇") == ["522324100", "522324101"]
    assert await codes(text="村") == UNCOVERED_VILLAGES[1:]
    assert await codes(text="社区", level="VILLAGE") == ["522324002001", "522324002002"]
    assert await codes(text="区", level="COUNTY") == ["520102"]
    assert await codes(text="街道", under="522324") == ["522324002"]
    assert await codes(text="街道", under="5201") == []
    assert await codes(text="不存在") == []
    walked: list[str] = []
    after = None
    while True:
        page = (await api.data(query, {"text": "村", "first": 2, "after": after}))["divisions"]
        assert page["totalCount"] == 5
        walked += [edge["node"]["code"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert walked == UNCOVERED_VILLAGES[1:]


async def test_division_children_and_stations_paginate(api: Api) -> None:
    query = """
    query ($after: String) {
      division(code: "522324") {
        children(first: 2, after: $after) {
          totalCount edges { node { code } } pageInfo { hasNextPage endCursor }
        }
      }
      station(id: "GS-522324") {
        reportingStations(first: 2) { totalCount edges { node { id } } pageInfo { hasNextPage endCursor } }
      }
    }
    """
    first = await api.data(query)
    children = first["division"]["children"]
    assert [e["node"]["code"] for e in children["edges"]] == ["522324002", "522324100"]
    assert children["pageInfo"]["hasNextPage"] is True
    second = await api.data(query, {"after": children["pageInfo"]["endCursor"]})
    rest = second["division"]["children"]
    assert [e["node"]["code"] for e in rest["edges"]] == ["522324101"]
    assert rest["pageInfo"]["hasNextPage"] is False
    reporting = first["station"]["reportingStations"]
    assert reporting["totalCount"] == 3 and reporting["pageInfo"]["hasNextPage"] is True
    next_query = """
    query ($after: String) {
      station(id: "GS-522324") { reportingStations(first: 2, after: $after) { edges { node { id } } } }
    }
    """
    tail = await api.data(next_query, {"after": reporting["pageInfo"]["endCursor"]})
    assert tail["station"]["reportingStations"]["edges"] == [{"node": {"id": "TS-522324101"}}]
