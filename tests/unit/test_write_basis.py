"""The checks a store runs inside a write's transaction (`domain.write_basis`): precise, so only what the
write relied on refuses it, and every reason names what changed."""

from __future__ import annotations

from datetime import date

from graph_service.domain.editions import AppliedEdition
from graph_service.domain.levels import DivisionLevel, StationLevel
from graph_service.domain.model import Division, Station
from graph_service.domain.write_basis import (
    EditionBasis,
    StationBasis,
    StationPlace,
    WrittenSince,
    divisions_unchanged,
)

D2020 = AppliedEdition(date(2020, 6, 30), "a")
DIVISIONS = {
    d.code: d
    for d in [
        Division("52", "贵州省", DivisionLevel.PROVINCE),
        Division("5202", "六盘水市", DivisionLevel.CITY, "52"),
        Division("520221", "水城县", DivisionLevel.COUNTY, "5202"),
        Division("520221111", "木果镇", DivisionLevel.TOWNSHIP, "520221"),
        Division("520201", "钟山区", DivisionLevel.COUNTY, "5202"),
    ]
}
GS = Station("GS", "总站", StationLevel.GENERAL_STATION, "520221")
TS = Station("TS", "站", StationLevel.TOWNSHIP_STATION, "520221111", parent_id="GS")
ELSEWHERE = Station("TS-2", "另一站", StationLevel.TOWNSHIP_STATION, "520201999")
BEFORE = {s.id: s for s in (GS, TS)}


def since(divisions: list[Division] | None = None, stations: list[Station] | None = None) -> WrittenSince:
    """What was written since a basis: these divisions and stations."""
    return WrittenSince([d.code for d in divisions or []], [StationPlace.of(s) for s in stations or []])


def edition() -> EditionBasis:
    """An edition retiring 木果镇 (its station TS moves) planned with the 2020 edition applied."""
    return EditionBasis({"52": D2020}, frozenset({"520221111"}), frozenset({"TS"}), BEFORE.get)


def test_an_edition_holds_when_nothing_it_relied_on_was_written() -> None:
    assert edition().conflicts(since(), {"52": D2020}) == []
    assert edition().conflicts(since(stations=[ELSEWHERE]), {"52": D2020}) == []


def test_an_edition_names_each_thing_that_changed() -> None:
    later = AppliedEdition(date(2022, 10, 31), "b")
    new_here = Station("TS-3", "新站", StationLevel.TOWNSHIP_STATION, "520221111")
    reporting = Station("VR", "室", StationLevel.VILLAGE_ROOM, "520201999", parent_id="TS")
    reasons = edition().conflicts(
        since(divisions=[DIVISIONS["520201"]], stations=[new_here, reporting, ELSEWHERE]), {"52": later}
    )
    assert reasons == [
        "the latest edition of province 52 is now 2022-10-31, not 2020-06-30 as when the edition was checked",
        "divisions were written meanwhile: 520201",
        "stations the edition moves or re-parents were written meanwhile: TS-3, VR",
    ]


def test_a_station_moved_out_of_a_retired_division_since_is_seen_by_where_it_sat() -> None:
    """Read at the basis in 木果镇, now written elsewhere: the edition planned with it where it was."""
    away = Station("TS-4", "站", StationLevel.TOWNSHIP_STATION, "520201999")
    basis = EditionBasis({}, frozenset({"520221111"}), frozenset(), {"TS-4": TS}.get)
    assert basis.conflicts(since(stations=[away]), {}) != []


def test_a_station_write_is_refused_only_by_divisions_on_its_line_and_moved_parents() -> None:
    basis = StationBasis.of([TS], [], DIVISIONS.get, BEFORE.get)
    assert basis.divisions == {"520221111", "520221", "5202", "52"}
    assert basis.conflicts(since(divisions=[DIVISIONS["520201"]], stations=[ELSEWHERE]), {}) == []
    retired = Division("520221111", "木果镇", DivisionLevel.TOWNSHIP, "520221", valid_to=date(2021, 10, 31))
    staffed = Station("GS", "总站", StationLevel.GENERAL_STATION, "520221", staff=3)
    assert basis.conflicts(since(stations=[staffed]), {}) == []
    moved = Station("GS", "总站", StationLevel.GENERAL_STATION, "520201")
    assert basis.conflicts(since(divisions=[retired], stations=[moved]), {}) == [
        "divisions the stations sit in were written meanwhile: 520221111",
        "parent stations were moved meanwhile: GS",
    ]


def test_a_plain_division_import_is_refused_by_any_division_written() -> None:
    assert divisions_unchanged(since(stations=[ELSEWHERE]), {}) == []
    assert divisions_unchanged(since(divisions=[DIVISIONS["52"]]), {}) == [
        "divisions were written meanwhile: 52"
    ]
