"""The schema itself: the committed SDL, spec §5's names and types, the enum mirrors, cursors, cost."""

from __future__ import annotations

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    build_schema,
    parse,
)

from graph_service.entrypoints import graphql as graphql_schema
from graph_service.entrypoints.graphql import MAX_COST, decode_cursor, encode_cursor, sdl
from graph_service.entrypoints.graphql.rules import estimated_cost
from graph_service.entrypoints.graphql.scalars import ENUM_MIRRORS
from graph_service.service_layer.errors import BadUserInput
from tests.support.paths import REPO

SCHEMA_FILE = REPO / "schema" / "schema.graphql"

# Spec §5's block (long lines wrapped), plus stubs for the two inputs it names but does not spell out.
SPEC_SDL = """
scalar Date
enum DivisionLevel { PROVINCE CITY COUNTY TOWNSHIP VILLAGE }
enum StationLevel { GUIDANCE_CENTRE GENERAL_STATION TOWNSHIP_STATION VILLAGE_ROOM }
enum StationStatus { PLANNED BUILDING OPERATING CLOSED }

type Query {
  division(code: String!): Division
  station(id: ID!): Station
  uncoveredDivisions(under: String!, level: DivisionLevel!, asOf: Date, first: Int, after: String):
    DivisionConnection!
  divisions(nameContains: String!, level: DivisionLevel, under: String, first: Int, after: String):
    DivisionConnection!
}
type Division {
  code: String!  name: String!  level: DivisionLevel!
  parent: Division
  ancestors: [Division!]!                     # root first
  children(first: Int, after: String): DivisionConnection!
  covered(asOf: Date): Boolean
  coverage(asOf: Date): [LevelCoverage!]!     # one entry per level below, top-down
  rollup(asOf: Date): Rollup!
  stations(first: Int, after: String): StationConnection!   # sitting in this division itself
}
type LevelCoverage { level: DivisionLevel!  total: Int!  covered: Int!  rate: Float }
type Rollup { guidanceCentres: Int!  generalStations: Int!  townshipStations: Int!  villageRooms: Int!
              staff: Int!  certifiedStaff: Int!  volunteers: Int! }
type Station { id: ID!  name: String!  level: StationLevel!  status: StationStatus!
               division: Division!  parent: Station  openedOn: Date  closedOn: Date
               staff: Int!  certifiedStaff: Int!  volunteers: Int!  version: Int! }
type DivisionConnection { totalCount: Int!  edges: [DivisionEdge!]!  pageInfo: PageInfo! }
type DivisionEdge { cursor: String!  node: Division! }
type StationConnection { totalCount: Int!  edges: [StationEdge!]!  pageInfo: PageInfo! }
type StationEdge { cursor: String!  node: Station! }
type PageInfo { hasNextPage: Boolean!  endCursor: String }

type Mutation {
  createStation(input: StationInput!): Station!
  updateStation(id: ID!, input: StationPatch!, expectedVersion: Int): Station!
  closeStation(id: ID!, on: Date!): Station!
  importStations(csv: String!, dryRun: Boolean): ImportReport!
}
type ImportReport { applied: Boolean!  created: Int!  updated: Int!  unchanged: Int!
                   errors: [ImportError!]! }
type ImportError { row: Int!  column: String  message: String! }

input StationInput { id: ID! }
input StationPatch { name: String }
"""

STATION_CSV_FIELDS = [
    "id",
    "name",
    "level",
    "divisionCode",
    "parentId",
    "status",
    "openedOn",
    "closedOn",
    "staff",
    "certifiedStaff",
    "volunteers",
]


@pytest.fixture(scope="module")
def ours() -> GraphQLSchema:
    return build_schema(sdl())


def test_committed_schema_matches_the_code() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == sdl(), (
        "schema/schema.graphql is out of date: regenerate it with `graph-service schema > "
        "schema/schema.graphql` (or write graph_service.entrypoints.graphql.sdl() to it)"
    )


def test_every_name_and_type_of_the_spec_is_served(ours: GraphQLSchema) -> None:
    spec = build_schema(SPEC_SDL)
    for name, wanted in spec.type_map.items():
        if name.startswith("__") or name in {"StationInput", "StationPatch"}:
            continue
        have = ours.get_type(name)
        assert have is not None and type(have) is type(wanted), name
        if isinstance(wanted, GraphQLEnumType):
            assert set(have.values) == set(wanted.values), name
        if isinstance(wanted, GraphQLObjectType):
            for field_name, field in wanted.fields.items():
                assert field_name in have.fields, f"{name}.{field_name}"
                mine = have.fields[field_name]
                assert str(mine.type) == str(field.type), f"{name}.{field_name}"
                for arg_name, arg in field.args.items():
                    assert arg_name in mine.args, f"{name}.{field_name}({arg_name})"
                    assert str(mine.args[arg_name].type) == str(arg.type), f"{name}.{field_name}({arg_name})"
                extra_required = [
                    a
                    for a, v in mine.args.items()
                    if a not in field.args and isinstance(v.type, GraphQLNonNull)
                ]
                assert not extra_required, f"{name}.{field_name} needs more arguments than the spec"


