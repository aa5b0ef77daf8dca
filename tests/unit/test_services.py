"""The service layer's rules, on the in-memory fake store: who may act is settled before any work,
every bad row of a file is reported, and a write that would take a sum past GraphQL's Int is refused."""

from __future__ import annotations

from datetime import date

import pytest

from graph_service.service_layer.auth import Principal, Role
from graph_service.service_layer.errors import Forbidden, Unauthenticated
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
