"""Write the DEMO station file for Guizhou: invented stations that follow the published figures.

演示数据 DEMO DATA. The stations written here do not exist: their names, dates, staff and volunteer
counts are made up by a seeded random generator. Only the divisions they sit in are real (the NBS 2023
table in `divisions-guizhou-2023.csv`), and the totals are chosen to match what Guizhou published:

- 9 guidance centres (one per city) and 88 general stations (one per county), opened 2018–2019;
- exactly 430 township stations active on 2021-12-31, one per township (so 430 townships covered),
  64 of them in poverty-relocation sites (named "…易地扶贫搬迁安置点社会工作服务站");
- every one of the 1,510 townships covered on 2025-12-31;
- village rooms in a growing share of villages: about 4% on 2021-12-31, about 35% on 2025-12-31,
  each opened no earlier than the township station it reports to;
- exactly 900 resident social workers (`staff`) over the stations active on 2021-12-31.

For realism a few township stations closed (some of them reopened later under a new id ending in
`-2`), a few townships have a second station, and some stations and rooms are planned or building.
"Active on D" is spec §3: opened_on ≤ D and (closed_on empty or D < closed_on).

With `--editions` it writes the same stations as the demo over the four NBS editions lists them
(`stations-guizhou-demo-editions.csv`, spec §6): the tables of 2020-06-30, 2021-10-31, 2022-10-31 and
2023-06-30 with the reviewed successors files beside them. Every station keeps today's code (the 2023
table), except those in 水城县 (520221)'s divisions that opened before the 2021 edition re-coded them:
those are listed with their 2020 code, id and name (the predecessor of today's division valid the day
before), so that the 2021 edition moves them; one whose parent no longer sits above it in 2020 (木果镇
and the other townships now under 钟山区) reports to the one station of its parent's level above it.

Standard library only, besides the station CSV's header (`STATION_COLUMNS`) and, for `--editions`, the
rules of divisions through time (`graph_service.domain.edition_history`, `validity`), imported from
the project's domain (run it from a checkout, or with graph-service installed). Deterministic (fixed
seed, sorted iteration): running it again writes the same bytes. Usage:

    python seed/make_demo_stations.py [--divisions PATH] [--out PATH]
    python seed/make_demo_stations.py --editions [--out PATH]

The defaults read `seed/divisions-guizhou-2023.csv` and (re)write `seed/stations-guizhou-demo.csv`
(with `--editions`: read the four tables and successors files in `seed/` and (re)write
`seed/stations-guizhou-demo-editions.csv`).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import random
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:  # run as a script from a checkout: find the package beside it
    sys.path.insert(0, str(HERE.parent))

from graph_service.domain.division_rules import codes_above  # noqa: E402  (after the path above)
from graph_service.domain.edition_history import Edition, History, apply_editions, table_rows  # noqa: E402
from graph_service.domain.station_fields import STATION_COLUMNS  # noqa: E402
from graph_service.domain.validity import counting_division, predecessors_of  # noqa: E402
from seed.demo import EDITIONS  # noqa: E402  (the demo's editions: date, table, successors file)

DEFAULT_DIVISIONS = HERE / "divisions-guizhou-2023.csv"
DEFAULT_OUT = HERE / "stations-guizhou-demo.csv"
DEFAULT_EDITIONS_OUT = HERE / "stations-guizhou-demo-editions.csv"

RECODED_COUNTY = "520221"  # 水城县, re-coded (with all its townships) by the edition below
RECODING_DAY = date(2021, 10, 31)
LEVEL_ORDER = ("guidance_centre", "general_station", "township_station", "village_room")

SEED = 20211231
COLUMNS = STATION_COLUMNS
"""The station CSV's header (spec §2): one list for the whole project."""

# The published figures (spec §1) and the dates they are counted on.
REPORT_DAY = date(2021, 12, 31)
TARGET_DAY = date(2025, 12, 31)
ACTIVE_TOWNSHIP_STATIONS_2021 = 430
RELOCATION_STATIONS_2021 = 64
STAFF_2021 = 900
RELOCATION_MARK = "易地扶贫搬迁安置点"

