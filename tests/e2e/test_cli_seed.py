"""`graph-service seed divisions|stations` end to end, on real files, on both stores (spec §2, §4).

Every bad-file class is rejected with exit status 1, the row and column named, and nothing written
(the store's data version does not move). Dry runs write nothing; re-importing a file changes nothing.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from graph_service.entrypoints import cli
from graph_service.entrypoints.progress import ProgressBar
from tests.support.cli import (
    DIVISION_COUNT,
    DIVISIONS,
    STATION_COUNT,
    STATION_HEADER,
    STATIONS,
    data_version,
    run,
    write,
)
from tests.support.network import big_rooms_csv
from tests.support.paths import REPO

GUIZHOU_DIVISIONS = REPO / "seed" / "divisions-guizhou-2023.csv"
GUIZHOU_STATIONS = REPO / "seed" / "stations-guizhou-demo.csv"

# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def seeded(store_url: str, files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> str:
    """A store holding the small division file (not the stations)."""
    status, _, err = run(capsys, "seed", "divisions", str(files["divisions"]), "--store", store_url)
    assert status == 0, err
    return store_url


# --- good files ----------------------------------------------------------------------------------


def test_seed_both_files_then_reimport_changes_nothing(
    store_url: str, files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    for kind, count in (("divisions", DIVISION_COUNT), ("stations", STATION_COUNT)):
        status, out, err = run(capsys, "seed", kind, str(files[kind]), "--store", store_url)
        assert status == 0, err
        assert f"seeded {kind} from {files[kind]} into {store_url}" in out
        assert f"{count} created, 0 updated, 0 unchanged" in out
    version = data_version(store_url)
    assert version == 2

    for kind, count in (("divisions", DIVISION_COUNT), ("stations", STATION_COUNT)):
        status, out, err = run(capsys, "--store", store_url, "seed", kind, str(files[kind]))
        assert status == 0, err
        assert f"0 created, 0 updated, {count} unchanged" in out
    assert data_version(store_url) == version


def test_changed_rows_are_updated_and_new_rows_created(
    seeded: str, files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    renamed = DIVISIONS.replace("黄草街道", "黄草街道（新）") + "522324003,三宝街道,township,522324\n"
    status, out, err = run(
        capsys, "seed", "divisions", str(write(tmp_path / "d2.csv", renamed)), "--store", seeded
    )
    assert status == 0, err
    assert f"1 created, 1 updated, {DIVISION_COUNT - 1} unchanged" in out

    assert run(capsys, "seed", "stations", str(files["stations"]), "--store", seeded)[0] == 0
    opened = STATIONS.replace(
        "TS-522324002,莲城街道社会工作服务站,township_station,522324002,GS-522324,building,,,0,0,",
        "TS-522324002,莲城街道社会工作服务站,township_station,522324002,GS-522324,operating,2023-08-31,,1,0,6",
    )
    status, out, err = run(
        capsys, "seed", "stations", str(write(tmp_path / "s2.csv", opened)), "--store", seeded
    )
    assert status == 0, err
    assert f"0 created, 1 updated, {STATION_COUNT - 1} unchanged" in out


def test_dry_run_reports_and_writes_nothing(
    store_url: str, files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(
        capsys, "seed", "divisions", str(files["divisions"]), "--store", store_url, "--dry-run"
    )
    assert status == 0, err
    assert out.startswith("dry run, nothing written:")
    assert f"would be {DIVISION_COUNT} created, 0 updated, 0 unchanged" in out
    assert data_version(store_url) == 0

    assert run(capsys, "seed", "divisions", str(files["divisions"]), "--store", store_url)[0] == 0
    version = data_version(store_url)
    status, out, _ = run(
        capsys, "seed", "stations", str(files["stations"]), "--store", store_url, "--dry-run"
    )
    assert status == 0
    assert f"would be {STATION_COUNT} created, 0 updated, 0 unchanged" in out
    assert data_version(store_url) == version


def test_dry_run_of_a_bad_file_reports_every_problem(
    seeded: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write(tmp_path / "bad.csv", STATIONS.replace(",3,1,20", ",3,4,20").replace(",2,1,29", ",-2,1,29"))
    status, out, err = run(capsys, "seed", "stations", str(bad), "--store", seeded, "--dry-run")
    assert status == 1
    assert out == ""
    assert "rejected (dry run), nothing was written" in err
    assert "row 3, column staff" in err
    assert "row 4, column certified_staff" in err


def test_a_file_with_a_byte_order_mark_and_crlf_line_ends_is_read(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = ("\ufeff" + DIVISIONS).replace("\n", "\r\n").encode("utf-8")
    status, out, err = run(
        capsys, "seed", "divisions", str(write(tmp_path / "bom.csv", data)), "--store", store_url
    )
    assert status == 0, err
    assert f"{DIVISION_COUNT} created" in out


def test_standard_input_is_read_for_a_dash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'stdin.db'}"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(DIVISIONS.encode("utf-8"))))
    status, out, err = run(capsys, "seed", "divisions", "-", "--store", url)
    assert status == 0, err
    assert "from standard input" in out


def test_the_store_comes_from_the_environment(
    files: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = f"sqlite:///{tmp_path / 'env.db'}"
    monkeypatch.setenv("GRAPH_SERVICE_STORE", url)
    status, out, _ = run(capsys, "seed", "divisions", str(files["divisions"]))
    assert status == 0
    assert f"into {url}:" in out
    assert data_version(url) == 1


# --- bad files: each class is rejected whole, with row and column, and nothing written -----------

BAD_DIVISIONS = {
    "wrong header": ("code,name,lvl,parent_code\n52,贵州省,province,\n", 1, None, "header must be"),
    "missing header": ("52,贵州省,province,\n5223,黔西南州,city,52\n", 1, None, "header must be"),
    "missing column": ("code,name,level\n52,贵州省,province\n", 1, None, "missing parent_code"),
    "unknown level": (DIVISIONS + "522324999,新镇,town,522324\n", 12, "level", "unknown level 'town'"),
    "unknown parent": (DIVISIONS + "522324106,中营镇,township,522399\n", 12, "parent_code", "unknown parent"),
    "parent of the wrong level": (
        DIVISIONS + "522324002003,某村,village,5223\n522324107,光照镇,township,522324002\n",
        13,
        "parent_code",
        "not a level above township",
    ),
    "a cycle": (
        DIVISIONS + "9901,甲市,city,9902\n9902,乙市,city,9901\n",
        12,
        "parent_code",
        "form a cycle",
    ),
    "duplicate code": (DIVISIONS + "522324001,东观街道,township,522324\n", 12, "code", "duplicate code"),
    "province with a parent": (DIVISIONS + "53,云南省,province,52\n", 12, "parent_code", "has no parent"),
    "empty name": (DIVISIONS + "522324108,,township,522324\n", 12, "name", "name is empty"),
    "a row with too few fields": (DIVISIONS + "522324108,茶马镇,township\n", 12, None, "expected 4 fields"),
    "not UTF-8": (DIVISIONS.encode("gbk"), 2, None, "not UTF-8"),
    "empty file": ("", 1, None, "the file is empty"),
    "header only": ("code,name,level,parent_code\n", 2, None, "no data rows"),
}


def _bad_cases(cases: dict) -> list:
    return [pytest.param(*case, id=name) for name, case in cases.items()]


@pytest.mark.parametrize(("content", "row", "column", "reason"), _bad_cases(BAD_DIVISIONS))
def test_bad_division_file_is_rejected_with_nothing_written(
    seeded: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: str | bytes,
    row: int,
    column: str | None,
    reason: str,
) -> None:
    before = data_version(seeded)
    path = write(tmp_path / "bad-divisions.csv", content)
    status, out, err = run(capsys, "seed", "divisions", str(path), "--store", seeded)
    assert status == 1, err
    assert out == ""
    assert f"{path} was rejected, nothing was written" in err
    where = f"row {row}, column {column}:" if column else f"row {row}:"
    assert where in err
    assert reason in err
    assert "run the command again" in err
    assert data_version(seeded) == before


BAD_STATIONS = {
    "wrong header": (STATION_HEADER.replace("staff,certified", "staf,certified") + "\n", 1, None, "header"),
    "duplicate id": (
        STATIONS + "TS-522324001,东观街道第二站,township_station,522324001,GS-522324,planned,,,,,\n",
        8,
        "id",
        "duplicate id 'TS-522324001' (first on row 4)",
    ),
    "unknown level": (
        STATIONS + "X-1,某站,township_room,522324001,,planned,,,,,\n",
        8,
        "level",
        "unknown level 'township_room'",
    ),
    "unknown status": (
        STATIONS + "X-1,某站,township_station,522301001,,opened,2021-01-01,,,,\n",
        8,
        "status",
        "unknown status 'opened'",
    ),
    "bad date": (
        STATIONS + "X-1,某站,township_station,522301001,,operating,2021-13-01,,,,\n",
        8,
        "opened_on",
        "'2021-13-01' is not a date in the form YYYY-MM-DD",
    ),
    "date not ISO": (
        STATIONS + "X-1,某站,township_station,522301001,,operating,2021/3/1,,,,\n",
        8,
        "opened_on",
        "not a date",
    ),
    "closed before it opened": (
        STATIONS + "X-1,某站,township_station,522301001,,closed,2021-03-01,2020-03-01,,,\n",
        8,
        "closed_on",
        "must be after opened_on",
    ),
    "operating without opened_on": (
        STATIONS + "X-1,某站,township_station,522301001,,operating,,,,,\n",
        8,
        "opened_on",
        "an operating station needs opened_on",
    ),
    "operating with closed_on": (
        STATIONS + "X-1,某站,township_station,522301001,,operating,2021-03-01,2022-03-01,,,\n",
        8,
        "closed_on",
        "use status closed",
    ),
    "planned with a date": (
        STATIONS + "X-1,某站,township_station,522301001,,planned,2021-03-01,,,,\n",
        8,
        "opened_on",
        "a planned station has no opened_on",
    ),
    "closed without closed_on": (
        STATIONS + "X-1,某站,township_station,522301001,,closed,2021-03-01,,,,\n",
        8,
        "closed_on",
        "a closed station needs closed_on",
    ),
    "certified_staff above staff": (
        STATIONS + "X-1,某站,township_station,522301001,,operating,2021-03-01,,2,3,\n",
        8,
        "certified_staff",
        "certified_staff (3) cannot exceed staff (2)",
    ),
    "negative count": (
        STATIONS + "X-1,某站,township_station,522301001,,operating,2021-03-01,,-1,0,0\n",
        8,
        "staff",
        "whole number ≥ 0",
    ),
    "count not a number": (
        STATIONS + "X-1,某站,township_station,522301001,,operating,2021-03-01,,2,1,many\n",
        8,
        "volunteers",
        "'many' is not a whole number",
    ),
    "unknown division": (
        STATIONS + "X-1,某站,township_station,522399001,,planned,,,,,\n",
        8,
        "division_code",
        "unknown division '522399001'",
    ),
    "division of the wrong level": (
        STATIONS + "X-1,某站,township_station,522324,,planned,,,,,\n",
        8,
        "division_code",
        "a township_station sits in a township",
    ),
    "unknown parent station": (
        STATIONS + "X-1,某站,township_station,522301001,GS-522301,planned,,,,,\n",
        8,
        "parent_id",
        "unknown parent station 'GS-522301'",
    ),
    "parent station outside the ancestors": (
        STATIONS + "X-1,某站,village_room,522324002002,TS-522324001,planned,,,,,\n",
        8,
        "parent_id",
        "not above 522324002",
    ),
    "not UTF-8": (STATIONS.encode("gb18030"), 2, None, "not UTF-8"),
    "empty file": (b"", 1, None, "the file is empty"),
    "malformed quoting": (STATIONS + 'X-1,"某站,township_station\n', 8, None, "malformed CSV"),
}


@pytest.mark.parametrize(("content", "row", "column", "reason"), _bad_cases(BAD_STATIONS))
def test_bad_station_file_is_rejected_with_nothing_written(
    seeded: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: str | bytes,
    row: int,
    column: str | None,
    reason: str,
) -> None:
    before = data_version(seeded)
    path = write(tmp_path / "bad-stations.csv", content)
    status, out, err = run(capsys, "seed", "stations", str(path), "--store", seeded)
    assert status == 1, err
    assert out == ""
    where = f"row {row}, column {column}:" if column else f"row {row}:"
    assert where in err
    assert reason in err
    assert data_version(seeded) == before


def test_every_bad_row_is_reported_not_only_the_first(
    seeded: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = (
        STATIONS.replace(",3,1,20", ",3,4,20")
        .replace("2022-06-30", "2022-06-31")
        .replace("TS-522324002,planned", "TS-522324002,open")
    )
    status, _, err = run(capsys, "seed", "stations", str(write(tmp_path / "bad.csv", bad)), "--store", seeded)
    assert status == 1
    assert "3 problems in 3 rows" in err
    lines = [line.strip() for line in err.splitlines() if line.startswith("  row ")]
    assert [line.split(":")[0] for line in lines] == [
        "row 4, column certified_staff",
        "row 5, column closed_on",
        "row 7, column status",
    ]


def test_an_import_whose_sums_would_pass_int_max_is_rejected_and_one_row_fewer_is_not(
    seeded: str, files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command checks its rows against a network loaded without its aggregates, built only when a
    sum may pass the limit: the refusal is the service's, and the import just under it goes in."""
    status, _, err = run(capsys, "seed", "stations", str(files["stations"]), "--store", seeded)
    assert status == 0, err

    def rooms(count: int) -> Path:
        return write(tmp_path / f"rooms-{count}.csv", big_rooms_csv(count))

    before = data_version(seeded)
    status, out, err = run(capsys, "seed", "stations", str(rooms(2_148)), "--store", seeded)
    assert status == 1 and out == ""
    assert "row 2149, column staff:" in err
    assert "5 problems in 1 row" in err
    province = "the sum of staff under 52 贵州省 would reach 2,148,000,010 on 2023-01-01"
    assert f"{province}, more than 2,147,483,647" in err
    assert data_version(seeded) == before
    status, out, err = run(capsys, "seed", "stations", str(rooms(2_147)), "--store", seeded)
    assert status == 0, err
    assert "2,147 created, 0 updated, 0 unchanged" in out


