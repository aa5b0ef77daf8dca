"""What a server's background traffic to its store costs, per operation, in one process:

    python -m bench.store_traffic URL [--seed PROVINCES] [--ops N] [--neo4j-pid PID] [--profile FILE]
    python -m bench.store_traffic URL --compare DIR [--rounds 3] ...

The traffic a worker of the load run (`python -m bench load`) has with its store besides the reads it
answers from memory: the follower's poll of the data version (every 0.1 s), its catch-up with a
station another handle (another process) wrote, and single writes through the service
(`createStation`, then `updateStation` of it with its expected version, as the load run's writer
does). For each: wall time, this process's CPU (the driver runs in the calling thread) and, on a
local Neo4j, the server's CPU (utime + stime of its JVM from /proc, sampled at 100 Hz, so read it
over hundreds of operations), per operation; also the server's idle CPU per second, for scale.

`--seed PROVINCES` first wipes the store (Neo4j: every node) and writes that many provinces of the
generated network (`bench.generate`); without it the store must hold a network already. Every run
writes `--ops` new village rooms (ids `T-<run>-<n>`) and leaves them there.

`--compare DIR` runs `--rounds` rounds alternately with the `graph_service` package of DIR (another
checkout, e.g. an older commit's `git archive`) and with this one, each in a fresh process, and
prints the figures side by side. `--profile FILE` writes a cProfile of each kind of operation
(FILE.poll, FILE.catch_up, FILE.write).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if not __package__:  # run as a file by --compare: graph_service (and bench) from PYTHONPATH first
    sys.path.pop(0)  # this folder, whose http.py would hide the standard library's
    sys.path.append(str(REPO))

from bench.generate import divisions, stations  # noqa: E402
from bench.proc import cpu_seconds  # noqa: E402
from graph_service.bootstrap import open_service, open_store  # noqa: E402
from graph_service.domain.levels import DivisionLevel, StationLevel, StationStatus  # noqa: E402
from graph_service.domain.model import Station  # noqa: E402
from graph_service.service_layer.auth import Principal  # noqa: E402
from graph_service.service_layer.settings import Settings  # noqa: E402

KINDS = ("poll", "catch_up", "follower_round", "write_create", "write_update")
"""poll: `Store.data_version`; catch_up: `Store.changes_since` after one station written by another
handle; follower_round: the follower's whole round after such a write (`NetworkService.refresh`:
poll, catch-up, engine update); write_create / write_update: through the service, audit trail and
all."""


def server_cpu(pid: int | None) -> float:
    """CPU seconds (user + system) process `pid` has used so far; 0 without a pid."""
    return 0.0 if pid is None else cpu_seconds(pid)


@dataclass
class Tally:
    """Wall, Python CPU and server CPU summed over the operations of one kind."""

    ops: int = 0
    wall: float = 0.0
    cpu: float = 0.0
    server: float = 0.0
    walls: list[float] = field(default_factory=list)

    def per_op_ms(self) -> dict[str, float]:
        return {
            "ops": self.ops,
            "wall_ms": round(self.wall / self.ops * 1e3, 3),
            "wall_p50_ms": round(statistics.median(self.walls) * 1e3, 3),
            "python_cpu_ms": round(self.cpu / self.ops * 1e3, 3),
            "neo4j_cpu_ms": round(self.server / self.ops * 1e3, 3),
        }


class Meter:
    """Times operations into tallies by kind, optionally profiling them."""

    def __init__(self, pid: int | None, profile: str | None) -> None:
        self.pid = pid
        self.tallies: dict[str, Tally] = {kind: Tally() for kind in KINDS}
        self.profiles: dict[str, cProfile.Profile] = {}
        self.profiling = profile is not None

    @contextmanager
    def timed(self, kind: str) -> Iterator[None]:
        profiler = None
        if self.profiling:
            profiler = self.profiles.setdefault(kind, cProfile.Profile(time.process_time))
        server, cpu, wall = server_cpu(self.pid), time.process_time(), time.perf_counter()
        if profiler is not None:
            profiler.enable()
        try:
            yield
        finally:
            if profiler is not None:
                profiler.disable()
            tally = self.tallies[kind]
            elapsed = time.perf_counter() - wall
            tally.ops += 1
            tally.wall += elapsed
            tally.walls.append(elapsed)
            tally.cpu += time.process_time() - cpu
            tally.server += server_cpu(self.pid) - server


def seed(url: str, provinces: int) -> None:
    """Empty the store at `url` (every node of a Neo4j) and write `provinces` generated provinces."""
    if url.startswith(("bolt", "neo4j")):
        from bench.store_writes import wipe_neo4j

        wipe_neo4j(url)
    store = open_store(Settings.from_env(store_url=url))
    try:
        store.upsert_divisions(list(divisions(provinces=provinces)))
        store.upsert_stations(list(stations(provinces=provinces)))
    finally:
        store.close()


def room(station_id: str, village: str, staff: int = 2) -> Station:
    """A village room opened on 2024-01-01 in `village`, as the load run's writer creates."""
    return Station(
        station_id,
        f"负载写入{village}",
        StationLevel.VILLAGE_ROOM,
        village,
        status=StationStatus.OPERATING,
        opened_on=date(2024, 1, 1),
        staff=staff,
        certified_staff=1,
        volunteers=4,
    )


