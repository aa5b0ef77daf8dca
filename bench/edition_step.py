"""One step of the national editions run (`bench.national_run`), in a fresh process as an admin's
command would run: `python -m bench.edition_step STEP --store URL ...` prints one JSON line with what
the step did, its wall and CPU seconds (this process's, so the machine's other work does not count)
and the process's peak RSS (VmHWM, see `bench.coldstart`).

    apply FILE --edition D [--successors S]     apply an edition (spec §6), as `seed divisions --edition`
    preview FILE --edition D --write-successors OUT   the dry run, and its proposal written to OUT
    stations FILE --seed-table TABLE            generate stations over a division table and import them
    probe --code CODE --days D,D,.. --write-in CODE,CODE,..   coverage p50 on each day, and single writes
"""

from __future__ import annotations

import time

PROCESS_STARTED = time.perf_counter()

import argparse  # noqa: E402
import csv  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Callable, Mapping, Sequence  # noqa: E402
from datetime import date, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from bench.proc import peak_rss_bytes  # noqa: E402
from graph_service.bootstrap import open_service  # noqa: E402
from graph_service.domain.model import Division  # noqa: E402
from graph_service.domain.successors import SUCCESSOR_COLUMNS, successor_rows  # noqa: E402
from graph_service.domain.validation import codes_above  # noqa: E402
from graph_service.domain.validity import is_valid_on  # noqa: E402
from graph_service.service_layer.auth import Principal  # noqa: E402
from graph_service.service_layer.editions import (  # noqa: E402
    EditionPreview,
    apply_stored_edition,
    preview_stored_edition,
)
from graph_service.service_layer.services import NetworkService  # noqa: E402
from graph_service.service_layer.settings import Settings  # noqa: E402

SHOWN_PROBLEMS = 20
"""The most refusal lines a step reports (the count is always whole)."""


def _open(store_url: str) -> tuple[NetworkService, float]:
    """The service over `store_url` (store load + engine build, as a command does) and the seconds it took."""
    started = time.perf_counter()
    service = open_service(Settings.from_env(store_url=store_url))
    return service, time.perf_counter() - started


def _levels(divisions: Sequence[Division]) -> dict[str, int]:
    """How many of `divisions` there are of each level."""
    return dict(Counter(str(d.level) for d in divisions))


def _outcome(preview: EditionPreview) -> dict[str, Any]:
    """What an edition's report says: the counts per level, the moves, and every refusal (the first
    SHOWN_PROBLEMS of them in words)."""
    problems = [str(p) for p in preview.division_problems + preview.successor_problems]
    problems += [str(s) for s in preview.stranded] if preview.refused else []
    out: dict[str, Any] = {
        "refused": preview.refused,
        "problem_count": len(problems),
        "problems": problems[:SHOWN_PROBLEMS],
        "problem_rows": sorted({p.row for p in preview.division_problems}),
        "stranded_divisions": len(preview.stranded),
        "stranded_stations": sum(len(s.station_ids) for s in preview.stranded),
    }
    report = preview.report
    if report is not None and not report.plan.problems:
        plan = report.plan
        after = report.after
        out |= {
            "rows": preview.rows,
            "created": _levels(plan.created),
            "retired": _levels(plan.retired),
            "renamed": _levels([after[r.code] for r in plan.renamed]),
            "reparented": len(plan.reparented),
            "proposed": _levels([after[code] for code in report.proposed]),
            "moves": len(report.moves),
            "reporting_changes": len(report.reporting),
        }
    return out


def fallback_successors(
    codes: Sequence[str], after: Mapping[str, Division], proposed: Mapping[str, str], day: date
) -> dict[str, str]:
    """A stand-in for the admin's review, for each retired division in `codes` that holds stations and
    has no proposed successor (a merged village keeps no name of its own): the lowest-code division of
    its level valid on `day` under its nearest ancestor that survives (an ancestor retired too standing
    for its proposed successor). Divisions with no such division are left out."""
    levels = {after[code].level for code in codes}
    lowest: dict[tuple[str, str], str] = {}
    for division in after.values():
        if division.level in levels and is_valid_on(division, day):
            for ancestor in codes_above(division.code, after.get):
                key = (ancestor, str(division.level))
                if key not in lowest or division.code < lowest[key]:
                    lowest[key] = division.code
    chosen: dict[str, str] = {}
    for code in codes:
        old = after[code]
        for ancestor in codes_above(code, after.get):
            scope = ancestor if is_valid_on(after[ancestor], day) else proposed.get(ancestor)
            if scope is not None and (scope, str(old.level)) in lowest:
                chosen[code] = lowest[scope, str(old.level)]
                break
    return chosen


def _write_successors(path: Path, links: Mapping[str, str]) -> None:
    """`links` as a successors CSV (spec §6: `old_code,new_code`; codes only, nothing to escape)."""
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(SUCCESSOR_COLUMNS)
        writer.writerows(successor_rows({old: [new] for old, new in links.items()}))


