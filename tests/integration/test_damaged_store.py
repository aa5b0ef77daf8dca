"""A damaged store never bricks the service (issue 9, spec §7), on both stores.

Rows that today's rules refuse are written straight into the store (with sqlite3, or with Cypher), as
an older version or a hand edit would leave them. The engine loads what is valid and lists the rest;
the service starts and serves; /readyz and `graph-service check` list every problem; a corrected
import replaces the bad rows. Also: sums are exact past any fixed width, and the engine never
disagrees with the store after a write, even when applying it fails.
"""

from __future__ import annotations

import sqlite3
from datetime import date

import pytest

from graph_service.entrypoints import cli
from graph_service.entrypoints.app import create_app
from graph_service.service_layer.auth import Principal
from graph_service.service_layer.services import NetworkService
from graph_service.service_layer.syncing import load_engine
from tests.support.damage import damage
from tests.support.network import (
    STATION_HEADER,
    app_client,
    assert_engine_agrees_with_store,
    settings_for,
    token,
)
from tests.support.stores import neo4j_auth

BAD_KEYS = {
    ("station", "VR-HUGE"),
    ("station", "VR-BADDATE"),
    ("station", "VR-ORPHAN"),
    ("division", "522324002009"),
    ("station", "VR-DEP"),
}
CORRECTED_DIVISIONS = "code,name,level,parent_code\n522324002009,新社区,village,522324002\n"
CORRECTED_STATIONS = STATION_HEADER + (
    "VR-HUGE,大室,village_room,522324002002,TS-522324002,operating,2023-01-01,,5,0,0\n"
    "VR-BADDATE,坏日室,village_room,522324002002,TS-522324002,operating,2023-02-01,,1,0,0\n"
    "VR-ORPHAN,孤室,village_room,522324002002,TS-522324002,operating,2023-03-01,,1,0,0\n"
    "VR-DEP,新室,village_room,522324002009,TS-522324002,operating,2023-04-01,,1,0,0\n"
)


@pytest.fixture(name="damaged")
def damaged_fixture(service: NetworkService) -> NetworkService:
    """The seeded store, damaged by hand, and a service freshly started on it."""
    damage(service.store)
    return NetworkService(service.store, load_engine(service.store), service.settings)


def test_the_engine_loads_what_is_valid_and_lists_the_rest(damaged: NetworkService) -> None:
    engine = damaged.engine
    assert {(problem.kind, problem.key) for problem in engine.problems} == BAD_KEYS
    by_key = {problem.key: problem for problem in engine.problems}
    assert by_key["VR-HUGE"].column == "staff" and "1,000,000" in by_key["VR-HUGE"].message
    assert by_key["522324002009"].column == "parent_code"
    assert "522324002009" in by_key["VR-DEP"].message
    for key in ("VR-HUGE", "VR-BADDATE", "VR-ORPHAN", "VR-DEP"):
        assert engine.station(key) is None
    assert engine.division("522324002009") is None
    rollup = engine.rollup("522324", date(2024, 1, 1))
    assert (rollup.village_rooms, rollup.staff) == (1, 8)


@pytest.mark.anyio
async def test_the_service_serves_and_readyz_lists_the_problems(damaged: NetworkService) -> None:
    async with app_client(create_app(damaged)) as client:
        ready = await client.get("/readyz")
        assert ready.status_code == 200
        body = ready.json()
        assert body["status"] == "ready" and body["storeProblems"] == len(BAD_KEYS)
        assert {(p["kind"], p["key"]) for p in body["problems"]} == BAD_KEYS
        answer = await client.post(
            "/graphql", json={"query": '{ division(code: "522324") { rollup { staff } } }'}
        )
        assert answer.json() == {"data": {"division": {"rollup": {"staff": 8}}}}


@pytest.mark.anyio
async def test_a_corrected_import_replaces_the_bad_rows(damaged: NetworkService) -> None:
    admin = token("admin", "*")
    async with app_client(create_app(damaged)) as client:
        for query, csv in (
            (
                "mutation ($csv: String!) { importDivisions(csv: $csv) { applied errors { message } } }",
                CORRECTED_DIVISIONS,
            ),
            (
                "mutation ($csv: String!) "
                "{ importStations(csv: $csv) { applied created updated errors { message } } }",
                CORRECTED_STATIONS,
            ),
        ):
            response = await client.post(
                "/graphql",
                json={"query": query, "variables": {"csv": csv}},
                headers={"Authorization": f"Bearer {admin}"},
            )
            body = response.json()
            assert "errors" not in body, body
            report = next(iter(body["data"].values()))
            assert report["applied"] and report["errors"] == [], report
        assert report["updated"] == 4 and report["created"] == 0
        ready = (await client.get("/readyz")).json()
        assert ready["storeProblems"] == 0
    assert damaged.engine.station("VR-HUGE").staff == 5
    assert damaged.engine.rollup("522324", date(2024, 1, 1)).village_rooms == 5
    assert_engine_agrees_with_store(damaged)


