"""The demo over the four NBS editions, proved from the committed files alone: the Guizhou tables of
2020-06-30, 2021-10-31, 2022-10-31 and 2023-06-30, the reviewed successors files and
`seed/stations-guizhou-demo-editions.csv`, recounted by brute force (domain/edition_history.py) over
the editions in force on each day (spec §6), not by the engine or a store; and the demo as
`scripts/demo` seeds it (`seed/demo.py`: the commands, in order, in a store of its own): the published
figures over the editions, 水城县's stations moved by the 2021 edition, a retired township no longer
counted, the engine agreeing with the recount, and running it again changing nothing."""

from __future__ import annotations

import csv
import dataclasses
import importlib.util
import subprocess
import sys
from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from pathlib import Path
from types import ModuleType

import pytest

from graph_service.bootstrap import open_service, open_store
from graph_service.domain.division_rules import codes_above
from graph_service.domain.edition_history import (
    Edition,
    History,
    apply_editions,
    figures_on,
    station_placements,
    station_rows,
    table_rows,
)
from graph_service.domain.levels import DivisionLevel, StationLevel
from graph_service.domain.model import Division, Station
from graph_service.domain.validation import STATION_COLUMNS, read_csv_rows, validate_stations
from graph_service.domain.validity import Placement
from graph_service.engine.network import NetworkEngine
from graph_service.service_layer.auth import Principal
from graph_service.service_layer.services import NetworkService
from graph_service.service_layer.settings import Settings
from seed.demo import DemoSeedError, demo_steps, listed_in, seed_demo, steps_to_run
from tests.support.paths import REPO

SEED = REPO / "seed"
STATIONS_CSV = SEED / "stations-guizhou-demo-editions.csv"
TODAY_CSV = SEED / "stations-guizhou-demo.csv"
SCRIPT = SEED / "make_demo_stations.py"
EDITIONS = {
    2020: date(2020, 6, 30),
    2021: date(2021, 10, 31),
    2022: date(2022, 10, 31),
    2023: date(2023, 6, 30),
}
SHUICHENG = "520221"  # 水城县, re-coded as 水城区 520204 (its townships too) by the 2021 edition
REPORT_DAY, TARGET_DAY = date(2021, 12, 31), date(2025, 12, 31)


def _text(name: str) -> str:
    return (SEED / name).read_text(encoding="utf-8-sig")


@pytest.fixture(scope="module")
def history() -> History:
    return apply_editions(
        [
            Edition(
                day,
                table_rows(_text(f"divisions-guizhou-{year}.csv"), str(year)),
                _text(f"successors-guizhou-{year}.csv") if year > 2020 else "",
                str(year),
            )
            for year, day in EDITIONS.items()
        ]
    )


