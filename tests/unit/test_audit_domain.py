"""The audit trail's pure parts: rows as JSON text, and where a row sits (`within`)."""

from __future__ import annotations

import json

import pytest

from graph_service.adapters.rows import audit_entry_rows, packed_audit_batches
from graph_service.domain.audit import (
    DIVISION_KIND,
    STATION_KIND,
    AuditChange,
    AuditQuery,
    AuditTrail,
    DivisionPaths,
    division_json,
    unpack_entries,
    unpacked_newest_first,
    utc_now,
    within_of,
    within_pattern,
)
from graph_service.domain.levels import DivisionLevel
from graph_service.domain.model import Division
from graph_service.ports import audit_seq


@pytest.mark.parametrize("name", ["贵阳市", 'a "quoted", back\\slash name', "tab\tand\u2028separator"])
@pytest.mark.parametrize("parent", [None, "52"])
def test_division_json_is_the_row_object(name: str, parent: str | None) -> None:
    division = Division("5201", name, DivisionLevel.CITY, parent)
    assert json.loads(division_json(division)) == {
        "code": "5201",
        "name": name,
        "level": "city",
        "parent_code": parent,
    }


def test_within_lists_every_code_on_the_paths_once() -> None:
    parents = {"52": None, "5201": "52", "520102": "5201", "5223": "52"}
    paths = DivisionPaths(parents.get)
    assert paths.path("520102") == ("52", "5201", "520102")
    assert paths.within("520102") == paths.within_one("520102") == "|52|5201|520102|"
    assert paths.within("520102", "5223") == "|52|5201|520102|5223|"
    assert paths.within(None, "5223") == within_of(("52", "5223"))
    assert within_pattern("5201") in paths.within("520102")
    assert within_pattern("520") not in paths.within("520102")


def test_division_changes_are_packed_in_runs_of_consecutive_seqs_and_read_back_filtered() -> None:
    """Division changes go into packed batches of at most `size` consecutive seqs (a station change
    in between starts a new batch, and stays a row); unpacking gives the same values back. Station
    changes are packed the same way when asked for, each batch with its lowest and highest target."""
    east = Division("5201", '贵阳市 "东"', DivisionLevel.CITY, "52")
    changes = [
        AuditChange("import", DIVISION_KIND, "52", None, '{"code":"52"}', "|52|"),
        AuditChange("import", DIVISION_KIND, "5201", division_json(east), None, "|52|5201|"),
        AuditChange("createStation", STATION_KIND, "GC-1", None, '{"id":"GC-1"}', "|52|5201|"),
        AuditChange("import", DIVISION_KIND, "5223", None, '{"code":"5223"}', "|52|5223|"),
    ]
    trail = AuditTrail("alice", "admin", utc_now(), changes)
    packed = [(b.first, b.count, b.entries) for b in packed_audit_batches(trail, 7, size=5)]
    assert [(first - audit_seq(7, 0), count) for first, count, _ in packed] == [(0, 2), (3, 1)]
    assert [b.targets for b in packed_audit_batches(trail, 7, size=5)] == [["52", "5201"], ["5223"]]
    (stations,) = packed_audit_batches(trail, 7, size=5, kind=STATION_KIND)
    assert (stations.first - audit_seq(7, 0), stations.count, stations.targets) == (2, 1, ["GC-1"])
    assert unpack_entries(stations.entries) == [["createStation", "GC-1", None, {"id": "GC-1"}, "|52|5201|"]]
    assert unpack_entries(packed[0][2]) == [
        [None, "52", None, {"code": "52"}, "|52|"],
        [None, "5201", json.loads(division_json(east)), None, "|52|5201|"],
    ]
    assert [row[3] for row in audit_entry_rows(trail, 7)] == ["GC-1"]
    assert [len(unpack_entries(b.entries)) for b in packed_audit_batches(trail, 7, size=1)] == [1, 1, 1]
    newest_first = [(first, data) for first, _, data in reversed(packed)]
    selected = unpacked_newest_first(newest_first, AuditQuery(within="5201"), with_cursor=True)
    assert [(seq - audit_seq(7, 0), entry[1]) for seq, entry in selected] == [(1, "5201")]
    cursor = AuditQuery(before_seq=audit_seq(7, 3))
    assert [entry[1] for _, entry in unpacked_newest_first(newest_first, cursor, with_cursor=True)] == [
        "5201",
        "52",
    ]
    assert len(list(unpacked_newest_first(newest_first, cursor, with_cursor=False))) == 3


def test_a_writes_packed_entries_are_made_before_its_version_is_known(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """(issue 9: packing a 50,000-row import's entries took 0.1 s of the time it held the write lock)
    `prepare_audit` packs a trail's entries before the write begins, counting each batch's first seq
    from the write's first; station entries only from `PACKED_STATION_ENTRIES` on."""
    from graph_service.adapters import neo4j_audit

    monkeypatch.setattr(neo4j_audit, "PACKED_STATION_ENTRIES", 3)
    changes = [
        AuditChange("import", STATION_KIND, "GC-1", None, '{"id":"GC-1"}', "|52|"),
        AuditChange("import", STATION_KIND, "GC-2", None, '{"id":"GC-2"}', "|52|"),
        AuditChange("import", DIVISION_KIND, "52", None, '{"code":"52"}', "|52|"),
        AuditChange("import", STATION_KIND, "GC-3", None, '{"id":"GC-3"}', "|52|"),
    ]
    prepared = neo4j_audit.prepare_audit(AuditTrail("alice", "admin", utc_now(), changes), batch_size=2)
    assert prepared.stations_packed
    assert [(kind, b.first, b.count, b.targets) for kind, b in prepared.batches] == [
        (DIVISION_KIND, 2, 1, ["52"]),
        (STATION_KIND, 0, 2, ["GC-1", "GC-2"]),
        (STATION_KIND, 3, 1, ["GC-3"]),
    ]
    fewer = neo4j_audit.prepare_audit(AuditTrail("alice", "admin", utc_now(), changes[:3]), batch_size=2)
    assert not fewer.stations_packed
    assert [(kind, b.first) for kind, b in fewer.batches] == [(DIVISION_KIND, 2)]
