"""The national-scale benchmark: `python -m bench [--scale 0.1] [--start-neo4j | --neo4j URL | --skip-neo4j]`.

1. Generate the NBS-shaped network (`bench.generate`), deterministically.
2. Seed it into the embedded store and into Neo4j through the service's imports (what `graph-service
   seed` does), timing the end-to-end import and its write phase.
3. Cold start per store in a fresh process (`bench.coldstart`): store load + engine build, peak RSS.
4. Per store, the real app under uvicorn (one worker, loopback): p50/p99 over HTTP for coverage at the
   root (the largest province), nationally (the 31 provinces summed by the client), at a province and
   at a county; a roll-up on a past date; the first page of uncovered townships; createStation then
   the coverage that must reflect it; never-repeating coverage + roll-up questions (`bench.uncached`),
   which the response cache cannot answer. Requests/s under concurrency for the province coverage,
   against a bare Starlette endpoint answering the same bytes, measured right after in the same run.
5. The same coverage and roll-up questions as Cypher aggregations straight to Neo4j (answers checked
   equal to the service's), and the ratio.
6. The four national NBS editions applied in order to a fresh embedded store, as an admin would
   (`bench.national_run`; `--skip-editions` leaves it out, `--editions-neo4j` runs it on a fresh Neo4j
   too).
7. Print a table and write the JSON (`--out`).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench import cypher, national_run, uncached
from bench.generate import PROVINCES, divisions, stations
from bench.http import REPO, Server, graphql, summary, throughput, time_calls
from bench.neo4j_local import DEFAULT_PORT, LocalNeo4j
from bench.report import MISSING, Table, machine_text, note, p50_p99
from bench.seed import seed
from graph_service.domain.levels import DivisionLevel
from graph_service.domain.model import Division, Station
from graph_service.service_layer.auth import Role, issue_token
from graph_service.service_layer.settings import Settings

GIB = 1024**3
PAST_DAY = date(2020, 6, 30)
DEFAULT_OUT = REPO / "bench" / "results" / "latest.json"
DEFAULT_WORK_DIR = Path("/tmp/graph-service-bench")

TARGETS = {
    "cold_start_embedded_s": 10.0,
    "cold_start_neo4j_s": 20.0,
    "peak_rss_bytes": 1.5 * GIB,
    "root_coverage_p50_ms": 5.0,
    "speedup_vs_cypher": 10.0,
    "neo4j_seed_divisions_per_s": 30_000.0,
    "throughput_share_of_bare": 0.5,
    "uncached_p50_ms": 1.0,
}

COVERAGE_Q = (
    "query Coverage($code: String!) { division(code: $code) { coverage { level total covered rate } } }"
)
ROLLUP_Q = (
    "query Rollup($code: String!, $day: Date!) { division(code: $code) { rollup(asOf: $day) { "
    "guidanceCentres generalStations townshipStations villageRooms staff certifiedStaff volunteers } } }"
)
UNCOVERED_Q = (
    "query Uncovered($under: String!, $after: String) { "
    "uncoveredDivisions(under: $under, level: TOWNSHIP, first: 100, after: $after) { "
    "totalCount edges { node { code name } } pageInfo { hasNextPage endCursor } } }"
)
CREATE_M = "mutation Create($input: StationInput!) { createStation(input: $input) { id version } }"


# --- choosing what to ask about ------------------------------------------------------------------


def choose_targets(records: Sequence[Division]) -> dict[str, str]:
    """The root (largest province), a median-size province and the largest county of the root."""
    size: Counter[str] = Counter()
    for division in records:
        size[division.code[:2]] += 1
        if len(division.code) >= 6:
            size[division.code[:6]] += 1
    provinces = sorted((c for c in size if len(c) == 2), key=lambda c: (size[c], c))
    root = provinces[-1]
    counties = [c for c in size if len(c) == 6 and c.startswith(root)]
    return {
        "root": root,
        "province": provinces[len(provinces) // 2],
        "county": max(counties, key=lambda c: (size[c], c)),
        "provinces": ",".join(sorted(provinces)),
    }


def max_aliases() -> int:
    """The app's cap on aliased fields per document (the national total asks one field per province)."""
    try:
        from graph_service.entrypoints.graphql import MAX_ALIASES
    except ImportError:
        return 30
    return int(MAX_ALIASES)


