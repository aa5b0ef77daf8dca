"""Fixtures and helpers for the GraphQL tests: a small network in each store, tokens, an HTTP client.

The network (seeded through the service, as an admin would):

    52 贵州省
    ├── 5201 贵阳市 ── 520102 南明区
    └── 5223 黔西南州 (GC-5223)
        ├── 522301 兴义市 ── 522301001 黄草街道
        └── 522324 晴隆县 (GS-522324)
            ├── 522324002 莲城街道 (TS-522324002) ── villages 001 (VR-522324002001), 002
            ├── 522324100 沙子镇 (TS-522324100, closed 2022-01-01) ── villages 001…005
            └── 522324101 碧痕镇 (TS-522324101, planned)

The fixtures built on it are in the conftest.py files: `service` (tests/conftest.py, on each store of
`store_factory`), `api` and `private_api` (tests/e2e/conftest.py).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from graph_service.service_layer.auth import Principal, Role, issue_token
from graph_service.service_layer.services import NetworkService
from graph_service.service_layer.settings import Settings
from graph_service.service_layer.syncing import load_engine

SECRET = "graphql-test-secret-of-at-least-32-bytes"

DIVISIONS_CSV = """code,name,level,parent_code
52,贵州省,province,
5201,贵阳市,city,52
5223,黔西南布依族苗族自治州,city,52
520102,南明区,county,5201
522301,兴义市,county,5223
522324,晴隆县,county,5223
522301001,黄草街道,township,522301
522324002,莲城街道,township,522324
522324100,沙子镇,township,522324
522324101,碧痕镇,township,522324
522324002001,东街社区,village,522324002
522324002002,西街社区,village,522324002
522324100001,沙子村,village,522324100
522324100002,三合村,village,522324100
522324100003,新坪村,village,522324100
522324100004,哈马村,village,522324100
522324100005,大厂村,village,522324100
"""

STATION_HEADER = (
    "id,name,level,division_code,parent_id,status,opened_on,closed_on,staff,certified_staff,volunteers\n"
)


def big_rooms_csv(count: int, prefix: str = "VR-BIG") -> str:
    """A station file of `count` village rooms in 南街社区, each with a million staff (the most one may
    have): 2,148 of them take the roll-ups above it past 2,147,483,647."""
    return STATION_HEADER + "".join(
        f"{prefix}-{n},大室{n},village_room,522324002002,TS-522324002,operating,2023-01-01,,1000000,0,0\n"
        for n in range(count)
    )


STATIONS_CSV = (
    STATION_HEADER
    + """\
GC-5223,黔西南州社会工作指导中心,guidance_centre,5223,,operating,2020-03-01,,6,3,10
GS-522324,晴隆县社会工作总站,general_station,522324,GC-5223,operating,2021-01-15,,4,2,8
TS-522324002,莲城街道社会工作服务站,township_station,522324002,GS-522324,operating,2021-06-01,,3,1,5
TS-522324100,沙子镇社会工作服务站,township_station,522324100,GS-522324,closed,2020-01-01,2022-01-01,2,1,0
TS-522324101,碧痕镇社会工作服务站,township_station,522324101,GS-522324,planned,,,0,0,0
VR-522324002001,东街社区社会工作室,village_room,522324002001,TS-522324002,operating,2022-05-01,,1,0,2
"""
)

# Uncovered villages under 52 today, by code (the pagination walk's answer).
UNCOVERED_VILLAGES = [
    "522324002002",
    "522324100001",
    "522324100002",
    "522324100003",
    "522324100004",
    "522324100005",
]


ACCESS_STATUS = {"UNAUTHENTICATED": 401, "FORBIDDEN": 403}
"""The HTTP status of a response refused for who asks, by error code (whatever the Accept header)."""


def token(
    role: Role | str,
    scope: str,
    *,
    ttl: timedelta = timedelta(hours=1),
    secret: str = SECRET,
    issued: datetime | None = None,
) -> str:
    """A signed access token for the tests' secret (or another one)."""
    return issue_token(secret, Role(role), scope, ttl, subject=f"{role}@{scope}", now=issued)