def test_the_dated_histories_of_a_station_are_served(ours: GraphQLSchema) -> None:
    """Spec §6's placements, and the dated reporting lines beside them (issue 12), are additive."""
    additions = build_schema(
        """
        scalar Date
        type Division { code: String! }
        type Placement { division: Division!  from: Date  to: Date }
        type ReportingLine { parent: Station  from: Date  to: Date }
        type Station { placements: [Placement!]!  reportingLines: [ReportingLine!]!  parent: Station }
        type Query { station: Station }
        """
    )
    for name in ("Placement", "ReportingLine", "Station"):
        wanted, have = additions.get_type(name), ours.get_type(name)
        assert isinstance(wanted, GraphQLObjectType) and isinstance(have, GraphQLObjectType), name
        for field_name, field in wanted.fields.items():
            assert str(have.fields[field_name].type) == str(field.type), f"{name}.{field_name}"


def test_station_input_and_patch_carry_the_csv_fields(ours: GraphQLSchema) -> None:
    station_input = ours.get_type("StationInput")
    patch = ours.get_type("StationPatch")
    assert isinstance(station_input, GraphQLInputObjectType) and isinstance(patch, GraphQLInputObjectType)
    assert list(station_input.fields) == STATION_CSV_FIELDS
    assert list(patch.fields) == STATION_CSV_FIELDS[1:]
    required = {name for name, f in station_input.fields.items() if str(f.type).endswith("!")}
    assert required == {"id", "name", "level", "divisionCode", "status"}
    assert not any(str(f.type).endswith("!") for f in patch.fields.values())


def test_graphql_enums_mirror_the_domain_enums() -> None:
    for graphql_enum, domain_enum in ENUM_MIRRORS:
        assert [(m.name, m.value) for m in graphql_enum] == [(m.name, m.value) for m in domain_enum]
        assert hasattr(graphql_enum, "__strawberry_definition__")
        assert not hasattr(domain_enum, "__strawberry_definition__"), "the domain enum was decorated"


def test_cursors_round_trip_and_are_checked() -> None:
    for key in ("52", "522324002001", "TS-522324002", "站:with:colons", "é"):
        cursor = encode_cursor("division", key)
        assert "=" not in cursor and key not in cursor
        assert decode_cursor("division", cursor) == key
    assert decode_cursor("division", None) is None
    for bad in ("", "!!", encode_cursor("station", "x"), "ZGl2aXNpb246"):
        with pytest.raises(BadUserInput):
            decode_cursor("division", bad)


def test_estimated_cost_multiplies_page_sizes_through_fragments_and_variables() -> None:
    document = parse(
        """
        query Q($n: Int) {
          division(code: "52") { code children(first: $n) { edges { node { ...F } } } }
        }
        fragment F on Division { code stations(first: 3) { totalCount } }
        """
    )
    # division, code, children (x n), edges, node, code, stations (x 3n), totalCount
    n = 10
    assert estimated_cost(document, "Q", {"n": n}) == 1 + 1 + n * 4 + n * 3 * 2
    assert estimated_cost(document, "Q", {}) == 2 + 100 * 4 + 300 * 2
    assert estimated_cost(document, "Other", {}) == 0


def test_estimated_cost_costs_each_fragment_once() -> None:
    fragments = "\n".join(
        f"fragment F{i} on Division {{ children {{ edges {{ node {{ ...F{i + 1} ...F{i + 1} }} }} }} }}"
        for i in range(20)
    )
    last = "fragment F20 on Division { code }"
    document = parse(f'{{ division(code: "52") {{ ...F0 }} }} {fragments} {last}')
    # Expanded, this document has 2**20 paths, each 20 pages deep: the exact figure, without expanding.
    fragment = 1  # F20: code
    for _ in range(20):  # Fi: children (x100) { edges { node { two spreads of F(i+1) } } }
        fragment = 100 * (3 + 2 * fragment)
    assert estimated_cost(document, None, {}) == 1 + fragment
    assert estimated_cost(document, None, {}) > MAX_COST


def test_the_limits_are_sane() -> None:
    assert graphql_schema.MAX_PAGE_SIZE == 100
    assert graphql_schema.MAX_DEPTH >= 10
    assert graphql_schema.MAX_ALIASES >= 10
