"""The fast path for documents already validated (graphql/execution.py, graphql/plans.py) answers
exactly what strawberry's whole pipeline answers: the same data, the same errors (message, path,
code), for plain documents, fragments, aliases, lists, connections, nulls, bad arguments and bad
variables alike; and it never answers a document that was not validated, or was refused."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from graphql import parse
from strawberry.execution.is_awaitable import optimized_is_awaitable

from graph_service.entrypoints.graphql import GraphQLContext, schema
from graph_service.entrypoints.graphql.errors import format_error
from graph_service.entrypoints.graphql.execution import PLANS, execute_known_query
from graph_service.entrypoints.graphql.plans import plan_of, run_plan
from graph_service.service_layer.auth import Principal, Role
from graph_service.service_layer.services import NetworkService

COVERAGE = (
    "query C($code: String!, $day: Date) { division(code: $code) { code name level "
    "coverage(asOf: $day) { level total covered rate } rollup(asOf: $day) { guidanceCentres "
    "generalStations townshipStations villageRooms staff certifiedStaff volunteers } covered(asOf: $day) } }"
)
GAPS = (
    "query G($under: String!, $level: DivisionLevel!, $day: Date, $first: Int, $after: String) { "
    "uncoveredDivisions(under: $under, level: $level, asOf: $day, first: $first, after: $after) { "
    "totalCount edges { cursor node { code name parent { code } } } pageInfo { hasNextPage endCursor } } }"
)
STATION = (
    "query S($id: ID!) { station(id: $id) { __typename id name level status openedOn closedOn staff "
    "certifiedStaff volunteers version division { code ancestors { code } } parent { id } "
    "placements { division { code } from to } } }"
)
CASES: list[tuple[str, str, list[dict[str, Any]]]] = [
    (
        "coverage and roll-up",
        COVERAGE,
        [
            {"code": "52", "day": "2021-07-01"},
            {"code": "522324", "day": "2023-06-01"},
            {"code": "522324002001", "day": "2015-01-01"},
            {"code": "99", "day": "2021-07-01"},  # unknown: null
            {"code": "52", "day": None},  # today
            {"code": "52", "day": "2021-02-30"},  # not a date: a variable error
            {"code": 52, "day": "2021-07-01"},  # not a string: a variable error
            {"day": "2021-07-01"},  # missing: a variable error
        ],
    ),
    (
        "gap lists",
        GAPS,
        [
            {"under": "52", "level": "VILLAGE", "day": "2024-01-01", "first": 2},
            {"under": "52", "level": "TOWNSHIP", "day": "2020-01-01", "first": None},
            {"under": "522324", "level": "VILLAGE", "first": 3, "after": "MjI="},  # a foreign cursor
            {"under": "52", "level": "VILLAGE", "first": 0},  # first out of range: BAD_USER_INPUT
            {"under": "52", "level": "HAMLET"},  # not an enum value: a variable error
            {"under": "nope", "level": "VILLAGE"},
        ],
    ),
    ("a station", STATION, [{"id": "TS-522324100"}, {"id": "GC-5223"}, {"id": "none"}]),
    (
        "aliases, __typename and literals",
        'query { a: division(code: "52") { __typename c: code rollup { staff } } '
        'b: division(code: "5223") { children(first: 1) { edges { node { code } } } } }',
        [{}],
    ),
    (
        "fragments and directives (left to graphql-core)",
        "query F($code: String!, $yes: Boolean!) { division(code: $code) { ...D "
        "name @include(if: $yes) } } fragment D on Division { code coverage { total } }",
        [{"code": "522324", "yes": True}, {"code": "522324", "yes": False}],
    ),
    (
        "a field asked twice under one key",
        'query { division(code: "52") { code code children { totalCount } children { totalCount } } }',
        [{}],
    ),
    (
        "several operations, one named",
        'query A { division(code: "52") { code } } query B { station(id: "GC-5223") { id } }',
        [{}],
    ),
]


def context(service: NetworkService, operation_name: str | None = None) -> GraphQLContext:
    admin = Principal("tester", Role.ADMIN, "*")
    return GraphQLContext(service, admin, "request-1", date(2024, 6, 30), operation_name)


def answer(result: Any) -> dict[str, Any]:
    """What a client would get from a result: its data and its formatted errors."""
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = sorted(
            (format_error(error, "request-1") for error in result.errors), key=lambda e: str(e)
        )
    return body


@pytest.mark.parametrize(("name", "query", "variables_list"), CASES, ids=[case[0] for case in CASES])
def test_the_fast_path_answers_as_strawberry_does(
    service: NetworkService, name: str, query: str, variables_list: list[dict[str, Any]]
) -> None:
    operation = "B" if name.startswith("several") else None
    for variables in variables_list:
        full = schema.execute_sync(
            query,
            variable_values=variables,
            context_value=context(service, operation),
            operation_name=operation,
        )
        fast = execute_known_query(query, variables, context(service, operation))
        assert fast is not None, "a validated query runs on the fast path"
        assert answer(fast) == answer(full), variables


def test_plain_documents_are_planned_and_the_others_are_not() -> None:
    graphql_schema = schema._schema
    assert plan_of(graphql_schema, parse(COVERAGE), None) is not None
    assert plan_of(graphql_schema, parse(GAPS), None) is not None
    assert plan_of(graphql_schema, parse(STATION), None) is not None
    for query, operation in [
        ('query { division(code: "52") { ...D } } fragment D on Division { code }', None),
        ('query ($y: Boolean!) { division(code: "52") { code @skip(if: $y) } }', None),
        ('query { division(code: "52") { code code } }', None),
        ("query { __schema { types { name } } }", None),
        ('mutation { closeStation(id: "S", on: "2024-01-01") { id } }', None),
        ('query A { division(code: "52") { code } } query B { division(code: "5") { code } }', None),
    ]:
        assert plan_of(graphql_schema, parse(query), operation) is None, query


def test_a_document_not_yet_validated_or_refused_is_left_to_strawberry(service: NetworkService) -> None:
    never_seen = 'query Unseen { division(code: "52") { code } }'
    assert execute_known_query(never_seen, None, context(service)) is None
    invalid = 'query { division(code: "52") { nope } }'
    schema.execute_sync(invalid, context_value=context(service))
    assert execute_known_query(invalid, None, context(service)) is None
    too_costly = (
        'query T($f: Int) { uncoveredDivisions(under: "52", level: VILLAGE, first: $f) { edges { node { '
        "children(first: $f) { edges { node { children(first: $f) { edges { node { code } } } } } } } } } }"
    )
    refused = schema.execute_sync(too_costly, variable_values={"f": 100}, context_value=context(service))
    assert refused.errors and refused.data is None
    assert execute_known_query(too_costly, {"f": 100}, context(service)) is None
    mutation = 'mutation { closeStation(id: "GC-5223", on: "2024-01-01") { id } }'
    assert execute_known_query(mutation, None, context(service)) is None
    assert PLANS.maxsize > 0


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        (COVERAGE, {"code": "522324", "day": "2021-07-01"}),
        (COVERAGE, {"code": "99"}),
        (GAPS, {"under": "52", "level": "VILLAGE", "day": "2024-01-01", "first": 2}),
        (STATION, {"id": "TS-522324100"}),
        (STATION, {"id": "none"}),
    ],
)
def test_the_planned_executor_answers_the_happy_path_itself(
    service: NetworkService, query: str, variables: dict[str, Any]
) -> None:
    plan = plan_of(schema._schema, parse(query), None)
    assert plan is not None
    data = run_plan(plan, schema._schema, variables, context(service), optimized_is_awaitable)
    full = schema.execute_sync(query, variable_values=variables, context_value=context(service))
    assert not full.errors
    assert data == full.data


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        (GAPS, {"under": "52", "level": "VILLAGE", "first": 0}),  # the resolver raises
        (COVERAGE, {"code": "52", "day": "2021-02-30"}),  # the variables do not coerce
    ],
)
def test_the_planned_executor_gives_up_on_anything_else(
    service: NetworkService, query: str, variables: dict[str, Any]
) -> None:
    plan = plan_of(schema._schema, parse(query), None)
    assert plan is not None
    assert run_plan(plan, schema._schema, variables, context(service), optimized_is_awaitable) is None