def measure(url: str, ops: int, pid: int | None, profile: str | None) -> dict[str, Any]:
    """Run every kind of operation `ops` times (after a few untimed ones); the figures per operation."""
    settings = Settings.from_env(store_url=url)
    service = open_service(settings)
    other = open_store(settings)
    meter = Meter(pid, profile)
    run = f"{int(time.time())}-{os.getpid()}"
    villages = _villages(service)
    rng = random.Random(run)
    admin = Principal.local_admin()
    try:
        service.store.warm_up()
        other.warm_up()
        idle_started, idle_cpu = time.perf_counter(), server_cpu(pid)
        time.sleep(2.0)
        idle = (server_cpu(pid) - idle_cpu) / (time.perf_counter() - idle_started)
        warm = 10
        for index in range(warm + ops):  # the poll: one data-version read, nothing changed
            with meter.timed("poll") if index >= warm else _untimed():
                service.store.data_version()
        for index in range(warm + ops):  # a catch-up with one station another handle wrote
            before = service.store.data_version()
            other.upsert_stations([room(f"T-{run}-c{index}", rng.choice(villages))])
            with meter.timed("catch_up") if index >= warm else _untimed():
                service.store.changes_since(before)
        service.refresh(force=True)
        for index in range(warm + ops):  # the follower's round after such a write
            other.upsert_stations([room(f"T-{run}-f{index}", rng.choice(villages))])
            with meter.timed("follower_round") if index >= warm else _untimed():
                service.refresh(force=True)
        for index in range(warm + ops):  # createStation, then updateStation with expectedVersion
            station_id = f"T-{run}-w{index}"
            fields = {
                "id": station_id,
                "name": f"负载写入{index}",
                "level": "village_room",
                "division_code": rng.choice(villages),
                "status": "operating",
                "opened_on": date(2024, 1, 1),
                "staff": 2,
                "certified_staff": 1,
                "volunteers": 4,
            }
            with meter.timed("write_create") if index >= warm else _untimed():
                created = service.create_station(admin, fields)
            with meter.timed("write_update") if index >= warm else _untimed():
                service.update_station(admin, station_id, {"staff": 3 + index % 7}, created.version)
    finally:
        other.close()
        service.close()
    if profile is not None:
        for kind, profiler in meter.profiles.items():
            profiler.dump_stats(f"{profile}.{kind}")
    import graph_service

    return {
        "code": str(Path(graph_service.__file__).parent),
        "neo4j_idle_cpu_ms_per_s": round(idle * 1e3, 1),
        **{kind: tally.per_op_ms() for kind, tally in meter.tallies.items()},
    }


