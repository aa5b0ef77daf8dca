"""Spec §6 edition planning (pure): created, retired and renamed codes, and the refusals."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from graph_service.domain.edition_report import report_edition
from graph_service.domain.editions import (
    AppliedEdition,
    EditionPlan,
    apply_plan,
    plan_edition,
    province_of,
)
from graph_service.domain.levels import DivisionLevel, StationLevel, StationStatus
from graph_service.domain.model import Division, Station
from graph_service.domain.moves import Move, Stranded
from graph_service.domain.validity import is_valid_on

P, C, K, T = DivisionLevel.PROVINCE, DivisionLevel.CITY, DivisionLevel.COUNTY, DivisionLevel.TOWNSHIP
D2020, D2021, D2022 = date(2020, 6, 30), date(2021, 10, 31), date(2022, 10, 31)

EDITION_2020 = [
    Division("52", "贵州省", P),
    Division("5201", "贵阳市", C, "52"),
    Division("520111", "花溪区", K, "5201"),
    Division("520111103", "党武镇", T, "520111"),
    Division("5202", "六盘水市", C, "52"),
    Division("520221", "水城县", K, "5202"),
    Division("520221001", "双水街道", T, "520221"),
]
EDITION_2021 = [
    Division("52", "贵州省", P),
    Division("5201", "贵阳市", C, "52"),
    Division("520111", "花溪区", K, "5201"),
    Division("520111012", "党武街道", T, "520111"),
    Division("5202", "六盘水市", C, "52"),
    Division("520204", "水城区", K, "5202"),
    Division("520204002", "双水街道", T, "520204"),
]


def _rows(divisions: list[Division]) -> list[tuple[int, Division]]:
    return [(row, division) for row, division in enumerate(divisions, start=2)]


def _apply(
    stored: dict[str, Division], applied: dict[str, AppliedEdition], divisions: list[Division], day: date
) -> tuple[EditionPlan, dict[str, Division]]:
    plan = plan_edition(stored, _rows(divisions), day, applied)
    assert not plan.problems, plan.problems
    applied.update(plan.applied)
    return plan, apply_plan(stored, divisions, plan)


def test_first_edition_creates_everything_from_its_date() -> None:
    plan, after = _apply({}, {}, EDITION_2020, D2020)
    assert [d.code for d in plan.created] == [d.code for d in EDITION_2020]
    assert all(d.valid_from == D2020 and d.valid_to is None for d in after.values())
    assert plan.applied["52"].day == D2020


def test_next_edition_retires_creates_and_renames() -> None:
    applied: dict[str, AppliedEdition] = {}
    _, stored = _apply({}, applied, EDITION_2020, D2020)
    renamed_city = [*EDITION_2021[:1], Division("5201", "贵阳", C, "52"), *EDITION_2021[2:]]
    plan, after = _apply(stored, applied, renamed_city, D2021)
    assert sorted(d.code for d in plan.created) == ["520111012", "520204", "520204002"]
    assert [d.code for d in plan.retired] == ["520111103", "520221", "520221001"]
    assert all(d.valid_to == D2021 for d in plan.retired)
    assert [(r.code, r.old_name, r.new_name, r.row) for r in plan.renamed] == [("5201", "贵阳市", "贵阳", 3)]
    assert after["5201"].name == "贵阳"
    assert is_valid_on(after["520221"], date(2021, 10, 30)) and not is_valid_on(after["520221"], D2021)


def test_running_the_latest_edition_again_with_the_same_file_changes_nothing() -> None:
    applied: dict[str, AppliedEdition] = {}
    _, stored = _apply({}, applied, EDITION_2020, D2020)
    _, stored = _apply(stored, applied, EDITION_2021, D2021)
    again = plan_edition(stored, _rows(list(reversed(EDITION_2021))), D2021, applied)
    assert not again.problems and again.changes_nothing
    assert apply_plan(stored, EDITION_2021, again) == stored


def test_an_older_edition_is_refused() -> None:
    applied: dict[str, AppliedEdition] = {}
    _, stored = _apply({}, applied, EDITION_2021, D2021)
    plan = plan_edition(stored, _rows(EDITION_2020), D2020, applied)
    assert plan.changes_nothing
    assert [(p.row, p.column) for p in plan.problems] == [(2, None)]
    assert "province 52 already has the edition of 2021-10-31" in plan.problems[0].message
    assert "date order" in plan.problems[0].message


def test_the_latest_edition_again_with_another_file_is_refused() -> None:
    applied: dict[str, AppliedEdition] = {}
    _, stored = _apply({}, applied, EDITION_2020, D2020)
    plan = plan_edition(stored, _rows(EDITION_2021), D2020, applied)
    assert len(plan.problems) == 1 and "from another file" in plan.problems[0].message


def test_a_retired_code_that_reappears_is_refused_naming_its_row() -> None:
    applied: dict[str, AppliedEdition] = {}
    _, stored = _apply({}, applied, EDITION_2020, D2020)
    _, stored = _apply(stored, applied, EDITION_2021, D2021)
    back = [*EDITION_2021, Division("520221", "水城县", K, "5202")]
    plan = plan_edition(stored, _rows(back), D2022, applied)
    assert [(p.row, p.column) for p in plan.problems] == [(9, "code")]
    assert "520221 水城县 was retired on 2021-10-31" in plan.problems[0].message
    assert plan.changes_nothing


def test_a_code_changing_level_is_refused() -> None:
    applied: dict[str, AppliedEdition] = {}
    _, stored = _apply({}, applied, EDITION_2020, D2020)
    changed = [*EDITION_2020[:6], Division("520221001", "双水街道", K, "5202")]
    plan = plan_edition(stored, _rows(changed), D2021, applied)
    assert [(p.row, p.column) for p in plan.problems] == [(8, "level")]
    assert "stored as a township" in plan.problems[0].message


def test_other_provinces_and_divisions_already_retired_are_left_alone() -> None:
    applied: dict[str, AppliedEdition] = {}
    yunnan = [Division("53", "云南省", P), Division("5301", "昆明市", C, "53")]
    _, stored = _apply({}, applied, [*EDITION_2020, *yunnan], D2020)
    plan, after = _apply(stored, applied, EDITION_2021, D2021)
    assert not {d.code for d in plan.retired} & {"53", "5301"}
    assert after["5301"] == stored["5301"]
    plan, _ = _apply(after, applied, EDITION_2021[:6], D2022)
    assert [d.code for d in plan.retired] == ["520204002"]  # not 520221001 again


def test_province_of_remembers_the_chains_it_walked() -> None:
    by_code = {d.code: d for d in EDITION_2020}
    known: dict[str, str | None] = {}
    assert province_of("520221001", by_code.get, known) == "52"
    assert known == {"520221001": "52", "520221": "52", "5202": "52", "52": "52"}
    assert province_of("520221001", lambda code: None, known) == "52"  # answered from `known`
    assert province_of("999", by_code.get) is None
    loop = {"1": Division("1", "甲", C, "2"), "2": Division("2", "乙", C, "1")}
    assert province_of("1", loop.get) is None


def test_divisions_of_a_plain_import_are_retired_too() -> None:
    stored = {d.code: d for d in EDITION_2020}  # no validity: imported without --edition
    plan = plan_edition(stored, _rows(EDITION_2021), D2021, {})
    assert [d.code for d in plan.retired] == ["520111103", "520221", "520221001"]


# --- property: applying edition B after edition A is exactly their difference ---------------------

_NAMES = st.sampled_from(["甲镇", "乙镇", "丙街道", "丁乡"])


@st.composite
def editions(draw: st.DrawFn) -> list[Division]:
    """A small province: a fixed city and county, and some of 12 township codes with random names."""
    codes = draw(st.sets(st.integers(100, 111), max_size=12))
    townships = [Division(f"520111{code}", draw(_NAMES), T, "520111") for code in sorted(codes)]
    return [Division("52", "贵州省", P), Division("5201", "贵阳市", C, "52"), EDITION_2020[2], *townships]


@settings(max_examples=60, deadline=None)
@given(editions(), editions())
def test_edition_b_after_a_is_the_difference(a: list[Division], b: list[Division]) -> None:
    applied: dict[str, AppliedEdition] = {}
    _, stored = _apply({}, applied, a, D2020)
    plan = plan_edition(stored, _rows(b), D2021, applied)
    old, new = {d.code: d for d in a}, {d.code: d for d in b}
    assert not plan.problems
    assert {d.code for d in plan.created} == new.keys() - old.keys()
    assert {d.code for d in plan.retired} == old.keys() - new.keys()
    assert {r.code for r in plan.renamed} == {
        c for c in old.keys() & new.keys() if old[c].name != new[c].name
    }
    after = apply_plan(stored, b, plan)
    assert {c for c, d in after.items() if is_valid_on(d, D2021)} == new.keys()
    assert {c for c, d in after.items() if is_valid_on(d, D2020)} == old.keys()
    assert all(after[c].name == new[c].name for c in new)


# --- the whole edition as one report --------------------------------------------------------------


def test_report_of_an_edition_with_stations_and_successors() -> None:
    applied: dict[str, AppliedEdition] = {}
    _, stored = _apply({}, applied, EDITION_2020, D2020)
    opened = {"status": StationStatus.OPERATING, "opened_on": date(2020, 1, 1)}
    stations = [
        Station("GS", "GS", StationLevel.GENERAL_STATION, "520221", **opened),  # type: ignore[arg-type]
        Station("TS", "TS", StationLevel.TOWNSHIP_STATION, "520111103"),
    ]
    successors = "old_code,new_code\n520221,520204\n"
    report = report_edition(stored, _rows(EDITION_2021), D2021, applied, stations, successors)
    assert report.refused
    assert report.moves == [Move("GS", "520221", "520204")]
    assert report.stranded == [Stranded("520111103", ("TS",))]
    assert report.proposed == {"520111103": "520111012", "520221": "520204", "520221001": "520204002"}

    successors += "520111103,520111012\n"
    report = report_edition(stored, _rows(EDITION_2021), D2021, applied, stations, successors)
    assert not report.refused
    assert [m.new_code for m in report.moves] == ["520204", "520111012"]

    # An edition being applied makes no proposal (nothing follows it); everything else is the same.
    unproposed = report_edition(
        stored, _rows(EDITION_2021), D2021, applied, stations, successors, propose=False
    )
    assert unproposed.proposed == {} and replace(unproposed, proposed=report.proposed) == report

    older = report_edition(
        stored, _rows(EDITION_2021), date(2019, 1, 1), {"52": AppliedEdition(D2020, "x")}, []
    )
    assert older.refused and older.plan.problems and not older.after