def test_stations_before_divisions_are_rejected_with_a_hint(
    store_url: str, files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run(capsys, "seed", "stations", str(files["stations"]), "--store", store_url)
    assert status == 1
    assert "row 2, column division_code: unknown division '5223'" in err
    assert data_version(store_url) == 0


# --- usage errors --------------------------------------------------------------------------------


def test_a_missing_file_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    status, _, err = run(capsys, "seed", "divisions", str(tmp_path / "nope.csv"), "--store", url)
    assert status == 2
    assert "cannot read" in err and "no such file" in err


def test_an_unusable_store_fails_before_reading_rows(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run(capsys, "seed", "divisions", str(files["divisions"]), "--store", "postgres://x/y")
    assert status == 1
    assert "unsupported store URL" in err
    missing_folder = f"sqlite:///{tmp_path / 'no' / 'such' / 'x.db'}"
    status, _, err = run(capsys, "seed", "divisions", str(files["divisions"]), "--store", missing_folder)
    assert status == 1
    assert "does not exist" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["seed"],
        ["seed", "villages", "x.csv"],
        ["seed", "divisions"],
        ["seed", "divisions", "x.csv", "--dryrun"],
    ],
)
def test_seed_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, *argv)
    assert status == 2
    assert "usage: graph-service" in err


