"""The preview of an edition end to end (spec §6 `seed divisions FILE --edition D --dry-run`):
the stored network, the service layer's `preview_edition` and the command line's report.

Small hand-made tables on both stores, and the real Guizhou 2020 → 2021 editions on SQLite.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from graph_service.bootstrap import open_service
from graph_service.domain.levels import DivisionLevel
from graph_service.domain.model import Division
from graph_service.domain.moves import Move, ReportingChange, Stranded
from graph_service.entrypoints import cli
from graph_service.service_layer.auth import Principal, Role
from graph_service.service_layer.editions import Snapshot, preview_edition, preview_stored_edition
from graph_service.service_layer.errors import Forbidden
from graph_service.service_layer.settings import Settings
from tests.support.cli import data_version, run, section, write
from tests.support.editions import DIVISIONS_2020, DIVISIONS_2021, SEED, STATIONS

D2021 = date(2021, 10, 31)

PROPOSED = {
    "520111103": "520111012",
    "520221": "520204",
    "520221001": "520204002",
    "520221001001": "520204002001",
    "520221111": "520201104",
}


@pytest.fixture
def seeded(store_factory, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[str, Path]:
    """A store (SQLite, then Neo4j) holding the small 2020 table and its stations (plain imports), and
    the 2021 table as a file."""
    url = store_factory().url
    for kind, text in (("divisions", DIVISIONS_2020), ("stations", STATIONS)):
        status, _, err = run(capsys, "seed", kind, str(write(tmp_path / f"{kind}.csv", text)), "--store", url)
        assert status == 0, err
    return url, write(tmp_path / "divisions-2021.csv", DIVISIONS_2021)


def preview(capsys: pytest.CaptureFixture[str], url: str, table: Path, *more: str) -> tuple[int, str, str]:
    return run(
        capsys, "seed", "divisions", str(table), "--store", url, "--edition", "2021-10-31", "--dry-run", *more
    )


def test_preview_reports_the_edition_and_writes_nothing(
    seeded: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, table = seeded
    version = data_version(url)
    proposal = tmp_path / "successors.csv"
    status, out, err = preview(capsys, url, table, "--write-successors", str(proposal))
    assert status == 0, err
    assert out.startswith(f"dry run, nothing written: {table} as the edition of 2021-10-31 for 52 贵州省")
    counts = {line.split()[0]: line.split()[1:] for line in out.splitlines()[3:7]}
    assert counts["city"] == ["0", "0", "1", "0"]
    assert counts["county"] == ["1", "1", "0", "1"]
    assert counts["township"] == ["3", "4", "0", "3"]
    assert counts["village"] == ["1", "1", "0", "1"]
    assert section(out, "created") == [
        "county    520204 水城区, under 5202 六盘水市",
        "township  520111012 党武街道, under 520111 花溪区",
        "township  520201104 木果镇, under 520201 钟山区",
        "township  520204002 双水街道, under 520204 水城区",
        "village   520204002001 新村社区居民委员会, under 520204002 双水街道",
    ]
    retired = section(out, "retired")
    assert "county    520221 水城县, under 5202 六盘水市 → 520204 水城区" in retired
    assert "township  520221103 化乐镇, under 520221 水城县 → none proposed" in retired
    assert "township  520221111 木果镇, under 520221 水城县 → 520201104 木果镇" in retired
    assert section(out, "renamed") == ["city      5201 贵阳市 → 贵阳 (row 3)"]
    assert section(out, "stations that would move") == [
        "GS-520221 水城县社会工作总站: 520221 水城县 → 520204 水城区",
        "TS-520111103 党武镇社会工作服务站: 520111103 党武镇 → 520111012 党武街道",
        "TS-520221001 双水街道社会工作服务站: 520221001 双水街道 → 520204002 双水街道",
        "TS-520221111 木果镇社会工作服务站: 520221111 木果镇 → 520201104 木果镇",
    ]  # not TS-520221103: it closed before the edition
    assert section(out, "reporting lines that would change") == [
        "TS-520221103 化乐镇社会工作服务站: reports to nobody (was GS-520221 水城县社会工作总站)",
        "TS-520221111 木果镇社会工作服务站: reports to GS-520201 钟山区社会工作总站 "
        "(was GS-520221 水城县社会工作总站)",
    ]  # 化乐镇's station closed, but its line must still hold: nothing is left above it
    with proposal.open(encoding="utf-8", newline="") as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["old_code", "new_code"] and dict(rows[1:]) == PROPOSED
    assert f"wrote 5 proposed successors to {proposal}" in err
    assert data_version(url) == version


def test_the_reviewed_successors_file_is_followed_and_a_stranded_station_refused(
    seeded: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, table = seeded
    version = data_version(url)
    reviewed = "old_code,new_code\n520221,520204\n520221001,520204002\n520221111,520204002\n"
    status, out, err = preview(capsys, url, table, "--successors", str(write(tmp_path / "s.csv", reviewed)))
    assert status == 1
    assert "TS-520221111 木果镇社会工作服务站: 520221111 木果镇 → 520204002 双水街道" in out
    assert section(out, "reporting lines that would change") == [  # its general station moves too
        "TS-520221103 化乐镇社会工作服务站: reports to nobody (was GS-520221 水城县社会工作总站)"
    ]
    assert "the edition would be refused: 1 retired division holds stations with no successor" in err
    assert "division 520111103 is retired and holds stations TS-520111103" in err

    reviewed += "520111103,520111012\n"
    status, out, err = preview(capsys, url, table, "--successors", str(write(tmp_path / "s.csv", reviewed)))
    assert status == 0, err
    assert "TS-520111103 党武镇社会工作服务站: 520111103 党武镇 → 520111012 党武街道" in out
    assert data_version(url) == version


def test_bad_successor_rows_are_named(
    seeded: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, table = seeded
    bad = "old_code,new_code\n520221103,520204\n5201,520204\n520221,9999\n520111103,520111012\n"
    status, _, err = preview(capsys, url, table, "--successors", str(write(tmp_path / "s.csv", bad)))
    assert status == 1
    assert "s.csv was rejected (dry run), nothing was written: 4 problems in 3 rows" in err
    assert "row 2, column new_code: 520204 水城区 is a county, but 520221103 化乐镇 is a township" in err
    assert "row 3, column old_code: division 5201 贵阳 is not retired by the edition of 2021-10-31" in err
    assert "row 4, column new_code: unknown division '9999'" in err


def test_a_code_changing_level_is_refused_naming_the_row(
    seeded: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, _ = seeded
    table = write(tmp_path / "bad.csv", DIVISIONS_2021 + "520221111,木果镇,county,5202\n")
    status, out, err = preview(capsys, url, table)
    assert status == 1 and out == ""
    assert "row 12, column level: division 520221111 is stored as a township" in err


def test_the_stored_table_again_changes_nothing(
    seeded: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, _ = seeded
    status, out, err = preview(capsys, url, write(tmp_path / "same.csv", DIVISIONS_2020))
    assert status == 0, err
    assert out.splitlines()[1] == "the edition changes nothing"


def test_edition_options_are_checked_and_nothing_is_written(
    seeded: tuple[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    url, table = seeded
    version = data_version(url)
    status, out, err = run(
        capsys,
        "seed",
        "divisions",
        str(table),
        "--store",
        url,
        "--edition",
        "2021-10-31",
        "--write-successors",
        "s.csv",
    )
    assert status == cli.EXIT_USAGE and out == ""
    assert "--write-successors goes with --dry-run" in err
    status, _, err = run(capsys, "seed", "divisions", str(table), "--store", url, "--successors", "x.csv")
    assert status == cli.EXIT_USAGE and "go with --edition" in err
    status, _, err = preview(capsys, url, table, "--successors", "s.csv", "--write-successors", "./s.csv")
    assert status == cli.EXIT_USAGE and "would overwrite the successors file being read" in err
    assert data_version(url) == version


# --- the service layer over a snapshot (no store) ---------------------------------------------------


def _snapshot(text: str, stations: str = STATIONS) -> Snapshot:
    from graph_service.domain.validation import (
        EmptyNetwork,
        read_csv_rows,
        validate_divisions,
        validate_stations,
    )

    rows, _ = read_csv_rows(text, ("code", "name", "level", "parent_code"))
    divisions, problems = validate_divisions(rows, EmptyNetwork())
    assert not problems
    snapshot = Snapshot.of(divisions, [])
    station_rows, _ = read_csv_rows(
        stations,
        tuple(STATIONS.splitlines()[0].split(",")),
    )
    records, problems = validate_stations(station_rows, snapshot)
    assert not problems
    return Snapshot.of(divisions, records)


def test_preview_over_a_snapshot() -> None:
    snapshot = _snapshot(DIVISIONS_2020)
    result = preview_edition(snapshot, DIVISIONS_2021.encode(), D2021)
    assert not result.refused and result.report is not None
    assert result.report.proposed == PROPOSED
    assert Move("TS-520221111", "520221111", "520201104") in result.report.moves
    assert result.report.reporting == [
        ReportingChange("TS-520221103", "GS-520221", None),
        ReportingChange("TS-520221111", "GS-520221", "GS-520201"),
    ]

    no_successors = preview_edition(snapshot, DIVISIONS_2021, D2021, "old_code,new_code\n")
    assert no_successors.refused
    assert Stranded("520111103", ("TS-520111103",)) in no_successors.stranded

    not_utf8 = preview_edition(snapshot, DIVISIONS_2021, D2021, "old_code,new_code\n".encode("utf-16"))
    assert not_utf8.refused and not_utf8.successor_problems

    broken = preview_edition(snapshot, DIVISIONS_2021 + "5203,遵义市,city,99\n", D2021)
    assert broken.refused and broken.report is None
    assert [(p.row, p.column) for p in broken.division_problems] == [(12, "parent_code")]


# --- the real Guizhou tables: seed 2020, preview 2021 -------------------------------------------------


@pytest.fixture(scope="module")
def guizhou_2020(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A SQLite store seeded with the real Guizhou 2020 table and the example stations (once)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('guizhou2020') / 'store.db'}"
    assert cli.main(["seed", "divisions", str(SEED / "divisions-guizhou-2020.csv"), "--store", url]) == 0
    assert cli.main(["seed", "stations", str(SEED / "stations-edition-example.csv"), "--store", url]) == 0
    yield url


def test_guizhou_2021_previewed_over_2020(guizhou_2020: str) -> None:
    service = open_service(Settings.from_env(store_url=guizhou_2020))
    try:
        data = (SEED / "divisions-guizhou-2021.csv").read_bytes()
        result = preview_stored_edition(service, Principal.command_line("test"), data, D2021)
        with pytest.raises(Forbidden):
            preview_stored_edition(service, Principal("ed", Role.EDITOR, "52"), data, D2021)
    finally:
        service.close()
    report = result.report
    assert report is not None and not result.refused

    def count(divisions: list[Division], level: DivisionLevel, proposed: bool = False) -> int:
        return sum(1 for d in divisions if d.level is level and (not proposed or d.code in report.proposed))

    township, village = DivisionLevel.TOWNSHIP, DivisionLevel.VILLAGE
    assert (count(report.plan.retired, township), count(report.plan.retired, village)) == (72, 1195)
    assert (count(report.plan.created, township), count(report.plan.created, village)) == (77, 1253)
    assert count(report.plan.retired, township, True) == 71
    assert count(report.plan.retired, village, True) == 1135
    assert report.proposed["520221"] == "520204"  # 水城县 → 水城区
    assert report.proposed["520111103"] == "520111012"  # 党武镇 → 党武街道
    assert {(m.station_id, m.new_code) for m in report.moves} == {
        ("EX-GS-520221", "520204"),
        ("EX-TS-520221001", "520204002"),
        ("EX-TS-520221111", "520201104"),
    }
    assert report.reporting == [
        ReportingChange("EX-TS-520221103", "EX-GS-520221", None),
        ReportingChange("EX-TS-520221111", "EX-GS-520221", "EX-GS-520201"),
    ]
    assert report.stranded == [Stranded("520327203", ("EX-TS-520327203",))]  # 石径乡: nothing proposed


def test_guizhou_2021_preview_on_the_command_line(
    guizhou_2020: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = str(SEED / "divisions-guizhou-2021.csv")
    proposal = tmp_path / "successors-2021.csv"
    status, out, err = preview(capsys, guizhou_2020, Path(table), "--write-successors", str(proposal))
    assert status == 0, err
    assert re.search(r"^township\s+77\s+72\s+0\s+71$", out, re.MULTILINE)
    assert re.search(r"^village\s+1,253\s+1,195\s+248\s+1,135$", out, re.MULTILINE)
    assert section(out, "retired divisions holding stations, with no proposed successor") == [
        "520327203 石径乡: EX-TS-520327203 (give it a successor)"
    ]
    assert "wrote 1,208 proposed successors" in err
    status, _, err = preview(capsys, guizhou_2020, Path(table), "--successors", str(proposal))
    assert status == 1 and "division 520327203 is retired and holds stations EX-TS-520327203" in err
    with proposal.open("a", encoding="utf-8") as file:
        file.write("520327203,520327004\n")  # 石径乡's villages went to 凤岭街道
    status, out, err = preview(capsys, guizhou_2020, Path(table), "--successors", str(proposal))
    assert status == 0, err
    assert "EX-TS-520327203 石径乡社会工作服务站: 520327203 石径乡 → 520327004 凤岭街道" in out
