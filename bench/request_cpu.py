"""CPU per never-repeated request, in process: `python -m bench.request_cpu --store URL`.

The real app (`create_app` over `NetworkService`) is called directly as an ASGI application, with no
socket and no HTTP server, so what is measured is the service's own work per request: the HTTP
handler, GraphQL, the resolvers, the engine and the JSON answer. Each kind of question the load run
asks (coverage, roll-up, both in one document, the first page of a gap list) is asked `--requests`
times about a (division, day) pair never asked before, so the response cache answers none of them;
the process's CPU time (every thread) is divided by the number of requests. Rounds alternate the
kinds; the figure per kind is the median of its rounds. `--profile FILE` writes a cProfile of one
more round of each kind.

Run it with another checkout's code on the path (`PYTHONPATH=/path/to/other/checkout`) to compare
two versions on the same store, one process after the other.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import date, timedelta
from typing import Any

from bench.load import COVERAGE_Q, GAPS_Q, ROLLUP_Q
from bench.uncached import COVERAGE_ROLLUP_Q, FIRST_DAY, codes_from_generator

LAST_DAY = date(2025, 12, 31)
GAP_LEVELS = {"province": "TOWNSHIP", "city": "TOWNSHIP", "county": "VILLAGE", "township": "VILLAGE"}


def questions(kind: str, codes: dict[str, list[str]], seed: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """Endless (query, variables) pairs of one kind, no (division, day) pair repeated."""
    rng = random.Random(seed)
    days = (LAST_DAY - FIRST_DAY).days + 1
    seen: set[tuple[str, int]] = set()
    levels = ("province", "city", "county", "township") + (() if kind == "gaps" else ("village",))
    while True:
        code = rng.choice(codes[rng.choice(levels)])
        day = rng.randrange(days)
        if (code, day) in seen:
            continue
        seen.add((code, day))
        when = (FIRST_DAY + timedelta(days=day)).isoformat()
        if kind == "gaps":
            level = GAP_LEVELS[_level_of(code)]
            yield GAPS_Q, {"under": code, "level": level, "day": when}
        else:
            query = {"coverage": COVERAGE_Q, "rollup": ROLLUP_Q, "both": COVERAGE_ROLLUP_Q}[kind]
            yield query, {"code": code, "day": when}


def _level_of(code: str) -> str:
    return {2: "province", 4: "city", 6: "county", 9: "township", 12: "village"}[len(code)]


class Caller:
    """POSTs to /graphql of an ASGI app, straight through its interface (no socket)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()

    def run(self, work: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """POST each (query, variables) of `work` in turn, in one task (as one connection's requests
        are), checking each answer: 200, no errors."""
        self.loop.run_until_complete(self._run(work))

    async def _run(self, work: Sequence[tuple[str, dict[str, Any]]]) -> None:
        for query, variables in work:
            status, body = await self.post(query, variables)
            if status != 200 or b'"errors"' in body:
                raise RuntimeError(f"HTTP {status}: {body[:300]!r}")

    async def post(self, query: str, variables: dict[str, Any]) -> tuple[int, bytes]:
        body = json.dumps({"query": query, "variables": variables}).encode()
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/graphql",
            "raw_path": b"/graphql",
            "root_path": "",
            "query_string": b"",
            "headers": [
                (b"host", b"127.0.0.1"),
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 80),
        }
        sent = False
        status = 0
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                await asyncio.sleep(3600)
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return status, b"".join(chunks)


def cpu_per_request(caller: Caller, stream: Iterator[tuple[str, dict[str, Any]]], count: int) -> float:
    """Microseconds of process CPU per request over `count` requests (each checked: 200, no errors)."""
    work = [next(stream) for _ in range(count)]
    started = time.process_time()
    caller.run(work)
    return (time.process_time() - started) / count * 1e6


def measure(
    caller: Caller, codes: dict[str, list[str]], kinds: Sequence[str], requests: int, rounds: int
) -> dict[str, list[float]]:
    """Per kind, the CPU per request of each round (the kinds alternate within a round)."""
    streams = {kind: questions(kind, codes, seed) for seed, kind in enumerate(kinds)}
    for kind in kinds:  # warm-up: parse and validate each document once, fill the caches
        cpu_per_request(caller, streams[kind], 50)
    figures: dict[str, list[float]] = {kind: [] for kind in kinds}
    for _ in range(rounds):
        for kind in kinds:
            figures[kind].append(cpu_per_request(caller, streams[kind], requests))
    return figures


def profile(
    caller: Caller, codes: dict[str, list[str]], kinds: Sequence[str], requests: int, path: str
) -> None:
    """A cProfile of one round of each kind, written to `path`.KIND (one file per kind). Work the app
    would hand to a worker thread runs on the event loop's thread meanwhile, so the profile sees it."""
    import graph_service.entrypoints.graphql_http as endpoint

    async def inline(call: Callable[..., Any], *args: Any) -> Any:
        return call(*args)

    endpoint.run_in_threadpool = inline  # type: ignore[assignment]
    for seed, kind in enumerate(kinds):
        stream = questions(kind, codes, 1000 + seed)
        profiler = cProfile.Profile()
        profiler.enable()
        cpu_per_request(caller, stream, requests)
        profiler.disable()
        profiler.dump_stats(f"{path}.{kind}")


def open_app(store_url: str) -> Any:
    from graph_service.bootstrap import open_service
    from graph_service.entrypoints.app import create_app
    from graph_service.service_layer.settings import Settings

    return create_app(open_service(Settings.from_env(store_url=store_url)))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.request_cpu", description=__doc__)
    parser.add_argument("--store", required=True, help="a store holding the network `python -m bench` seeds")
    parser.add_argument("--provinces", type=int, default=31, help="provinces in the seeded network")
    parser.add_argument("--requests", type=int, default=1000, help="requests per kind and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--kinds", default="coverage,rollup,both,gaps")
    parser.add_argument("--profile", metavar="FILE", help="also write a cProfile of one round per kind")
    parser.add_argument("--label", default="", help="a name for this run in the output")
    args = parser.parse_args(argv)
    kinds = [kind.strip() for kind in args.kinds.split(",") if kind.strip()]
    codes = codes_from_generator(args.provinces)
    caller = Caller(open_app(args.store))
    gc.collect()
    figures = measure(caller, codes, kinds, args.requests, args.rounds)
    medians: dict[str, float] = {kind: statistics.median(values) for kind, values in figures.items()}
    for kind in kinds:
        rounds = ", ".join(f"{value:.0f}" for value in figures[kind])
        print(f"{args.label:8} {kind:9} {medians[kind]:7.0f} µs CPU per request (rounds: {rounds})")
    if args.profile:
        profile(caller, codes, kinds, args.requests, args.profile)
    print(json.dumps({"label": args.label, "cpu_us_per_request": medians, "rounds": figures}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
