"""Several `graph-service serve` processes on one store, as behind a load balancer (issue 9, item 5):
a write through one is seen through the other within a second, and of two updates of one station
with the same `expectedVersion`, one through each, exactly one wins and the other is a CONFLICT."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.network import DIVISIONS_CSV, STATIONS_CSV, token
from tests.support.servers import graphql, run_cli, serving
from tests.support.stores import StoreFactory

ADMIN = token("admin", "*")
CREATE = """mutation ($input: StationInput!) { createStation(input: $input) { id version } }"""
UPDATE = """mutation ($staff: Int!, $version: Int!) {
  updateStation(id: "TS-522324002", input: {staff: $staff}, expectedVersion: $version) { staff version }
}"""
STATION = "query ($id: ID!) { station(id: $id) { id staff version } }"


@pytest.fixture(name="two_servers")
def two_servers_fixture(store_factory: StoreFactory, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two servers on one seeded store (SQLite, then Neo4j)."""
    url = store_factory().url
    for kind, text in (("divisions", DIVISIONS_CSV), ("stations", STATIONS_CSV)):
        (tmp_path / f"{kind}.csv").write_text(text, encoding="utf-8")
        done = run_cli("seed", kind, str(tmp_path / f"{kind}.csv"), "--store", url)
        assert done.returncode == 0, done.stderr
    with serving(url, tmp_path / "a.log") as first, serving(url, tmp_path / "b.log") as second:
        yield first, second


def test_two_servers_on_one_store(two_servers: tuple[str, str]) -> None:
    """One test, so the servers start once per kind of store."""
    seen_through_the_other_within_a_second(*two_servers)
    exactly_one_of_two_conflicting_updates_wins(*two_servers)


def seen_through_the_other_within_a_second(first: str, second: str) -> None:
    station = {
        "id": "VR-522324002002",
        "name": "西街社区社会工作室",
        "level": "VILLAGE_ROOM",
        "divisionCode": "522324002002",
        "status": "OPERATING",
        "openedOn": "2023-01-01",
        "staff": 2,
    }
    created = graphql(first, CREATE, {"input": station}, bearer=ADMIN)
    assert created.json() == {"data": {"createStation": {"id": "VR-522324002002", "version": 1}}}
    written = time.monotonic()
    while True:
        answer = graphql(second, STATION, {"id": "VR-522324002002"}).json()
        if answer["data"]["station"] is not None:
            break
        assert time.monotonic() - written < 1, "the other server did not show the write within 1 s"
        time.sleep(0.01)
    assert answer["data"]["station"] == {"id": "VR-522324002002", "staff": 2, "version": 1}


def exactly_one_of_two_conflicting_updates_wins(first: str, second: str) -> None:
    for version in range(1, 6):
        results: dict[str, httpx.Response] = {}
        start = threading.Barrier(2)

        def update(
            base: str,
            staff: int,
            version: int = version,
            start: threading.Barrier = start,
            results: dict[str, httpx.Response] = results,
        ) -> None:
            start.wait()
            results[base] = graphql(base, UPDATE, {"staff": staff, "version": version}, bearer=ADMIN)

        threads = [
            threading.Thread(target=update, args=(base, staff))
            for base, staff in ((first, 10 * version + 1), (second, 10 * version + 2))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        bodies = [results[base].json() for base in (first, second)]
        winners = [body["data"]["updateStation"] for body in bodies if "errors" not in body]
        losers = [body["errors"][0]["extensions"]["code"] for body in bodies if "errors" in body]
        assert len(winners) == 1 and losers == ["CONFLICT"], bodies
        assert winners[0]["version"] == version + 1
        # Both servers agree on the winner before the next round.
        for base in (first, second):
            deadline = time.monotonic() + 1
            while graphql(base, STATION, {"id": "TS-522324002"}).json()["data"]["station"] != {
                "id": "TS-522324002",
                **winners[0],
            }:
                assert time.monotonic() < deadline, f"{base} did not show the winner within 1 s"
                time.sleep(0.01)
