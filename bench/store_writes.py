"""Time a store's bulk writes alone: `upsert_divisions`, then `upsert_stations`, of the generated
network (bench.generate) into an empty store, with no file parsing or validation around them.

    python -m bench.store_writes bolt://127.0.0.1:7688 [--provinces N] [--batch-size N] [--wipe]

`--wipe` first deletes every node of that Neo4j (constraints and indexes stay): never point it at a
database you care about.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from typing import Any

from bench.generate import PROVINCES, divisions, stations
from graph_service.bootstrap import open_store
from graph_service.ports import DEFAULT_BATCH_SIZE
from graph_service.service_layer.settings import Settings


def wipe_neo4j(url: str) -> None:
    """Delete every node and relationship of the Neo4j at `url`, in batches."""
    from neo4j import GraphDatabase

    with GraphDatabase.driver(url) as driver, driver.session() as session:
        session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()


def measure(url: str, provinces: int = PROVINCES, batch_size: int = DEFAULT_BATCH_SIZE) -> dict[str, Any]:
    """Write the network of `provinces` provinces into the (empty) store at `url`; return the rates."""
    all_divisions = list(divisions(provinces=provinces))
    all_stations = list(stations(provinces=provinces))
    store = open_store(replace(Settings.from_env(store_url=url), batch_size=batch_size))
    try:
        store.ping()
        started = time.perf_counter()
        store.upsert_divisions(all_divisions)
        division_s = time.perf_counter() - started
        started = time.perf_counter()
        store.upsert_stations(all_stations)
        station_s = time.perf_counter() - started
    finally:
        store.close()
    return {
        "provinces": provinces,
        "batch_size": batch_size,
        "divisions": len(all_divisions),
        "division_s": round(division_s, 2),
        "divisions_per_s": round(len(all_divisions) / division_s),
        "stations": len(all_stations),
        "station_s": round(station_s, 2),
        "stations_per_s": round(len(all_stations) / station_s),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="the store URL (bolt://… or sqlite:///…)")
    parser.add_argument("--provinces", type=int, default=PROVINCES)
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    parser.add_argument("--wipe", action="store_true", help="delete every node of that Neo4j first")
    args = parser.parse_args(argv)
    if args.wipe:
        wipe_neo4j(args.url)
    print(json.dumps(measure(args.url, args.provinces, args.batch_size)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
