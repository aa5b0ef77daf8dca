"""One list of station fields (`graph_service.domain.station_fields`): every place that spells the
fields out (the record, the stores' columns and Cypher, the row conversion, the CSV header, the audit
row, the GraphQL input, patch and type, the demo generator) agrees with it."""

from __future__ import annotations

import dataclasses
import re
import sqlite3
from datetime import date
from pathlib import Path

from graphql import GraphQLInputObjectType, GraphQLNonNull, GraphQLObjectType, build_schema

from graph_service.adapters import neo4j_cypher, neo4j_rows, sqlite_schema, sqlite_store
from graph_service.adapters.rows import iso_date, station_from_row
from graph_service.domain.audit import row_of_station
from graph_service.domain.levels import StationLevel, StationStatus
from graph_service.domain.model import Station
from graph_service.domain.station_fields import (
    DATE_COLUMNS,
    STATION_COLUMNS,
    STATION_FIELDS,
    STORED_STATION_COLUMNS,
    FieldKind,
    csv_values,
    stored_values,
)
from graph_service.domain.validation import read_csv_rows, validate_stations
from graph_service.entrypoints.graphql import sdl
from tests.support.paths import REPO

STATION = Station(
    id="GS-1",
    name="晴隆县社会工作总站",
    level=StationLevel.GENERAL_STATION,
    division_code="522324",
    parent_id="GC-1",
    status=StationStatus.CLOSED,
    opened_on=date(2019, 3, 1),
    closed_on=date(2024, 5, 6),
    staff=7,
    certified_staff=3,
    volunteers=11,
    version=4,
)


def test_the_record_has_the_fields_in_the_list_order() -> None:
    # the stored row's columns, then the placement and reporting histories (spec §6), stored beside the row
    assert tuple(field.name for field in dataclasses.fields(Station)) == (
        *STORED_STATION_COLUMNS,
        "placements",
        "reporting_lines",
    )
    assert STATION_COLUMNS == (
        "id",
        "name",
        "level",
        "division_code",
        "parent_id",
        "status",
        "opened_on",
        "closed_on",
        "staff",
        "certified_staff",
        "volunteers",
    )  # fmt: skip  (spec §2's header)


def test_a_stored_row_reads_back_as_the_same_station() -> None:
    assert station_from_row(stored_values(STATION), iso_date) == STATION
    blank = dataclasses.replace(
        STATION, parent_id=None, status=StationStatus.PLANNED, opened_on=None, closed_on=None
    )
    assert station_from_row(stored_values(blank), iso_date) == blank


def test_the_sqlite_table_and_statements_hold_every_field(tmp_path: Path) -> None:
    store = sqlite_store.SqliteStore(f"sqlite:///{tmp_path / 's.db'}")
    store.close()
    with sqlite3.connect(tmp_path / "s.db") as conn:
        table = [row[1] for row in conn.execute("PRAGMA table_info(stations)")]
    assert table == [*STORED_STATION_COLUMNS, "changed_in"]
    upsert = sqlite_schema.UPSERT_STATION
    assert upsert.count("?") == len(STORED_STATION_COLUMNS) + 1
    for column in STORED_STATION_COLUMNS[1:]:
        assert f"{column} = excluded.{column}" in upsert
    assert len(sqlite_schema.station_row(STATION, 9)) == len(STORED_STATION_COLUMNS) + 1


