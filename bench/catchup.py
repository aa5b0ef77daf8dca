"""Another process's 50,000-row station import while the server is asked questions (issue 9's "no
stalls" targets): how long until the import is visible, and `/healthz` and read latency meanwhile.

    python -m bench.catchup [--scale 1.0] [--rows 50000] [--store sqlite|URL] [--work-dir DIR]
                            [--seeded FILE]

National network of `bench.generate`, minus `--rows` village rooms, seeded into a fresh store; a
server (`bench.serve app`) on it; two clients, one asking `/healthz` and one asking never-repeating
roll-ups (a random province on a random day), each one request at a time, for the whole run; then
`graph-service seed stations` of the held-back village rooms in another process. Visible = the
first answer that shows the import's last station, counted from the CLI's exit (just after its
commit). Prints the figures and writes them to bench/results/catchup-<store>.json.

Seeding the national network takes minutes; with `--seeded FILE` (SQLite only) a run copies the
seeded store from FILE instead, after seeding it there the first time (same scale and rows).
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from bench import generate
from bench.http import Server, percentile
from bench.seed import seed, stations_csv
from graph_service.domain.levels import StationLevel

RESULTS = Path(__file__).resolve().parent / "results"
STATION = "query ($id: ID!) { station(id: $id) { id } }"
ROLLUP = "query ($code: String!, $day: Date) { division(code: $code) { rollup(asOf: $day) { staff } } }"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.catchup", description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0, help="share of the 31 provinces (1.0)")
    parser.add_argument("--rows", type=int, default=50_000, help="village rooms in the import (50,000)")
    parser.add_argument("--store", default="sqlite", help="sqlite (a fresh file) or an empty Neo4j's URL")
    parser.add_argument("--work-dir", type=Path, default=None)
    parser.add_argument(
        "--seeded", type=Path, default=None, help="a seeded SQLite store to copy (made there if missing)"
    )
    args = parser.parse_args(argv)
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="graph-service-catchup-"))
    work.mkdir(parents=True, exist_ok=True)
    provinces = max(1, round(generate.PROVINCES * args.scale))
    divisions = list(generate.divisions(provinces=provinces))
    stations = list(generate.stations(provinces=provinces))
    rooms = [s for s in stations if s.level is StationLevel.VILLAGE_ROOM]
    held = set(random.Random(9).sample(range(len(rooms)), args.rows))
    imported = [room for n, room in enumerate(rooms) if n in held]
    imported_ids = {s.id for s in imported}
    base = [s for s in stations if s.id not in imported_ids]
    url = f"sqlite:///{work / 'store.db'}" if args.store == "sqlite" else args.store
    if args.seeded is not None and args.store == "sqlite" and args.seeded.exists():
        print(f"copying the seeded store {args.seeded} …", flush=True)
        _copy_sqlite(args.seeded, work / "store.db")
    else:
        print(f"seeding {len(divisions):,} divisions and {len(base):,} stations into {url} …", flush=True)
        seed(url, divisions, base)
        if args.seeded is not None and args.store == "sqlite":
            _copy_sqlite(work / "store.db", args.seeded)
    import_file = work / "import.csv"
    import_file.write_bytes(stations_csv(imported))
    codes = sorted({d.code for d in divisions if d.parent_code is None})
    last_id = imported[-1].id
    with Server(["app", "--store", url], name="catchup", log_dir=work) as server:
        result = _measure(server.url, url, import_file, codes, last_id)
    result["catch_ups"] = [  # the server's own account of each catch-up: wall and CPU time, by phase
        line.strip() for line in server.log_path.read_text().splitlines() if "caught up" in line
    ]
    result.update(store=args.store, rows=args.rows, divisions=len(divisions), stations=len(stations))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"catchup-{'sqlite' if args.store == 'sqlite' else 'neo4j'}.json"
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0


def _copy_sqlite(source: Path, target: Path) -> None:
    """Copy a SQLite store whole and consistent (its write-ahead log included), with SQLite's backup."""
    target.unlink(missing_ok=True)
    with sqlite3.connect(source) as reading, sqlite3.connect(target) as writing:
        reading.backup(writing)
    writing.close()
    reading.close()


def _measure(base: str, store_url: str, import_file: Path, codes: list[str], last_id: str) -> dict[str, Any]:
    stop = threading.Event()
    health: list[tuple[float, float]] = []
    reads: list[tuple[float, float]] = []
    seen_at: list[float] = []
    errors: list[str] = []

    def ask_health() -> None:
        with httpx.Client(base_url=base, timeout=60) as client:
            while not stop.is_set():
                started = time.monotonic()
                response = client.get("/healthz")
                health.append((started, time.monotonic() - started))
                if response.status_code != 200:
                    errors.append(f"/healthz {response.status_code}")
                time.sleep(0.005)

    def ask_reads() -> None:
        rng = random.Random(1)
        with httpx.Client(base_url=base, timeout=60) as client:
            while not stop.is_set():
                day = f"20{rng.randint(15, 25)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
                variables = {"code": rng.choice(codes), "day": day}
                started = time.monotonic()
                response = client.post("/graphql", json={"query": ROLLUP, "variables": variables})
                reads.append((started, time.monotonic() - started))
                if response.status_code != 200 or "errors" in response.json():
                    errors.append(response.text[:200])
                if not seen_at:
                    found = client.post("/graphql", json={"query": STATION, "variables": {"id": last_id}})
                    if found.json()["data"]["station"] is not None:
                        seen_at.append(time.monotonic())

    threads = [threading.Thread(target=ask_health), threading.Thread(target=ask_reads)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(3)
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "graph_service.entrypoints.cli", "seed", "stations", str(import_file)]
            + ["--store", store_url],
            capture_output=True,
            text=True,
        )
        ended = time.monotonic()
        if done.returncode != 0:
            raise RuntimeError(f"the import failed: {done.stderr}")
        deadline = ended + 60
        while not seen_at and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(2)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    window = [(at, took) for at, took in health if at >= started]
    read_window = [(at, took) for at, took in reads if at >= started]
    return {
        "cli_seconds": ended - started,
        "visible_after_cli_exit_s": seen_at[0] - ended if seen_at else None,
        "healthz": _stats([took for _, took in window]),
        "reads": _stats([took for _, took in read_window]),
        "errors": errors[:10],
    }


def _stats(samples: list[float]) -> dict[str, Any]:
    return {
        "n": len(samples),
        "p50_ms": round(percentile(samples, 0.5) * 1000, 2),
        "p99_ms": round(percentile(samples, 0.99) * 1000, 2),
        "max_ms": round(max(samples) * 1000, 2) if samples else None,
    }


if __name__ == "__main__":
    sys.exit(main())
