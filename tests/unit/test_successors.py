"""Spec §6 successors (pure): the successors CSV and the proposal offered by the dry run."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from graph_service.domain.levels import DivisionLevel
from graph_service.domain.model import Division
from graph_service.domain.successors import (
    SUCCESSOR_COLUMNS,
    name_core,
    propose_successors,
    read_successors,
    successor_rows,
)

P, C, K, T, V = (
    DivisionLevel.PROVINCE,
    DivisionLevel.CITY,
    DivisionLevel.COUNTY,
    DivisionLevel.TOWNSHIP,
    DivisionLevel.VILLAGE,
)
D2020, D2021 = date(2020, 6, 30), date(2021, 10, 31)


def _old(code: str, name: str, level: DivisionLevel, parent: str) -> Division:
    return Division(code, name, level, parent, valid_from=D2020, valid_to=D2021)


def _new(code: str, name: str, level: DivisionLevel, parent: str) -> Division:
    return Division(code, name, level, parent, valid_from=D2021)


def _kept(code: str, name: str, level: DivisionLevel, parent: str | None) -> Division:
    return Division(code, name, level, parent, valid_from=D2020)


AFTER = {
    d.code: d
    for d in [
        _kept("52", "贵州省", P, None),
        _kept("5201", "贵阳市", C, "52"),
        _kept("520111", "花溪区", K, "5201"),
        _old("520111103", "党武镇", T, "520111"),
        _new("520111012", "党武街道", T, "520111"),
        _old("520111103201", "摆门村委会", V, "520111103"),
        _new("520111012201", "摆门村村民委员会", V, "520111012"),
        _kept("5202", "六盘水市", C, "52"),
        _old("520221", "水城县", K, "5202"),
        _new("520204", "水城区", K, "5202"),
        _old("520221001", "双水街道", T, "520221"),
        _new("520204002", "双水街道", T, "520204"),
        _old("520221102", "比德镇", T, "520221"),
        _kept("520201", "钟山区", K, "5202"),
        _new("520201115", "比德镇", T, "520201"),  # re-coded, and now under another county
        _old("520221103", "化乐镇", T, "520221"),  # abolished: nothing of that name survives
        _old("520221001001", "新村社区居委会", V, "520221001"),
        _new("520204002001", "新村社区居民委员会", V, "520204002"),
        _new("520204002002", "新村村民委员会", V, "520204002"),
        _old("520221001002", "大寨村委会", V, "520221001"),
        _new("520204002003", "大寨社区", V, "520204002"),
        _new("520204002004", "大寨村", V, "520204002"),
    ]
}
RETIRED = [d for d in AFTER.values() if d.valid_to == D2021]


def test_name_core_sees_through_administrative_suffixes() -> None:
    assert name_core("水城县") == name_core("水城区") == "水城"
    assert name_core("党武镇") == name_core("党武街道") == "党武"
    assert name_core("某某村委会") == name_core("某某村村民委员会") == name_core("某某村民委员会") == "某某"
    assert name_core("某某居委会") == name_core("某某社区居民委员会") == "某某"
    assert name_core("三都水族自治县") == "三都"
    assert name_core("某某布依族苗族乡") == name_core("某某镇") == "某某"
    assert name_core("社区") == "社区"  # never empty


def test_proposal() -> None:
    proposed = propose_successors(RETIRED, AFTER, D2021)
    assert proposed == {
        "520111103": "520111012",  # 党武镇 → 党武街道, same parent
        "520111103201": "520111012201",  # 摆门村委会 → 摆门村村民委员会, under the parent's successor
        "520221": "520204",  # 水城县 → 水城区
        "520221001": "520204002",  # under the proposed successor of the parent
        "520221102": "520201115",  # under the nearest ancestor that survives (the city)
    }
    # 新村社区居委会: 新村社区居民委员会 and 新村村民委员会 both match, neither by its very name
    assert "520221001001" not in proposed
    assert "520221103" not in proposed
    assert "520221001002" not in proposed


def test_ambiguous_names_prefer_the_very_same_name() -> None:
    after = dict(AFTER)
    after["520204002005"] = _new("520204002005", "新村社区居委会", V, "520204002")
    proposed = propose_successors(RETIRED, after, D2021)
    assert proposed["520221001001"] == "520204002005"


def _read(text: str) -> tuple[dict[str, list[str]], list[str]]:
    successors, problems = read_successors(text, AFTER.get, D2021)
    return successors, [str(p) for p in problems]


def test_successors_file_in_order() -> None:
    text = "\ufeffold_code,new_code\n520221,520204\n520221001,520204002\n520221001,520201115\n"
    successors, problems = _read(text)
    assert problems == []
    assert successors == {"520221": ["520204"], "520221001": ["520204002", "520201115"]}
    assert successor_rows(successors) == [
        ("520221", "520204"),
        ("520221001", "520204002"),
        ("520221001", "520201115"),
    ]


def test_successors_file_problems_name_their_rows() -> None:
    text = "\n".join(
        [
            ",".join(SUCCESSOR_COLUMNS),
            "520221,520204",
            "520221,520204",  # 3: twice
            "520111,520204",  # 4: not retired
            "520221,520204002",  # 5: another level
            "520221001,520221102",  # 6: retired, not valid on D
            "nowhere,520204002",  # 7: unknown
            "520221001,",  # 8: empty
            "52 21,520204",  # 9: not a code
        ]
    )
    successors, problems = _read(text)
    assert successors == {"520221": ["520204"]}
    assert problems == [
        "row 3: 520221 → 520204 is listed twice (first on row 2)",
        "row 4, column old_code: division 520111 花溪区 is not retired by the edition of 2021-10-31",
        "row 5, column new_code: 520204002 双水街道 is a township, but 520221 水城县 is a county",
        "row 6, column new_code: division 520221102 比德镇 is not valid on 2021-10-31",
        "row 7, column old_code: unknown division 'nowhere'",
        "row 8, column new_code: new_code is empty",
        "row 9, column old_code: old_code may hold only A-Z a-z 0-9 . _ : - (found U+0020)",
    ]


def test_successors_file_header_is_checked() -> None:
    _, problems = _read("old,new\n1,2\n")
    assert problems == ["row 1: the header must be old_code,new_code (missing old_code, new_code; "
                        "unexpected 'old', 'new')"]  # fmt: skip


_SUFFIX_PAIRS = st.sampled_from(
    [("县", "区"), ("镇", "街道"), ("村委会", "村村民委员会"), ("居委会", "社区居民委员会"), ("乡", "镇")]
)


@given(st.text(st.sampled_from("甲乙丙丁戊己庚辛壬癸山水河寨坝"), min_size=1, max_size=6), _SUFFIX_PAIRS)
def test_name_core_is_the_same_through_any_suffix_change(core: str, suffixes: tuple[str, str]) -> None:
    before, after = (core + suffix for suffix in suffixes)
    assert name_core(before) == name_core(after) == core
