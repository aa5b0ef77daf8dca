"""The HTTP side for both stores: routes, health and readiness, request limits, caching, and the work
done per request."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import anyio
import httpx
import pytest
from graphql import get_introspection_query
from strawberry.extensions.parser_cache import _get_parse_cache

from graph_service.entrypoints import graphql as graphql_schema
from graph_service.entrypoints.app import create_app
from graph_service.entrypoints.graphql.extensions import REFUSALS, VALIDATED
from graph_service.ports import StoreError
from tests.support.network import Api, app_client, single_error, token

pytestmark = pytest.mark.anyio


async def test_graphiql_on_get(api: Api) -> None:
    response = await api.client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()


async def test_healthz_and_readyz(api: Api) -> None:
    health = await api.client.get("/healthz")
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    ready = await api.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    assert ready.json()["dataVersion"] == api.service.engine.version


async def test_readyz_is_503_when_the_store_does_not_answer(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(*args: object) -> None:
        raise StoreError("connection refused to 10.0.0.7")

    monkeypatch.setattr(api.service.store, "data_version", down)
    ready = await readyz_once(api, 503)
    assert ready.json()["status"] == "unavailable"
    assert "the store cannot be read" in ready.json()["reason"]
    assert "10.0.0.7" not in ready.text
    assert (await api.client.get("/healthz")).status_code == 200
    assert (await api.data('{ division(code: "52") { code } }'))["division"] == {"code": "52"}
    monkeypatch.undo()
    await readyz_once(api, 200)
    monkeypatch.setattr(api.service.store, "changes_since", down)
    monkeypatch.setattr(api.service.store, "data_version", lambda: api.service.engine.version + 1)
    await readyz_once(api, 503)


async def readyz_once(api: Api, status: int, within: float = 3.0) -> httpx.Response:
    """The first /readyz answer with `status`, asked until `within` seconds pass (the follower
    notices a change of the store's health on its next round)."""
    deadline = time.monotonic() + within
    while True:
        ready = await api.client.get("/readyz")
        if ready.status_code == status or time.monotonic() > deadline:
            assert ready.status_code == status, ready.text
            return ready
        await anyio.sleep(0.02)


async def test_other_methods_are_refused(api: Api) -> None:
    assert (await api.client.put("/graphql", content=b"{}")).status_code == 405
    assert (await api.client.post("/healthz")).status_code == 405


async def test_the_body_must_be_a_json_operation(api: Api) -> None:
    cases: list[tuple[dict[str, Any], int]] = [
        ({"content": b'{"query": "{ division(code: \\"52\\") { code } }"}'}, 415),
        ({"content": b"{not json", "headers": {"Content-Type": "application/json"}}, 400),
        ({"content": b"\xff\xfe", "headers": {"Content-Type": "application/json"}}, 400),
        ({"json": [{"query": "{ __typename }"}]}, 400),
        ({"json": {"variables": {}}}, 400),
        ({"json": {"query": ""}}, 400),
        ({"json": {"query": 42}}, 400),
        ({"json": {"query": "{ __typename }", "variables": [1]}}, 400),
        ({"json": {"query": "{ __typename }", "operationName": 7}}, 400),
        ({"content": b"[" * 100_000 + b"]" * 100_000, "headers": {"Content-Type": "application/json"}}, 400),
    ]
    for request, status in cases:
        response = await api.client.post("/graphql", **request)
        error = single_error(response, status)
        assert error["extensions"]["code"] == "BAD_USER_INPUT", request


async def test_a_body_over_the_limit_is_refused(api: Api) -> None:
    async with app_client(create_app(api.service, max_body_bytes=2_000)) as client:
        small = await client.post("/graphql", json={"query": '{ division(code: "52") { code } }'})
        assert small.status_code == 200
        big = await client.post("/graphql", json={"query": "{ __typename }", "variables": {"x": "a" * 3_000}})
        assert single_error(big, 413)["extensions"]["code"] == "BAD_USER_INPUT"

        async def chunks():  # no Content-Length: the limit applies while reading
            for _ in range(10):
                yield b" " * 500

        streamed = await client.post(
            "/graphql", content=chunks(), headers={"Content-Type": "application/json"}
        )
        assert single_error(streamed, 413)["extensions"]["code"] == "BAD_USER_INPUT"


def nested_children(levels: int, first: int) -> str:
    """`division(code: "52")` with `levels` nested pages of children."""
    inner = "code"
    for _ in range(levels):
        inner = f"code children(first: {first}) {{ edges {{ node {{ {inner} }} }} }}"
    return f'{{ division(code: "52") {{ {inner} }} }}'


async def test_depth_limit(api: Api) -> None:
    allowed = await api.data(nested_children(4, 5))
    assert allowed["division"]["code"] == "52"
    error = await api.error(nested_children(5, 1))
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "depth" in error["message"]


async def test_depth_limit_counts_through_fragments(api: Api) -> None:
    query = """
    { division(code: "52") { ...A } }
    fragment A on Division { parent { ...B } }
    fragment B on Division { parent { ...C } }
    fragment C on Division { parent { ...D } }
    fragment D on Division { parent { ...E } }
    fragment E on Division { parent { parent { parent { parent { parent { parent { parent { parent {
      parent { parent { parent { code } } } } } } } } } } } }
    """
    error = await api.error(query)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_introspection_is_allowed(api: Api) -> None:
    data = await api.data(get_introspection_query(descriptions=True))
    names = {t["name"] for t in data["__schema"]["types"]}
    assert {"Division", "Station", "DivisionConnection", "Date"} <= names


async def test_alias_limit_counts_through_fragments(api: Api) -> None:
    limit = graphql_schema.MAX_ALIASES
    aliases = " ".join(f"a{i}: code" for i in range(limit))
    assert (await api.data(f'{{ division(code: "52") {{ {aliases} }} }}'))["division"]["a0"] == "52"
    too_many = await api.error(f'{{ division(code: "52") {{ {aliases} extra: name }} }}')
    assert too_many["extensions"]["code"] == "BAD_USER_INPUT"
    via_fragment = await api.error(
        f'{{ division(code: "52") {{ ...F extra: name }} }} fragment F on Division {{ {aliases} }}'
    )
    assert via_fragment["extensions"]["code"] == "BAD_USER_INPUT"


async def test_token_limit_counts_fragments(api: Api) -> None:
    fields = " ".join(["code"] * graphql_schema.MAX_TOKENS)
    too_long = await api.error(f'{{ division(code: "52") {{ ...F }} }} fragment F on Division {{ {fields} }}')
    assert too_long["extensions"]["code"] == "BAD_USER_INPUT"
    assert "tokens" in too_long["message"]


async def test_cost_limit_refuses_a_fan_out(api: Api) -> None:
    error = await api.error(nested_children(3, 100))
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "first" in error["message"]
    query = """
    query ($n: Int) {
      division(code: "52") {
        children(first: $n) { edges { node { children(first: $n) { edges { node {
          children(first: $n) { edges { node { code } } } } } } } } }
      }
    }
    """
    assert (await api.error(query, {"n": 100}))["extensions"]["code"] == "BAD_USER_INPUT"
    assert (await api.data(query, {"n": 10}))["division"]["children"]["edges"]
    # Within the alias limit, but every alias asks for pages of pages.
    fan = " ".join(f'd{i}: divisions(nameContains: "村") {{ ...N }}' for i in range(25))
    node = "edges { node { children { edges { node { code name level } } } } }"
    wide = await api.error(f"{{ {fan} }} fragment N on DivisionConnection {{ {node} }}")
    assert wide["extensions"]["code"] == "BAD_USER_INPUT"
    assert "first" in wide["message"]


async def test_documents_are_parsed_and_validated_once(api: Api) -> None:
    # Other variables each time, so the response cache does not answer and the document runs again.
    query = "query Q($code: String!) { division(code: $code) { code name cachedMarker: level } }"
    parse_cache = _get_parse_cache(graphql_schema.CACHE_SIZE)
    await api.data(query, {"code": "52"})
    parsed = parse_cache.cache_info()
    validated = (VALIDATED.hits, VALIDATED.misses)
    refused = (REFUSALS.hits, REFUSALS.misses)
    for code in ("5201", "5223", "522324"):
        await api.data(query, {"code": code})
    assert parse_cache.cache_info().hits == parsed.hits + 3
    assert parse_cache.cache_info().misses == parsed.misses
    # Validation and the cost refusal are looked up by the document's identity, not worked out again.
    assert (VALIDATED.hits, VALIDATED.misses) == (validated[0] + 3, validated[1])
    assert (REFUSALS.hits, REFUSALS.misses) == (refused[0] + 3, refused[1])


async def test_requests_ask_the_store_nothing(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reads never touch the store (the follower thread catches up); a mutation writes, and applies
    its own write without reading anything back or reloading."""
    store = api.service.store
    calls: list[str] = []
    for name in ("load", "changes_since", "data_version"):
        original = getattr(store, name)

        def counted(*args: Any, _name: str = name, _original: Any = original, **kwargs: Any) -> Any:
            if threading.current_thread().name != "graph-service-follower":
                calls.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(store, name, counted)
    query = """
    { division(code: "52") { coverage { total } rollup { staff } children { totalCount } }
      uncoveredDivisions(under: "52", level: VILLAGE) { totalCount }
      divisions(nameContains: "村") { totalCount } }
    """
    for _ in range(3):
        await api.data(query)
    assert calls == []
    await api.data(
        'mutation { updateStation(id: "TS-522324101", input: {name: "改名"}) { version } }',
        bearer=token("admin", "*"),
    )
    await api.data(query)
    assert calls == []


async def test_json_is_utf8_and_not_escaped(api: Api) -> None:
    response = await api.post('{ division(code: "52") { name } }')
    assert response.headers["content-type"].startswith("application/json")
    assert "贵州省".encode() in response.content
    assert json.loads(response.content) == {"data": {"division": {"name": "贵州省"}}}
