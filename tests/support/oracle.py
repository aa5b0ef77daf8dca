"""Brute-force recounts of spec §3, straight from the definitions, to check the engine against; on a
day, only the divisions valid that day are counted, covered or listed, and a station counts where it
sat that day (or in its division's predecessor before that division existed) (spec §6). And the random
networks (hypothesis strategies) and the comparison the property tests use them with."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta

from hypothesis import strategies as st

from graph_service.domain.levels import COVERAGE_LEVELS, DivisionLevel, StationLevel, StationStatus
from graph_service.domain.model import Division, Station
from graph_service.domain.validity import (
    is_valid_on,
    moved_placements,
    placement_on,
    predecessors_of,
    valid_predecessor,
)
from graph_service.engine import NetworkEngine


class Oracle:
    """Answers spec §3 questions by walking every record on every call."""

    def __init__(
        self,
        divisions: Iterable[Division],
        stations: Iterable[Station],
        successors: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.divisions = {d.code: d for d in divisions}
        self.stations = {s.id: s for s in stations}
        self.successors = {old: list(news) for old, news in (successors or {}).items()}

    def counted_in(self, station: Station, day: date) -> str | None:
        """The division `station` counts in on `day` (spec §6): where it sat that day, or before that
        division's `valid_from` its predecessor valid that day (the lowest code of the nearest step
        back that has one); with none, where it sat (which covers nothing then)."""
        code = sat_in(station, day)
        if code is None:
            return None
        division = self.divisions.get(code)
        if division is not None and division.valid_from is not None and day < division.valid_from:
            predecessors = predecessors_of(self.successors)
            found = valid_predecessor(code, day, self.divisions.get, predecessors)
            if found is not None:
                return found
        return code

    def subtree(self, code: str) -> list[Division]:
        """`code` and every division below it."""
        result = []
        for division in self.divisions.values():
            current: str | None = division.code
            while current is not None:
                if current == code:
                    result.append(division)
                    break
                current = self.divisions[current].parent_code
        return result

    def covered(self, code: str, day: date) -> bool | None:
        division = self.divisions[code]
        if division.level is DivisionLevel.PROVINCE:
            return None
        return is_valid_on(division, day) and any(
            self.counted_in(s, day) == code
            and s.level.division_level is division.level
            and s.is_active_on(day)
            for s in self.stations.values()
        )

    def coverage(self, code: str, day: date) -> list[tuple[DivisionLevel, int, int]]:
        below = self.subtree(code)
        return [
            (
                level,
                sum(d.level is level and is_valid_on(d, day) for d in below),
                sum(d.level is level and self.covered(d.code, day) for d in below),
            )
            for level in self.divisions[code].level.levels_below
        ]

    def rollup(self, code: str, day: date) -> tuple[int, ...]:
        inside = {d.code for d in self.subtree(code)}
        active = [
            s for s in self.stations.values() if self.counted_in(s, day) in inside and s.is_active_on(day)
        ]
        counts = tuple(sum(s.level.rank == rank for s in active) for rank in range(4))
        return counts + (
            sum(s.staff for s in active),
            sum(s.certified_staff for s in active),
            sum(s.volunteers for s in active),
        )

    def uncovered(self, code: str, level: DivisionLevel, day: date) -> list[str]:
        assert level in COVERAGE_LEVELS
        return sorted(
            d.code
            for d in self.subtree(code)
            if d.level is level and is_valid_on(d, day) and not self.covered(d.code, day)
        )

    def children(self, code: str, day: date) -> list[str]:
        """The codes of the divisions directly under `code` valid on `day`, sorted."""
        return sorted(
            d.code for d in self.divisions.values() if d.parent_code == code and is_valid_on(d, day)
        )


def station(
    sid: str,
    level: StationLevel,
    code: str,
    opened: date | None = None,
    closed: date | None = None,
    staff: int = 0,
    certified: int = 0,
    volunteers: int = 0,
    parent: str | None = None,
) -> Station:
    """A station named after its id, operating from `opened` (closed on `closed`), planned without it."""
    status = (
        (StationStatus.CLOSED if closed else StationStatus.OPERATING) if opened else StationStatus.PLANNED
    )
    return Station(sid, sid, level, code, parent, status, opened, closed, staff, certified, volunteers)


def national_like(townships: int) -> tuple[list[Division], list[Station]]:
    """A province with 10 cities, 10 counties each, `townships` townships spread over them, 5
    villages per township; and one station per village and township, opened over ten years, some
    closed (seeded: the same every run)."""
    rng = random.Random(9)
    divisions = [Division("P", "省", DivisionLevel.PROVINCE)]
    divisions += [Division(f"C{c}", "市", DivisionLevel.CITY, "P") for c in range(10)]
    divisions += [
        Division(f"C{c}X{x}", "县", DivisionLevel.COUNTY, f"C{c}") for c in range(10) for x in range(10)
    ]
    stations: list[Station] = []
    for t in range(townships):
        county = f"C{t % 10}X{t // 10 % 10}"
        divisions.append(Division(f"T{t}", "镇", DivisionLevel.TOWNSHIP, county))
        places = [(f"T{t}", StationLevel.TOWNSHIP_STATION)]
        for v in range(5):
            divisions.append(Division(f"T{t}V{v}", "村", DivisionLevel.VILLAGE, f"T{t}"))
            places.append((f"T{t}V{v}", StationLevel.VILLAGE_ROOM))
        for code, level in places:
            opened = date(2015, 1, 1) + timedelta(days=rng.randrange(3650))
            closed = opened + timedelta(days=rng.randrange(1, 400)) if rng.random() < 0.1 else None
            staff = rng.randrange(10)
            stations.append(
                station(f"S{code}", level, code, opened, closed, staff, staff // 2, rng.randrange(5))
            )
    return divisions, stations


# --- random networks for the property tests ------------------------------------------------

BASE = date(2020, 1, 1)
DAYS = st.integers(min_value=0, max_value=30).map(lambda n: BASE + timedelta(days=n))


@st.composite
def forests(draw: st.DrawFn) -> list[Division]:
    """Random forests over the five levels; a child is of any strictly lower level (skips allowed), and
    is valid always, or from and/or until a day of DAYS (spec §6)."""
    divisions: list[Division] = []
    for p in range(draw(st.integers(1, 2))):
        divisions.append(Division(f"P{p}", f"省{p}", DivisionLevel.PROVINCE))
    count = draw(st.integers(3, 25))
    for n in range(count):
        parent = draw(st.sampled_from([d for d in divisions if d.level is not DivisionLevel.VILLAGE]))
        level = draw(st.sampled_from([lvl for lvl in DivisionLevel if lvl.rank > parent.level.rank]))
        valid_from, valid_to = draw(validity())
        divisions.append(
            Division(f"{parent.code}.{n:02d}", f"名{n}", level, parent.code, valid_from, valid_to)
        )
    return divisions


@st.composite
def validity(draw: st.DrawFn) -> tuple[date | None, date | None]:
    """A random validity (spec §6): mostly always valid, else from and/or until a day of DAYS."""
    kind = draw(st.sampled_from(["always", "always", "from", "to", "both"]))
    valid_from = draw(DAYS) if kind in ("from", "both") else None
    valid_to = draw(DAYS) if kind in ("to", "both") else None
    if valid_from is not None and valid_to is not None and valid_to <= valid_from:
        valid_to = valid_from + timedelta(days=draw(st.integers(1, 10)))
    return valid_from, valid_to


@st.composite
def stations_for(draw: st.DrawFn, divisions: list[Division], prefix: str = "S") -> list[Station]:
    """Up to 15 random stations, each on a division of `divisions` that may hold one."""
    placeable = [d for d in divisions if d.level.station_level is not None]
    result = []
    for n in range(draw(st.integers(0, 15))):
        division = draw(st.sampled_from(placeable))
        result.append(draw(station_at(division, f"{prefix}{n}")))
    return result


@st.composite
def station_at(draw: st.DrawFn, division: Division, sid: str) -> Station:
    """A random station `sid` on `division`: planned, operating or closed, with random counts."""
    opened = draw(st.none() | DAYS)
    closed = None
    if opened is not None and draw(st.booleans()):
        closed = opened + timedelta(days=draw(st.integers(1, 15)))
    staff = draw(st.integers(0, 9))
    return station(
        sid,
        division.level.station_level,
        division.code,
        opened,
        closed,
        staff,
        draw(st.integers(0, staff)),
        draw(st.integers(0, 5)),
    )


@st.composite
def successor_links(draw: st.DrawFn, divisions: list[Division]) -> dict[str, list[str]]:
    """Random successor links (spec §6) between divisions of one level, each to one or two others
    (stations listed in a successor count in its predecessor before it is valid)."""
    links: dict[str, list[str]] = {}
    for division in draw(st.lists(st.sampled_from(divisions), max_size=6, unique_by=lambda d: d.code)):
        same = [d.code for d in divisions if d.level is division.level and d.code != division.code]
        if same:
            links[division.code] = draw(st.lists(st.sampled_from(same), min_size=1, max_size=2, unique=True))
    return links


@st.composite
def moved_from(draw: st.DrawFn, station: Station, divisions: list[Division]) -> Station:
    """`station` moved on a random day to a random division of its level (spec §6: it sat where it was
    before that day and sits in the new one from it), a new version."""
    level = station.level.division_level
    target = draw(st.sampled_from([d.code for d in divisions if d.level is level]))
    placements = tuple(moved_placements(station.history(), target, draw(DAYS)))
    if len(placements) < 2:
        placements = ()
    return dataclasses.replace(
        station, division_code=target, placements=placements, version=station.version + 1
    )


def assert_matches(engine: NetworkEngine, oracle: Oracle, days: list[date]) -> None:
    """The engine answers every question the oracle does, the same way, on each of `days`."""
    for code in oracle.divisions:
        for level in oracle.divisions[code].level.levels_below:
            trend = [(c.level, c.total, c.covered) for c in engine.coverage_trend(code, level, days)]
            expected_trend = [next(e for e in oracle.coverage(code, day) if e[0] is level) for day in days]
            assert trend == expected_trend, (code, level)
        for day in days:
            assert engine.covered(code, day) == oracle.covered(code, day), (code, day)
            got = [(c.level, c.total, c.covered) for c in engine.coverage(code, day)]
            assert got == oracle.coverage(code, day), (code, day)
            assert dataclasses.astuple(engine.rollup(code, day)) == oracle.rollup(code, day), (code, day)
            children = engine.children(code, first=1000, day=day)
            assert [d.code for d in children.items] == oracle.children(code, day), (code, day)
            for level in oracle.divisions[code].level.levels_below:
                expected = oracle.uncovered(code, level, day)
                for first in (1, 2, 1000):  # a first page stops early; the next ones come after it
                    page = engine.uncovered(code, level, day, first=first)
                    assert [d.code for d in page.items] == expected[:first], (code, level, day, first)
                    assert (page.total, page.has_next) == (len(expected), len(expected) > first)
                    if page.has_next:
                        rest = engine.uncovered(code, level, day, after=page.items[-1].code, first=1000)
                        assert [d.code for d in rest.items] == expected[first:], (code, level, day, first)


def sat_in(station: Station, day: date) -> str | None:
    """The division `station` sat in on `day`, from its placement history (spec §6)."""
    return placement_on(station.history(), day)
