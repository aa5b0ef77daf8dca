"""Applying an edition end to end (spec §6 `seed divisions FILE --edition D`): the stored validity, the
engine's answers on dates before and after, the refusals, re-running, and the preview agreeing with
what is written. Small hand-made tables on both stores, and the real Guizhou 2020 → 2021 editions."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from graph_service.bootstrap import open_service, open_store
from graph_service.domain.audit import STATION_KIND, AuditQuery
from graph_service.domain.levels import DivisionLevel
from graph_service.domain.model import Placement, ReportingLine
from graph_service.engine import NetworkEngine
from graph_service.service_layer.auth import Principal
from graph_service.service_layer.editions import apply_stored_edition, preview_stored_edition
from graph_service.service_layer.settings import Settings
from tests.support.cli import data_version, run, section, write
from tests.support.editions import DIVISIONS_2020, DIVISIONS_2021, SEED, STATIONS

D2020, D2021 = date(2020, 6, 30), date(2021, 10, 31)
TOWNSHIP, VILLAGE = DivisionLevel.TOWNSHIP, DivisionLevel.VILLAGE

# Stations only in divisions the 2021 table keeps (and one in a retired township, closed before 2021).
KEPT_STATIONS = """\
id,name,level,division_code,parent_id,status,opened_on,closed_on,staff,certified_staff,volunteers
GC-5202,六盘水市社会工作指导中心,guidance_centre,5202,,operating,2018-07-06,,6,2,65
GS-520201,钟山区社会工作总站,general_station,520201,GC-5202,operating,2019-06-01,,4,1,8
TS-520221103,化乐镇社会工作服务站,township_station,520221103,,closed,2019-09-01,2021-03-31,1,0,0
"""


@pytest.fixture
def edition_2020(store_factory, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """A store (SQLite, then Neo4j) holding the small table as the edition of 2020-06-30, and stations
    in divisions the 2021 table keeps."""
    url: str = store_factory().url
    table = write(tmp_path / "d2020.csv", DIVISIONS_2020)
    status, out, err = apply(capsys, url, table, "2020-06-30")
    assert status == 0, err
    assert "11 created, 0 retired, 0 renamed" in out
    status, _, err = run(
        capsys, "seed", "stations", str(write(tmp_path / "s.csv", KEPT_STATIONS)), "--store", url
    )
    assert status == 0, err
    return url


def apply(capsys: pytest.CaptureFixture[str], url: str, table: Path, day: str) -> tuple[int, str, str]:
    return run(capsys, "seed", "divisions", str(table), "--store", url, "--edition", day)


def township_coverage(url: str, code: str, day: date) -> tuple[int, int]:
    """(total, covered) of the townships under `code` on `day`, from a freshly loaded service."""
    service = open_service(Settings.from_env(store_url=url))
    try:
        found = next(c for c in service.engine.coverage(code, day) if c.level is TOWNSHIP)
        return found.total, found.covered
    finally:
        service.close()


def test_an_edition_is_applied_dated_and_counted_on_each_side_of_its_day(
    edition_2020: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = edition_2020
    table = write(tmp_path / "d2021.csv", DIVISIONS_2021)
    status, out, err = apply(capsys, url, table, "2021-10-31")
    assert status == 0, err
    assert "as the edition of 2021-10-31 for 52 贵州省" in out
    assert "5 created, 6 retired, 1 renamed, 0 re-parented" in out

    service = open_service(Settings.from_env(store_url=url))
    try:
        engine = service.engine
        old, new = engine.division("520221111"), engine.division("520201104")
        assert old is not None and (old.valid_from, old.valid_to) == (D2020, D2021)
        assert new is not None and (new.valid_from, new.valid_to) == (D2021, None)
        city = engine.division("5201")
        assert city is not None and city.name == "贵阳" and city.valid_from == D2020
        before, after = date(2021, 10, 30), D2021
        assert [d.code for d in engine.children("5202", day=before).items] == ["520201", "520221"]
        assert [d.code for d in engine.children("5202", day=after).items] == ["520201", "520204"]
        assert [d.code for d in engine.uncovered("52", TOWNSHIP, before).items] == [
            "520111103",
            "520221001",
            "520221103",
            "520221111",
        ]
        assert [d.code for d in engine.uncovered("52", TOWNSHIP, after).items] == [
            "520111012",
            "520201104",
            "520204002",
        ]
        assert engine.coverage("52", date(2020, 6, 29))[0].total == 0  # nothing valid before 2020's edition
        assert engine.search("木果镇", day=before).total == 1 and engine.search("木果镇").total == 2
    finally:
        service.close()
    assert township_coverage(url, "52", date(2021, 1, 1)) == (4, 1)  # 化乐镇 covered until 2021-03-31
    assert township_coverage(url, "52", date(2022, 1, 1)) == (3, 0)

    version = data_version(url)
    status, out, err = apply(capsys, url, table, "2021-10-31")
    assert status == 0, err
    assert "already applied, nothing changed" in out and data_version(url) == version


def test_out_of_order_and_conflicting_editions_are_refused(
    edition_2020: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = edition_2020
    status, _, err = apply(capsys, url, write(tmp_path / "d2021.csv", DIVISIONS_2021), "2021-10-31")
    assert status == 0, err
    version = data_version(url)

    status, _, err = apply(capsys, url, write(tmp_path / "old.csv", DIVISIONS_2020), "2020-06-30")
    assert status == 1
    assert "province 52 already has the edition of 2021-10-31; an edition dated 2020-06-30 is older" in err

    other = write(tmp_path / "other.csv", DIVISIONS_2021.replace("贵阳,city", "贵阳市,city"))
    status, _, err = apply(capsys, url, other, "2021-10-31")
    assert status == 1 and "already has an edition of 2021-10-31 from another file" in err

    back = write(tmp_path / "back.csv", DIVISIONS_2021 + "520221111,木果镇,township,520201\n")
    status, _, err = apply(capsys, url, back, "2022-10-31")
    assert status == 1
    assert "row 12, column code: division 520221111 木果镇 was retired on 2021-10-31" in err

    level = write(
        tmp_path / "level.csv",
        DIVISIONS_2021.replace("520201104,木果镇,township", "520201104,木果镇,village"),
    )
    status, _, err = apply(capsys, url, level, "2022-10-31")
    assert status == 1 and "division 520201104 is stored as a township" in err
    assert data_version(url) == version


def test_a_plain_import_keeps_validity(
    edition_2020: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = edition_2020
    status, _, err = apply(capsys, url, write(tmp_path / "d2021.csv", DIVISIONS_2021), "2021-10-31")
    assert status == 0, err
    renamed = DIVISIONS_2020.replace("520221111,木果镇", "520221111,木果乡")
    status, out, err = run(
        capsys, "seed", "divisions", str(write(tmp_path / "p.csv", renamed)), "--store", url
    )
    assert status == 0, err
    assert "2 updated" in out  # 贵阳 back to 贵阳市 too
    service = open_service(Settings.from_env(store_url=url))
    try:
        kept = service.engine.division("520221111")
        assert (
            kept is not None and kept.name == "木果乡" and (kept.valid_from, kept.valid_to) == (D2020, D2021)
        )
    finally:
        service.close()


def test_a_retired_division_holding_open_stations_is_refused_naming_them(
    store_factory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = store_factory().url
    assert apply(capsys, url, write(tmp_path / "d2020.csv", DIVISIONS_2020), "2020-06-30")[0] == 0
    assert run(capsys, "seed", "stations", str(write(tmp_path / "s.csv", STATIONS)), "--store", url)[0] == 0
    version = data_version(url)
    status, out, err = apply(capsys, url, write(tmp_path / "d2021.csv", DIVISIONS_2021), "2021-10-31")
    assert status == 1 and out == ""
    assert "was refused, nothing was written: 4 retired divisions hold stations" in err
    assert "division 520221 is retired and holds stations GS-520221" in err
    assert "division 520111103 is retired and holds stations TS-520111103" in err
    assert "520221103" not in err  # its station closed before the edition
    assert data_version(url) == version


def test_guizhou_2021_applied_after_2020_agrees_with_its_preview(tmp_path: Path) -> None:
    """The real tables: the preview's lists are exactly what applying writes, and the township totals
    on each side of the edition's day are those of each table."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    service = open_service(Settings.from_env(store_url=url))
    admin = Principal.command_line("test")
    try:
        first = apply_stored_edition(
            service, admin, (SEED / "divisions-guizhou-2020.csv").read_bytes(), D2020
        )
        assert first.applied and first.written == 19_466  # every row of the 2020 table
        data = (SEED / "divisions-guizhou-2021.csv").read_bytes()
        preview = preview_stored_edition(service, admin, data, D2021)
        assert preview.report is not None
        result = apply_stored_edition(service, admin, data, D2021)
        assert result.applied and result.preview.report is not None
        planned, applied = preview.report.plan, result.preview.report.plan
        assert (planned.created, planned.retired, planned.renamed) == (
            applied.created,
            applied.retired,
            applied.renamed,
        )
        engine = service.engine
        for division in planned.created:
            assert engine.division(division.code) == division
        for division in planned.retired:
            assert engine.division(division.code) == division and division.valid_to == D2021
        for renaming in planned.renamed:
            stored = engine.division(renaming.code)
            assert stored is not None and stored.name == renaming.new_name
        assert result.written == len(planned.created) + len(planned.retired) + len(
            {r.code for r in planned.renamed} - {d.code for d in planned.retired}
        ) + len(planned.reparented)
        townships = {
            d: next(c for c in engine.coverage("52", d) if c.level is TOWNSHIP) for d in (D2020, D2021)
        }
        assert townships[D2020].total == 1_506 and townships[D2021].total == 1_506 - 72 + 77 == 1_511
    finally:
        service.close()