def national_queries(provinces: Sequence[str], per_request: int) -> list[str]:
    chunks = [provinces[i : i + per_request] for i in range(0, len(provinces), per_request)]
    return [
        "query National { "
        + " ".join(
            f'p{code}: division(code: "{code}") {{ coverage {{ level total covered }} }}' for code in chunk
        )
        + " }"
        for chunk in chunks
    ]


# --- answers in one comparable shape ------------------------------------------------------------


def coverage_of(data: dict[str, Any]) -> dict[str, tuple[int, int]]:
    return {
        entry["level"].lower(): (entry["total"], entry["covered"])
        for entry in data["division"]["coverage"]
        if entry["total"]
    }


def national_of(answers: Sequence[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    totals: Counter[str] = Counter()
    covered: Counter[str] = Counter()
    for data in answers:
        for division in data.values():
            for entry in division["coverage"]:
                totals[entry["level"].lower()] += entry["total"]
                covered[entry["level"].lower()] += entry["covered"]
    return {level: (totals[level], covered[level]) for level in totals if totals[level]}


def cypher_coverage_of(rows: Sequence[tuple[str, int, int]]) -> dict[str, tuple[int, int]]:
    return {level: (total, covered) for level, total, covered in rows if total}


# --- phases ----------------------------------------------------------------------------------------


def run_coldstarts(store_url: str, runs: int) -> dict[str, Any]:
    results = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-m", "bench.coldstart", "--store", store_url],
            cwd=REPO,
            check=True,
            capture_output=True,
            text=True,
            timeout=900,
        )
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return {
        "runs": results,
        "cold_start_s": statistics.median(r["cold_start_s"] for r in results),
        "load_s": statistics.median(r["load_s"] for r in results),
        "build_s": statistics.median(r["build_s"] for r in results),
        "cpu_s": statistics.median(r["cpu_s"] for r in results),
        "peak_rss_bytes": max(r["peak_rss_bytes"] or 0 for r in results),
    }


class HttpSuite:
    """Everything measured over HTTP against one store's server."""

    def __init__(
        self,
        args: argparse.Namespace,
        kind: str,
        store_url: str,
        targets: dict[str, str],
        token: str,
        work_dir: Path,
        uncached_codes: Sequence[str] = (),
    ) -> None:
        self.args = args
        self.uncached_codes = uncached_codes
        self.kind = kind
        self.store_url = store_url
        self.targets = targets
        self.token = token
        self.work_dir = work_dir
        self.answers: dict[str, Any] = {}

    def run(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        with Server(
            ["app", "--store", self.store_url], name=f"app-{self.kind}", log_dir=self.work_dir
        ) as app:
            out["serve_ready_s"] = app.ready_s
            with httpx.Client(base_url=app.url, timeout=120.0) as client:
                out["latency"] = self.reads(client)
            if self.uncached_codes:
                out["uncached"] = uncached.measure(
                    app.port,
                    self.uncached_codes,
                    requests=self.args.requests * 5,
                    warmup=self.args.warmup,
                    budget_s=self.args.budget,
                )
            with httpx.Client(base_url=app.url, timeout=120.0) as client:
                out["throughput"] = self.throughput(client, app)
                out["latency"]["create_station_then_coverage"], out["create_station_only"] = self.writes(
                    client
                )
            out["server_peak_rss_bytes"] = app.peak_rss_bytes()
        return out

    def _timed(self, call: Callable[[], Any], count: int | None = None) -> dict[str, Any]:
        return summary(time_calls(call, count or self.args.requests, self.args.warmup, self.args.budget))

    def reads(self, client: httpx.Client) -> dict[str, Any]:
        t = self.targets
        latency: dict[str, Any] = {}
        for name, code in (
            ("coverage_root", t["root"]),
            ("coverage_province", t["province"]),
            ("coverage_county", t["county"]),
        ):
            variables = {"code": code}
            self.answers[name] = coverage_of(graphql(client, COVERAGE_Q, variables))
            latency[name] = self._timed(lambda v=variables: graphql(client, COVERAGE_Q, v))

        queries = national_queries(t["provinces"].split(","), max_aliases())
        self.answers["coverage_national"] = national_of([graphql(client, q) for q in queries])
        latency["coverage_national"] = self._timed(lambda: [graphql(client, q) for q in queries])
        latency["coverage_national"]["requests_per_sample"] = len(queries)

        rollup_vars = {"code": t["root"], "day": PAST_DAY.isoformat()}
        self.answers["rollup_root_past"] = graphql(client, ROLLUP_Q, rollup_vars)["division"]["rollup"]
        latency["rollup_root_past"] = self._timed(lambda: graphql(client, ROLLUP_Q, rollup_vars))

        uncovered_vars = {"under": t["root"], "after": None}
        first_page = graphql(client, UNCOVERED_Q, uncovered_vars)["uncoveredDivisions"]
        self.answers["uncovered_townships_root"] = first_page["totalCount"]
        latency["uncovered_townships_first_page"] = self._timed(
            lambda: graphql(client, UNCOVERED_Q, uncovered_vars)
        )
        return latency

    def throughput(self, client: httpx.Client, app: Server) -> dict[str, Any]:
        body = json.dumps({"query": COVERAGE_Q, "variables": {"code": self.targets["province"]}}).encode()
        answer = client.post("/graphql", content=body, headers={"content-type": "application/json"})
        answer.raise_for_status()
        body_file = self.work_dir / f"bare-body-{self.kind}.json"
        body_file.write_bytes(answer.content)
        options = {"concurrency": self.args.concurrency, "duration_s": self.args.duration}
        ours = throughput(app.port, body, expected=answer.content, **options)
        with Server(
            ["bare", "--body-file", str(body_file)], name=f"bare-{self.kind}", log_dir=self.work_dir
        ) as bare:
            ceiling = throughput(bare.port, body, expected=answer.content, **options)
        return {
            "query": "coverage at a province",
            "response_bytes": len(answer.content),
            "app": ours,
            "bare_starlette": ceiling,
            "share_of_bare": ours["requests_per_s"] / ceiling["requests_per_s"],
        }

    def writes(self, client: httpx.Client) -> tuple[dict[str, Any], dict[str, Any]]:
        """createStation in an uncovered township of the root, then the root's coverage, which must
        count one more covered township; timed as a pair (and the mutation alone)."""
        wanted = self.args.writes
        root = self.targets["root"]
        townships: list[str] = []
        after = None
        for _ in range(wanted // 100 + 2):
            page = graphql(client, UNCOVERED_Q, {"under": root, "after": after})["uncoveredDivisions"]
            townships += [edge["node"]["code"] for edge in page["edges"]]
            after = page["pageInfo"]["endCursor"]
            if len(townships) >= wanted or not page["pageInfo"]["hasNextPage"]:
                break
        townships = townships[:wanted]
        headers = {"Authorization": f"Bearer {self.token}"}
        opened = (Settings.from_env(store_url=self.store_url).today() - timedelta(days=1)).isoformat()
        covered = coverage_of(graphql(client, COVERAGE_Q, {"code": root}))["township"][1]
        pairs: list[float] = []
        mutations: list[float] = []
        for code in townships:
            station = {
                "id": f"BENCH-{self.kind}-{code}",
                "name": f"bench station {code}",
                "level": "TOWNSHIP_STATION",
                "divisionCode": code,
                "status": "OPERATING",
                "openedOn": opened,
                "staff": 2,
                "certifiedStaff": 1,
                "volunteers": 5,
            }
            started = time.perf_counter()
            graphql(client, CREATE_M, {"input": station}, headers=headers)
            written = time.perf_counter()
            now = coverage_of(graphql(client, COVERAGE_Q, {"code": root}))["township"][1]
            finished = time.perf_counter()
            if now != covered + 1:
                raise AssertionError(
                    f"coverage did not reflect the new station in {code}: {covered} -> {now}"
                )
            covered = now
            pairs.append(finished - started)
            mutations.append(written - started)
        return summary(pairs), summary(mutations)


def cypher_suite(args: argparse.Namespace, url: str, targets: dict[str, str]) -> dict[str, Any]:
    """The Cypher equivalents straight to Neo4j: answers and timings."""
    today = Settings.from_env(store_url=url).today()
    drv = cypher.driver(url)
    out: dict[str, Any] = {
        "server": cypher.server_version(drv),
        "node_counts": cypher.node_counts(drv),
        "answers": {},
        "latency": {},
        "queries": {
            "coverage": cypher.COVERAGE.strip(),
            "national_coverage": cypher.NATIONAL_COVERAGE.strip(),
            "rollup": cypher.ROLLUP.strip(),
        },
    }
    try:
        questions: dict[str, Callable[[], Any]] = {
            "coverage_root": lambda: cypher_coverage_of(cypher.coverage(drv, targets["root"], today)),
            "coverage_national": lambda: cypher_coverage_of(cypher.coverage(drv, None, today)),
            "coverage_province": lambda: cypher_coverage_of(cypher.coverage(drv, targets["province"], today)),
            "coverage_county": lambda: cypher_coverage_of(cypher.coverage(drv, targets["county"], today)),
            "rollup_root_past": lambda: cypher.rollup(drv, targets["root"], PAST_DAY),
        }
        for name, ask in questions.items():
            out["answers"][name] = ask()
            out["latency"][name] = summary(time_calls(ask, args.cypher_requests, 2, args.budget))
    finally:
        drv.close()
    return out


# --- reporting -------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem_kib = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal:")
        )
    except (OSError, StopIteration):
        mem_kib = 0
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kib / 1024**2, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "commit": commit,
        "load_average_at_start": os.getloadavg(),
    }


def verdict(ok: bool | None) -> str:
    """How a target fared: met, MISSED, or MISSING when there is no figure."""
    return MISSING if ok is None else ("met" if ok else "MISSED")


def evaluate(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of TARGETS against its figure in `result`: the target's name, the figure (None when
    not measured), the limit, whether it is a most or a least, the unit, and whether it was met."""
    stores = result["stores"]
    rows: list[dict[str, Any]] = []

    def add(name: str, value: float | None, target: float, *, at_most: bool, unit: str) -> None:
        ok = None if value is None else (value <= target if at_most else value >= target)
        rows.append(
            {"target": name, "value": value, "limit": target, "at_most": at_most, "unit": unit, "met": ok}
        )

    def each_store(name: str, path: tuple[str, ...], target: str, *, at_most: bool, unit: str) -> None:
        for kind, store in stores.items():
            add(f"{name}, {kind}", _figure(store, *path), TARGETS[target], at_most=at_most, unit=unit)

    embedded = stores.get("embedded", {})
    neo4j = stores.get("neo4j", {})
    cold_start = ("cold_start", "cold_start_s")
    add(
        "cold start, embedded",
        _figure(embedded, *cold_start),
        TARGETS["cold_start_embedded_s"],
        at_most=True,
        unit="s",
    )
    add(
        "cold start, Neo4j",
        _figure(neo4j, *cold_start),
        TARGETS["cold_start_neo4j_s"],
        at_most=True,
        unit="s",
    )
    each_store(
        "peak RSS, cold start", ("cold_start", "peak_rss_bytes"), "peak_rss_bytes", at_most=True, unit="bytes"
    )
    each_store(
        "root coverage p50 over HTTP",
        ("http", "latency", "coverage_root", "p50_ms"),
        "root_coverage_p50_ms",
        at_most=True,
        unit="ms",
    )
    for kind, store in stores.items():
        speedups = store.get("speedup_vs_cypher") or {}
        least = min(speedups, key=speedups.__getitem__) if speedups else "none"
        add(
            f"speed-up vs Cypher, {kind} (least of {len(speedups)}: {least})",
            min(speedups.values()) if speedups else None,
            TARGETS["speedup_vs_cypher"],
            at_most=False,
            unit="x",
        )
    each_store(
        "never-repeating coverage + roll-up p50 over HTTP",
        ("http", "uncached", "uncached", "p50_ms"),
        "uncached_p50_ms",
        at_most=True,
        unit="ms",
    )
    neo4j_divisions = neo4j.get("seed", {}).get("divisions", {})
    add(
        "seeding Neo4j, divisions/s end to end "
        f"(write phase {neo4j_divisions.get('store_only_per_s', 0):,.0f}/s)",
        neo4j_divisions.get("end_to_end_per_s"),
        TARGETS["neo4j_seed_divisions_per_s"],
        at_most=False,
        unit="/s",
    )
    each_store(
        "throughput share of bare Starlette",
        ("http", "throughput", "share_of_bare"),
        "throughput_share_of_bare",
        at_most=False,
        unit="share",
    )
    return rows


def _figure(record: dict[str, Any], *path: str) -> Any:
    """The figure at `path` in a nested result: None where its last key is missing (a missing step on
    the way counts as empty)."""
    *steps, last = path
    for key in steps:
        record = record.get(key, {})
    return record.get(last)


def render(result: dict[str, Any]) -> str:
    lines: list[str] = []
    m = result["machine"]
    n = result["network"]
    lines.append(
        f"graph-service benchmark — scale {result['scale']} ({n['provinces']} provinces): "
        f"{n['divisions']:,} divisions, {n['stations']:,} stations"
    )
    lines.append(f"machine: {machine_text(m)}")
    for problem in result.get("problems", []):
        lines.append(f"PROBLEM: {problem}")
    stores = result["stores"]
    kinds = list(stores)
    lines.append("")
    lines.append(
        "Seeding (NetworkService imports, as `graph-service seed`): rows/s end to end (parse + "
        "validate + write) | write phase only"
    )
    for kind in kinds:
        s = stores[kind].get("seed")
        if s:
            d, st = s["divisions"], s["stations"]
            lines.append(
                f"  {kind:9} divisions {d['end_to_end_per_s']:>9,.0f} | {d['store_only_per_s']:>9,.0f}   "
                f"stations {st['end_to_end_per_s']:>9,.0f} | {st['store_only_per_s']:>9,.0f}   "
                f"({d['end_to_end_s']:.1f} s + {st['end_to_end_s']:.1f} s)"
            )
    lines.append("")
    lines.append("Cold start in a fresh process (store load + engine build; median of runs) and peak RSS")
    for kind in kinds:
        c = stores[kind].get("cold_start")
        if c:
            lines.append(
                f"  {kind:9} {c['cold_start_s']:6.2f} s "
                f"(load {c['load_s']:.2f} s + build {c['build_s']:.2f} s; CPU {c['cpu_s']:.2f} s), "
                f"peak RSS {c['peak_rss_bytes'] / GIB:.2f} GiB"
            )
        http = stores[kind].get("http", {})
        if http:
            served = http.get("server_peak_rss_bytes") or float("nan")
            lines.append(
                f"  {'':9} the HTTP server: ready after {http['serve_ready_s']:.2f} s (process start to "
                f"first answer), peak RSS {served / GIB:.2f} GiB after the whole HTTP run"
            )
    lines.append("")
    cy = result.get("cypher")
    columns = [f"{k} over HTTP" for k in kinds]
    if cy:
        columns += ["Cypher to Neo4j"] + [f"× {k}" for k in kinds]
    table = Table(44, (22,) * len(kinds) + ((22,) + (12,) * len(kinds) if cy else ()))
    lines.append("Latency, one request at a time over loopback HTTP (httpx, keep-alive)")
    lines.append(table.line("question (p50 / p99 ms)", *columns))
    names = [
        ("coverage_root", "coverage, root (largest province)"),
        ("coverage_national", f"coverage, national (sum of {n['provinces']} provinces)"),
        ("coverage_province", "coverage, a province"),
        ("coverage_county", "coverage, a county"),
        ("rollup_root_past", f"roll-up, root, on {PAST_DAY}"),
        ("uncovered_townships_first_page", "uncovered townships of root, page 1"),
        ("create_station_then_coverage", "createStation + coverage reflecting it"),
    ]
    for key, label in names:
        cells = [p50_p99(stores[k].get("http", {}).get("latency", {}).get(key)) for k in kinds]
        if cy:
            cells.append(p50_p99(cy["latency"].get(key)))
            for k in kinds:
                speedup = (stores[k].get("speedup_vs_cypher") or {}).get(key)
                cells.append(f"{speedup:,.0f}×" if speedup else MISSING)
        lines.append(table.line(label, *cells))
    national = stores[kinds[0]].get("http", {}).get("latency", {}).get("coverage_national", {})
    if national:
        lines.append(
            f"  (national: {national.get('requests_per_sample')} request(s) per sample, at most "
            f"{result['max_aliases']} aliased division fields per request — the app's alias limit)"
        )
    if cy:
        lines.append(
            f"  Cypher answers equal to the service's: {'yes' if result['cypher_answers_equal'] else 'NO'}"
        )
    lines.append("")
    lines.append(
        "Never-repeating coverage + roll-up questions (nothing from the response cache), one at a time, "
        "lean socket client (bench/uncached.py): p50 / p99 ms"
    )
    for kind in kinds:
        u = stores[kind].get("http", {}).get("uncached")
        if u:
            lines.append(
                f"  {kind:9} uncached {p50_p99(u['uncached'])} (n={u['uncached']['n']})   "
                f"the same question repeated (cached) {p50_p99(u['cached'])}"
            )
    lines.append("")
    lines.append(
        f"Throughput, coverage at a province, {result['options']['concurrency']} connections, "
        f"{result['options']['duration']} s, one uvicorn worker"
    )
    for kind in kinds:
        t = stores[kind].get("http", {}).get("throughput")
        if t:
            lines.append(
                f"  {kind:9} app {t['app']['requests_per_s']:8,.0f} req/s   bare Starlette "
                f"{t['bare_starlette']['requests_per_s']:8,.0f} req/s   share {t['share_of_bare']:.0%}   "
                f"(p50 under load {t['app']['latency_under_load']['p50_ms']:.1f} ms vs "
                f"{t['bare_starlette']['latency_under_load']['p50_ms']:.1f} ms)"
            )
    for kind, editions in result.get("national_editions", {}).items():
        lines.append("")
        lines += national_run.render(editions)
        load = editions["load_average"]
        lines.append(f"  ({kind}; load average {load['before'][0]:.2f} before, {load['after'][0]:.2f} after)")
    lines.append("")
    lines.append("Targets")
    for row in result["targets"]:
        value = row["value"]
        if value is None:
            shown = MISSING
        elif row["unit"] == "bytes":
            shown = f"{value / GIB:.2f} GiB (≤ {row['limit'] / GIB:.1f} GiB)"
        elif row["unit"] == "share":
            shown = f"{value:.0%} (≥ {row['limit']:.0%})"
        elif row["unit"] == "x":
            shown = f"{value:,.0f}× (≥ {row['limit']:.0f}×)"
        elif row["unit"] == "/s":
            shown = f"{value:,.0f}/s (≥ {row['limit']:,.0f}/s)"
        else:
            shown = (
                f"{value:.2f} {row['unit']} ({'≤' if row['at_most'] else '≥'} {row['limit']:g} {row['unit']})"
            )
        lines.append(f"  {verdict(row['met']):7} {row['target']:52} {shown}")
    return "\n".join(lines)


# --- main --------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the 31 provinces (default 1)")
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"the JSON report (default {DEFAULT_OUT})"
    )
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=DEFAULT_WORK_DIR,
        help=f"SQLite file, Neo4j data, server logs (default {DEFAULT_WORK_DIR}; emptied first)",
    )
    neo = parser.add_mutually_exclusive_group()
    neo.add_argument("--skip-neo4j", action="store_true", help="benchmark the embedded store only")
    neo.add_argument("--neo4j", metavar="URL", help="an empty, running Neo4j to seed and query")
    neo.add_argument(
        "--start-neo4j",
        action="store_true",
        help=f"start (and stop) a fresh Neo4j with neo4j-local on port {DEFAULT_PORT} (default)",
    )
    parser.add_argument("--neo4j-port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--requests", type=int, default=300, help="timed requests per HTTP question")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests before each question")
    parser.add_argument("--cypher-requests", type=int, default=20, help="timed runs per Cypher question")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds at most per timed question")
    parser.add_argument("--writes", type=int, default=200, help="createStation + coverage pairs")
    parser.add_argument("--concurrency", type=int, default=16, help="connections for the throughput run")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of each throughput run")
    parser.add_argument("--coldstart-runs", type=int, default=3)
    parser.add_argument(
        "--skip-editions",
        action="store_true",
        help="leave out the national editions (bench/national_run.py: about 7 CPU minutes, embedded)",
    )
    parser.add_argument(
        "--editions-neo4j",
        action="store_true",
        help="also apply the national editions to a fresh Neo4j (started with neo4j-local on --neo4j-port "
        "after the rest; slow)",
    )
    args = parser.parse_args(argv)
    if not 0 < args.scale <= 1:
        parser.error("--scale must be in (0, 1]")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    provinces = max(1, round(PROVINCES * args.scale))
    work_dir: Path = args.work_dir
    if work_dir.exists():
        shutil.rmtree(work_dir)
    work_dir.mkdir(parents=True)
    secret = os.environ["GRAPH_SERVICE_JWT_SECRET"] = secrets.token_hex(32)  # for the servers it starts
    os.environ.pop("GRAPH_SERVICE_STORE", None)
    token = issue_token(secret, Role.ADMIN, "*", timedelta(hours=6), "bench")

    started = time.perf_counter()
    result: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python -m bench " + " ".join(sys.argv[1:] if argv is None else argv),
        "scale": args.scale,
        "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "machine": machine(),
        "max_aliases": max_aliases(),
        "stores": {},
    }

    note(f"generating {provinces} provinces")
    generated = time.perf_counter()
    division_records: list[Division] = list(divisions(provinces=provinces))
    station_records: list[Station] = list(stations(provinces=provinces))
    by_level = Counter(str(d.level) for d in division_records)
    result["network"] = {
        "provinces": provinces,
        "divisions": len(division_records),
        "stations": len(station_records),
        "divisions_by_level": {str(level): by_level[str(level)] for level in DivisionLevel},
        "stations_by_level": dict(Counter(str(s.level) for s in station_records)),
        "stations_by_status": dict(Counter(str(s.status) for s in station_records)),
        "generate_s": time.perf_counter() - generated,
    }
    network = result["network"]
    problems: list[str] = []
    targets = choose_targets(division_records)
    by_level_codes: dict[str, list[str]] = {}
    for division in division_records:
        by_level_codes.setdefault(str(division.level), []).append(division.code)
    uncached_codes = uncached.sample_codes(by_level_codes)
    del by_level_codes
    result["asked_about"] = {k: v for k, v in targets.items() if k != "provinces"}

    stores: dict[str, str] = {"embedded": f"sqlite:///{work_dir / 'bench.db'}"}
    local: LocalNeo4j | None = None
    if args.neo4j:
        stores["neo4j"] = args.neo4j
    elif not args.skip_neo4j:
        local = LocalNeo4j(work_dir, args.neo4j_port)
        note(f"starting Neo4j on port {args.neo4j_port}")
        local.start()
        stores["neo4j"] = local.url

    try:
        for kind, url in stores.items():
            note(f"seeding {kind} ({url})")
            result["stores"][kind] = {"url": url, "seed": seed(url, division_records, station_records)}
            gc.collect()
        del division_records, station_records
        gc.collect()
        for kind, url in stores.items():
            note(f"cold start, {kind}, {args.coldstart_runs} run(s)")
            result["stores"][kind]["cold_start"] = run_coldstarts(url, args.coldstart_runs)
        if "neo4j" in stores:
            note("Cypher straight to Neo4j")
            result["cypher"] = cypher_suite(args, stores["neo4j"], targets)
            found = result["cypher"]["node_counts"]
            if found != {"divisions": network["divisions"], "stations": network["stations"]}:
                problems.append(
                    f"Neo4j holds {found}, not the generated network: something else wrote into it"
                )
        for kind in stores:
            for run in result["stores"][kind]["cold_start"]["runs"]:
                if (run["divisions"], run["stations"]) != (network["divisions"], network["stations"]):
                    problems.append(
                        f"the {kind} cold start loaded {run['divisions']} divisions and {run['stations']} "
                        "stations, not the generated network"
                    )
        for kind, url in stores.items():
            note(f"HTTP, {kind}")
            suite = HttpSuite(args, kind, url, targets, token, work_dir, uncached_codes)
            result["stores"][kind]["http"] = suite.run()
            result["stores"][kind]["answers"] = {k: _jsonable(v) for k, v in suite.answers.items()}
            if "cypher" in result:
                cy = result["cypher"]
                latency = result["stores"][kind]["http"]["latency"]
                result["stores"][kind]["speedup_vs_cypher"] = {
                    name: cy["latency"][name]["p50_ms"] / latency[name]["p50_ms"] for name in cy["latency"]
                }
                result["stores"][kind]["cypher_answers_equal"] = {
                    name: _jsonable(cy["answers"][name]) == _jsonable(suite.answers[name])
                    for name in cy["answers"]
                }
    finally:
        if local is not None:
            note("stopping Neo4j")
            local.stop()

    if not args.skip_editions:
        result["national_editions"] = editions_section(args, work_dir)

    if "cypher" in result:
        result["cypher"]["answers"] = {k: _jsonable(v) for k, v in result["cypher"]["answers"].items()}
        result["cypher_answers_equal"] = all(
            all(store.get("cypher_answers_equal", {}).values()) for store in result["stores"].values()
        )
        if not result["cypher_answers_equal"]:
            problems.append("the Cypher answers differ from the service's")
    result["problems"] = problems
    result["targets"] = evaluate(result)
    result["machine"]["load_average_at_end"] = os.getloadavg()
    result["total_s"] = time.perf_counter() - started
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(render(result))
    print(f"\nwritten to {args.out} in {result['total_s']:.0f} s")
    for problem in problems:
        print(f"ERROR: {problem}", file=sys.stderr)
    return 1 if problems else 0


def editions_section(args: argparse.Namespace, work_dir: Path) -> dict[str, Any]:
    """The national editions (`bench.national_run`) on a fresh embedded store, and with
    --editions-neo4j on a fresh Neo4j, each with the load average before and after."""
    section: dict[str, Any] = {}
    runs = [("embedded", None)] + (
        [("neo4j", LocalNeo4j(work_dir / "editions-neo4j", args.neo4j_port))] if args.editions_neo4j else []
    )
    for kind, local in runs:
        folder = work_dir / f"editions-{kind}"
        load_before = os.getloadavg()
        if local is None:
            section[kind] = national_run.run(f"sqlite:///{folder / 'editions.db'}", folder)
        else:
            note(f"starting a fresh Neo4j on port {args.neo4j_port} for the editions")
            local.start()
            try:
                section[kind] = national_run.run(local.url, folder)
            finally:
                local.stop()
        section[kind]["load_average"] = {"before": load_before, "after": os.getloadavg()}
    return section


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in sorted(value.items())}
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    return value
