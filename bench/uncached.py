"""Never-repeating questions, one at a time over HTTP: `python -m bench uncached --port P`.

A dashboard asks the same question again and again, and the response cache answers those. This
measures the other case: every request asks a coverage + roll-up question (one document, both fields)
about a division and a day never asked before, so nothing can come from the response cache and the
engine answers each one afresh. For comparison it then repeats one question (a cached answer).

The divisions are drawn from the generated network (`bench.generate`, deterministic), mixed across
levels (provinces, cities, counties, townships, villages); the days from 2015-01-01 to 2025-12-31.
Every (division, day) pair is used once. Loops are bounded in count and time.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from typing import Any

from bench.http import LeanClient, summary, time_calls

COVERAGE_ROLLUP_Q = (
    "query CoverageRollup($code: String!, $day: Date!) { division(code: $code) { "
    "coverage(asOf: $day) { level total covered rate } "
    "rollup(asOf: $day) { guidanceCentres generalStations townshipStations villageRooms "
    "staff certifiedStaff volunteers } } }"
)
FIRST_DAY = date(2015, 1, 1)
DAYS = (date(2025, 12, 31) - FIRST_DAY).days + 1


def sample_codes(codes_by_level: dict[str, Sequence[str]], seed: int = 9) -> list[str]:
    """Division codes to ask about: every province and city, and a deterministic sample of counties,
    townships and villages (a few thousand in all)."""
    rng = random.Random(seed)
    picked: list[str] = []
    for level, wanted in (
        ("province", None),
        ("city", None),
        ("county", 1000),
        ("township", 1000),
        ("village", 500),
    ):
        codes = list(codes_by_level.get(level, ()))
        picked += codes if wanted is None or wanted >= len(codes) else rng.sample(codes, wanted)
    return picked


def fresh_questions(codes: Sequence[str], seed: int) -> Iterator[tuple[str, date]]:
    """An endless stream of (division code, day) pairs, none repeated, in a random order."""
    rng = random.Random(seed)
    seen: set[tuple[str, int]] = set()
    limit = len(codes) * DAYS
    while len(seen) < limit:
        pair = (rng.choice(codes), rng.randrange(DAYS))
        if pair in seen:
            continue
        seen.add(pair)
        yield pair[0], FIRST_DAY + timedelta(days=pair[1])


def variables(code: str, day: date) -> dict[str, Any]:
    return {"code": code, "day": day.isoformat()}


def measure(
    port: int, codes: Sequence[str], *, requests: int, warmup: int, budget_s: float, seed: int = 0
) -> dict[str, Any]:
    """p50/p99 of never-repeated coverage + roll-up questions, then of one repeated (cached) question.
    Use another `seed` to measure the same server again (the same seed asks the same questions)."""
    questions = fresh_questions(codes, seed)
    with LeanClient(port) as client:

        def ask_fresh() -> None:
            client.graphql(COVERAGE_ROLLUP_Q, variables(*next(questions)))

        fresh = summary(time_calls(ask_fresh, requests, warmup, budget_s))
        repeated = variables(codes[0], date(2024, 6, 30))
        cached = summary(
            time_calls(lambda: client.graphql(COVERAGE_ROLLUP_Q, repeated), requests, warmup, budget_s)
        )
    return {"query": "coverage + roll-up of a division on a day", "uncached": fresh, "cached": cached}


def codes_from_generator(provinces: int) -> dict[str, list[str]]:
    """The generated network's division codes by level (what `bench.generate` seeds)."""
    from bench.generate import divisions

    by_level: dict[str, list[str]] = {}
    for division in divisions(provinces=provinces):
        by_level.setdefault(str(division.level), []).append(division.code)
    return by_level


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench uncached", description=__doc__)
    parser.add_argument(
        "--port",
        type=int,
        required=True,
        help="a service on 127.0.0.1 serving the network `python -m bench` seeds",
    )
    parser.add_argument("--provinces", type=int, default=31, help="provinces in the seeded network")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0, help="another seed asks other questions")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds at most per measurement")
    args = parser.parse_args(argv)
    codes = sample_codes(codes_from_generator(args.provinces))
    result = measure(
        args.port, codes, requests=args.requests, warmup=args.warmup, budget_s=args.budget, seed=args.seed
    )
    for name in ("uncached", "cached"):
        s = result[name]
        print(
            f"{name:9} n={s['n']:5}  p50 {s['p50_ms']:.3f} ms  p99 {s['p99_ms']:.3f} ms  "
            f"mean {s['mean_ms']:.3f} ms"
        )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