def test_the_cypher_reads_and_writes_every_field_at_its_place_in_the_row() -> None:
    links = {"division_code": "d.code", "parent_id": "p.id"}
    # A stored Date comes back as ISO text (the driver's own Date objects are slow to make).
    dates = {c: f"CASE WHEN s.{c} IS :: DATE THEN toString(s.{c}) ELSE s.{c} END" for c in DATE_COLUMNS}
    # the row's columns, then the placement history (spec §6: the SITS_IN links with dates)
    projection = (
        "["
        + ", ".join(links.get(c) or dates.get(c) or f"s.{c}" for c in STORED_STATION_COLUMNS)
        + ", [(s)-[h:SITS_IN]"
    )
    assert projection in neo4j_cypher.STATION_PAGE
    assert projection in neo4j_cypher.STATIONS_CHANGED
    for index, column in enumerate(STORED_STATION_COLUMNS):
        if column in links:
            for statement in (neo4j_cypher.CREATE_STATIONS, neo4j_cypher.WRITE_STATION_LINKS):
                assert f"row[{index}]" in statement, column
        elif column != "id":
            assert f"{column}: row[{index}]" in neo4j_cypher.CREATE_STATIONS, column
            assert f"s.{column} = row[{index}]" in neo4j_cypher.WRITE_STATION_NODES, column
    row = neo4j_rows.station_row(STATION)
    assert row[STORED_STATION_COLUMNS.index("opened_on")] == STATION.opened_on  # a date, not text
    assert len(row) == len(STORED_STATION_COLUMNS)


def test_the_csv_header_and_a_row_of_every_field_round_trip() -> None:
    text = ",".join(STATION_COLUMNS) + "\n" + ",".join(csv_values(STATION)) + "\n"
    rows, problems = read_csv_rows(text, STATION_COLUMNS)
    assert problems == []
    assert rows[0][1] == dict(zip(STATION_COLUMNS, csv_values(STATION), strict=True))
    parsed, problems = validate_stations(rows, _NetworkWith())
    assert problems == []
    assert parsed == [dataclasses.replace(STATION, version=1)]


def test_the_audit_row_and_the_demo_file_use_the_list() -> None:
    assert tuple(row_of_station(STATION)) == STATION_COLUMNS
    header = (REPO / "seed" / "stations-guizhou-demo.csv").read_text(encoding="utf-8").splitlines()[0]
    assert tuple(header.split(",")) == STATION_COLUMNS
    script = (REPO / "seed" / "make_demo_stations.py").read_text(encoding="utf-8")
    assert "from graph_service.domain.station_fields import STATION_COLUMNS" in script
    assert not re.search(r'"certified_staff",', script), "the generator spells the header out again"


def test_the_graphql_input_patch_and_type_carry_every_field() -> None:
    schema = build_schema(sdl())
    station_input, patch, station = (schema.get_type(n) for n in ("StationInput", "StationPatch", "Station"))
    assert isinstance(station_input, GraphQLInputObjectType) and isinstance(patch, GraphQLInputObjectType)
    assert isinstance(station, GraphQLObjectType)
    assert list(station_input.fields) == [field.graphql_name for field in STATION_FIELDS]
    assert list(patch.fields) == [field.graphql_name for field in STATION_FIELDS[1:]]
    required = {name for name, f in station_input.fields.items() if isinstance(f.type, GraphQLNonNull)}
    assert required == {field.graphql_name for field in STATION_FIELDS if field.required}
    assert not any(isinstance(f.type, GraphQLNonNull) for f in patch.fields.values())
    for field in STATION_FIELDS:  # the output type names its links by what they lead to
        name = {FieldKind.DIVISION: "division", FieldKind.STATION: "parent"}.get(
            field.kind, field.graphql_name
        )
        assert name in station.fields, name
        nullable = not isinstance(station.fields[name].type, GraphQLNonNull)
        assert nullable == field.nullable, name


class _NetworkWith:
    """Just enough of a stored network for `STATION` to be placed: its division, its parent."""

    def division(self, code: str) -> object:
        from graph_service.domain.levels import DivisionLevel
        from graph_service.domain.model import Division

        levels = {"52": DivisionLevel.PROVINCE, "5223": DivisionLevel.CITY, "522324": DivisionLevel.COUNTY}
        parent = {"5223": "52", "522324": "5223"}.get(code)
        return Division(code, f"division {code}", levels[code], parent) if code in levels else None

    def station(self, station_id: str) -> Station | None:
        if station_id != "GC-1":
            return None
        return Station("GC-1", "中心", StationLevel.GUIDANCE_CENTRE, "5223")

    def stations_reporting_to(self, station_id: str) -> list[Station]:
        return []

    def stations_below(self, code: str) -> list[Station]:
        return []