def test_another_process_catches_up_with_an_applied_edition(
    edition_2020: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A service already running sees the edition another process applied (its `changes_since`
    carries the validity), with the same answers as one loaded afresh."""
    url = edition_2020
    running = open_service(Settings.from_env(store_url=url))
    try:
        after = date(2022, 1, 1)
        assert next(c for c in running.engine.coverage("52", after) if c.level is TOWNSHIP).total == 4
        status, _, err = apply(capsys, url, write(tmp_path / "d2021.csv", DIVISIONS_2021), "2021-10-31")
        assert status == 0, err
        assert running.refresh(force=True)
        for day in (date(2021, 1, 1), after):
            found = next(c for c in running.engine.coverage("52", day) if c.level is TOWNSHIP)
            assert (found.total, found.covered) == township_coverage(url, "52", day)
        retired = running.engine.division("520221")
        assert retired is not None and retired.valid_to == D2021
    finally:
        running.close()


def test_successors_are_recorded(
    edition_2020: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = edition_2020
    table = write(tmp_path / "d2021.csv", DIVISIONS_2021)
    opened = "GS-520221,水城县社会工作总站,general_station,520221,GC-5202,operating,2019-05-01,,5,2,10\n"
    closing = opened.replace("operating,2019-05-01,,", "closed,2019-05-01,2021-06-30,")
    assert (
        run(
            capsys,
            "seed",
            "stations",
            str(write(tmp_path / "c.csv", KEPT_STATIONS.splitlines()[0] + "\n" + closing)),
            "--store",
            url,
        )[0]
        == 0
    )
    links = write(
        tmp_path / "links.csv", "old_code,new_code\n520221,520204\n520221111,520201104\n520221111,520204002\n"
    )
    status, out, err = run(
        capsys,
        "seed",
        "divisions",
        str(table),
        "--store",
        url,
        "--edition",
        "2021-10-31",
        "--successors",
        str(links),
    )
    assert status == 0, err
    assert "; 2 retired with successors from" in out
    service = open_service(Settings.from_env(store_url=url))
    try:
        successors, predecessors = service.store.division_links(["520221", "520221111", "520204"])
    finally:
        service.close()
    assert successors == {"520221": ["520204"], "520221111": ["520201104", "520204002"]}
    assert predecessors == {"520204": ["520221"]}


SUCCESSORS_2021 = """\
old_code,new_code
520221,520204
520221001,520204002
520221111,520201104
520111103,520111012
"""


def test_an_edition_moves_stations_to_their_successors_from_its_day(
    store_factory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Spec §6: every station of a retired division not closed by D moves to its first successor from
    D, with its placement history; it counts in the old division before D and the new one from it; a
    reporting line the move breaks changes; a running service catches up; re-running changes nothing."""
    url = store_factory().url
    assert apply(capsys, url, write(tmp_path / "d2020.csv", DIVISIONS_2020), "2020-06-30")[0] == 0
    assert run(capsys, "seed", "stations", str(write(tmp_path / "s.csv", STATIONS)), "--store", url)[0] == 0
    running = open_service(Settings.from_env(store_url=url))
    try:
        table, links = (
            write(tmp_path / "d2021.csv", DIVISIONS_2021),
            write(tmp_path / "l.csv", SUCCESSORS_2021),
        )
        arguments = ("--successors", str(links))
        status, previewed, err = run(
            capsys, "seed", "divisions", str(table), "--store", url, "--edition", "2021-10-31", "--dry-run",
            *arguments,
        )  # fmt: skip
        assert status == 0, err
        status, out, err = run(
            capsys, "seed", "divisions", str(table), "--store", url, "--edition", "2021-10-31", *arguments
        )
        assert status == 0, err
        assert "4 stations moved" in out and "2 reporting lines changed" in out
        for title in ("stations that ", "reporting lines that "):  # the preview lists what is applied
            assert section(previewed, title + "would ") == section(out, title) != []
        assert_audited(url)
        assert running.refresh(force=True)
        fresh = open_service(Settings.from_env(store_url=url))
        try:
            for service in (running, fresh):
                assert_moved(service.engine)
            for day in (date(2021, 1, 1), date(2021, 10, 30), D2021, date(2022, 1, 1)):
                for code in ("52", "5202", "520221", "520204", "520201", "520111"):
                    assert running.engine.coverage(code, day) == fresh.engine.coverage(code, day)
                    assert running.engine.rollup(code, day) == fresh.engine.rollup(code, day)
        finally:
            fresh.close()
    finally:
        running.close()
    version = data_version(url)
    status, out, err = run(
        capsys, "seed", "divisions", str(table), "--store", url, "--edition", "2021-10-31", *arguments
    )
    assert status == 0 and "already applied, nothing changed" in out and data_version(url) == version
    again = open_service(Settings.from_env(store_url=url))
    try:
        assert_moved(again.engine)  # the reporting history too is as the first run left it
    finally:
        again.close()


def assert_audited(url: str) -> None:
    """The edition's audit entries record each reporting line it changed (spec §9: the station row
    before and after, in the edition's write)."""
    store = open_store(Settings.from_env(store_url=url))
    try:
        for station_id, old, new in (
            ("TS-520221111", "GS-520221", "GS-520201"),
            ("TS-520221103", "GS-520221", None),
        ):
            entry = store.audit_entries(AuditQuery(kind=STATION_KIND, target=station_id, limit=1))[0]
            assert entry.before is not None and entry.after is not None
            assert (entry.before["parent_id"], entry.after["parent_id"]) == (old, new)
    finally:
        store.close()


def assert_moved(engine: NetworkEngine) -> None:
    """The stations of `STATIONS` as the 2021 edition with `SUCCESSORS_2021` leaves them."""
    before, after = date(2021, 10, 30), D2021
    general = engine.station("GS-520221")
    assert general is not None and general.division_code == "520204"
    assert general.placements == (Placement("520221", None, D2021), Placement("520204", D2021, None))
    muguo = engine.station("TS-520221111")
    assert muguo is not None and muguo.division_code == "520201104"
    assert muguo.parent_id == "GS-520201"  # 钟山区's general station: 水城区's is no longer above it
    shuangshui = engine.station("TS-520221001")
    assert shuangshui is not None and shuangshui.parent_id == "GS-520221"  # still above it, in 520204
    dangwu = engine.station("TS-520111103")  # building: it moves too, and counts nowhere yet
    assert dangwu is not None and dangwu.division_code == "520111012"
    closed = engine.station("TS-520221103")  # closed before the edition: it stays
    assert closed is not None and closed.division_code == "520221103" and not closed.placements
    assert closed.parent_id is None  # its general station moved away from above it: no other there
    assert muguo.reporting_lines == (  # dated: before the edition it still reported to 水城县's
        ReportingLine("GS-520221", None, D2021),
        ReportingLine("GS-520201", D2021, None),
    )
    assert closed.reporting_lines == (ReportingLine("GS-520221", None, D2021), ReportingLine(None, D2021))
    assert general.reporting_lines == () and shuangshui.reporting_lines == ()  # their lines still hold
    assert township_counts(engine, "52", before) == (4, 2)  # 双水街道 and 木果镇, in 水城县
    assert township_counts(engine, "52", after) == (3, 2)  # 双水街道 (水城区), 木果镇 (钟山区)
    assert engine.covered("520221", before) and not engine.covered("520221", after)
    assert not engine.covered("520204", before) and engine.covered("520204", after)
    assert engine.covered("520201104", after) and not engine.covered("520221111", after)
    assert engine.rollup("520221", before).township_stations == 2
    assert engine.rollup("520221", after).general_stations == 0
    assert engine.rollup("520204", before).general_stations == 0
    assert engine.rollup("520204", after).general_stations == 1
    assert engine.rollup("520201", after).township_stations == 1
    assert engine.rollup("5202", before) == engine.rollup("5202", after)  # same stations, moved within
    assert [d.code for d in engine.uncovered("52", TOWNSHIP, after).items] == ["520111012"]


def township_counts(engine: NetworkEngine, code: str, day: date) -> tuple[int, int]:
    found = next(c for c in engine.coverage(code, day) if c.level is TOWNSHIP)
    return found.total, found.covered


LISTED_WITH_TODAYS_CODES = """\
id,name,level,division_code,parent_id,status,opened_on,closed_on,staff,certified_staff,volunteers
GC-5202,六盘水市社会工作指导中心,guidance_centre,5202,,operating,2018-07-06,,6,2,65
GS-520204,水城区社会工作总站,general_station,520204,GC-5202,operating,2019-05-01,,5,2,10
TS-520204002,双水街道社会工作服务站,township_station,520204002,GS-520204,operating,2020-03-01,,2,1,5
TS-520201104,木果镇社会工作服务站,township_station,520201104,,operating,2020-09-01,,2,1,3
"""


def test_stations_listed_with_todays_codes_count_in_the_predecessor_before(
    store_factory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Spec §6: stations seeded after the 2021 edition with its codes count, on days before those
    codes' valid_from, in their predecessors valid then (木果镇 520201104 ← 520221111 under 水城县),
    in a fresh load and in a service that was running while the edition was applied."""
    url = store_factory().url
    assert apply(capsys, url, write(tmp_path / "d2020.csv", DIVISIONS_2020), "2020-06-30")[0] == 0
    running = open_service(Settings.from_env(store_url=url))
    try:
        links = write(tmp_path / "l.csv", SUCCESSORS_2021)
        status, _, err = run(
            capsys,
            "seed",
            "divisions",
            str(write(tmp_path / "d2021.csv", DIVISIONS_2021)),
            "--store",
            url,
            "--edition",
            "2021-10-31",
            "--successors",
            str(links),
        )
        assert status == 0, err
        stations = write(tmp_path / "s.csv", LISTED_WITH_TODAYS_CODES)
        assert run(capsys, "seed", "stations", str(stations), "--store", url)[0] == 0
        assert running.refresh(force=True)
        fresh = open_service(Settings.from_env(store_url=url))
        try:
            for engine in (running.engine, fresh.engine):
                before = date(2021, 1, 1)
                assert engine.covered("520221", before) and engine.covered("520221001", before)
                assert engine.covered("520221111", before)  # 木果镇's station, in 水城县 then
                assert not engine.covered("520204", before) and not engine.covered("520201104", before)
                assert engine.rollup("520221", before).township_stations == 2
                assert engine.rollup("520201", before).township_stations == 0
                assert engine.rollup("520201", D2021).township_stations == 1
                assert township_counts(engine, "52", before) == (4, 2)
                assert township_counts(engine, "52", D2021) == (3, 2)
                assert engine.covered("520204", D2021) and not engine.covered("520221", D2021)
        finally:
            fresh.close()
    finally:
        running.close()


def test_an_unknown_outcome_is_never_reported_as_nothing_written(
    edition_2020: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the store cannot say whether the edition's commit went through (the connection died during
    it), the CLI says so and exits 1, never claiming that nothing was written."""
    from graph_service.entrypoints.cli import editions as cli_editions
    from graph_service.ports import OutcomeUnknown

    def commit_lost(*_args: object, **_kwargs: object) -> object:
        raise OutcomeUnknown("the connection to the store was lost during the commit: check the store")

    monkeypatch.setattr(cli_editions, "apply_stored_edition", commit_lost)
    table = write(tmp_path / "d2021.csv", DIVISIONS_2021)
    status, out, err = apply(capsys, edition_2020, table, "2021-10-31")
    assert status == 1, (out, err)
    assert "connection to the store was lost during the commit" in err
    assert "nothing was written" not in err