# Township stations opened per year: the 430 covered by the end of 2021, the rest by the end of 2025.
ORDINARY_OPENINGS_BY_2021 = {2019: 70, 2020: 120, 2021: 176}  # 366 new stations
RELOCATION_OPENINGS_BY_2021 = {2020: 28, 2021: 36}  # 64 relocation-site stations
LATER_OPENINGS = {2022: 260, 2023: 300, 2024: 290}  # 2025 takes the remainder
FIRST_TOWNSHIP_DAY = date(2019, 7, 1)  # after every general station has opened

# Share of all villages given a room by the end of each year (some rooms close again later).
VILLAGE_ROOM_SHARE = {2019: 0.004, 2020: 0.015, 2021: 0.045, 2022: 0.10, 2023: 0.18, 2024: 0.27, 2025: 0.36}

CLOSED_BEFORE_2022 = 5  # townships whose first station closed during 2021, reopened 2022 or later
REPLACED_AFTER_2021 = 6  # townships whose station moved (closed, reopened the same day) 2022–2025
SECOND_STATIONS = 12  # a second operating station in a large township, opened 2023–2025
UNBUILT_STATIONS = 8  # a further township station still planned or building
CLOSED_ROOMS = 8
UNBUILT_ROOMS = 40


@dataclass(frozen=True, slots=True)
class Division:
    code: str
    name: str
    level: str
    parent_code: str


@dataclass(slots=True)
class Row:
    id: str
    name: str
    level: str
    division_code: str
    parent_id: str
    status: str
    opened_on: date | None = None
    closed_on: date | None = None
    staff: int = 0
    certified_staff: int = 0
    volunteers: int = 0

    def active_on(self, day: date) -> bool:
        return (
            self.opened_on is not None
            and self.opened_on <= day
            and (self.closed_on is None or day < self.closed_on)
        )

    def as_csv(self) -> list[str]:
        """The row's cells in `COLUMNS` order: dates as ISO text, empty for none."""
        return [_cell(getattr(self, column)) for column in COLUMNS]


def _cell(value: str | int | date | None) -> str:
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, date) else str(value)


def read_divisions(path: Path) -> list[Division]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [
            Division(row["code"], row["name"], row["level"], row["parent_code"])
            for row in csv.DictReader(handle)
        ]


def village_short_name(name: str) -> str:
    """ "岜扒村村民委员会" → "岜扒村", "马场社区居民委员会" → "马场社区", "小箐村委会" → "小箐村"."""
    short = re.sub(r"(?:[村居和]民委员会|委员会|委会)$", "", name)
    short = re.sub(r"村村$", "村", short)
    return short or name


def random_day(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randint(0, (last - first).days))


def day_in_year(rng: random.Random, year: int, not_before: date) -> date:
    return random_day(rng, max(date(year, 1, 1), not_before), date(year, 12, 31))


def certified(rng: random.Random, staff: int) -> int:
    return sum(rng.random() < 0.55 for _ in range(staff))


def set_counts(row: Row, rng: random.Random, staff: int, volunteers: int) -> None:
    row.staff, row.certified_staff, row.volunteers = staff, certified(rng, staff), volunteers