@pytest.mark.parametrize("kind", ["divisions", "stations"])
def test_seed_help_explains_the_file_and_the_rules(kind: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "seed", kind, "--help")
    assert status == 0
    words = " ".join(out.split())
    for text in ("--dry-run", "--store", "row 1", "nothing is written", "unchanged", "UTF-8", kind):
        assert text in words


# --- progress ------------------------------------------------------------------------------------


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_progress_bar_is_drawn_on_a_terminal(
    files: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("GRAPH_SERVICE_BATCH_SIZE", "3")
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    url = f"sqlite:///{tmp_path / 'bar.db'}"
    assert cli.main(["seed", "divisions", str(files["divisions"]), "--store", url]) == 0
    drawn = terminal.getvalue()
    assert f"divisions: checking {DIVISION_COUNT} rows of {files['divisions']}" in drawn
    assert f"divisions: writing [{'.' * 30}] 0/{DIVISION_COUNT}" in drawn
    assert f"divisions: writing [{'#' * 30}] {DIVISION_COUNT}/{DIVISION_COUNT} 100%" in drawn
    assert drawn.endswith("\r")  # the line is cleared before the summary is printed
    assert "10 created" in capsys.readouterr().out


def test_progress_bar_draws_nothing_when_not_a_terminal() -> None:
    stream = io.StringIO()
    bar = ProgressBar("divisions", stream)
    bar.status("checking")
    bar.update(0, 10)
    bar.update(10, 10)
    bar.close()
    assert stream.getvalue() == ""


def test_the_console_script_is_quiet_on_a_pipe(files: dict[str, Path], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pipe.db'}"
    done = subprocess.run(
        [sys.executable, "-m", "graph_service.entrypoints.cli", "seed", "divisions", str(files["divisions"])],
        capture_output=True,
        text=True,
        env={**os.environ, "GRAPH_SERVICE_STORE": url},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert (
        done.stdout
        == f"seeded divisions from {files['divisions']} into {url}: 10 created, 0 updated, 0 unchanged\n"
    )
    rejected = subprocess.run(
        [sys.executable, "-m", "graph_service.entrypoints.cli", "seed", "divisions", str(files["stations"])],
        capture_output=True,
        text=True,
        env={**os.environ, "GRAPH_SERVICE_STORE": url},
        check=False,
    )
    assert rejected.returncode == 1
    assert "row 1: the header must be code,name,level,parent_code" in rejected.stderr


# --- the real Guizhou files ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def guizhou_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield f"sqlite:///{tmp_path_factory.mktemp('guizhou') / 'guizhou.db'}"


def test_guizhou_seed_files_import_and_reimport_unchanged(
    guizhou_store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = {"divisions": 19_572, "stations": 8_145}
    for kind, path in (("divisions", GUIZHOU_DIVISIONS), ("stations", GUIZHOU_STATIONS)):
        status, out, err = run(capsys, "seed", kind, str(path), "--store", guizhou_store)
        assert status == 0, err
        assert f"{expected[kind]:,} created, 0 updated, 0 unchanged" in out
    version = data_version(guizhou_store)
    for kind, path in (("divisions", GUIZHOU_DIVISIONS), ("stations", GUIZHOU_STATIONS)):
        status, out, err = run(capsys, "seed", kind, str(path), "--store", guizhou_store)
        assert status == 0, err
        assert f"0 created, 0 updated, {expected[kind]:,} unchanged" in out
    assert data_version(guizhou_store) == version


def test_the_console_script_ends_at_once_with_its_output_whole(
    guizhou_store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # The console script ends with os._exit (it does not free the loaded network): what it printed,
    # buffered on a pipe, must still be there, as the same command run in this process prints it.
    for kind, path in (("divisions", GUIZHOU_DIVISIONS), ("stations", GUIZHOU_STATIONS)):
        status, _, err = run(capsys, "seed", kind, str(path), "--store", guizhou_store)  # if not yet
        assert status == 0, err
    env = {key: value for key, value in os.environ.items() if key != "PYTHONUNBUFFERED"}
    commands = (
        ["seed", "stations", str(GUIZHOU_STATIONS)],  # one line, printed, never flushed by the command
        ["export", "uncovered", "--under", "52", "--level", "village", "--as-of", "2021-12-31"],
    )
    for args in commands:
        status, expected, said = run(capsys, *args, "--store", guizhou_store)
        assert status == 0, said
        done = subprocess.run(
            [sys.executable, "-m", "graph_service.entrypoints.cli", *args, "--store", guizhou_store],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        assert (done.returncode, done.stderr) == (0, said)
        assert done.stdout == expected