@pytest.fixture(scope="module")
def stations() -> list[Station]:
    return station_rows(STATIONS_CSV.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def placements(history: History, stations: list[Station]) -> dict[str, list[Placement]]:
    return station_placements(history, stations)  # also proves no edition strands a station


def test_430_township_stations_in_430_townships_and_900_staff_on_2021_12_31(
    history: History, stations: list[Station], placements: dict[str, list[Placement]]
) -> None:
    figures = figures_on(history, stations, placements, REPORT_DAY)
    assert figures.totals[DivisionLevel.TOWNSHIP] == 1511  # the 2021 edition's townships
    assert figures.stations[StationLevel.TOWNSHIP_STATION] == 430
    assert figures.covered[DivisionLevel.TOWNSHIP] == 430
    assert 880 <= figures.staff <= 920
    assert figures.staff == 900


def test_every_township_covered_on_2025_12_31(
    history: History, stations: list[Station], placements: dict[str, list[Placement]]
) -> None:
    figures = figures_on(history, stations, placements, TARGET_DAY)
    assert figures.totals[DivisionLevel.TOWNSHIP] == 1510  # the 2023 edition's townships
    assert figures.covered[DivisionLevel.TOWNSHIP] == 1510
    earlier = figures_on(history, stations, placements, date(2024, 12, 31))
    assert earlier.covered[DivisionLevel.TOWNSHIP] < 1510


def test_shuicheng_stations_opened_before_2021_are_listed_with_2020_codes_that_have_successors(
    history: History, stations: list[Station], placements: dict[str, list[Placement]]
) -> None:
    successors_2021 = {
        row["old_code"] for row in csv.DictReader(_text("successors-guizhou-2021.csv").splitlines())
    }
    day = EDITIONS[2021]
    old = [s for s in stations if SHUICHENG in (s.division_code, *codes_above(s.division_code, history.find))]
    assert {s.level for s in old} == set(StationLevel) - {StationLevel.GUIDANCE_CENTRE}
    for station in old:
        division = history.divisions[station.division_code]
        assert division.valid_to == day, station  # a 2020 code the 2021 edition retires
        assert station.division_code in successors_2021, station
        assert station.opened_on is not None and station.opened_on < day, station
        if station.closed_on is None or station.closed_on > day:  # moved by the 2021 edition
            assert placements[station.id][-1].from_ == day
    # Every other station is listed with a code of today's table (the 2023 edition), and none that
    # opened before the 2021 edition sits in a successor of a 水城县 division.
    from_shuicheng = {
        new for code, news in history.successors.items() if code.startswith(SHUICHENG) for new in news
    }
    for station in stations:
        if station not in old:
            assert history.divisions[station.division_code].valid_to is None, station
            opened_before = station.opened_on is not None and station.opened_on < day
            assert not (opened_before and station.division_code in from_shuicheng), station


def test_the_moves_end_where_todays_demo_file_lists_the_stations(
    stations: list[Station], placements: dict[str, list[Placement]]
) -> None:
    # The editions file is today's demo file with 水城县's early stations re-listed (code, and the
    # code in the id): after the editions each station sits where today's file has it, all else equal.
    today = {s.id: s for s in station_rows(TODAY_CSV.read_text(encoding="utf-8"))}
    assert len(today) == len(stations)
    moved = 0
    for station in stations:
        now = placements[station.id][-1].division_code
        same = today[station.id.replace(station.division_code, now)]
        assert same.division_code == now, station
        assert (station.level, station.status, station.opened_on, station.closed_on) == (
            same.level,
            same.status,
            same.opened_on,
            same.closed_on,
        )
        assert (station.staff, station.certified_staff, station.volunteers) == (
            same.staff,
            same.certified_staff,
            same.volunteers,
        )
        moved += now != station.division_code
    assert moved >= 10


def test_the_script_reproduces_the_committed_file(tmp_path: Path) -> None:
    out = tmp_path / "stations.csv"
    subprocess.run(
        [sys.executable, str(SCRIPT), "--editions", "--out", str(out)], check=True, capture_output=True
    )
    assert out.read_bytes() == STATIONS_CSV.read_bytes()


class Stored:
    """A `NetworkView` of a store holding `divisions` (by code) and `stations` (by id)."""

    def __init__(self, divisions: dict[str, Division], stations: dict[str, Station]) -> None:
        self._divisions, self._stations = divisions, stations

    def division(self, code: str) -> Division | None:
        return self._divisions.get(code)

    def station(self, station_id: str) -> Station | None:
        return self._stations.get(station_id)

    def stations_reporting_to(self, station_id: str) -> Iterable[Station]:
        return [s for s in self._stations.values() if s.parent_id == station_id]

    def stations_below(self, code: str) -> Iterable[Station]:
        return [
            s
            for s in self._stations.values()
            if code in (s.division_code, *codes_above(s.division_code, self.division))
        ]


def test_the_file_can_be_seeded_around_the_editions(
    history: History, stations: list[Station], placements: dict[str, list[Placement]]
) -> None:
    # The two parts seed/demo.py seeds: the rows listing a code of the 2020 table pass spec §2 against
    # it (seeded before the 2021 edition, which moves 水城县's 15); the rows listing a code of the 2023
    # table pass against every edition's divisions and the first part's stations where the editions
    # put them (seeded after the 2023 edition). Together they are every row, the 15 in the first only.
    text = STATIONS_CSV.read_text(encoding="utf-8")
    parts = [listed_in(text, _text(f"divisions-guizhou-{year}.csv")) for year in (2020, 2023)]
    (first, problems), (second, more) = (read_csv_rows(part, STATION_COLUMNS) for part in parts)
    assert problems == more == []
    table_2020 = {d.code: d for _, d in table_rows(_text("divisions-guizhou-2020.csv"))}
    seeded, problems = validate_stations(first, Stored(table_2020, {}))
    assert [str(p) for p in problems] == []
    moved = {s.id: dataclasses.replace(s, division_code=placements[s.id][-1].division_code) for s in seeded}
    _, problems = validate_stations(second, Stored(history.divisions, moved))
    assert [str(p) for p in problems] == []
    ids = [{values["id"] for _, values in part} for part in (first, second)]
    assert (len(ids[0]), len(ids[1])) == (7553, 8130)
    assert ids[0] | ids[1] == {s.id for s in stations}
    assert len(ids[0] - ids[1]) == 15


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_demo_stations", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_the_generator_relists_early_stations_and_reports_to_the_station_above_the_old_code() -> None:
    generator = _generator()
    head = (
        "code,name,level,parent_code\n52,贵州省,province,\n5202,六盘水市,city,52\n520201,钟山区,county,5202\n"
    )
    before = (
        head
        + "520221,水城县,county,5202\n520221001,双水街道,township,520221\n520221111,木果镇,township,520221\n"
    )
    after = (
        head
        + "520204,水城区,county,5202\n520204002,双水街道,township,520204\n520201104,木果镇,township,520201\n"
    )
    links = "old_code,new_code\n520221,520204\n520221001,520204002\n520221111,520201104\n"
    history = apply_editions(
        [Edition(EDITIONS[2020], table_rows(before)), Edition(EDITIONS[2021], table_rows(after), links)]
    )

    def row(station_id: str, name: str, code: str, parent: str, opened: date) -> object:
        level = {4: "guidance_centre", 6: "general_station", 9: "township_station"}[len(code)]
        return generator.Row(station_id, name, level, code, parent, "operating", opened)

    early = date(2019, 1, 1)
    rows = [
        row("GZ-GC-5202", "六盘水市社会工作指导中心", "5202", "", early),
        row("GZ-GS-520201", "钟山区社会工作总站", "520201", "GZ-GC-5202", early),
        row("GZ-GS-520204", "水城区社会工作总站", "520204", "GZ-GC-5202", early),
        row("GZ-TS-520201104", "木果镇社会工作服务站", "520201104", "GZ-GS-520201", date(2020, 5, 1)),
        row("GZ-TS-520204002", "双水街道社会工作服务站", "520204002", "GZ-GS-520204", EDITIONS[2021]),
    ]
    listed = {r.id: r for r in generator.listed_with_old_codes(rows, history)}
    assert sorted(listed) == [
        "GZ-GC-5202", "GZ-GS-520201", "GZ-GS-520221", "GZ-TS-520204002", "GZ-TS-520221111"
    ]  # fmt: skip
    county = listed["GZ-GS-520221"]
    assert (county.division_code, county.name) == ("520221", "水城县社会工作总站")
    muguo = listed["GZ-TS-520221111"]  # 木果镇 sat under 水城县 in 2020: it reports to its station
    assert (muguo.division_code, muguo.parent_id) == ("520221111", "GZ-GS-520221")
    shuangshui = listed["GZ-TS-520204002"]  # opened on the edition's day: today's code
    assert (shuangshui.division_code, shuangshui.parent_id) == ("520204002", "GZ-GS-520221")


# --- the demo as scripts/demo seeds it (seed/demo.py) ---------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, NetworkService]]:
    """A store seeded by `seed/demo.py` (the commands scripts/demo runs), and the service over it."""
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}"
    said: list[str] = []
    assert seed_demo(url, say=said.append) == 6, said
    assert any("15 stations moved, 0 reporting lines changed" in line for line in said), said
    service = open_service(Settings.from_env(store_url=url))
    try:
        yield url, service
    finally:
        service.close()


