"""Spec §5's access rules over HTTP, for both stores: who may read, who may write what."""

from __future__ import annotations

import jwt
import pytest

from graph_service.bootstrap import open_service
from graph_service.entrypoints.app import create_app
from graph_service.service_layer.services import NetworkService
from tests.support.network import (
    ACCESS_STATUS,
    SECRET,
    Api,
    app_client,
    expired_token,
    settings_for,
    single_error,
    token,
)

pytestmark = pytest.mark.anyio

UPDATE = """
mutation ($id: ID!, $input: StationPatch!) {
  updateStation(id: $id, input: $input) { id name version division { code } }
}
"""
RENAME = {"id": "TS-522324101", "input": {"name": "改名"}}
# Out of 522324's subtree; the parent must go too, since GS-522324 is not above 522301001.
MOVE_OUT = {"id": "TS-522324101", "input": {"divisionCode": "522301001", "parentId": None}}
READ = '{ station(id: "TS-522324101") { name version division { code } } }'


def bad_signature() -> str:
    return token("admin", "*", secret="a-different-secret-that-is-also-32-bytes")


# (who, token, variables, outcome): outcome is an error code, or "ok".
CASES = [
    ("no token", None, RENAME, "UNAUTHENTICATED"),
    ("viewer", lambda: token("viewer", "52"), RENAME, "FORBIDDEN"),
    ("editor outside scope", lambda: token("editor", "522301"), RENAME, "FORBIDDEN"),
    ("editor of a sibling township", lambda: token("editor", "522324100"), RENAME, "FORBIDDEN"),
    ("editor moving a station out of scope", lambda: token("editor", "522324"), MOVE_OUT, "FORBIDDEN"),
    ("editor inside scope", lambda: token("editor", "522324"), RENAME, "ok"),
    ("editor of the province", lambda: token("editor", "52"), MOVE_OUT, "ok"),
    ("editor of the station's own division", lambda: token("editor", "522324101"), RENAME, "ok"),
    ("admin", lambda: token("admin", "*"), MOVE_OUT, "ok"),
    ("admin with a division scope", lambda: token("admin", "5201"), RENAME, "ok"),
]


@pytest.mark.parametrize(
    ("bearer", "variables", "outcome"),
    [pytest.param(bearer, variables, outcome, id=who) for who, bearer, variables, outcome in CASES],
)
async def test_update_station_access(api: Api, bearer, variables, outcome: str) -> None:
    response = await api.post(UPDATE, variables, bearer=bearer() if bearer else None)
    stored = (await api.data(READ))["station"]
    if outcome == "ok":
        body = response.json()
        assert "errors" not in body, body
        assert body["data"]["updateStation"]["version"] == 2
        assert stored["version"] == 2
        return
    error = single_error(response, ACCESS_STATUS[outcome])
    assert error["extensions"]["code"] == outcome
    body = response.json()
    if "data" in body:  # an editor's scope: checked once the station is known
        assert body["data"] is None and error["path"] == ["updateStation"]
    else:  # no token, or a viewer's: refused before anything ran
        assert bearer is None or "viewer" in error["message"]
    assert stored == {"name": "碧痕镇社会工作服务站", "version": 1, "division": {"code": "522324101"}}


@pytest.mark.parametrize(
    "bearer",
    [
        pytest.param(expired_token, id="expired token"),
        pytest.param(bad_signature, id="bad signature"),
        pytest.param(lambda: "not-a-jwt", id="malformed token"),
    ],
)
async def test_an_invalid_token_is_refused_for_writes_and_reads(api: Api, bearer) -> None:
    for query, variables in ((UPDATE, RENAME), (READ, None)):
        response = await api.post(query, variables, bearer=bearer())
        error = single_error(response, 401)
        assert error["extensions"]["code"] == "UNAUTHENTICATED"
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert "data" not in response.json()
    assert (await api.data(READ))["station"]["version"] == 1


async def test_a_token_with_an_unknown_role_or_a_non_bearer_scheme_is_refused(api: Api) -> None:
    odd_role = jwt.encode(
        {"sub": "x", "role": "superuser", "scope": "52", "exp": 4102444800},
        SECRET,
        algorithm="HS256",
    )
    error = single_error(await api.post(READ, bearer=odd_role), 401)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    basic = await api.client.post("/graphql", json={"query": READ}, headers={"Authorization": "Basic eDp5"})
    assert single_error(basic, 401)["extensions"]["code"] == "UNAUTHENTICATED"


async def test_create_and_close_follow_the_same_rules(api: Api) -> None:
    create = """
    mutation ($input: StationInput!) { createStation(input: $input) { id } }
    """
    new = {
        "id": "TS-X",
        "name": "新站",
        "level": "TOWNSHIP_STATION",
        "divisionCode": "522301001",
        "status": "PLANNED",
    }
    outside = await api.error(create, {"input": new}, bearer=token("editor", "522324"), status=403)
    assert outside["extensions"]["code"] == "FORBIDDEN"
    inside = await api.data(create, {"input": new}, bearer=token("editor", "522301"))
    assert inside["createStation"] == {"id": "TS-X"}
    close = 'mutation { closeStation(id: "TS-522324002", on: "2030-01-01") { status } }'
    for bearer, code in ((None, "UNAUTHENTICATED"), (token("viewer", "522324"), "FORBIDDEN")):
        refused = await api.error(close, bearer=bearer, status=ACCESS_STATUS[code])
        assert refused["extensions"]["code"] == code
    closed = await api.data(close, bearer=token("editor", "522324002"))
    assert closed["closeStation"] == {"status": "CLOSED"}


async def test_reading_needs_no_token_by_default(api: Api) -> None:
    assert (await api.data(READ))["station"]["version"] == 1
    assert (await api.data(READ, bearer=token("viewer", "5201")))["station"]["version"] == 1


async def test_private_reading_needs_a_token(private_api: Api) -> None:
    queries = [
        READ,
        '{ division(code: "52") { code } }',
        '{ uncoveredDivisions(under: "52", level: CITY) { totalCount } }',
        '{ divisions(nameContains: "镇") { totalCount } }',
    ]
    for query in queries:
        response = await private_api.post(query)
        error = single_error(response, 401)
        assert error["extensions"]["code"] == "UNAUTHENTICATED", query
        assert response.headers["www-authenticate"] == "Bearer"
        assert (await private_api.data(query, bearer=token("viewer", "52"))) is not None


async def test_a_server_without_a_secret_accepts_no_token(service: NetworkService) -> None:
    keyless = open_service(settings_for(service.store.url, jwt_secret=None))
    try:
        async with app_client(create_app(keyless)) as client:
            api = Api(client, keyless)
            error = single_error(await api.post(READ, bearer=token("admin", "*")), 401)
            assert error["extensions"]["code"] == "UNAUTHENTICATED"
            assert (await api.data(READ))["station"]["version"] == 1
    finally:
        keyless.close()