def build(divisions: Sequence[Division]) -> list[Row]:
    """All station rows, in the order they are written: by level, then by id."""
    rng = random.Random(SEED)
    by_level: dict[str, list[Division]] = {}
    for division in sorted(divisions, key=lambda d: d.code):
        by_level.setdefault(division.level, []).append(division)
    cities, counties = by_level["city"], by_level["county"]
    townships, villages = by_level["township"], by_level["village"]
    county_of = {d.code: d.parent_code for d in townships}
    city_of = {d.code: d.parent_code for d in counties}
    villages_in: dict[str, list[Division]] = {}
    for village in villages:
        villages_in.setdefault(village.parent_code, []).append(village)

    # Guidance centres (2018) and general stations (2018 to mid-2019, after their city's centre).
    centres: dict[str, Row] = {}
    for city in cities:
        row = Row(f"GZ-GC-{city.code}", f"{city.name}社会工作指导中心", "guidance_centre", city.code, "", "")
        row.status, row.opened_on = "operating", random_day(rng, date(2018, 3, 1), date(2018, 9, 30))
        set_counts(row, rng, rng.randint(3, 6), rng.randint(30, 80))
        centres[city.code] = row
    generals: dict[str, Row] = {}
    for county in counties:
        centre = centres[city_of[county.code]]
        row = Row(
            f"GZ-GS-{county.code}",
            f"{county.name}社会工作总站",
            "general_station",
            county.code,
            centre.id,
            "",
        )
        assert centre.opened_on is not None
        row.status = "operating"
        row.opened_on = random_day(rng, centre.opened_on + timedelta(days=30), date(2019, 6, 30))
        set_counts(row, rng, rng.randint(1, 3), rng.randint(10, 40))
        generals[county.code] = row

    # Which townships are covered by the end of 2021: every county's first township (usually the
    # county seat) plus a random sample; 64 of them, sub-districts outside Guiyang, are relocation sites.
    early: set[str] = set()
    for county in counties:
        early.add(min(t.code for t in townships if t.parent_code == county.code))
    rest = sorted(t.code for t in townships if t.code not in early)
    early.update(rng.sample(rest, ACTIVE_TOWNSHIP_STATIONS_2021 - len(early)))
    name_of = {t.code: t.name for t in townships}
    relocation_candidates = sorted(
        code for code in early if name_of[code].endswith("街道") and not code.startswith("5201")
    )
    relocation = set(rng.sample(relocation_candidates, RELOCATION_STATIONS_2021))
    ordinary_early = sorted(early - relocation)
    late = sorted(t.code for t in townships if t.code not in early)

    opened: dict[str, date] = {}  # when the township's (current) station opened

    def assign(codes: list[str], quotas: dict[int, int], last_year: int | None = None) -> None:
        years = [year for year, count in quotas.items() for _ in range(count)]
        if last_year is not None:
            years += [last_year] * (len(codes) - len(years))
        assert len(years) == len(codes), (len(years), len(codes))
        rng.shuffle(years)
        for code, year in zip(codes, years, strict=True):
            general = generals[county_of[code]]
            assert general.opened_on is not None
            opened[code] = day_in_year(rng, year, max(FIRST_TOWNSHIP_DAY, general.opened_on + timedelta(1)))

    assign(ordinary_early, ORDINARY_OPENINGS_BY_2021)
    assign(sorted(relocation), RELOCATION_OPENINGS_BY_2021)
    assign(late, LATER_OPENINGS, last_year=2025)

    def township_row(code: str, suffix: str = "", name: str | None = None) -> Row:
        general = generals[county_of[code]]
        station_name = name or f"{name_of[code]}社会工作服务站"
        return Row(f"GZ-TS-{code}{suffix}", station_name, "township_station", code, general.id, "operating")

    township_rows: list[Row] = []
    current: dict[str, Row] = {}  # the station each township's village rooms report to
    for township in townships:
        code = township.code
        name = f"{name_of[code]}{RELOCATION_MARK}社会工作服务站" if code in relocation else None
        row = township_row(code, name=name)
        row.opened_on = opened[code]
        set_counts(row, rng, rng.choice((1, 1, 1, 2, 2)), rng.randint(5, 30))
        township_rows.append(row)
        current[code] = row

    # Realism that leaves the figures alone.
    # 1. A station that opened 2019–2020 but closed during 2021 (one exactly on 2021-12-31, so not
    #    active that day); the township reopened on its later date under the id suffix -2.
    for index, code in enumerate(sorted(rng.sample(late, CLOSED_BEFORE_2022))):
        reopened = current[code]
        reopened.id += "-2"
        first = township_row(code)
        first.status = "closed"
        first.opened_on = random_day(rng, FIRST_TOWNSHIP_DAY, date(2020, 12, 31))
        first.closed_on = REPORT_DAY if index == 0 else random_day(rng, date(2021, 2, 1), date(2021, 11, 30))
        set_counts(first, rng, 1, rng.randint(3, 12))
        township_rows.append(first)
    # 2. A station that moved premises: the old one closed and the new one (-2) opened the same day.
    #    One closes on 2022-01-01, so it is still active on 2021-12-31.
    for index, code in enumerate(sorted(rng.sample(ordinary_early, REPLACED_AFTER_2021))):
        old = current[code]
        old.status = "closed"
        old.closed_on = (
            date(2022, 1, 1) if index == 0 else random_day(rng, date(2022, 3, 1), date(2025, 6, 30))
        )
        new = township_row(code, "-2")
        new.opened_on = old.closed_on
        set_counts(new, rng, old.staff, old.volunteers + rng.randint(0, 8))
        township_rows.append(new)
        current[code] = new
    # 3. A second station in a few large townships, opened 2023–2025 (never counted on 2021-12-31).
    large = sorted(
        (
            code
            for code in sorted(current)
            if code not in relocation
            and current[code].id.endswith(code)
            and (current[code].opened_on or TARGET_DAY) < date(2024, 7, 1)
        ),
        key=lambda code: (-len(villages_in[code]), code),
    )[: SECOND_STATIONS * 3]
    seconds = sorted(rng.sample(large, SECOND_STATIONS + UNBUILT_STATIONS))
    for index, code in enumerate(seconds):
        row = township_row(code, "-2", f"{name_of[code]}第二社会工作服务站")
        if index < SECOND_STATIONS:
            first_possible = max(current[code].opened_on or TARGET_DAY, date(2023, 1, 1)) + timedelta(1)
            row.opened_on = random_day(rng, first_possible, TARGET_DAY)
            set_counts(row, rng, rng.randint(1, 2), rng.randint(5, 20))
        else:
            # 4. ... or planned / still being built: no dates, nobody yet.
            row.status = rng.choice(("planned", "building"))
        township_rows.append(row)

    # Village rooms, a growing share of villages each year, only under a station already open.
    rooms: dict[str, Row] = {}
    for year, share in VILLAGE_ROOM_SHARE.items():
        year_end = date(year, 12, 31)
        eligible = [
            village
            for village in villages
            if village.code not in rooms
            and (current[village.parent_code].opened_on or TARGET_DAY) <= year_end
        ]
        for village in rng.sample(eligible, round(share * len(villages)) - len(rooms)):
            parent = current[village.parent_code]
            assert parent.opened_on is not None
            row = Row(
                f"GZ-VR-{village.code}",
                f"{village_short_name(village.name)}社会工作室",
                "village_room",
                village.code,
                parent.id,
                "operating",
                day_in_year(rng, year, parent.opened_on),
            )
            set_counts(row, rng, 1 if rng.random() < 0.06 else 0, rng.randint(2, 15))
            rooms[village.code] = row
    # A few rooms closed again (a village merged or a host moved out) ...
    for code in sorted(
        rng.sample(sorted(c for c, r in rooms.items() if r.opened_on < date(2024, 1, 1)), CLOSED_ROOMS)
    ):
        room = rooms[code]
        assert room.opened_on is not None
        room.status = "closed"
        room.closed_on = random_day(rng, room.opened_on + timedelta(days=90), TARGET_DAY)
    # ... and a few more are planned or being built.
    without_room = [v for v in villages if v.code not in rooms]
    for village in rng.sample(without_room, UNBUILT_ROOMS):
        rooms[village.code] = Row(
            f"GZ-VR-{village.code}",
            f"{village_short_name(village.name)}社会工作室",
            "village_room",
            village.code,
            current[village.parent_code].id,
            rng.choice(("planned", "building")),
        )

    rows = [
        *centres.values(),
        *generals.values(),
        *sorted(township_rows, key=lambda r: r.id),
        *sorted(rooms.values(), key=lambda r: r.id),
    ]

    # Bring the resident social workers on 2021-12-31 to exactly the published figure by nudging
    # township stations active that day (1 to 4 staff each).
    adjustable = sorted((r for r in township_rows if r.active_on(REPORT_DAY)), key=lambda r: r.id)
    while (total := sum(r.staff for r in rows if r.active_on(REPORT_DAY))) != STAFF_2021:
        row = rng.choice(adjustable)
        if total < STAFF_2021 and row.staff < 4:
            row.staff += 1
            row.certified_staff += int(rng.random() < 0.55)
        elif total > STAFF_2021 and row.staff > 1:
            row.staff -= 1
            row.certified_staff = min(row.certified_staff, row.staff)
    return rows


