"""Which operations count as quick reads (answered on the event loop, without a worker thread)."""

from __future__ import annotations

import pytest
from graphql import parse

from graph_service.entrypoints.graphql import MAX_QUICK_COST, is_quick_read

QUICK = [
    'query { division(code: "52") { code name coverage { level total covered rate } rollup { staff } } }',
    "query Q($c: String!, $d: Date!) { division(code: $c) { covered(asOf: $d) ancestors { code } } }",
    'query { station(id: "S1") { id version division { code parent { name } } } }',
    'query { a: division(code: "51") { ...F } b: division(code: "52") { ...F } } '
    "fragment F on Division { coverage { total covered } }",
]
TWO = 'query A { division(code: "52") { code } } query B { division(code: "52") { children { totalCount } } }'
NOT_QUICK = [
    ('query { division(code: "52") { children { totalCount } } }', None),
    ('query { division(code: "52") { stations { totalCount } } }', None),
    ('query { uncoveredDivisions(under: "52", level: TOWNSHIP) { totalCount } }', None),
    ('query { divisions(nameContains: "镇") { totalCount } }', None),
    ("query { __schema { types { name } } }", None),
    ('mutation { closeStation(id: "S1", on: "2024-01-01") { id } }', None),
    ('query { division(code: "52") { ...Missing } }', None),
    ('query A { division(code: "52") { code } } query B { division(code: "52") { code } }', None),
    (TWO, "B"),
]


@pytest.mark.parametrize("query", QUICK)
def test_lookups_and_binary_searches_are_quick(query: str) -> None:
    assert is_quick_read(parse(query), None)


@pytest.mark.parametrize(("query", "operation_name"), NOT_QUICK)
def test_lists_searches_introspection_and_writes_are_not(query: str, operation_name: str | None) -> None:
    assert not is_quick_read(parse(query), operation_name)


def test_a_named_quick_operation_among_several_is_quick() -> None:
    assert is_quick_read(parse(TWO), "A")


def test_a_fragment_fan_out_past_the_cost_bound_is_not_quick() -> None:
    fragments = " ".join(f"fragment F{i} on Division {{ ...F{i + 1} ...F{i + 1} }}" for i in range(12))
    query = f'query {{ division(code: "52") {{ ...F0 }} }} {fragments} fragment F12 on Division {{ code }}'
    assert MAX_QUICK_COST < 2**12
    assert not is_quick_read(parse(query), None)
