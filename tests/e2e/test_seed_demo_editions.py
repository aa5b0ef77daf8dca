"""The demo over the four NBS editions, proved from the committed files alone: the Guizhou tables of
2020-06-30, 2021-10-31, 2022-10-31 and 2023-06-30, the reviewed successors files and
`seed/stations-guizhou-demo-editions.csv`, recounted by brute force (domain/edition_history.py) over
the editions in force on each day (spec §6), not by the engine or a store; and the service seeded
with them around the editions, checked against that recount."""

from __future__ import annotations

import csv
import dataclasses
import importlib.util
import subprocess
import sys
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from types import ModuleType

import pytest

from graph_service.bootstrap import open_service
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
from graph_service.service_layer.auth import Principal
from graph_service.service_layer.editions import apply_stored_edition
from graph_service.service_layer.settings import Settings
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
    # The rows listing a code of the 2020 table pass spec §2 against it (seeded before the 2021
    # edition, which moves 水城县's); the other rows pass against every edition's divisions and those
    # stations where the editions put them (seeded after the 2023 edition).
    rows, problems = read_csv_rows(STATIONS_CSV.read_text(encoding="utf-8"), STATION_COLUMNS)
    assert problems == []
    table_2020 = {d.code: d for _, d in table_rows(_text("divisions-guizhou-2020.csv"))}
    first = [(row, values) for row, values in rows if values["division_code"] in table_2020]
    second = [(row, values) for row, values in rows if values["division_code"] not in table_2020]
    seeded, problems = validate_stations(first, Stored(table_2020, {}))
    assert [str(p) for p in problems] == []
    moved = {s.id: dataclasses.replace(s, division_code=placements[s.id][-1].division_code) for s in seeded}
    _, problems = validate_stations(second, Stored(history.divisions, moved))
    assert [str(p) for p in problems] == []
    assert len(first) + len(second) == len(stations)


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


def test_the_service_seeded_around_the_editions_agrees_with_the_recount(
    tmp_path: Path, history: History, stations: list[Station], placements: dict[str, list[Placement]]
) -> None:
    """The files seeded through the service as the demo's editions are meant to be (the 2020 edition,
    the rows with 2020 codes, the 2021–2023 editions with their successors files, the other rows): the
    2021 edition moves 水城县's 15 stations, and on every day the engine counts what the brute-force
    recount counts (spec §6: divisions valid that day, stations where they sat, stations listed with
    today's codes in their predecessors)."""
    text = STATIONS_CSV.read_text(encoding="utf-8")
    header, *lines = text.splitlines(keepends=True)
    table_2020 = {d.code for _, d in table_rows(_text("divisions-guizhou-2020.csv"))}
    code_at = header.rstrip("\r\n").split(",").index("division_code")
    first = [line for line in lines if next(csv.reader([line]))[code_at] in table_2020]
    second = [line for line in lines if line not in first]
    admin = Principal.command_line("test")
    service = open_service(Settings.from_env(store_url=f"sqlite:///{tmp_path / 'demo.db'}"))
    try:
        for year, day in EDITIONS.items():
            successors = _text(f"successors-guizhou-{year}.csv") if year > 2020 else None
            data = _text(f"divisions-guizhou-{year}.csv")
            result = apply_stored_edition(service, admin, data, day, successors)
            assert result.applied, year
            assert result.preview.report is not None
            assert len(result.preview.report.moves) == (15 if year == 2021 else 0)
            if year == 2020:
                assert service.import_stations(admin, header + "".join(first)).applied
        assert service.import_stations(admin, header + "".join(second)).applied
        engine = service.engine
        for station in stations:
            held = engine.station(station.id)
            assert held is not None
            expected = placements[station.id]
            assert held.history() == (
                tuple(expected) if len(expected) > 1 else (Placement(station.division_code),)
            )
        for day in (date(2020, 12, 31), date(2021, 10, 30), REPORT_DAY, date(2022, 12, 31), TARGET_DAY):
            figures = figures_on(history, stations, placements, day)
            township = next(c for c in engine.coverage("52", day) if c.level is DivisionLevel.TOWNSHIP)
            rollup = engine.rollup("52", day)
            assert (township.total, township.covered) == (
                figures.totals[DivisionLevel.TOWNSHIP],
                figures.covered[DivisionLevel.TOWNSHIP],
            ), day
            assert (rollup.township_stations, rollup.staff) == (
                figures.stations[StationLevel.TOWNSHIP_STATION],
                figures.staff,
            ), day
    finally:
        service.close()
