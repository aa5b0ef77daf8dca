"""A station import checked against only the part of the network its file names
(`syncing.load_engine_around`, what `graph-service seed stations` loads, issue 9: the import command
no longer reads the whole national network), on each store: every file gets the report an engine
holding the whole network gives, and a file whose sums the part's bound cannot clear is checked on
the whole network.
"""

from __future__ import annotations

from datetime import date

import pytest

from graph_service import bootstrap
from graph_service.entrypoints import cli
from graph_service.service_layer.auth import Principal
from graph_service.service_layer.importing import ImportReport, station_file_scope
from graph_service.service_layer.services import NetworkService
from graph_service.service_layer.syncing import load_engine, load_engine_around
from tests.support.damage import damage
from tests.support.network import STATION_HEADER, assert_engine_agrees_with_store, big_rooms_csv

ROW = "{id},{name},{level},{division},{parent},operating,2023-05-01,,{staff},0,0\n"


def room(station_id: str, division: str, parent: str = "TS-522324002", staff: int = 1) -> str:
    return ROW.format(
        id=station_id, name="室", level="village_room", division=division, parent=parent, staff=staff
    )


FILES = {
    "new rooms": room("VR-N1", "522324002002") + room("VR-N2", "522324100001", "TS-522324100"),
    "updates and unchanged rows": (
        "GS-522324,晴隆县社会工作总站,general_station,522324,GC-5223,operating,2021-01-15,,9,2,8\n"
        "VR-522324002001,东街社区社会工作室,village_room,522324002001,TS-522324002,operating,2022-05-01,,1,0,2\n"
    ),
    "a parent and its room, both new": (
        "TS-NEW,沙子镇新站,township_station,522324100,GS-522324,operating,2023-01-01,,1,0,0\n"
        + room("VR-X", "522324100002", "TS-NEW")
    ),
    "a township station moved away from the room reporting to it": (
        "TS-522324002,莲城街道社会工作服务站,township_station,522324100,GS-522324,operating,2021-06-01,,3,1,5\n"
    ),
    "a general station made a township station under its own stations": (
        "GS-522324,晴隆县社会工作总站,township_station,522324101,GC-5223,operating,2021-01-15,,4,2,8\n"
    ),
    "unknown names, wrong levels, a parent elsewhere": (
        room("VR-A", "522324999999")
        + room("VR-B", "522324002002", "TS-NOBODY")
        + room("VR-C", "522324100", "TS-522324100")
        + room("VR-D", "522324002002", "TS-522324100")
        + room("VR-E", "522324002002", "GS-522324")
    ),
    "bad fields, a duplicate id, a row of 12 fields, a bad parent row": (
        room("VR-F", "522324002002", staff=-1)
        + room("VR-F", "522324002002")
        + room("VR-G", "522324002002").rstrip("\n")
        + ",extra\n"
        + "TS-BAD,站,township_station,522324101,GS-522324,operating,not-a-date,,1,0,0\n"
        + room("VR-H", "522324100003", "TS-BAD")
    ),
    "past the largest sum": big_rooms_csv(2_148)[len(STATION_HEADER) :],
}


def dry_run(service: NetworkService, csv: str) -> ImportReport:
    return service.import_stations(Principal.command_line("test"), csv, dry_run=True, follow=False)


def around(service: NetworkService, csv: str) -> NetworkService:
    """A service on the same store, its engine holding the part of the network `csv` names."""
    engine = load_engine_around(service.store, station_file_scope(csv))
    return NetworkService(service.store, engine, service.settings)


@pytest.mark.parametrize("name", FILES)
def test_a_file_checked_on_its_part_gets_the_whole_networks_report(
    service: NetworkService, name: str
) -> None:
    csv = STATION_HEADER + FILES[name]
    whole = dry_run(NetworkService(service.store, load_engine(service.store), service.settings), csv)
    part = dry_run(around(service, csv), csv)
    assert part == whole
    if name in ("new rooms", "a parent and its room, both new"):
        assert (part.created, part.errors) == (2, [])
    elif name != "updates and unchanged rows":
        assert part.errors, "each of the other files breaks a rule"


def test_the_part_holds_what_the_file_names_and_everything_above(service: NetworkService) -> None:
    engine = load_engine_around(
        service.store, station_file_scope(STATION_HEADER + room("VR-N", "522324002002"))
    )
    assert engine.is_part
    assert engine.division("522324002002") is not None and engine.division("52") is not None
    assert engine.division("522301") is None  # another county: not named, not above
    # The room's parent, and every station up its chain, with the divisions they sit in.
    for station_id in ("TS-522324002", "GS-522324", "GC-5223"):
        assert engine.station(station_id) is not None
    assert engine.station("TS-522324100") is None
    with pytest.raises(RuntimeError, match="without its aggregates"):
        engine.rollup("52", date(2024, 1, 1))


def test_an_import_applied_from_its_part_leaves_engine_and_store_agreeing(service: NetworkService) -> None:
    csv = STATION_HEADER + FILES["new rooms"] + FILES["updates and unchanged rows"]
    report = around(service, csv).import_stations(Principal.command_line("test"), csv, follow=False)
    assert report.applied and (report.created, report.updated, report.unchanged) == (2, 1, 1)
    service.refresh(force=True)
    assert service.engine.station("VR-N2") is not None
    assert service.engine.station("GS-522324").staff == 9
    assert_engine_agrees_with_store(service)


def test_a_damaged_stored_row_past_the_bound_sends_the_check_to_the_whole_network(
    service: NetworkService,
) -> None:
    """A stored row left out at load (staff 2,147,483,647) still counts in the store's bound, which no
    file clears: the check is made on the whole network, where that row is left out."""
    damage(service.store)
    csv = STATION_HEADER + room("VR-HUGE", "522324002002", staff=5)
    importer = around(service, csv)
    assert importer.engine.is_part and importer.engine.left_out_version("VR-HUGE") == 3
    report = dry_run(importer, csv)
    assert (report.updated, report.errors) == (1, [])
    assert not importer.engine.is_part


def test_seed_stations_reads_only_part_of_the_network(
    service: NetworkService, tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def whole(*args: object, **kwargs: object) -> None:
        raise AssertionError("seed stations read the whole network")

    monkeypatch.setattr(bootstrap, "load_engine", whole)
    path = tmp_path / "s.csv"
    path.write_text(STATION_HEADER + FILES["new rooms"], encoding="utf-8")
    assert cli.main(["seed", "stations", str(path), "--store", service.store.url]) == 0
    assert "2 created" in capsys.readouterr().out
    service.refresh(force=True)
    assert_engine_agrees_with_store(service)