def read_history(folder: Path = HERE) -> History:
    """The divisions through the demo's four editions (`EDITIONS`, files in `folder`)."""
    return apply_editions(
        [
            Edition(
                day,
                table_rows((folder / table).read_text(encoding="utf-8-sig"), table),
                (folder / successors).read_text(encoding="utf-8-sig") if successors else "",
                table,
            )
            for day, table, successors in EDITIONS
        ]
    )


def display_name(code: str, history: History) -> str:
    """The name a station's name is made from: its division's (a village's short name)."""
    division = history.divisions[code]
    return village_short_name(division.name) if division.level == "village" else division.name


def listed_with_old_codes(
    rows: Sequence[Row], history: History, county: str = RECODED_COUNTY, day: date = RECODING_DAY
) -> list[Row]:
    """The rows as the editions demo lists them: a station that opened before `day` in a division
    whose predecessor the day before sat in `county` is listed there (code, id and name from it);
    the others unchanged (today's codes). A re-listed station whose parent is not above it there
    reports to the one station of its parent's level above it. By level, then by id, as `build`."""
    before = day - timedelta(days=1)
    predecessors = predecessors_of(history.successors)
    old_code: dict[str, str] = {}
    for row in rows:
        if row.opened_on is None or row.opened_on >= day:
            continue
        old = counting_division(row.division_code, before, history.find, predecessors).covers
        if old is not None and old != row.division_code and county in (old, *codes_above(old, history.find)):
            old_code[row.id] = old
    by_id = {row.id: row for row in rows}
    new_id = {
        station_id: station_id.replace(by_id[station_id].division_code, code)
        for station_id, code in old_code.items()
    }
    listed: list[Row] = []
    for row in rows:
        copy = dataclasses.replace(row, parent_id=new_id.get(row.parent_id, row.parent_id))
        if row.id in old_code:
            code = old_code[row.id]
            today, then = display_name(row.division_code, history), display_name(code, history)
            copy.id, copy.division_code = new_id[row.id], code
            copy.name = then + row.name.removeprefix(today) if row.name.startswith(today) else row.name
        listed.append(copy)
    where = {row.id: row for row in listed}
    for row in listed:
        if row.id in new_id.values() and row.parent_id:
            above = codes_above(row.division_code, history.find)
            if where[row.parent_id].division_code not in above:
                level = where[row.parent_id].level
                candidates = [r.id for r in listed if r.level == level and r.division_code in above]
                row.parent_id = candidates[0] if len(candidates) == 1 else ""
    return sorted(listed, key=lambda r: (LEVEL_ORDER.index(r.level), r.id))