def test_the_demo_shows_the_published_figures_over_the_editions(demo: tuple[str, NetworkService]) -> None:
    engine = demo[1].engine
    township = {day: _townships(engine, day) for day in (REPORT_DAY, TARGET_DAY)}
    assert township[REPORT_DAY] == (1511, 430)  # the 2021 table in force; 430 covered
    rollup = engine.rollup("52", REPORT_DAY)
    assert (rollup.township_stations, rollup.staff) == (430, 900)
    assert township[TARGET_DAY] == (1510, 1510)  # the 2023 table; every township covered
    assert engine.uncovered("52", DivisionLevel.TOWNSHIP, TARGET_DAY).total == 0
    assert engine.uncovered("52", DivisionLevel.TOWNSHIP, date(2024, 12, 31)).total > 0


def test_the_demo_agrees_with_the_recount_on_every_day_and_station(
    demo: tuple[str, NetworkService],
    history: History,
    stations: list[Station],
    placements: dict[str, list[Placement]],
) -> None:
    """Stations listed with today's codes count in their predecessors, moved ones where they sat,
    divisions only while valid: the engine counts what the brute-force recount counts (spec §6)."""
    engine = demo[1].engine
    for station in stations:
        held = engine.station(station.id)
        assert held is not None
        assert held.history() == tuple(placements[station.id]), station.id
    for day in (date(2020, 12, 31), date(2021, 10, 30), REPORT_DAY, date(2022, 12, 31), TARGET_DAY):
        figures = figures_on(history, stations, placements, day)
        rollup = engine.rollup("52", day)
        assert _townships(engine, day) == (
            figures.totals[DivisionLevel.TOWNSHIP],
            figures.covered[DivisionLevel.TOWNSHIP],
        ), day
        assert (rollup.township_stations, rollup.staff) == (
            figures.stations[StationLevel.TOWNSHIP_STATION],
            figures.staff,
        ), day


