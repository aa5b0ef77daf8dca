"""`python -m bench.editions`: plan the four Guizhou NBS editions in order with the pure domain rules
(spec §6) and print, per step, the townships and villages created, retired and renamed, and for how
many retired ones a successor is proposed.

    python -m bench.editions [DATA_DIR]     # default ../shared/data (divisions-guizhou-*.csv)
"""

from __future__ import annotations

import sys
from collections import Counter
from datetime import date
from pathlib import Path

from graph_service.domain.editions import AppliedEdition, apply_plan, plan_edition
from graph_service.domain.levels import DivisionLevel
from graph_service.domain.model import Division
from graph_service.domain.successors import propose_successors
from graph_service.domain.validation import EmptyNetwork, read_csv_rows, validate_divisions

EDITIONS = (
    (2020, date(2020, 6, 30)),
    (2021, date(2021, 10, 31)),
    (2022, date(2022, 10, 31)),
    (2023, date(2023, 6, 30)),
)
LEVELS = (DivisionLevel.COUNTY, DivisionLevel.TOWNSHIP, DivisionLevel.VILLAGE)
CHECKS = (("520221", "520204"), ("520111103", "520111012"))


def read_edition(path: Path) -> list[tuple[int, Division]]:
    """The rows of one division table, checked as a plain import would check them."""
    rows, problems = read_csv_rows(
        path.read_text(encoding="utf-8-sig"), ("code", "name", "level", "parent_code")
    )
    divisions, more = validate_divisions(rows, EmptyNetwork())
    if problems or more:
        raise SystemExit(f"{path}: {(problems + more)[0]}")
    by_code = {d.code: d for d in divisions}
    return [(row, by_code[values["code"]]) for row, values in rows]


def default_data_dir() -> Path:
    """../shared/data beside the checkout (a worktree sits one level deeper than the main checkout)."""
    here = Path(__file__).resolve()
    candidates = [parent / "shared" / "data" for parent in here.parents[1:4]]
    return next((path for path in candidates if path.is_dir()), candidates[1])


def main(argv: list[str]) -> int:
    """Plan the editions in order, print the table and the spec's spot checks."""
    data = Path(argv[0]) if argv else default_data_dir()
    stored: dict[str, Division] = {}
    applied: dict[str, AppliedEdition] = {}
    header = "| step | level | retired | created | renamed | retired with a proposed successor |"
    print(header)
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    checks: list[str] = []
    previous: int | None = None
    for year, day in EDITIONS:
        rows = read_edition(data / f"divisions-guizhou-{year}.csv")
        plan = plan_edition(stored, rows, day, applied)
        if plan.problems:
            raise SystemExit(f"{year}: {plan.problems[0]}")
        stored = apply_plan(stored, (d for _, d in rows), plan)
        applied.update(plan.applied)
        proposed = propose_successors(plan.retired, stored, day)
        if previous is not None:
            retired = Counter(d.level for d in plan.retired)
            created = Counter(d.level for d in plan.created)
            renamed = Counter(stored[r.code].level for r in plan.renamed)
            with_proposal = Counter(d.level for d in plan.retired if d.code in proposed)
            for level in LEVELS:
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
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