@contextmanager
def _untimed() -> Iterator[None]:
    yield


def _villages(service: Any) -> list[str]:
    """The codes of the villages valid today in the service's network (at most 5,000)."""
    today = date.today()
    found = sorted(
        d.code
        for d in service.views.division_records()
        if d.level is DivisionLevel.VILLAGE and (d.valid_to is None or today < d.valid_to)
    )
    if not found:
        raise SystemExit("the store holds no village: seed it first (--seed PROVINCES)")
    return found[:5000]


def neo4j_pid(url: str, given: int | None) -> int | None:
    """The local Neo4j's pid: `given`, or the launcher's pid file for the URL's port in this checkout."""
    if given is not None or not url.startswith(("bolt", "neo4j")):
        return given
    port = url.rsplit(":", 1)[-1].strip("/")
    try:
        return int((REPO / ".neo4j-local" / f"neo4j-{port}.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def compare(args: argparse.Namespace) -> int:
    """Alternate rounds with DIR's code and this checkout's, each in a fresh process; print both."""
    results: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
    trees = {"before": str(Path(args.compare).resolve()), "after": str(REPO)}
    for _ in range(args.rounds):
        for label, tree in trees.items():
            command = [sys.executable, __file__, args.url, "--ops", str(args.ops)]
            if args.neo4j_pid is not None:
                command += ["--neo4j-pid", str(args.neo4j_pid)]
            env = {**os.environ, "PYTHONPATH": tree}
            out = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
            results[label].append(json.loads(out.strip().splitlines()[-1]))
    print(f"{'per operation (median of rounds)':34} {'before':>28} {'after':>28}")
    print(f"{'':34} {'wall / Python CPU / Neo4j CPU ms':>28} {'':>28}")
    for kind in KINDS:
        cells = []
        for label in ("before", "after"):
            figures = [r[kind] for r in results[label]]
            wall = statistics.median(f["wall_ms"] for f in figures)
            cpu = statistics.median(f["python_cpu_ms"] for f in figures)
            server = statistics.median(f["neo4j_cpu_ms"] for f in figures)
            cells.append(f"{wall:7.2f} / {cpu:6.2f} / {server:6.2f}")
        print(f"{kind:34} {cells[0]:>28} {cells[1]:>28}")
    idle = {
        label: statistics.median(r["neo4j_idle_cpu_ms_per_s"] for r in rs) for label, rs in results.items()
    }
    print(f"{'Neo4j idle CPU ms per second':34} {idle['before']:>28} {idle['after']:>28}")
    print(json.dumps(results))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.store_traffic", description=__doc__)
    parser.add_argument("url", help="the store URL (bolt://… or sqlite:///…)")
    parser.add_argument("--seed", type=int, metavar="PROVINCES", help="wipe the store, write a network")
    parser.add_argument("--ops", type=int, default=200, help="operations of each kind (200)")
    parser.add_argument("--neo4j-pid", type=int, help="the local Neo4j's pid (default: the launcher's)")
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of each kind to FILE.KIND")
    parser.add_argument("--compare", metavar="DIR", help="alternate with DIR's graph_service package")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each with --compare (3)")
    args = parser.parse_args(argv)
    args.neo4j_pid = neo4j_pid(args.url, args.neo4j_pid)
    if args.seed:
        seed(args.url, args.seed)
    if args.compare:
        return compare(args)
    figures = measure(args.url, args.ops, args.neo4j_pid, args.profile)
    for kind in KINDS:
        f = figures[kind]
        print(
            f"{kind:15} wall {f['wall_ms']:7.2f} ms (p50 {f['wall_p50_ms']:6.2f})  Python CPU "
            f"{f['python_cpu_ms']:6.2f} ms  Neo4j CPU {f['neo4j_cpu_ms']:6.2f} ms",
            file=sys.stderr,
        )
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