def test_check_lists_every_problem_then_passes_after_a_corrected_import(
    damaged: NetworkService, tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = damaged.store.url
    assert cli.main(["check", "--store", url]) == 1
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines) == len(BAD_KEYS)
    for kind, key in BAD_KEYS:
        assert any(line.startswith(f"{kind} {key}") for line in lines), out
    (tmp_path / "d.csv").write_text(CORRECTED_DIVISIONS, encoding="utf-8")
    (tmp_path / "s.csv").write_text(CORRECTED_STATIONS, encoding="utf-8")
    assert cli.main(["seed", "divisions", str(tmp_path / "d.csv"), "--store", url]) == 0
    assert cli.main(["seed", "stations", str(tmp_path / "s.csv"), "--store", url]) == 0
    capsys.readouterr()
    assert cli.main(["check", "--store", url]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and "no problems" in captured.err


def test_check_of_a_sound_store_exits_0(service: NetworkService, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["check", "--store", service.store.url]) == 0
    assert "no problems (17 divisions, 6 stations)" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("column", "sql_value", "cypher_value"),
    [
        ("staff", "2147483647", "2147483647"),
        ("opened_on", "'not-a-date'", "'not-a-date'"),
        ("staff", "X'0102'", "'two'"),  # SQLite: a BLOB, which its catch-up's JSON cannot hold
    ],
)
def test_bad_rows_written_by_another_process_while_serving_are_left_out(
    service: NetworkService, column: str, sql_value: str, cypher_value: str
) -> None:
    """Catching up with a change the engine cannot apply (it breaks a rule, or cannot even be read as
    a record) rebuilds from the store instead of failing every later request."""
    version = service.store.data_version()
    if service.store.url.startswith("sqlite"):
        with sqlite3.connect(service.store.path) as conn:  # type: ignore[attr-defined]
            conn.execute(
                f"UPDATE stations SET {column} = {sql_value}, changed_in = ? WHERE id = 'TS-522324002'",
                (version + 1,),
            )
            conn.execute("UPDATE meta SET value = ? WHERE key = 'data_version'", (version + 1,))
    else:
        from neo4j import GraphDatabase

        with (
            GraphDatabase.driver(service.store.url, auth=neo4j_auth()) as driver,
            driver.session() as session,
        ):
            session.run(
                "MATCH (s:Station {id: 'TS-522324002'}), (m:Meta {key: 'data'}) "
                f"SET s.{column} = {cypher_value}, s.changed_in = m.version + 1, m.version = m.version + 1"
            ).consume()
    service.refresh(force=True)
    keys = {problem.key for problem in service.engine.problems}
    assert keys == {"TS-522324002", "VR-522324002001"}  # the room reports to the station left out
    assert service.engine.station("TS-522324002") is None
    assert service.engine.rollup("522324", date(2024, 1, 1)).staff == 4
    service.refresh(force=True)  # and again: nothing new, nothing fails
    assert service.engine.version == service.store.data_version()


def test_the_engine_is_rebuilt_when_applying_a_committed_write_fails(
    service: NetworkService, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_apply(changes: object) -> None:
        raise RuntimeError("applying failed half way")

    monkeypatch.setattr(service.engine, "apply", broken_apply)
    report = service.import_stations(
        Principal.local_admin(),
        STATION_HEADER + "VR-NEW,新室,village_room,522324002002,TS-522324002,operating,2023-01-01,,2,0,0\n",
    )
    assert report.applied
    monkeypatch.undo()
    assert service.engine.station("VR-NEW") is not None
    assert_engine_agrees_with_store(service)


def test_a_store_whose_sums_pass_int_max_is_reported(tmp_path) -> None:
    from graph_service.bootstrap import open_store
    from graph_service.service_layer.settings import Settings

    store = open_store(Settings.from_env(store_url=f"sqlite:///{tmp_path / 'big.db'}"))
    try:
        service = NetworkService(store, load_engine(store), settings_for(store.url))
        from tests.support.network import seed

        seed(service)
        with sqlite3.connect(store.path) as conn:  # type: ignore[attr-defined]
            conn.executemany(
                "INSERT INTO stations VALUES (?, '室', 'village_room', '522324002002', 'TS-522324002', "
                "'operating', '2023-01-01', NULL, 1000000, 0, 0, 1, 0)",
                [(f"VR-{n}",) for n in range(2_148)],
            )
        engine = load_engine(store)
        assert {(p.key, p.column) for p in engine.problems} == {
            (code, "staff") for code in ("52", "5223", "522324", "522324002", "522324002002")
        }
        assert engine.rollup("52", date(2024, 1, 1)).staff == 2_148_000_000 + 14  # exact, past 2^31
    finally:
        store.close()
