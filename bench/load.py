"""The load run: `python -m bench load [--store sqlite|neo4j|both] [--neo4j URL | --neo4j-port P]`.

At national scale (`bench.generate`, seeded fresh into each store), against the real app under uvicorn
(`bench.serve`, loopback only; one worker process, or `--workers N`, each loading the network and
following the store), for `--duration` seconds (default 60):

- `--clients` (16) readers, each on its own keep-alive connection, back to back (or `--think` seconds
  apart), asking never-repeating questions: coverage of a division on a day, its roll-up on a day, and
  the first page of a gap list (uncovered townships or villages under it on a day). Every (question,
  division, day) is asked once; the days lie before today, so the run's writes cannot change the answers.
- one writer, every `--write-every` seconds (0.1): `createStation` of a village room opened today, then
  `updateStation` of it with `expectedVersion`, alternately, with an admin token.
- `/healthz` polled every 50 ms on its own connection.
- halfway, `graph-service seed stations FILE` in another process: `--import-rows` (50,000) new village
  rooms opened today. A poller asks for the file's first and last station every 20 ms from the moment
  the import starts, to time when the import becomes visible (and to catch half an import: one of the
  two seen without the other). All of the load goes on until `--tail` seconds (5) after the import is
  visible, past `--duration` when it takes longer, so that the import's commit and the servers'
  catch-ups with it happen under the load and are measured with it.

With `--nice N` (Neo4j only), the service, the import command and this client run at niceness N while
the local Neo4j, started before, stays at 0: the store gets the CPU it asks for first, as it would on
a host of its own, so the time until the import is visible is the service's own. The readers'
latencies of such a run are not comparable: the import's statements then take their CPU.

With `--warmup S`, the same readers and writer (no import) run for S seconds first, not counted: a
store freshly started and seeded for the run (the local Neo4j's JIT still compiling the statements the
run makes) is then measured as a server that has been running a while would be.

Afterwards: every error counted (HTTP status other than 200, GraphQL errors, timeouts); a sample of the
readers' answers (`--sample` in all) checked against a brute-force recount of the store's rows
(`bench.recount`); then, with the run over, today's coverage, roll-up and gap list of the divisions the
run wrote into (and of others) checked the same way, and the writer's stations checked field by field.
Prints p50/p99 per kind, /healthz p99, the writes' latency, the import's duration and the time until it
was visible, and writes `bench/results/load-<store>.json`. Bounded in time throughout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import gc
import io
import json
import math
import os
import random
import re
import secrets
import shutil
import sqlite3
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import neo4j

from bench.cypher import driver
from bench.generate import PROVINCES, divisions, stations
from bench.http import HOST, REPO, Server, percentile
from bench.neo4j_local import LocalNeo4j
from bench.proc import cpu_seconds
from bench.recount import Recount
from bench.report import Table, latency_cells, machine_text, note, p50_p99
from bench.run import machine
from bench.seed import seed
from graph_service.adapters.neo4j_cypher import PUBLISHED_STATION
from graph_service.adapters.sqlite_schema import path_from_url
from graph_service.domain.levels import DivisionLevel
from graph_service.domain.validation import STATION_COLUMNS
from graph_service.service_layer.auth import Role, issue_token
from graph_service.service_layer.settings import Settings

DEFAULT_WORK_DIR = Path("/tmp/graph-service-load")
FIRST_DAY = date(2015, 1, 1)
GAP_PAGE = 20
REQUEST_TIMEOUT_S = 30.0
READER_STAGGER_S = 0.02
"""Seconds between one reader's first request and the next one's."""

COVERAGE_Q = (
    "query LoadCoverage($code: String!, $day: Date!) { division(code: $code) { "
    "coverage(asOf: $day) { level total covered } } }"
)
ROLLUP_Q = (
    "query LoadRollup($code: String!, $day: Date!) { division(code: $code) { rollup(asOf: $day) { "
    "guidanceCentres generalStations townshipStations villageRooms staff certifiedStaff volunteers } } }"
)
GAPS_Q = (
    "query LoadGaps($under: String!, $level: DivisionLevel!, $day: Date!) { "
    f"uncoveredDivisions(under: $under, level: $level, asOf: $day, first: {GAP_PAGE}) {{ "
    "totalCount edges { node { code } } } }"
)
VISIBLE_Q = "query Visible($a: ID!, $b: ID!) { a: station(id: $a) { id } b: station(id: $b) { id } }"
STATION_Q = "query Station($id: ID!) { station(id: $id) { id staff volunteers version } }"
CREATE_M = "mutation LoadCreate($input: StationInput!) { createStation(input: $input) { id version } }"
UPDATE_M = (
    "mutation LoadUpdate($id: ID!, $input: StationPatch!, $v: Int) { "
    "updateStation(id: $id, input: $input, expectedVersion: $v) { id version } }"
)
KINDS = ("coverage", "rollup", "gap_list")
WRITES = ("write_create", "write_update")
COMMIT_WATCH_S = 0.1
"""How often the import's commit is looked for in the store (`LoadRun.commit_watch`)."""
IMPORT_GRACE_S = 300.0
"""Seconds the import command is given beyond `--duration` before it is killed."""
KIND_WEIGHTS = (0.4, 0.4, 0.2)
GAP_LEVELS = {
    "province": ("township",),
    "city": ("township",),
    "county": ("township", "village"),
    "township": ("village",),
}


# --- the network and what the run writes ----------------------------------------------------------