def test_the_2021_edition_moved_shuichengs_stations_with_their_placements(
    demo: tuple[str, NetworkService],
) -> None:
    engine, day = demo[1].engine, EDITIONS[2021]
    moved = [s for s in engine.station_records() if len(s.history()) > 1]
    assert len(moved) == 15
    assert {s.history()[0].division_code[:6] for s in moved} == {SHUICHENG}
    county = engine.station("GZ-GS-520221")
    assert county is not None and county.division_code == "520204"  # 水城县 -> 水城区
    assert county.history() == (Placement("520221", None, day), Placement("520204", day, None))
    shuangshui = engine.station("GZ-TS-520221001")  # 双水街道 520221001 -> 520204002
    assert shuangshui is not None and shuangshui.parent_id == "GZ-GS-520221"
    assert [p.division_code for p in shuangshui.history()] == ["520221001", "520204002"]
    assert engine.covered("520221001", day - timedelta(days=1)) is True
    assert engine.covered("520221001", day) is False  # retired: the station counts in 520204002
    assert engine.covered("520204002", day) is True
    assert engine.covered("520204002", day - timedelta(days=1)) is False  # not valid yet


def test_a_retired_township_is_not_counted_after_its_edition(demo: tuple[str, NetworkService]) -> None:
    engine, day = demo[1].engine, EDITIONS[2023]  # 羊艾农场 520111400 retired, 湖潮乡 520111204 created

    def uncovered(on: date) -> list[str]:
        return [d.code for d in engine.uncovered("520111", DivisionLevel.TOWNSHIP, on).items]

    assert "520111400" in uncovered(day - timedelta(days=1))
    assert "520111400" not in uncovered(day)
    assert "520111204" not in uncovered(day - timedelta(days=1))
    before, after = _townships(engine, day - timedelta(days=1)), _townships(engine, day)
    assert before[0] == after[0]  # one retired, one created under 花溪区's province
    assert engine.covered("520111400", day) is False


def test_running_the_demo_again_changes_nothing(demo: tuple[str, NetworkService]) -> None:
    url, service = demo
    version = service.store.data_version()
    said: list[str] = []
    assert seed_demo(url, say=said.append) == 2, said  # the 2023 edition and today's rows: no-ops
    assert any("already applied, nothing changed" in line for line in said), said
    assert any(": 0 created, 0 updated, 8,130 unchanged" in line for line in said), said
    assert service.store.data_version() == version


def test_a_store_seeded_without_editions_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    service = open_service(Settings.from_env(store_url=url))
    try:
        admin = Principal.command_line("test")
        assert service.import_divisions(admin, _text("divisions-guizhou-2023.csv")).applied
        version = service.store.data_version()
    finally:
        service.close()
    with pytest.raises(DemoSeedError, match="seeded without editions"):
        seed_demo(url, say=lambda line: None)
    store = open_store(Settings.from_env(store_url=url))
    try:
        assert store.data_version() == version
    finally:
        store.close()


def test_an_interrupted_seeding_resumes_where_it_stopped() -> None:
    steps = demo_steps()
    assert [step.day for step in steps_to_run(steps, None)] == [step.day for step in steps]
    after_2021 = steps_to_run(steps, EDITIONS[2021])
    assert [(step.day, step.arguments[1]) for step in after_2021] == [
        (EDITIONS[2021], "divisions"),
        (EDITIONS[2022], "divisions"),
        (EDITIONS[2023], "divisions"),
        (EDITIONS[2023], "stations"),
    ]  # the rows with 2020 codes are not seeded again once the 2021 edition moved them
    first = steps_to_run(steps, None, before=EDITIONS[2021])  # `seed/demo.py --before 2021-10-31`
    assert [(step.day, step.arguments[1]) for step in first] == [
        (EDITIONS[2020], "divisions"),
        (EDITIONS[2020], "stations"),
    ]


def _townships(engine: NetworkEngine, day: date) -> tuple[int, int]:
    """Guizhou's townships valid on `day`, and how many of them are covered."""
    township = next(c for c in engine.coverage("52", day) if c.level is DivisionLevel.TOWNSHIP)
    return township.total, township.covered
