"""Seed the Guizhou demo into a store: the four NBS editions in order, and the demo stations around them.

The steps (seed/README.md, "Seeding order"), each a `graph-service seed` command as an admin types it
(run from the repository's root, so its output names the files as below):

1. `seed divisions seed/divisions-guizhou-2020.csv --edition 2020-06-30`;
2. `seed stations` with the rows of `seed/stations-guizhou-demo-editions.csv` listing a code of the 2020
   table (7,553 rows, among them 水城县's 15 stations listed with their 2020 codes);
3. the 2021, 2022 and 2023 tables as the editions of 2021-10-31, 2022-10-31 and 2023-06-30, each with
   its reviewed successors file (`seed/successors-guizhou-YEAR.csv`); the 2021 edition moves the 15;
4. `seed stations` with the rows listing a code of the 2023 table (every row but the 15: the 592 of
   codes created in 2021–2023 are created, the others are unchanged).

Running it again is safe: a step is skipped once the store holds an edition later than the table it
belongs to (spec §6 refuses an older edition, and seeding the 15 rows with 2020 codes again after the
2021 edition would be a correction putting them back into retired divisions); the steps of the latest
edition run again and change nothing, or put back what differs from the files. A store that holds
divisions but no edition (one seeded by a plain import, such as an older demo's) is refused before
anything is written: the 2020 edition would retire every code it lacks.

    python seed/demo.py [--store URL]      # default: GRAPH_SERVICE_STORE, else sqlite:///graph-service.db
    python seed/demo.py --before 2021-10-31 # only the steps before that edition (README's worked example)

(a relative SQLite path is taken from the repository's root, where the commands run.)

`scripts/demo` runs it before serving; `bench/dashboard.py` (the screenshots and the browser tests)
calls `seed_demo`.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(REPO) not in sys.path:  # run as a script from a checkout: find the package beside it
    sys.path.insert(0, str(REPO))

from graph_service.bootstrap import open_store  # noqa: E402  (after the path above)
from graph_service.service_layer.settings import Settings  # noqa: E402

EDITIONS = (
    (date(2020, 6, 30), "divisions-guizhou-2020.csv", None),
    (date(2021, 10, 31), "divisions-guizhou-2021.csv", "successors-guizhou-2021.csv"),
    (date(2022, 10, 31), "divisions-guizhou-2022.csv", "successors-guizhou-2022.csv"),
    (date(2023, 6, 30), "divisions-guizhou-2023.csv", "successors-guizhou-2023.csv"),
)
"""The demo's editions in the order they are applied: date, table, successors file (in `seed/`)."""
STATIONS = "stations-guizhou-demo-editions.csv"
"""The demo stations (invented), listed as seed/README.md says: see `make_demo_stations.py`."""
PROVINCE = "52"


class DemoSeedError(Exception):
    """A step of the demo's seeding failed (its command has said why on standard error)."""


@dataclass(frozen=True, slots=True)
class Step:
    """One `graph-service seed` command of the demo, belonging to the table of edition `day`."""

    day: date
    arguments: tuple[str, ...]
    stations: str | None = None  # the station rows it reads on standard input ('-'), if any

    def describe(self) -> str:
        """The command as an admin would type it."""
        return "graph-service " + " ".join(self.arguments)


def listed_in(stations_text: str, table_text: str) -> str:
    """The station file `stations_text` cut to its header and the rows whose `division_code` is a code
    of the division table `table_text` (rows kept byte for byte)."""
    codes = {row["code"] for row in csv.DictReader(table_text.lstrip("\ufeff").splitlines())}
    header, *lines = stations_text.lstrip("\ufeff").splitlines(keepends=True)
    at = next(csv.reader([header])).index("division_code")
    return header + "".join(line for line in lines if next(csv.reader([line]))[at] in codes)


def demo_steps(folder: Path = HERE) -> list[Step]:
    """Every step of the demo's seeding, in order (paths relative to the repository's root)."""
    stations = (folder / STATIONS).read_text(encoding="utf-8")
    steps: list[Step] = []
    for index, (day, table, successors) in enumerate(EDITIONS):
        arguments = ("seed", "divisions", f"seed/{table}", "--edition", day.isoformat())
        if successors:
            arguments += ("--successors", f"seed/{successors}")
        steps.append(Step(day, arguments))
        if index in (0, len(EDITIONS) - 1):  # the stations of the first table, then of today's
            rows = listed_in(stations, (folder / table).read_text(encoding="utf-8"))
            steps.append(Step(day, ("seed", "stations", "-"), rows))
    return steps


def steps_to_run(steps: list[Step], latest: date | None, before: date | None = None) -> list[Step]:
    """The steps a store whose latest applied edition is `latest` still needs (all for none), only
    those of the editions dated before `before` when given."""
    return [
        step
        for step in steps
        if (latest is None or step.day >= latest) and (before is None or step.day < before)
    ]


def latest_edition(store_url: str | None) -> date | None:
    """The latest edition applied to the demo's province in the store (None: none yet); DemoSeedError
    when the store holds divisions seeded without editions."""
    store = open_store(Settings.from_env(store_url=store_url))
    try:
        applied = store.applied_editions().get(PROVINCE)
        if applied is None and store.data_version() > 0:
            raise DemoSeedError(
                f"{store_url or 'the store'} holds data but no edition of the division table: it was "
                "seeded without editions (an older demo?). Remove it, or name another store "
                "(GRAPH_SERVICE_STORE or --store), and run again."
            )
        return None if applied is None else applied.day
    finally:
        store.close()


def run_step(step: Step, store_url: str | None, say: Callable[[str], object]) -> None:
    """Run one step's command in a child process from the repository's root; DemoSeedError if it fails."""
    arguments = [*step.arguments, *(("--store", store_url) if store_url else ())]
    if step.stations is not None:
        rows = step.stations.count("\n") - 1
        say(f"demo: the {rows:,} rows of seed/{STATIONS} listing codes of the table of {step.day}:")
    done = subprocess.run(
        [sys.executable, "-m", "graph_service.entrypoints.cli", *arguments],
        cwd=REPO,
        input=(step.stations or "").encode("utf-8"),
        stdout=subprocess.PIPE,
        check=False,
    )
    for line in done.stdout.decode("utf-8").splitlines():
        say(line)
    if done.returncode != 0:
        raise DemoSeedError(f"`{step.describe()}` failed (exit status {done.returncode})")


def seed_demo(
    store_url: str | None = None, say: Callable[[str], object] = print, before: date | None = None
) -> int:
    """Seed the demo into the store `store_url` (None: GRAPH_SERVICE_STORE, else the default), running
    the steps it still needs (only those of the editions dated before `before`, when given); returns
    how many ran. Relative SQLite paths are taken from the repository's root."""
    steps = steps_to_run(demo_steps(), latest_edition(store_url), before)
    for step in steps:
        run_step(step, store_url, say)
    return len(steps)


def main(argv: list[str] | None = None) -> int:
    """`python seed/demo.py [--store URL]`: seed the demo; exit status 0 done, 1 a step failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", metavar="URL", default=None, help="the store (default: as graph-service)")
    parser.add_argument(
        "--before",
        metavar="DATE",
        type=date.fromisoformat,
        default=None,
        help="stop before the edition of DATE (e.g. 2021-10-31, to preview and apply it by hand)",
    )
    args = parser.parse_args(argv)
    os.chdir(REPO)  # a relative SQLite path means the same file here and in the steps' commands
    try:
        seed_demo(args.store, say=lambda line: print(line, flush=True), before=args.before)
    except DemoSeedError as error:
        print(f"demo: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
