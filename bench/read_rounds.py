"""Read-only load rounds, two checkouts side by side: `python -m bench.read_rounds --store URL
--base DIR [--after DIR] [--workers N] [--rounds R] [--duration S]`.

The load run's readers (`bench.load`: 16 clients back to back, never-repeating coverage, roll-up and
gap-list questions) and its `/healthz` poller, without the writer and the import, against a server
started from each checkout in turn (`bench.http.Server`: `python -m bench.serve app` run inside that
checkout, so it serves that checkout's code) on the same store; the rounds alternate base, after,
base, after... and each server is stopped before the next starts (one national network in memory
per worker at a time). Prints p50/p99 per kind, reads per second and the server's CPU seconds, with the load
average before and after each round. Every loop is bounded in time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from bench.http import Server, summary
from bench.load import KINDS, LoadRun, Plan
from bench.proc import cpu_seconds
from bench.uncached import codes_from_generator

REPO = Path(__file__).resolve().parent.parent


def one_round(
    port: int, pids: Sequence[int], codes: dict[str, list[str]], args: argparse.Namespace
) -> dict[str, Any]:
    """The readers and the /healthz poller for `args.duration` seconds; latencies, reads/s, CPU."""
    options = argparse.Namespace(
        clients=args.clients, duration=args.duration, think=0.0, sample=0, sample_one_in=1_000_000
    )
    plan = Plan(codes, [], [], date.today())
    load = LoadRun(options, plan, port, "", Path("."), importing=False)

    async def run() -> None:
        load.started = time.perf_counter()
        load.ends = load.started + args.duration
        readers = [load.reader(number) for number in range(args.clients)]
        await asyncio.wait_for(asyncio.gather(*readers, load.health()), args.duration + 120)

    load_before = os.getloadavg()[0]
    cpu_before = [cpu_seconds(pid) for pid in pids]
    asyncio.run(run())
    cpu = sum(cpu_seconds(pid) - used for pid, used in zip(pids, cpu_before, strict=True))
    latencies = load.tally.latencies
    reads = [x for kind in KINDS for x in latencies[kind]]
    return {
        "load_average": [load_before, os.getloadavg()[0]],
        "reads_per_s": len(reads) / args.duration,
        "server_cpu_s": cpu,
        "errors": dict(load.tally.errors),
        "latency": {kind: summary(latencies[kind]) for kind in (*KINDS, "healthz")},
        "all_reads": summary(reads),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.read_rounds", description=__doc__)
    parser.add_argument("--store", required=True, help="a store holding the network `python -m bench` seeds")
    parser.add_argument("--base", type=Path, required=True, help="the checkout to compare against")
    parser.add_argument("--after", type=Path, default=REPO, help="the other checkout (default: this one)")
    parser.add_argument("--provinces", type=int, default=31)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2, help="rounds per checkout")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per round")
    parser.add_argument("--log-dir", type=Path, default=Path("/tmp"))
    args = parser.parse_args(argv)
    codes = codes_from_generator(args.provinces)
    results: list[dict[str, Any]] = []
    for number in range(args.rounds):
        for label, checkout in (("base", args.base), ("after", args.after)):
            with Server(
                ["app", "--store", args.store],
                name=f"read-rounds-{label}",
                log_dir=args.log_dir,
                workers=args.workers,
                checkout=checkout.resolve(),
            ) as server:
                time.sleep(2)
                result = {
                    "round": number + 1,
                    "label": label,
                    **one_round(server.port, server.pids(), codes, args),
                }
            results.append(result)
            lat = result["latency"]
            print(
                f"round {number + 1} {label:5} load {result['load_average'][0]:.1f}->"
                f"{result['load_average'][1]:.1f}  {result['reads_per_s']:7.0f} reads/s  "
                f"cpu {result['server_cpu_s']:5.1f} s  "
                + "  ".join(f"{k} {lat[k]['p50_ms']:.2f}/{lat[k]['p99_ms']:.1f}" for k in (*KINDS, "healthz"))
                + f"  errors {result['errors'] or 0}",
                flush=True,
            )
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