def expired_token() -> str:
    """An editor token whose validity ended an hour ago."""
    return token(Role.EDITOR, "522324", issued=datetime.now(UTC) - timedelta(hours=2))


def settings_for(url: str, **overrides: Any) -> Settings:
    """Settings for a test service over `url`: the tests' secret, the store asked at every refresh, the
    Neo4j credentials from the environment (no other variable is read), then `overrides`."""
    neo4j_env = {name: value for name, value in os.environ.items() if name.startswith("NEO4J_")}
    base = Settings.from_env(neo4j_env, store_url=url)
    return replace(base, **{"jwt_secret": SECRET, "refresh_interval": 0.0, **overrides})


def seed(service: NetworkService) -> None:
    """Write the small network through the service, as the local administrator."""
    admin = Principal.local_admin()
    for report in (
        service.import_divisions(admin, DIVISIONS_CSV),
        service.import_stations(admin, STATIONS_CSV),
    ):
        assert report.applied and not report.errors, report.errors


# --- HTTP ----------------------------------------------------------------------------------------


@dataclass
class Api:
    """An httpx client on the ASGI app, with GraphQL helpers."""

    client: httpx.AsyncClient
    service: NetworkService
    default_headers: dict[str, str] = field(default_factory=dict)

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, *, bearer: str | None = None, **extra: Any
    ) -> httpx.Response:
        """POST one operation; `bearer` sends `Authorization: Bearer <bearer>`."""
        headers = dict(self.default_headers)
        if bearer is not None:
            headers["Authorization"] = f"Bearer {bearer}"
        payload: dict[str, Any] = {"query": query, **extra}
        if variables is not None:
            payload["variables"] = variables
        return await self.client.post("/graphql", json=payload, headers=headers)

    async def data(
        self, query: str, variables: dict[str, Any] | None = None, *, bearer: str | None = None
    ) -> dict[str, Any]:
        """The `data` of a request that must succeed (HTTP 200, no errors)."""
        response = await self.post(query, variables, bearer=bearer)
        body = response.json()
        assert response.status_code == 200, body
        assert "errors" not in body, body["errors"]
        return body["data"]

    async def error(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        bearer: str | None = None,
        status: int = 200,
    ) -> dict[str, Any]:
        """The single error of a request that must fail, checked for its shape."""
        response = await self.post(query, variables, bearer=bearer)
        return single_error(response, status)


def single_error(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    """The one error in a response, after checking the status and that it leaks nothing internal."""
    assert response.status_code == status, response.text
    assert "Traceback" not in response.text and 'File "' not in response.text
    body = response.json()
    assert len(body["errors"]) == 1, body["errors"]
    error = body["errors"][0]
    assert error["extensions"]["requestId"] == response.headers["x-request-id"]
    return error


def app_client(app: Any) -> httpx.AsyncClient:
    """An httpx client that calls the ASGI `app` in this process."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


CHECKED_DAYS = [date(2020, 1, 1), date(2021, 7, 1), date(2023, 6, 1), date(2030, 1, 1)]
"""The days `assert_engine_agrees_with_store` compares answers on."""


def assert_engine_agrees_with_store(service: NetworkService) -> None:
    """The service's engine holds exactly what a fresh load of the store holds, answers included."""
    service.refresh(force=True)
    fresh = load_engine(service.store)
    assert fresh.problems == []
    assert sorted(fresh.station_records(), key=lambda s: s.id) == sorted(
        service.engine.station_records(), key=lambda s: s.id
    )
    for code in ("52", "5223", "522324", "522324002"):
        for day in CHECKED_DAYS:
            assert fresh.rollup(code, day) == service.engine.rollup(code, day)
            assert fresh.coverage(code, day) == service.engine.coverage(code, day)
