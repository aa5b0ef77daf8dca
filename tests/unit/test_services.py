"""The service layer's use cases on the in-memory fake store: who may act is settled before any work,
every bad row of a file is reported, a write that would take a sum past GraphQL's Int is refused;
station writes show in the very next read with their audit trail, a stale or raced write is a
conflict, a busy store makes a write unavailable, and a dry run writes nothing."""

from __future__ import annotations

from datetime import date

import pytest

from graph_service.ports import StoreUnavailable
from graph_service.service_layer.auth import Principal, Role
from graph_service.service_layer.errors import Conflict, Forbidden, Unauthenticated, Unavailable
from graph_service.service_layer.services import NetworkService
from tests.support.network import STATION_HEADER
from tests.support.spies import forbid
from tests.unit.fakes import FakeStore, service_over


def test_the_service_checks_the_role_before_looking_anything_up(
    service: NetworkService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same order for every entrypoint (the CLI calls the service directly)."""
    forbid(monkeypatch, "read_csv_rows", "decode_csv_bytes", "validate_stations")
    monkeypatch.setattr(service, "require_station", lambda *_: pytest.fail("looked a station up"))
    viewer = Principal("v", Role.VIEWER, "52")
    for principal, error in ((None, Unauthenticated), (viewer, Forbidden)):
        with pytest.raises(error):
            service.import_stations(principal, "not,a,station,file\n", dry_run=True)
        with pytest.raises(error):
            service.update_station(principal, "NO-SUCH", {"name": "x"}, None)
        with pytest.raises(error):
            service.close_station(principal, "NO-SUCH", date(2030, 1, 1))
        with pytest.raises(error):
            service.create_station(principal, {"id": "", "bogus": 1})


def test_a_division_file_reports_every_bad_row_too(service: NetworkService) -> None:
    csv = (
        "code,name,level,parent_code\n"
        "520199,某区,county,5201,extra\n5201 99,某区,county,5201\n520198,,county,5201\n"
    )
    report = service.import_divisions(Principal.local_admin(), csv)
    assert [(p.row, p.column) for p in report.errors] == [(2, None), (3, "code"), (4, "name")]
    assert service.engine.division("520198") is None


def test_moving_a_division_that_would_take_a_sum_past_int_max_is_refused(fake_store: FakeStore) -> None:
    """Moving a subtree under another parent adds its totals to its new ancestors: checked too."""
    store = fake_store
    service = service_over(store)
    admin = Principal.local_admin()
    divisions = "code,name,level,parent_code\n52,甲省,province,\n5201,甲市,city,52\n520101,甲县,county,5201\n"
    divisions += "53,乙省,province,\n5301,乙市,city,53\n530101,乙县,county,5301\n"
    assert service.import_divisions(admin, divisions).applied
    stations = STATION_HEADER + "".join(
        f"GS-{county}-{n},总站{n},general_station,{county},,operating,2023-01-01,,1000000,0,0\n"
        for county in ("520101", "530101")
        for n in range(1_100)
    )
    report = service.import_stations(admin, stations)
    assert report.applied, report.errors[:3]
    before = store.data_version()
    moved = "code,name,level,parent_code\n530101,乙县,county,5201\n"
    report = service.import_divisions(admin, moved)
    assert not report.applied
    assert [(p.row, p.column) for p in report.errors] == [(2, "parent_code"), (2, "parent_code")]
    assert "甲省" in report.errors[0].message or "甲省" in report.errors[1].message
    assert store.data_version() == before
    assert service.engine.rollup("52", date(2024, 1, 1)).staff == 1_100_000_000


# --- station writes ------------------------------------------------------------------------------

ADMIN = Principal.local_admin()
EDITOR = Principal("editor@522324", Role.EDITOR, "522324")
ROOM = {
    "id": "VR-522324002002",
    "name": "西街社区社会工作室",
    "level": "village_room",
    "division_code": "522324002002",
    "parent_id": "TS-522324002",
    "status": "operating",
    "opened_on": date(2023, 1, 1),
    "staff": 2,
}


def test_writes_show_in_the_very_next_read_and_leave_an_audit_trail(service: NetworkService) -> None:
    created = service.create_station(EDITOR, ROOM)
    assert created.version == 1 and service.engine.station(created.id) == created
    assert service.engine.covered("522324002002", date(2023, 1, 1))
    updated = service.update_station(EDITOR, created.id, {"staff": 3}, 1)
    assert updated.version == 2
    assert service.engine.rollup("522324002", date(2024, 1, 1)).staff == 3 + 1 + 3  # TS, VR-…001, this
    closed = service.close_station(EDITOR, created.id, date(2024, 1, 1))
    assert not service.engine.covered("522324002002", date(2024, 1, 1))
    assert service.engine.station(created.id) == closed

    page = service.station_history(EDITOR, created.id, None, 10)
    assert [(e.operation, e.actor, (e.after or {}).get("staff")) for e in page.entries] == [
        ("closeStation", "editor@522324", 3),
        ("updateStation", "editor@522324", 3),
        ("createStation", "editor@522324", 2),
    ]
    assert page.entries[1].before == {**page.entries[2].after, "staff": 2}  # type: ignore[dict-item]
    assert not page.has_next and page.count() == 3


def test_a_stale_expected_version_is_a_conflict_and_writes_nothing(
    service: NetworkService, fake_store: FakeStore
) -> None:
    station = service.require_station("TS-522324002")
    writes = fake_store.writes
    with pytest.raises(Conflict, match="version 1, not the expected 7"):
        service.update_station(ADMIN, station.id, {"staff": 9}, 7)
    assert fake_store.writes == writes and service.require_station(station.id) == station


def test_a_write_another_writer_got_in_before_is_a_conflict_and_the_service_catches_up(
    service: NetworkService, fake_store: FakeStore
) -> None:
    other = service_over(fake_store.handle())
    other.update_station(ADMIN, "TS-522324002", {"staff": 8}, 1)
    assert service.require_station("TS-522324002").version == 1  # not refreshed yet
    with pytest.raises(Conflict, match="TS-522324002"):
        service.update_station(ADMIN, "TS-522324002", {"volunteers": 1}, 1)
    now = service.require_station("TS-522324002")
    assert (now.version, now.staff, now.volunteers) == (2, 8, 5)  # the other write, not this one


def test_a_busy_store_makes_a_write_unavailable_and_the_engine_unchanged(
    service: NetworkService, monkeypatch: pytest.MonkeyPatch
) -> None:
    def busy(*args: object, **kwargs: object) -> int:
        raise StoreUnavailable("another writer holds the lock")

    monkeypatch.setattr(service.store, "upsert_stations", busy)
    version = service.engine.version
    with pytest.raises(Unavailable):
        service.create_station(ADMIN, ROOM)
    assert service.engine.station(ROOM["id"]) is None and service.engine.version == version


def test_a_dry_run_import_reports_what_it_would_do_and_writes_nothing(
    service: NetworkService, fake_store: FakeStore
) -> None:
    writes = fake_store.writes
    row = "VR-522324002002,西街社区社会工作室,village_room,522324002002,TS-522324002,planned,,,0,0,0\n"
    csv = STATION_HEADER + row
    report = service.import_stations(EDITOR, csv, dry_run=True)
    assert (report.applied, report.created, report.errors) == (False, 1, [])
    assert fake_store.writes == writes and service.engine.station("VR-522324002002") is None
