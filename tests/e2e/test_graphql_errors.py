"""Each error code of spec §5 over HTTP, for both stores: bad input is BAD_USER_INPUT (never HTTP 500),
and an unexpected failure is INTERNAL, masked, and logged with the request id."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from graph_service.engine import Rollup
from graph_service.entrypoints.graphql import encode_cursor
from tests.support.network import Api, single_error, token

pytestmark = pytest.mark.anyio

PAGED = """
query ($first: Int, $after: String) {
  uncoveredDivisions(under: "52", level: VILLAGE, first: $first, after: $after) { totalCount }
}
"""


@pytest.mark.parametrize("first", [0, -1, 101, 1000])
async def test_first_outside_1_to_100_is_bad_input(api: Api, first: int) -> None:
    error = await api.error(PAGED, {"first": first})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "first" in error["message"]


@pytest.mark.parametrize(
    "field",
    [
        'division(code: "52") { children(first: 0) { totalCount } }',
        'division(code: "52") { stations(first: 101) { totalCount } }',
        'station(id: "GS-522324") { reportingStations(first: 0) { totalCount } }',
        'divisions(nameContains: "镇", first: 101) { totalCount }',
    ],
)
async def test_first_is_checked_on_every_page(api: Api, field: str) -> None:
    error = await api.error("{ " + field + " }")
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_first_may_be_1_or_100(api: Api) -> None:
    for first in (1, 100):
        assert (await api.data(PAGED, {"first": first}))["uncoveredDivisions"]["totalCount"] == 6


@pytest.mark.parametrize(
    "after",
    [
        "not a cursor!",
        "%%%",
        "ÿÿ",
        encode_cursor("station", "TS-522324002"),
        "c3RhdGlvbg",  # "station" with no key
        "//79",  # bytes that are not UTF-8
        "",
    ],
)
async def test_a_bad_cursor_is_bad_input(api: Api, after: str) -> None:
    error = await api.error(PAGED, {"after": after})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ('{ uncoveredDivisions(under: "52", level: HAMLET) { totalCount } }', None),
        ('{ uncoveredDivisions(under: "52", level: "VILLAGE") { totalCount } }', None),
        (
            'query ($l: DivisionLevel!) { uncoveredDivisions(under: "52", level: $l) { totalCount } }',
            {"l": "HAMLET"},
        ),
        ('{ division(code: "52") { covered(asOf: "2024-13-01") } }', None),
        ('{ division(code: "52") { covered(asOf: "yesterday") } }', None),
        ('query ($d: Date) { division(code: "52") { covered(asOf: $d) } }', {"d": "2024-02-30"}),
        ('query ($d: Date) { division(code: "52") { covered(asOf: $d) } }', {"d": 20240101}),
        ('{ division(code: "52") { children(first: "ten") { totalCount } } }', None),
        ('query ($n: Int) { division(code: "52") { children(first: $n) { totalCount } } }', {"n": 2**40}),
        ('{ division(code: "52") { nosuchfield } }', None),
        ("{ division { code } }", None),
        ('{ division(code: "52") }', None),
        ('{ division(code: "52") { code }', None),
        ("query ($x: String!) { division(code: $x) { code } }", {}),
        ('mutation { closeStation(id: "GS-522324", on: "soon") { id } }', None),
        ('mutation { createStation(input: {id: "x"}) { id } }', None),
        ("query { ...F }", None),
        ('fragment F on Query { division(code: "52") { code } }', None),
        ('subscription { division(code: "52") { code } }', None),
    ],
)
async def test_invalid_documents_and_values_are_bad_input(
    api: Api, query: str, variables: dict[str, Any] | None
) -> None:
    response = await api.post(query, variables, bearer=token("admin", "*"))
    assert response.status_code in (200, 400)
    assert "Traceback" not in response.text
    body = response.json()
    assert body.get("data") is None
    for error in body["errors"]:
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert error["extensions"]["requestId"] == response.headers["x-request-id"]
        assert error["message"]


async def test_a_null_for_a_required_argument_at_run_time_is_bad_input(api: Api) -> None:
    query = 'query ($code: String = "52") { division(code: $code) { code } }'
    error = await api.error(query, {"code": None})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["path"] == ["division"]


async def test_an_operation_name_that_names_nothing_is_bad_input(api: Api) -> None:
    two = 'query A { division(code: "52") { code } } query B { station(id: "x") { id } }'
    unnamed = single_error(await api.post(two))
    assert unnamed["extensions"]["code"] == "BAD_USER_INPUT"
    assert "operationName" in unnamed["message"]
    unknown = single_error(await api.post(two, operationName="C"), 400)
    assert unknown["extensions"]["code"] == "BAD_USER_INPUT"
    chosen = (await api.post(two, operationName="B")).json()
    assert chosen == {"data": {"station": None}}


async def test_service_rules_are_bad_input(api: Api) -> None:
    province = await api.error('{ uncoveredDivisions(under: "52", level: PROVINCE) { totalCount } }')
    assert province["extensions"]["code"] == "BAD_USER_INPUT"
    empty = await api.error('{ divisions(nameContains: "  ") { totalCount } }')
    assert empty["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    "query",
    [
        '{ uncoveredDivisions(under: "99", level: VILLAGE) { totalCount } }',
        '{ divisions(nameContains: "镇", under: "99") { totalCount } }',
        'mutation { updateStation(id: "nope", input: {name: "x"}) { id } }',
        'mutation { closeStation(id: "nope", on: "2024-01-01") { id } }',
    ],
)
async def test_unknown_division_or_station_is_not_found(api: Api, query: str) -> None:
    error = await api.error(query, bearer=token("admin", "*"))
    assert error["extensions"]["code"] == "NOT_FOUND"


async def test_one_failing_field_leaves_the_others(api: Api) -> None:
    query = """
    { ok: division(code: "52") { code }
      bad: uncoveredDivisions(under: "99", level: CITY) { totalCount } }
    """
    response = await api.post(query)
    body = response.json()
    assert response.status_code == 200
    assert body["data"] == {"ok": {"code": "52"}, "bad": None} or body["data"] is None
    assert [error["extensions"]["code"] for error in body["errors"]] == ["NOT_FOUND"]
    assert body["errors"][0]["path"] == ["bad"]


async def test_an_unexpected_exception_is_internal_masked_and_logged(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret detail: /etc/passwd at line 42")

    monkeypatch.setattr(api.service.engine, "rollup", broken)
    with caplog.at_level(logging.ERROR, logger="graph_service.graphql"):
        response = await api.post('{ division(code: "52") { code rollup { staff } } }')
    error = single_error(response)
    assert error["extensions"]["code"] == "INTERNAL"
    assert "secret" not in response.text and "RuntimeError" not in response.text
    assert error["path"] == ["division", "rollup"]
    request_id = response.headers["x-request-id"]
    assert error["extensions"]["requestId"] == request_id
    records = [r for r in caplog.records if request_id in r.getMessage()]
    assert records and records[0].exc_info is not None
    assert "secret detail" in str(records[0].exc_info[1])


async def test_an_output_graphql_cannot_represent_is_internal(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api.service.engine, "rollup", lambda code, day: Rollup(staff=2**40))
    error = await api.error('{ division(code: "52") { rollup { staff } } }')
    assert error["extensions"]["code"] == "INTERNAL"
    assert str(2**40) not in error["message"]


async def test_request_ids_are_unique_and_on_every_response(api: Api) -> None:
    responses = [await api.post('{ division(code: "52") { code } }') for _ in range(3)]
    responses.append(await api.client.get("/healthz"))
    responses.append(await api.client.get("/nowhere"))
    ids = [response.headers["x-request-id"] for response in responses]
    assert len(set(ids)) == len(ids)