@dataclass
class Plan:
    """What the run asks about and writes: division codes by level, and the villages (with no station)
    left to the writer and to the import."""

    codes: dict[str, list[str]]
    writer_villages: list[str]
    import_villages: list[str]
    today: date


def generate(provinces: int, import_rows: int, writes: int, today: date) -> tuple[Plan, list, list]:
    """The generated network and the plan of the run over it."""
    division_records = list(divisions(provinces=provinces))
    station_records = list(stations(provinces=provinces))
    codes: dict[str, list[str]] = defaultdict(list)
    for division in division_records:
        codes[str(division.level)].append(division.code)
    occupied = {s.division_code for s in station_records}
    free = [code for code in codes["village"] if code not in occupied]
    rng = random.Random(7)
    rng.shuffle(free)
    if len(free) < import_rows + writes:
        raise SystemExit(f"only {len(free)} villages without a station: ask for fewer rows or writes")
    plan = Plan(dict(codes), free[:writes], sorted(free[writes : writes + import_rows]), today)
    return plan, division_records, station_records


def import_file(path: Path, villages: Sequence[str], today: date) -> tuple[str, str]:
    """Write the station file of the import (new village rooms opened today); its first and last id."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(STATION_COLUMNS)
    for index, code in enumerate(villages):
        writer.writerow(
            (f"LOAD-{code}", f"负载导入{code}", "village_room", code, "", "operating", today.isoformat(), "",
             1 + index % 5, index % 2, index % 20)
        )  # fmt: skip
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return f"LOAD-{villages[0]}", f"LOAD-{villages[-1]}"


# --- a lean asyncio HTTP client ---------------------------------------------------------------------


class Connection:
    """One keep-alive connection: POST JSON or GET, read the answer by its Content-Length."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: str = ""
    ) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        assert self.reader is not None
        head = f"{method} {path} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\n{headers}"
        if method == "POST":
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        self.writer.write(head.encode() + b"\r\n" + body)
        try:
            raw = await self.reader.readuntil(b"\r\n\r\n")
            lines = raw.split(b"\r\n")
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            answer = await self.reader.readexactly(length)
        except BaseException:
            await self.close()  # a half-read answer must not be taken for the next one
            raise
        return int(lines[0].split()[1]), answer

    async def graphql(self, query: str, variables: dict[str, Any], headers: str = "") -> tuple[int, bytes]:
        body = json.dumps({"query": query, "variables": variables}).encode()
        return await asyncio.wait_for(self.request("POST", "/graphql", body, headers), REQUEST_TIMEOUT_S)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


# --- the run ----------------------------------------------------------------------------------------


