"""Two editions of a small province's division table (2020 and 2021: divisions re-coded, renamed and
retired) and stations on the 2020 one, for the edition preview and apply tests; the folder of the
real Guizhou tables; and the check that a service caught up after an edition answers as a fresh load."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from graph_service.bootstrap import open_service
from graph_service.domain.levels import DivisionLevel
from graph_service.domain.model import Division, Station
from graph_service.service_layer.editions import division_links, division_names
from graph_service.service_layer.services import NetworkService
from tests.support.paths import REPO

SEED = REPO / "seed"

DIVISIONS_2020 = """\
code,name,level,parent_code
52,贵州省,province,
5201,贵阳市,city,52
520111,花溪区,county,5201
520111103,党武镇,township,520111
5202,六盘水市,city,52
520201,钟山区,county,5202
520221,水城县,county,5202
520221001,双水街道,township,520221
520221111,木果镇,township,520221
520221103,化乐镇,township,520221
520221001001,新村社区居委会,village,520221001
"""

DIVISIONS_2021 = """\
code,name,level,parent_code
52,贵州省,province,
5201,贵阳,city,52
520111,花溪区,county,5201
520111012,党武街道,township,520111
5202,六盘水市,city,52
520201,钟山区,county,5202
520201104,木果镇,township,520201
520204,水城区,county,5202
520204002,双水街道,township,520204
520204002001,新村社区居民委员会,village,520204002
"""

SUCCESSORS_2021 = """\
old_code,new_code
520221,520204
520221001,520204002
520221111,520201104
520111103,520111012
520221001001,520204002001
"""
"""The successors of the divisions the 2021 table retires (each station that has not closed moves)."""

STATIONS = """\
id,name,level,division_code,parent_id,status,opened_on,closed_on,staff,certified_staff,volunteers
GC-5202,六盘水市社会工作指导中心,guidance_centre,5202,,operating,2018-07-06,,6,2,65
GS-520221,水城县社会工作总站,general_station,520221,GC-5202,operating,2019-05-01,,5,2,10
GS-520201,钟山区社会工作总站,general_station,520201,GC-5202,operating,2019-06-01,,4,1,8
TS-520221001,双水街道社会工作服务站,township_station,520221001,GS-520221,operating,2020-03-01,,2,1,5
TS-520221111,木果镇社会工作服务站,township_station,520221111,GS-520221,operating,2020-09-01,,2,1,3
TS-520221103,化乐镇社会工作服务站,township_station,520221103,GS-520221,closed,2019-09-01,2021-03-31,1,0,0
TS-520111103,党武镇社会工作服务站,township_station,520111103,,building,,,0,0,0
"""


D2020, D2021, D2022 = date(2020, 6, 30), date(2021, 10, 31), date(2022, 10, 31)
"""The days these tables are applied as editions in the tests (2022: a third table a test makes)."""


def edition_args(table: object, day: date, successors: object) -> tuple[str, ...]:
    """The arguments of `graph-service seed` that apply the division file `table` as the edition of
    `day` with the successors file `successors` (paths)."""
    return ("divisions", str(table), "--edition", day.isoformat(), "--successors", str(successors))


EDITION_DAYS = [
    date(2019, 1, 1),
    date(2020, 6, 29),
    date(2020, 6, 30),
    date(2021, 1, 1),
    date(2021, 10, 30),
    date(2021, 10, 31),
    date(2022, 10, 31),
    date(2030, 1, 1),
]
"""The days a follower's answers are compared on: before, on and after each edition of these tables."""


def assert_answers_like_a_fresh_load(service: NetworkService, days: Sequence[date] = EDITION_DAYS) -> None:
    """`service` (a follower, caught up with `refresh`) answers exactly as a service freshly loaded from
    its store does, on every division (retired ones included) and each of `days`: the division and
    station records (validity, placements), names history, successors and predecessors, children,
    `covered`, coverage, roll-up and every uncovered list."""
    fresh = open_service(service.settings)
    try:
        assert fresh.engine.problems == [] and service.engine.version == fresh.engine.version
        mine, theirs = service.engine, fresh.engine
        assert sorted(mine.division_records(), key=_code) == sorted(theirs.division_records(), key=_code)
        assert sorted(mine.station_records(), key=_id) == sorted(theirs.station_records(), key=_id)
        for division in theirs.division_records():
            code = division.code
            assert division_links(service, code) == division_links(fresh, code), code
            assert division_names(service, division) == division_names(fresh, division), code
            for day in days:
                where = (code, day)
                assert mine.children(code, day=day) == theirs.children(code, day=day), where
                assert mine.covered(code, day) == theirs.covered(code, day), where
                assert mine.coverage(code, day) == theirs.coverage(code, day), where
                assert mine.rollup(code, day) == theirs.rollup(code, day), where
                for level in DivisionLevel:
                    assert mine.uncovered(code, level, day) == theirs.uncovered(code, level, day), where
    finally:
        fresh.close()


def _code(division: Division) -> str:
    return division.code


def _id(station: Station) -> str:
    return station.id