def summary(rows: Sequence[Row], villages: int) -> list[str]:
    lines = []
    for day in (REPORT_DAY, date(2022, 12, 31), date(2023, 12, 31), date(2024, 12, 31), TARGET_DAY):
        active = [r for r in rows if r.active_on(day)]
        stations = [r for r in active if r.level == "township_station"]
        covered_villages = {r.division_code for r in active if r.level == "village_room"}
        lines.append(
            f"{day}: {len(stations)} township stations "
            f"({sum(RELOCATION_MARK in r.name for r in stations)} relocation) in "
            f"{len({r.division_code for r in stations})} townships, "
            f"villages covered {len(covered_villages)}/{villages} "
            f"({len(covered_villages) / villages:.1%}), staff {sum(r.staff for r in active)}"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--divisions", type=Path, default=DEFAULT_DIVISIONS, help="the NBS division table")
    parser.add_argument("--out", type=Path, default=None, help="the station CSV to (re)write")
    parser.add_argument(
        "--editions",
        action="store_true",
        help="list the stations over the four editions in seed/ (水城县's early stations with 2020 codes)",
    )
    args = parser.parse_args(argv)
    divisions = read_divisions(args.divisions)
    rows = build(divisions)
    if args.editions:
        rows = listed_with_old_codes(rows, read_history())
    args.out = args.out or (DEFAULT_EDITIONS_OUT if args.editions else DEFAULT_OUT)
    with args.out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(row.as_csv() for row in rows)
    villages = sum(d.level == "village" for d in divisions)
    print(f"wrote {len(rows)} demo stations to {args.out}")
    for line in summary(rows, villages):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