@dataclass
class Tally:
    """Everything the run observed."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    timeline: list[tuple[float, str, float]] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    error_examples: list[str] = field(default_factory=list)
    samples: list[tuple[str, dict[str, Any], bytes]] = field(default_factory=list)
    asked: set[tuple[str, str, str, int]] = field(default_factory=set)
    written: dict[str, dict[str, Any]] = field(default_factory=dict)
    torn_reads: int = 0
    import_info: dict[str, Any] = field(default_factory=dict)

    def error(self, kind: str, message: str, at: float | None = None) -> None:
        """Count an error of `kind`; the first ones are kept as examples, with the second of the run
        they happened at (`at`) when given."""
        self.errors[kind] += 1
        if len(self.error_examples) < 20:
            when = "" if at is None else f" at {at:.1f} s"
            self.error_examples.append(f"{kind}{when}: {message[:300]}")


class LoadRun:
    """The load itself: `duration` seconds (default `--duration`) of readers, the writer (into
    `writer_villages`, default the plan's) and the /healthz poller, and, unless `importing` is false
    (a warm-up), the import halfway, the load then lasting until `--tail` seconds after the import is
    visible (or given up on) when that is later. Questions already in `asked` are not asked again."""

    def __init__(
        self,
        args: argparse.Namespace,
        plan: Plan,
        port: int,
        store_url: str,
        work_dir: Path,
        *,
        duration: float | None = None,
        writer_villages: Sequence[str] | None = None,
        importing: bool = True,
        asked: set[tuple[str, str, str, int]] | None = None,
    ) -> None:
        self.args = args
        self.plan = plan
        self.port = port
        self.store_url = store_url
        self.work_dir = work_dir
        self.duration = args.duration if duration is None else duration
        self.writer_villages = plan.writer_villages if writer_villages is None else writer_villages
        self.importing = importing
        self.tally = Tally()
        if asked is not None:
            self.tally.asked = asked
        self.token = issue_token(
            os.environ["GRAPH_SERVICE_JWT_SECRET"], Role.ADMIN, "*", timedelta(hours=2), "load-writer"
        )
        self.sample_every = max(1, int(args.sample_one_in))
        self.started = 0.0
        self.ends = 0.0
        """When the load ends (`perf_counter`): put off while the import is under way (`loading`)."""
        self.import_under_way = importing
        self.import_exited: float | None = None

    async def run(self) -> None:
        if self.importing:  # before the clock starts: writing it holds the readers up for 0.1-0.2 s
            self._write_import_file()
        self.started = time.perf_counter()
        self.ends = self.started + self.duration
        tasks = [self.reader(i) for i in range(self.args.clients)]
        tasks += [self.writer(), self.health()] + ([self.importer()] if self.importing else [])
        await asyncio.wait_for(asyncio.gather(*tasks), self.duration * 2 + self.args.visibility_timeout + 420)

    @property
    def measured_s(self) -> float:
        """How long the load lasted (once run): `duration`, or longer when the import was later."""
        return self.ends - self.started

    def loading(self, at: float | None = None) -> bool:
        """Whether the load still goes on at `at` (a `perf_counter` time; default now)."""
        return self.import_under_way or (time.perf_counter() if at is None else at) < self.ends

    def _import_over(self) -> None:
        """The import is visible, or given up on: the load ends `--tail` seconds from now at the
        earliest."""
        self.ends = max(self.ends, time.perf_counter() + self.args.tail)
        self.import_under_way = False

    def _now(self) -> float:
        return time.perf_counter() - self.started

    def _question(self, rng: random.Random) -> tuple[str, str, dict[str, Any]]:
        """A question never asked before in this run: (kind, query, variables)."""
        codes = self.plan.codes
        days = (self.plan.today - FIRST_DAY).days  # only days before today
        while True:
            kind = rng.choices(KINDS, KIND_WEIGHTS)[0]
            level = rng.choices(("province", "city", "county", "township", "village"), (1, 4, 15, 40, 40))[0]
            if kind == "gap_list" and level == "village":
                level = "township"
            code = rng.choice(codes[level])
            day = rng.randrange(days)
            gap_level = rng.choice(GAP_LEVELS[level]) if kind == "gap_list" else ""
            key = (kind, code, gap_level, day)
            if key in self.tally.asked:
                continue
            self.tally.asked.add(key)
            when = (FIRST_DAY + timedelta(days=day)).isoformat()
            if kind == "gap_list":
                return kind, GAPS_Q, {"under": code, "level": gap_level.upper(), "day": when}
            return kind, (COVERAGE_Q if kind == "coverage" else ROLLUP_Q), {"code": code, "day": when}

    async def reader(self, number: int) -> None:
        rng = random.Random(1000 + number)
        connection = Connection(self.port)
        count = 0
        # Readers connect one after another, as clients arrive: with several server workers sharing
        # the socket, connections opened all at once would all go to whichever worker woke first.
        await asyncio.sleep(number * READER_STAGGER_S)
        try:
            while self.loading():
                kind, query, variables = self._question(rng)
                started = time.perf_counter()
                try:
                    status, body = await connection.graphql(query, variables)
                except (TimeoutError, OSError, asyncio.IncompleteReadError) as error:
                    self.tally.error(kind, f"{type(error).__name__}: {error}")
                    continue
                elapsed = time.perf_counter() - started
                if status != 200 or b'"errors"' in body:
                    self.tally.error(kind, f"HTTP {status}: {body[:300]!r}", self._now())
                    continue
                self.tally.latencies[kind].append(elapsed)
                self.tally.timeline.append((started - self.started, kind, elapsed))
                count += 1
                if count % self.sample_every == 0 and len(self.tally.samples) < self.args.sample:
                    self.tally.samples.append((kind, variables, body))
                if self.args.think:
                    await asyncio.sleep(self.args.think)
        finally:
            await connection.close()

    async def writer(self) -> None:
        """createStation, then updateStation of it, alternately, one every `write_every` seconds."""
        connection = Connection(self.port)
        headers = f"Authorization: Bearer {self.token}\r\n"
        villages = iter(self.writer_villages)
        pending: tuple[str, int] | None = None
        tick = 0
        try:
            while True:
                due = self.started + tick * self.args.write_every
                tick += 1
                if not self.loading(due):
                    break
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                if pending is None:
                    code = next(villages, None)
                    if code is None:
                        break
                    station_id = f"W-{code}"
                    fields = {
                        "id": station_id,
                        "name": f"负载写入{code}",
                        "level": "VILLAGE_ROOM",
                        "divisionCode": code,
                        "status": "OPERATING",
                        "openedOn": self.plan.today.isoformat(),
                        "staff": 2,
                        "certifiedStaff": 1,
                        "volunteers": 4,
                    }
                    kind, query, variables = "write_create", CREATE_M, {"input": fields}
                else:
                    station_id, version = pending
                    staff = 3 + tick % 7
                    variables = {
                        "id": station_id,
                        "input": {"staff": staff, "volunteers": tick % 50},
                        "v": version,
                    }
                    kind, query = "write_update", UPDATE_M
                started = time.perf_counter()
                try:
                    status, body = await connection.graphql(query, variables, headers)
                except (TimeoutError, OSError, asyncio.IncompleteReadError) as error:
                    self.tally.error(kind, f"{type(error).__name__}: {error}")
                    pending = None
                    continue
                elapsed = time.perf_counter() - started
                if status != 200 or b'"errors"' in body:
                    self.tally.error(kind, f"HTTP {status}: {body[:300]!r}", self._now())
                    pending = None
                    continue
                self.tally.latencies[kind].append(elapsed)
                self.tally.timeline.append((started - self.started, kind, elapsed))
                answer = json.loads(body)["data"]
                if kind == "write_create":
                    version = answer["createStation"]["version"]
                    self.tally.written[station_id] = {"staff": 2, "volunteers": 4, "version": version}
                    pending = (station_id, version)
                else:
                    version = answer["updateStation"]["version"]
                    self.tally.written[station_id] = {
                        "staff": variables["input"]["staff"],
                        "volunteers": variables["input"]["volunteers"],
                        "version": version,
                    }
                    pending = None
        finally:
            await connection.close()

    async def health(self) -> None:
        connection = Connection(self.port)
        try:
            while self.loading():
                started = time.perf_counter()
                try:
                    status, _ = await asyncio.wait_for(
                        connection.request("GET", "/healthz"), REQUEST_TIMEOUT_S
                    )
                except (TimeoutError, OSError, asyncio.IncompleteReadError) as error:
                    self.tally.error("healthz", f"{type(error).__name__}: {error}")
                    continue
                elapsed = time.perf_counter() - started
                if status != 200:
                    self.tally.error("healthz", f"HTTP {status}")
                else:
                    self.tally.latencies["healthz"].append(elapsed)
                    self.tally.timeline.append((started - self.started, "healthz", elapsed))
                await asyncio.sleep(max(0.0, 0.05 - elapsed))
        finally:
            await connection.close()

    @property
    def import_path(self) -> Path:
        """The station file the import seeds (written by `_write_import_file`)."""
        return self.work_dir / "load-import.csv"

    def _write_import_file(self) -> None:
        """Write the file the import will seed, and note its rows and its first and last station."""
        first_id, last_id = import_file(self.import_path, self.plan.import_villages, self.plan.today)
        rows = len(self.plan.import_villages)
        self.tally.import_info.update({"rows": rows, "first_id": first_id, "last_id": last_id})

    async def importer(self) -> None:
        """Halfway: the station import in another process, and the poller timing when it shows."""
        info = self.tally.import_info
        path, first_id, last_id = self.import_path, info["first_id"], info["last_id"]
        await asyncio.sleep(max(0.0, self.started + self.duration / 2 - time.perf_counter()))
        command = [str(Path(sys.executable).parent / "graph-service"), "seed", "stations", str(path)]
        command += ["--store", self.store_url]
        info["started_at_s"] = self._now()
        process = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=self.work_dir
        )
        poller = asyncio.ensure_future(self.visibility(first_id, last_id))
        seen_stored = threading.Event()
        committed = asyncio.ensure_future(asyncio.to_thread(self.commit_watch, last_id, seen_stored))
        try:
            output, _ = await asyncio.wait_for(process.communicate(), self.duration + IMPORT_GRACE_S)
        except TimeoutError:
            process.kill()
            output = b"(killed: took too long)"
        self.import_exited = time.perf_counter()
        seen_stored.set()
        await committed
        info["exited_at_s"] = self._now()
        info["exit_status"] = process.returncode
        info["output_tail"] = output.decode("utf-8", "replace")[-600:]
        info["cli_s"] = info["exited_at_s"] - info["started_at_s"]
        await poller
        if self.import_under_way:  # never seen: given up on
            self._import_over()
        if info.get("visible_at_s") is not None:
            info["visible_after_exit_s"] = info["visible_at_s"] - info["exited_at_s"]
            if info.get("committed_at_s") is not None:
                info["visible_after_commit_s"] = info["visible_at_s"] - info["committed_at_s"]
        if process.returncode != 0:
            self.tally.error("import", f"exit status {process.returncode}: {info['output_tail']}")

    def commit_watch(self, last_id: str, stop: threading.Event) -> None:
        """In a thread: look for the import's last station straight in the store's rows every
        `COMMIT_WATCH_S` until it is there (the import is published by one transaction, so that is
        its commit, give or take that and one lookup) or `stop` is set (the CLI exited; a last look
        then). Not more often: each look holds this process's GIL, which the readers' event loop
        needs to time them."""
        stored = StoredProbe(self.store_url, last_id)
        try:
            while True:
                stopping = stop.is_set()
                if stored():
                    self.tally.import_info["committed_at_s"] = self._now()
                    return
                if stopping:
                    return
                time.sleep(COMMIT_WATCH_S)
        finally:
            stored.close()

    async def visibility(self, first_id: str, last_id: str) -> None:
        """Ask for the import's first and last station every 20 ms until both show, or until
        `visibility_timeout` seconds after the load and after the CLI exited; one without the other is
        half an import seen."""
        connection = Connection(self.port)
        info = self.tally.import_info

        def waiting() -> bool:
            now = time.perf_counter()
            exited = self.import_exited
            return now < self.ends + self.args.visibility_timeout or (
                exited is None or now < exited + self.args.visibility_timeout
            )

        try:
            while waiting():
                try:
                    status, body = await connection.graphql(VISIBLE_Q, {"a": first_id, "b": last_id})
                except (TimeoutError, OSError, asyncio.IncompleteReadError) as error:
                    self.tally.error("visibility", f"{type(error).__name__}: {error}")
                    continue
                if status != 200 or b'"errors"' in body:
                    self.tally.error("visibility", f"HTTP {status}: {body[:300]!r}")
                else:
                    data = json.loads(body)["data"]
                    seen = (data["a"] is not None, data["b"] is not None)
                    if seen == (True, True):
                        info["visible_at_s"] = self._now()
                        self._import_over()
                        return
                    if seen != (False, False):
                        self.tally.torn_reads += 1
                await asyncio.sleep(0.02)
        finally:
            await connection.close()


class StoredProbe:
    """Whether one station is stored, asked of the store's own rows with one indexed lookup (SQLite
    read-only, or Neo4j's driver), not through the service whose catch-up is being timed. On Neo4j a
    row committed hidden (a large write's new station before the write publishes it) is not."""

    def __init__(self, store_url: str, station_id: str) -> None:
        self.station_id = station_id
        self.sqlite: sqlite3.Connection | None = None
        self.driver: neo4j.Driver | None = None
        self.database: str | None = None
        if store_url.startswith("sqlite:"):
            self.sqlite = sqlite3.connect(f"file:{path_from_url(store_url)}?mode=ro", uri=True)
        else:
            self.driver = driver(store_url)
            self.database = Settings.from_env(store_url=store_url).neo4j_database

    def __call__(self) -> bool:
        if self.sqlite is not None:
            query = "SELECT 1 FROM stations WHERE id = ?"
            return self.sqlite.execute(query, (self.station_id,)).fetchone() is not None
        assert self.driver is not None
        records, _, _ = self.driver.execute_query(
            f"MATCH (s:Station {{id: $id}}) WHERE {PUBLISHED_STATION} RETURN 1 LIMIT 1",
            id=self.station_id,
            routing_="r",
            database_=self.database,
        )
        return bool(records)

    def close(self) -> None:
        if self.sqlite is not None:
            self.sqlite.close()
        if self.driver is not None:
            self.driver.close()


# --- checking the answers -------------------------------------------------------------------------------


def expected(recount: Recount, kind: str, variables: dict[str, Any]) -> Any:
    """The recount's answer to one question, in the shape `observed` gives the service's."""
    if kind == "gap_list":
        level = DivisionLevel(variables["level"].lower())
        codes = recount.uncovered(variables["under"], level, date.fromisoformat(variables["day"]))
        return [len(codes), codes[:GAP_PAGE]]
    day = date.fromisoformat(variables["day"])
    if kind == "coverage":
        return [[level, total, covered] for level, total, covered in recount.coverage(variables["code"], day)]
    return list(recount.rollup(variables["code"], day))


def observed(kind: str, body: bytes) -> Any:
    data = json.loads(body)["data"]
    if kind == "gap_list":
        page = data["uncoveredDivisions"]
        return [page["totalCount"], [edge["node"]["code"] for edge in page["edges"]]]
    if kind == "coverage":
        return [[e["level"].lower(), e["total"], e["covered"]] for e in data["division"]["coverage"]]
    r = data["division"]["rollup"]
    return [r[k] for k in ("guidanceCentres", "generalStations", "townshipStations", "villageRooms",
                           "staff", "certifiedStaff", "volunteers")]  # fmt: skip


def check(recount: Recount, samples: Sequence[tuple[str, dict[str, Any], bytes]]) -> tuple[int, list[str]]:
    """How many of the answers differ from the recount, and a few of them."""
    wrong = 0
    examples: list[str] = []
    for kind, variables, body in samples:
        want, got = expected(recount, kind, variables), observed(kind, body)
        if want != got:
            wrong += 1
            if len(examples) < 10:
                examples.append(f"{kind} {variables}: service {got}, recount {want}")
    return wrong, examples


def final_questions(
    plan: Plan, written: Sequence[str], rng: random.Random
) -> list[tuple[str, dict[str, Any]]]:
    """Today's questions about the divisions the run wrote into (their ancestors included) and others."""
    touched: set[str] = set()
    for village in (
        rng.sample(plan.import_villages, min(60, len(plan.import_villages)))
        + [station_id.removeprefix("W-") for station_id in written][:60]
    ):
        touched.update({village[:2], village[:4], village[:6], village[:9], village})
    others = [
        rng.choice(plan.codes[level])
        for level in ("province", "city", "county", "township")
        for _ in range(10)
    ]
    today = plan.today.isoformat()
    questions: list[tuple[str, dict[str, Any]]] = []
    for code in sorted(touched) + others:
        questions.append(("coverage", {"code": code, "day": today}))
        questions.append(("rollup", {"code": code, "day": today}))
        level = {2: "province", 4: "city", 6: "county", 9: "township"}.get(len(code))
        if level is not None:
            for gap_level in GAP_LEVELS[level]:
                questions.append(("gap_list", {"under": code, "level": gap_level.upper(), "day": today}))
    return questions


def after_the_run(port: int, plan: Plan, tally: Tally, store_url: str) -> dict[str, Any]:
    """Recount the store, then check the sampled answers, today's answers and the writer's stations."""
    with httpx.Client(base_url=f"http://{HOST}:{port}", timeout=120.0) as client:
        ready = client.get("/readyz")  # forces a catch-up with the store
        started = time.perf_counter()
        recount = Recount.from_store(store_url)
        recount_load_s = time.perf_counter() - started
        during_wrong, during_examples = check(recount, tally.samples)
        final = []
        for kind, variables in final_questions(plan, list(tally.written), random.Random(11)):
            query = GAPS_Q if kind == "gap_list" else COVERAGE_Q if kind == "coverage" else ROLLUP_Q
            answer = client.post("/graphql", json={"query": query, "variables": variables})
            final.append((kind, variables, answer.content))
        final_wrong, final_examples = check(recount, final)
        station_wrong = 0
        for station_id, fields in tally.written.items():
            stored = recount.stations.get(station_id)
            body = client.post("/graphql", json={"query": STATION_Q, "variables": {"id": station_id}}).json()
            served = body["data"]["station"]
            if (
                stored is None
                or served is None
                or not (
                    stored.staff == served["staff"] == fields["staff"]
                    and stored.volunteers == served["volunteers"] == fields["volunteers"]
                    and stored.version == served["version"] == fields["version"]
                )
            ):
                station_wrong += 1
                if len(final_examples) < 20:
                    final_examples.append(
                        f"station {station_id}: store {stored}, served {served}, wrote {fields}"
                    )
        imported = sum(f"LOAD-{code}" in recount.stations for code in plan.import_villages)
    return {
        "readyz_status": ready.status_code,
        "recount_load_s": recount_load_s,
        "sampled_answers": len(tally.samples),
        "sampled_wrong": during_wrong,
        "final_answers": len(final),
        "final_wrong": final_wrong,
        "writer_stations_checked": len(tally.written),
        "writer_stations_wrong": station_wrong,
        "imported_rows_in_store": imported,
        "torn_reads": tally.torn_reads,
        "wrong_examples": during_examples + final_examples,
    }


# --- one store --------------------------------------------------------------------------------------


def summarise(values: Sequence[float]) -> dict[str, Any]:
    return {
        "n": len(values),
        "p50_ms": percentile(values, 0.5) * 1000,
        "p99_ms": percentile(values, 0.99) * 1000,
        "max_ms": max(values) * 1000 if values else float("nan"),
    }


SLICE_S = 5.0
"""The length of the slices of the run in which the coverage and roll-up p99 is given on its own."""


def coverage_p99_by_slice(timeline: Sequence[tuple[float, str, float]], duration: float) -> list[float]:
    """The p99 (ms) of the coverage and roll-up questions asked in each `SLICE_S` seconds of the run."""
    slices: list[list[float]] = [[] for _ in range(math.ceil(duration / SLICE_S))]
    for at, name, elapsed in timeline:
        if name in ("coverage", "rollup") and 0 <= at < duration:
            slices[int(at // SLICE_S)].append(elapsed)
    return [round(percentile(values, 0.99) * 1000, 1) if values else float("nan") for values in slices]


def slowest(
    timeline: Sequence[tuple[float, str, float]], kinds: Sequence[str], most: int = 8
) -> list[list[float | str]]:
    """The `most` slowest requests of the given kinds: [second of the run, kind, ms], slowest first."""
    samples = (
        [round(at, 2), name, round(elapsed * 1000, 1)] for at, name, elapsed in timeline if name in kinds
    )
    return sorted(samples, key=lambda entry: -float(entry[2]))[:most]


def settle_client() -> None:
    """Collect this process's garbage and freeze what it keeps (the plan, the questions asked so far,
    the warm-up's tally), so that the collector's passes during a load scan only what the load
    allocates: over the national plan a full pass took 40-90 ms every 5-10 s, and every request in
    flight then was timed that much slower than the server answered it."""
    gc.collect()
    gc.freeze()


def longest_load_s(args: argparse.Namespace) -> float:
    """The longest a load with the import can last: the import starts halfway, its command is given
    `--duration` plus `IMPORT_GRACE_S`, the visibility poller `--visibility-timeout` after it exits,
    then the load goes on `--tail` seconds."""
    return args.duration * 1.5 + IMPORT_GRACE_S + args.visibility_timeout + args.tail


def run_store(
    args: argparse.Namespace,
    kind: str,
    store_url: str,
    work_dir: Path,
    provinces: int,
    store_pid: int | None = None,
) -> dict[str, Any]:
    """One load run on one store (`store_pid`: the store's own server process on this machine, the
    local Neo4j, whose CPU during the run is counted too)."""
    today = Settings.from_env(store_url=store_url).today()
    # A village per create, and every other write is one: enough for the longest the load can last.
    writes = int(longest_load_s(args) / args.write_every / 2) + 10
    warm_up_writes = int(args.warmup / args.write_every) + 10 if args.warmup else 0
    note(f"{kind}: generating {provinces} provinces")
    plan, division_records, station_records = generate(
        provinces, args.import_rows, writes + warm_up_writes, today
    )
    note(f"{kind}: seeding {store_url}")
    seeding = seed(store_url, division_records, station_records)
    del division_records, station_records
    note(f"{kind}: starting the server")
    with Server(
        ["app", "--store", store_url], name=f"load-{kind}", log_dir=work_dir, workers=args.workers
    ) as server:
        note(f"{kind}: ready after {server.ready_s:.1f} s")
        warm_up: dict[str, Any] = {}
        asked: set[tuple[str, str, str, int]] = set()
        if args.warmup:
            note(f"{kind}: warming up for {args.warmup:.0f} s (readers and writer, not counted)")
            warming = LoadRun(
                args,
                plan,
                server.port,
                store_url,
                work_dir,
                duration=args.warmup,
                writer_villages=plan.writer_villages[writes:],
                importing=False,
                asked=asked,
            )
            settle_client()
            asyncio.run(warming.run())
            warm_up = {
                "seconds": args.warmup,
                "errors": dict(warming.tally.errors),
                "error_examples": warming.tally.error_examples,
                "reads": sum(len(warming.tally.latencies[k]) for k in KINDS),
            }
        note(f"{kind}: {args.clients} readers for {args.duration:.0f} s")
        load = LoadRun(
            args,
            plan,
            server.port,
            store_url,
            work_dir,
            writer_villages=plan.writer_villages[:writes],
            asked=asked,
        )
        pids = server.pids()
        before, client_before = [cpu_seconds(pid) for pid in pids], time.process_time()
        store_before = cpu_seconds(store_pid) if store_pid is not None else None
        settle_client()
        asyncio.run(load.run())
        each = [cpu_seconds(pid) - used for pid, used in zip(pids, before, strict=True)]
        cpu = {
            "store_cpu_s": (
                cpu_seconds(store_pid) - store_before
                if store_pid is not None and store_before is not None
                else None
            ),
            "server_cpu_s": sum(each),
            # Per process (the supervisor first, then each worker): keep-alive connections stay with
            # the worker that accepted them, so this shows how evenly the readers were spread.
            "server_cpu_s_by_process": each,
            "client_cpu_s": time.process_time() - client_before,
        }
        note(f"{kind}: checking answers against a recount of the store")
        checks = after_the_run(server.port, plan, load.tally, store_url)
        peak_rss = server.peak_rss_bytes()
        catch_ups = [  # the workers' own account of each catch-up of half a second or more
            line.strip() for line in server.log_path.read_text().splitlines() if _long_catch_up(line)
        ]
    tally = load.tally
    duration = load.measured_s
    during_import: dict[str, list[float]] = defaultdict(list)
    outside_import: dict[str, list[float]] = defaultdict(list)
    started_at = tally.import_info.get("started_at_s")
    until = tally.import_info.get("visible_at_s") or tally.import_info.get("exited_at_s")
    for at, name, elapsed in tally.timeline:
        if started_at is not None and until is not None and started_at <= at <= until + 2:
            during_import[name].append(elapsed)
        else:
            outside_import[name].append(elapsed)
    reads = [x for k in KINDS for x in tally.latencies[k]]
    return {
        "store": kind,
        "url": store_url,
        "seed": seeding,
        "today": today.isoformat(),
        "clients": args.clients,
        "workers": args.workers,
        "think_s": args.think,
        "duration_s": duration,
        "reads_per_s": len(reads) / duration,
        "latency": {name: summarise(values) for name, values in sorted(tally.latencies.items())},
        "latency_all_reads": summarise(reads),
        "latency_during_import": {name: summarise(v) for name, v in sorted(during_import.items())},
        "latency_outside_import": {name: summarise(v) for name, v in sorted(outside_import.items())},
        "coverage_p99_by_slice": coverage_p99_by_slice(tally.timeline, duration),
        "warm_up": warm_up,
        "slowest_writes": slowest(tally.timeline, WRITES),
        "slowest_healthz": slowest(tally.timeline, ("healthz",)),
        "errors": dict(tally.errors),
        "error_count": sum(tally.errors.values()),
        "error_examples": tally.error_examples,
        "import": tally.import_info,
        "checks": checks,
        "wrong_answers": checks["sampled_wrong"]
        + checks["final_wrong"]
        + checks["writer_stations_wrong"]
        + checks["torn_reads"],
        "server_peak_rss_bytes": peak_rss,
        "catch_ups": catch_ups,
        **cpu,
    }


def render(result: dict[str, Any]) -> str:
    lines = []
    m = result["machine"]
    lines.append(f"load run — {result['network']}; {machine_text(m, at_end=True)}")
    table = Table(24, (8, 10, 10, 10))
    for r in result["runs"]:
        imp, checks = r["import"], r["checks"]
        lines.append("")
        lines.append(
            f"{r['store']} ({r['workers']} server worker{'s' if r['workers'] > 1 else ''}): "
            f"{r['clients']} readers "
            + (f"pausing {r['think_s']} s between requests" if r["think_s"] else "back to back")
            + f" for {r['duration_s']:.0f} s "
            f"(to {result['options'].get('tail', 0):.0f} s after the import showed) "
            f"({r['reads_per_s']:,.0f} reads/s), a write every {result['options']['write_every']} s, "
            f"a {imp.get('rows', 0):,}-row import from another process at {imp.get('started_at_s', 0):.1f} s"
        )
        if nice := result["options"].get("nice"):
            lines.append(f"  service, import and clients at niceness {nice}, the local Neo4j at 0")
        if warm := r.get("warm_up"):
            lines.append(
                f"  after a warm-up of {warm['seconds']:.0f} s (the same readers and writer, no import, not "
                f"counted): {warm['reads']:,} reads, {sum(warm['errors'].values())} errors"
                + "".join(f"\n    {example}" for example in warm["error_examples"][:5])
            )
        lines.append(
            f"  CPU during the load: server {r['server_cpu_s']:.1f} s"
            + (
                " (by process: " + ", ".join(f"{x:.1f}" for x in r["server_cpu_s_by_process"]) + ")"
                if len(r["server_cpu_s_by_process"]) > 1
                else ""
            )
            + f", this client {r['client_cpu_s']:.1f} s"
            + (f", the local Neo4j {r['store_cpu_s']:.1f} s " if r.get("store_cpu_s") is not None else " ")
            + f"(of {r['duration_s'] * (m['cores'] or 1):.0f} core-seconds on the machine)"
        )
        lines.append(
            table.line("", "n", "p50 ms", "p99 ms", "max ms") + "   p50 / p99 during the import | outside it"
        )
        for name in (*KINDS, *WRITES, "healthz"):
            s = r["latency"].get(name)
            if not s:
                continue
            during, outside = (
                p50_p99(r[w].get(name)) for w in ("latency_during_import", "latency_outside_import")
            )
            lines.append(table.line(name, *latency_cells(s)) + f"   {during} | {outside}")
        lines.append(table.line("all reads", *latency_cells(r["latency_all_reads"])))
        if slices := r.get("coverage_p99_by_slice"):
            lines.append(
                f"  coverage and roll-up p99 ms by {SLICE_S:.0f} s of the run: "
                + " ".join(f"{value:.1f}" for value in slices)
            )
        for key, what in (("slowest_writes", "writes"), ("slowest_healthz", "/healthz")):
            lines.append(
                f"  slowest {what} (second of the run: ms): "
                + ", ".join(f"{at:.1f} s: {ms:,.0f}" for at, _, ms in r.get(key, []))
            )
        visible = imp.get("visible_after_exit_s")
        lines.append(
            f"  import: CLI {imp.get('cli_s', float('nan')):.1f} s, exit {imp.get('exit_status')}; visible "
            + (f"{visible:+.2f} s after the CLI exited" if visible is not None else "NOT SEEN")
            + (
                f", {imp['visible_after_commit_s']:.2f} s after its commit (seen in the store, looked for "
                f"every {COMMIT_WATCH_S} s, at {imp['committed_at_s']:.1f} s; the CLI exited at "
                f"{imp['exited_at_s']:.1f} s)"
                if imp.get("visible_after_commit_s") is not None
                else ""
            )
            + f"; {checks['imported_rows_in_store']:,} rows in the store"
        )
        lines.append(
            f"  errors: {r['error_count']} {r['errors'] or ''}; wrong answers: {r['wrong_answers']} "
            f"(sampled during the run {checks['sampled_wrong']}/{checks['sampled_answers']}, "
            "today after the run "
            f"{checks['final_wrong']}/{checks['final_answers']}, writer's stations "
            f"{checks['writer_stations_wrong']}/{checks['writer_stations_checked']}, half-imports seen "
            f"{checks['torn_reads']})"
        )
        for example in r["error_examples"][:5] + checks["wrong_examples"][:5]:
            lines.append(f"    {example}")
        lines += [f"  a worker's catch-up: {line}" for line in r.get("catch_ups", [])]
    return "\n".join(lines)


def _long_catch_up(line: str) -> bool:
    """Whether a server log line says "caught up from data version A to B in S s ..." with S ≥ 0.5."""
    found = re.search(r"caught up from .* in ([0-9.]+) s", line)
    return found is not None and float(found.group(1)) >= 0.5


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench load", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--store", choices=["sqlite", "neo4j", "both"], default="both")
    parser.add_argument("--neo4j", metavar="URL", help="an empty, running Neo4j (credentials from NEO4J_*)")
    parser.add_argument("--neo4j-port", type=int, default=7697, help="else a fresh local Neo4j on this port")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the 31 provinces")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument(
        "--workers", type=int, default=1, help="server worker processes, each loading the network (default 1)"
    )
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument(
        "--warmup",
        type=float,
        default=0.0,
        help="seconds of readers and writer before the load, not counted (the store's JIT, caches)",
    )
    parser.add_argument(
        "--think", type=float, default=0.0, help="seconds each reader waits between requests (default none)"
    )
    parser.add_argument("--write-every", type=float, default=0.1, help="seconds between writes")
    parser.add_argument("--import-rows", type=int, default=50_000)
    parser.add_argument("--sample", type=int, default=3000, help="most answers checked against the recount")
    parser.add_argument("--sample-one-in", type=int, default=10, help="each reader keeps one answer in N")
    parser.add_argument(
        "--visibility-timeout", type=float, default=60.0, help="seconds after the load and the CLI's exit"
    )
    parser.add_argument(
        "--tail", type=float, default=5.0, help="seconds the load goes on after the import is visible"
    )
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="niceness of the service, the import and the clients on Neo4j (the local Neo4j stays at 0)",
    )
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR, help="emptied first")
    parser.add_argument("--out-dir", type=Path, default=REPO / "bench" / "results")
    args = parser.parse_args(argv)
    if not 0 < args.scale <= 1:
        parser.error("--scale must be in (0, 1]")
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.nice and (args.neo4j is not None or args.store != "neo4j"):
        parser.error("--nice needs --store neo4j and the local Neo4j (no --neo4j URL)")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    provinces = max(1, round(PROVINCES * args.scale))
    work_dir: Path = args.work_dir
    if work_dir.exists():
        shutil.rmtree(work_dir)
    work_dir.mkdir(parents=True)
    os.environ["GRAPH_SERVICE_JWT_SECRET"] = secrets.token_hex(32)
    os.environ.pop("GRAPH_SERVICE_STORE", None)
    result: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python -m bench load " + " ".join(sys.argv[2:] if argv is None else argv),
        "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "machine": machine(),
        "network": f"scale {args.scale} ({provinces} provinces)",
        "runs": [],
    }
    if args.store in ("sqlite", "both"):
        url = f"sqlite:///{work_dir / 'load.db'}"
        result["runs"].append(run_store(args, "embedded", url, work_dir, provinces))
    if args.store in ("neo4j", "both"):
        local: LocalNeo4j | None = None
        url = args.neo4j
        if url is None:
            local = LocalNeo4j(work_dir, args.neo4j_port)
            note(f"starting Neo4j on port {args.neo4j_port}")
            local.start()
            url = local.url
        try:
            pid = local.pid() if local is not None else None
            if args.nice:
                os.nice(args.nice)  # this process, and the server and import command it starts from now on
            result["runs"].append(run_store(args, "neo4j", url, work_dir, provinces, pid))
        finally:
            if local is not None:
                note("stopping Neo4j")
                local.stop()
    result["machine"]["load_average_at_end"] = os.getloadavg()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for run in result["runs"]:
        out = args.out_dir / f"load-{run['store']}.json"
        out.write_text(
            json.dumps({**result, "runs": [run]}, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    print(render(result))
    failed = [r["store"] for r in result["runs"] if r["error_count"] or r["wrong_answers"]]
    for store in failed:
        print(f"ERROR: {store}: errors or wrong answers (see above)", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