def step_preview(service: NetworkService, args: argparse.Namespace) -> dict[str, Any]:
    """The dry run of an edition without a successors file; its proposal, completed by
    `fallback_successors` for the retired divisions holding stations it proposes nothing for,
    written to --write-successors."""
    preview = preview_stored_edition(service, Principal.local_admin(), args.file.read_bytes(), args.edition)
    out = _outcome(preview)
    report = preview.report
    if report is None or report.plan.problems:
        return out
    stranded = [s.division_code for s in preview.stranded]
    fallback = fallback_successors(stranded, report.after, report.proposed, args.edition)
    _write_successors(args.write_successors, {**report.proposed, **fallback})
    out |= {
        "fallback": len(fallback),
        "fallback_stations": sum(len(s.station_ids) for s in preview.stranded if s.division_code in fallback),
        "still_stranded": [code for code in stranded if code not in fallback][:SHOWN_PROBLEMS],
    }
    return out


def step_apply(service: NetworkService, args: argparse.Namespace) -> dict[str, Any]:
    """Apply an edition (with the successors file given, if any), as `seed divisions --edition`."""
    successors = args.successors.read_bytes() if args.successors else None
    result = apply_stored_edition(
        service, Principal.local_admin(), args.file.read_bytes(), args.edition, successors, follow=False
    )
    return {"applied": result.applied, "written": result.written, **_outcome(result.preview)}


def step_stations(service: NetworkService, args: argparse.Namespace) -> dict[str, Any]:
    """Generate stations over the division table --seed-table (`bench.generate.stations_over`) and
    import them, as `seed stations`."""
    from bench.editions import read_edition
    from bench.generate import stations_over
    from bench.seed import stations_csv

    table = [division for _, division in read_edition(args.seed_table)]
    data = stations_csv(stations_over(table))
    report = service.import_stations(Principal.local_admin(), data, follow=False)
    if report.errors or not report.applied:
        raise SystemExit("; ".join(f"row {p.row}: {p.message}" for p in report.errors[:5]))
    return {"created": report.created}


def _p50_ms(call: Callable[[], Any], runs: int) -> float:
    """The median milliseconds of `runs` calls of `call` (after two untimed ones)."""
    call()
    call()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def step_probe(service: NetworkService, args: argparse.Namespace) -> dict[str, Any]:
    """The coverage of --code on each of --days (p50 of --runs calls, in process: the engine's cost,
    no HTTP), and the time of single writes: one createStation in each division of --write-in."""
    views = service.views
    days = [date.fromisoformat(day) for day in args.days.split(",")]
    coverage = {
        day.isoformat(): _p50_ms(lambda d=day: views.coverage(args.code, d), args.runs) for day in days
    }
    opened = service.today() - timedelta(days=1)
    writes = []
    for code in args.write_in.split(","):
        fields = {
            "id": f"BENCH-{args.tag}-{code}",
            "name": f"bench station {code}",
            "level": "township_station",
            "division_code": code,
            "status": "operating",
            "opened_on": opened,
            "staff": 2,
        }
        started = time.perf_counter()
        service.create_station(Principal.local_admin(), fields)
        writes.append((time.perf_counter() - started) * 1000)
    return {"coverage_p50_ms": coverage, "write_ms": writes, "write_p50_ms": statistics.median(writes)}


STEPS: dict[str, Callable[[NetworkService, argparse.Namespace], dict[str, Any]]] = {
    "apply": step_apply,
    "preview": step_preview,
    "stations": step_stations,
    "probe": step_probe,
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.edition_step",
        description=__doc__,
        formatter_class=argparse.RawTextHelpFormatter,
    )
    parser.add_argument("step", choices=sorted(STEPS))
    parser.add_argument("file", nargs="?", type=Path, help="the division table (apply, preview)")
    parser.add_argument("--store", required=True, help="sqlite:///PATH or bolt://HOST:PORT")
    parser.add_argument("--edition", type=date.fromisoformat, help="the edition's date (apply, preview)")
    parser.add_argument("--successors", type=Path, default=None, help="the successors file (apply)")
    parser.add_argument("--write-successors", type=Path, default=None, help="the proposal (preview)")
    parser.add_argument("--seed-table", type=Path, default=None, help="the table stations sit on (stations)")
    parser.add_argument("--code", help="the division whose coverage is timed (probe)")
    parser.add_argument("--days", help="the days the coverage is timed on, comma-separated (probe)")
    parser.add_argument("--write-in", help="townships to create one station in each, comma-separated (probe)")
    parser.add_argument("--tag", default="probe", help="part of the created stations' ids (probe)")
    parser.add_argument("--runs", type=int, default=200, help="timed calls per coverage day (probe)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one step in this process and print its JSON line."""
    args = parse_args(argv)
    started = time.perf_counter()
    cpu_started = time.process_time()
    service, open_s = _open(args.store)
    try:
        out = STEPS[args.step](service, args)
    finally:
        service.close()
    out |= {
        "step": args.step,
        "wall_s": time.perf_counter() - started,
        "cpu_s": time.process_time() - cpu_started,
        "open_s": open_s,
        "peak_rss_bytes": peak_rss_bytes(),
    }
    print(json.dumps(out, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
