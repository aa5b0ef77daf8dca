"""A second service process catching up after another process applied an edition (spec §6, issue 9's
several processes on one store), on SQLite and Neo4j: once it refreshes, it answers exactly as a
service freshly loaded from the store (validity, names, successors both ways, placements, coverage and
roll-ups before and after the edition's day, retired divisions), whether it caught up after each
write or once after all of them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from graph_service.bootstrap import open_service
from graph_service.service_layer.auth import Principal
from graph_service.service_layer.editions import apply_stored_edition
from graph_service.service_layer.services import NetworkService
from tests.support.editions import (
    D2020,
    D2021,
    D2022,
    DIVISIONS_2020,
    DIVISIONS_2021,
    STATIONS,
    SUCCESSORS_2021,
    assert_answers_like_a_fresh_load,
    edition_args,
)
from tests.support.network import settings_for
from tests.support.servers import run_cli
from tests.support.stores import StoreFactory

ADMIN = Principal.local_admin()
# 2022: 双水街道 re-coded again (a chain of successors), its village with it.
DIVISIONS_2022 = DIVISIONS_2021.replace("520204002", "520204003")
SUCCESSORS_2022 = """\
old_code,new_code
520204002,520204003
520204002001,520204003001
"""
# Listed with today's codes: opened before their divisions existed (counted in the predecessors then).
TODAYS_CODES = """\
id,name,level,division_code,parent_id,status,opened_on,closed_on,staff,certified_staff,volunteers
GS-520204,水城区社会工作总站,general_station,520204,GC-5202,operating,2019-03-01,,3,1,4
VR-520204002001,新村社区社会工作室,village_room,520204002001,TS-520221001,operating,2020-08-01,,1,0,2
TS-520111012,党武街道社会工作服务站,township_station,520111012,,closed,2020-01-02,2022-01-01,1,1,1
"""


@pytest.fixture
def followers(store_factory: StoreFactory) -> Iterator[tuple[NetworkService, NetworkService]]:
    """Two services on a store (SQLite, then Neo4j) holding the 2020 edition and the stations on it."""
    url = store_factory().url
    writer = open_service(settings_for(url))
    try:
        assert apply_stored_edition(writer, ADMIN, DIVISIONS_2020, D2020).applied
        assert writer.import_stations(ADMIN, STATIONS).applied
    finally:
        writer.close()
    first, second = open_service(settings_for(url)), open_service(settings_for(url))
    try:
        yield first, second
    finally:
        first.close()
        second.close()


def seed(url: str, *args: str) -> None:
    """Run `graph-service seed ARGS --store URL` in another process (it must succeed)."""
    done = run_cli("seed", *args, "--store", url)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_follower_answers_like_a_fresh_load_after_an_edition(
    followers: tuple[NetworkService, NetworkService], tmp_path: Path
) -> None:
    step_by_step, at_once = followers
    url = step_by_step.store.url
    table, successors, stations = (tmp_path / name for name in ("d2021.csv", "s.csv", "stations.csv"))
    table.write_text(DIVISIONS_2021, encoding="utf-8")
    successors.write_text(SUCCESSORS_2021, encoding="utf-8")
    stations.write_text(TODAYS_CODES, encoding="utf-8")

    seed(url, *edition_args(table, D2021, successors))
    assert step_by_step.refresh(force=True)
    moved = step_by_step.engine.station("TS-520221111")
    assert moved is not None and moved.division_code == "520201104" and len(moved.placements) == 2
    retired = step_by_step.engine.division("520221111")
    assert retired is not None and retired.valid_to == D2021
    assert_answers_like_a_fresh_load(step_by_step)

    seed(url, "stations", str(stations))
    assert step_by_step.refresh(force=True)
    assert_answers_like_a_fresh_load(step_by_step)
    # Before 2021-10-31 the village room listed under 520204002001 counts in its predecessor.
    assert step_by_step.engine.rollup("520221001001", date(2021, 1, 1)).village_rooms == 1
    assert step_by_step.engine.rollup("520204002001", date(2021, 1, 1)).village_rooms == 0

    table.write_text(DIVISIONS_2022, encoding="utf-8")
    successors.write_text(SUCCESSORS_2022, encoding="utf-8")
    seed(url, *edition_args(table, D2022, successors))
    assert step_by_step.refresh(force=True)
    assert_answers_like_a_fresh_load(step_by_step)
    twice = step_by_step.engine.station("TS-520221001")
    assert twice is not None and [p.division_code for p in twice.placements] == [
        "520221001",
        "520204002",
        "520204003",
    ]

    assert at_once.refresh(force=True)
    assert_answers_like_a_fresh_load(at_once)
