"""The network engine: divisions and stations in one networkx graph, with per-subtree aggregates.

Graph layout (edges point up, as in the store):
- a division is the node `code` (a str) with attributes `division`, `totals`, `timeline`;
  `code -> parent_code` is PART_OF;
- a station is the node `("station", id)` with attribute `station`; `station -> division` is SITS_IN
  and `station -> ("station", parent_id)` is REPORTS_TO.

Aggregates: every division keeps `totals` (how many divisions of each level its subtree holds, itself
included) and a `Timeline` of counters (active stations per level, staff sums, covered divisions per
level) over the days on which anything in its subtree changed. Every answer of spec §3 is then one
binary search at one node, for today or any past day; a write touches only the timelines of the
division it concerns and that division's ancestors.
"""

from __future__ import annotations

import gc
import threading
import time
from array import array
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from itertools import repeat
from operator import add, attrgetter
from typing import Any, Generic, Protocol, TypeVar, cast

import networkx as nx

from graph_service.domain.levels import (
    COVERAGE_LEVELS,
    DIVISION_LEVELS,
    STATION_LEVELS,
    DivisionLevel,
    StationStatus,
)
from graph_service.domain.model import Division, Station
from graph_service.domain.validation import (
    COUNT_COLUMNS,
    MAX_COUNT,
    MAX_SUM,
    Problem,
    all_codes_valid,
    all_names_valid,
    all_references_valid,
    codes_above,
    division_problems,
    parent_problem,
    placement_problems,
    station_field_problems,
)
from graph_service.engine.timeline import (
    CERTIFIED_STAFF,
    COVERED_COLUMN,
    STAFF,
    STATION_COLUMN,
    VOLUNTEERS,
    WIDTH,
    ZERO_ROW,
    Delta,
    Rows,
    Timeline,
)
from graph_service.ports import Changes, Store, StoreError

StationNode = tuple[str, str]
Node = str | StationNode
"""A graph node: a division's code, or a station's `station_node`."""
Attributes = dict[str, Any]
"""A node's attributes (division, totals, timeline; or station), or an edge's data (always empty)."""
Links = dict[Node, Attributes]
"""A node's successors or predecessors, each with the edge's data."""
UNCOVERED_LISTS_KEPT = 16
SMALL_CHANGE = 64
"""Up to this many stations a catch-up updates the aggregates in place, one station at a time (cheap
for a few); more are prepared in bulk beside the live aggregates and swapped in (see `apply`)."""
DIVISIONS_REBUILT = 1_000
"""From this many changed divisions on, a catch-up builds a whole new engine from the store beside the
live one and swaps it in, instead of updating the live one in place."""


def station_node(station_id: str) -> StationNode:
    """The graph node of a station (a tuple, so it never collides with a division code)."""
    return ("station", station_id)


class EngineLoadError(Exception):
    """The stored network breaks the rules of spec §1–§2; `problems` lists every one found."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        shown = "\n  ".join(self.problems[:50])
        more = f"\n  … and {len(self.problems) - 50} more" if len(self.problems) > 50 else ""
        super().__init__(f"the stored network is invalid ({len(self.problems)} problems):\n  {shown}{more}")


@dataclass(frozen=True, slots=True)
class StoredProblem:
    """A stored record that today's rules refuse (or a roll-up sum too large to answer): the engine
    leaves the record out, with whatever depends on it, and lists it here instead of failing.

    `kind` is "division" or "station", `key` its code or id, `column` the field to blame (if one),
    `version` the stored version of a station (so a corrected import can replace it).
    """

    kind: str
    key: str
    column: str | None
    message: str
    version: int | None = None

    def __str__(self) -> str:
        return f"{self.kind} {self.key}" + (f", {self.column}" if self.column else "") + f": {self.message}"

    def as_json(self) -> dict[str, str | None]:
        return {"kind": self.kind, "key": self.key, "column": self.column, "message": self.message}


@dataclass(frozen=True, slots=True)
class SumExcess:
    """A roll-up total that a write would take over `MAX_SUM`: where, which column, when, how much."""

    code: str
    column: str
    day: date
    value: int


# The roll-up columns of a timeline, by the station field that a sum over them would blame.
_SUM_COLUMNS: dict[int, str] = {
    **{index: "level" for index in STATION_COLUMN.values()},
    STAFF: COUNT_COLUMNS[0],
    CERTIFIED_STAFF: COUNT_COLUMNS[1],
    VOLUNTEERS: COUNT_COLUMNS[2],
}


@dataclass(frozen=True, slots=True)
class LevelCoverage:
    level: DivisionLevel
    total: int
    covered: int

    @property
    def rate(self) -> float | None:
        return self.covered / self.total if self.total else None


@dataclass(frozen=True, slots=True)
class Rollup:
    guidance_centres: int = 0
    general_stations: int = 0
    township_stations: int = 0
    village_rooms: int = 0
    staff: int = 0
    certified_staff: int = 0
    volunteers: int = 0


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of an ordered list: the items, how many there are in all, and whether more follow."""

    items: list[T]
    total: int
    has_next: bool


class NetworkEngine:
    """The whole network as a networkx graph, answering spec §3 from aggregates kept on the graph.

    Build it once from a store (`from_store`), then keep it current with `sync` after every write
    (its own or another process's): `sync` reads only what changed since `version` and updates only
    the aggregates of the divisions concerned and their ancestors.

    Locks: every public read takes `lock` (hold it across several reads to see one version). Updates
    take `updating` first (one updater at a time), read the store and prepare the new aggregates while
    readers go on, and take `lock` only to swap them in. Never take `updating` while holding `lock`.
    """

    def __init__(self) -> None:
        self.graph = nx.DiGraph()
        self.version = 0
        self.lock = threading.RLock()
        self.updating = threading.RLock()
        self._names: _NameIndex | None = None
        # Recently asked uncovered lists, (code, level, day) -> sorted codes, oldest first; emptied on writes.
        self._uncovered_lists: dict[tuple[str, DivisionLevel, date], list[str]] = {}
        self._loading_divisions: list[Division] = []
        self._loading_stations: list[Station] = []
        self._root_peaks: list[int] | None = None  # the largest total of each column at any root
        self._peaks_exact = False  # whether `_root_peaks` was measured since the last write
        self._stale = False  # a change failed half way and no rebuild has succeeded since
        # (the problems list it was made from, station id -> stored version) of the stations left out
        self._left_out_versions: tuple[list[StoredProblem], dict[str, int]] | None = None
        self._roots: list[str] | None = None  # the codes of the divisions with no parent
        self.problems: list[StoredProblem] = []
        """The stored records left out at the last load, and why (empty for a sound store)."""
        self.catch_up_cpu: dict[str, float] = {}
        """CPU seconds of the last catch-up's phases (read, check, prepare, swap: those it went through)."""

    @property
    def graph(self) -> nx.DiGraph[Node]:
        return self._graph

    @graph.setter
    def graph(self, graph: nx.DiGraph[Node]) -> None:
        self._graph = graph
        # networkx's own algorithms read these dicts directly on hot paths; so do we: node -> attributes,
        # and node -> {child or station: edge data}.
        self._node = _dicts(graph)._node
        self._pred = _dicts(graph)._pred

    # --- building ------------------------------------------------------------------------------

    @classmethod
    def from_store(cls, store: Store) -> NetworkEngine:
        """Load the store in one streaming pass and build the aggregates. Records that today's rules
        refuse are left out (with what depends on them) and listed in `problems`, never fatal."""
        engine = cls()
        with _collector_paused():
            engine.version = store.load(engine)
            engine._build()
        return engine

    @classmethod
    def from_records(
        cls, divisions: Iterable[Division], stations: Iterable[Station], version: int = 0
    ) -> NetworkEngine:
        """Build from records in memory (any order); `EngineLoadError` if they break the rules."""
        engine = cls()
        for division in divisions:
            engine.add_division(division)
        for station in stations:
            engine.add_station(station)
        engine.version = version
        with _collector_paused():
            engine._build()
        if engine.problems:
            raise EngineLoadError([str(problem) for problem in engine.problems])
        return engine

    def add_division(self, division: Division) -> None:
        """`SnapshotSink`: take one division of a snapshot being loaded (added and linked in `_build`)."""
        self._loading_divisions.append(division)

    def add_station(self, station: Station) -> None:
        """`SnapshotSink`: take one station of a snapshot being loaded (added and linked in `_build`)."""
        self._loading_stations.append(station)

    def reject(self, kind: str, key: str, message: str, version: int | None = None) -> None:
        """`SnapshotSink`: a stored row that could not even be read as a record (a bad date, level…)."""
        self.problems.append(StoredProblem(kind, key, None, message, version))

    def _build(self) -> None:
        """Keep the loaded records that meet the rules (listing the others in `problems`), add them
        in bulk, then compute every aggregate bottom-up."""
        graph = self.graph
        divisions, self._loading_divisions = self._loading_divisions, []
        stations, self._loading_stations = self._loading_stations, []
        by_rank = self._valid_divisions(divisions)
        del divisions
        unit = _UNIT_TOTALS
        _add_nodes_in_bulk(
            graph,
            {
                d.code: {"division": d, "totals": unit[d.level], "timeline": None}
                for group in by_rank
                for d in group
            },
        )
        _add_edges_in_bulk(
            graph,
            # Every division below a province has a parent: the test only tells the type checker so.
            [(d.code, d.parent_code) for group in by_rank[1:] for d in group if d.parent_code is not None],
        )
        stations = self._valid_stations(stations)
        self._build_aggregates(by_rank, stations)
        self.problems.extend(self._sums_over_limit())

    def _valid_divisions(self, divisions: list[Division]) -> list[list[Division]]:
        """The divisions that meet the rules and hang under a kept division of a higher level, by
        rank; every other one becomes a problem."""
        problems = self.problems
        fast = _quietly(
            lambda: (
                all_codes_valid(map(_CODE, divisions))
                and all_names_valid(map(_NAME, divisions))
                and all_references_valid(filter(None, map(_PARENT_CODE, divisions)))
            )
        )
        by_rank: list[list[Division]] = [[] for _ in DivisionLevel]
        for division in divisions:
            if not fast and (found := division_problems(division)):
                problems.extend(_stored("division", division.code, found))
                continue
            by_rank[division.level.rank].append(division)
        above: set[str] = set()  # the codes kept at the ranks done so far
        for rank, group in enumerate(by_rank):
            if rank == 0:
                still = [division for division in group if division.parent_code is None]
            else:
                still = [division for division in group if division.parent_code in above]
            if len(still) != len(group):
                problems.extend(self._parent_problems(group, still, divisions))
            by_rank[rank] = still
            above.update(division.code for division in still)
        return by_rank

    def _parent_problems(
        self, group: list[Division], kept: list[Division], every: list[Division]
    ) -> Iterator[StoredProblem]:
        """A problem for each division of `group` not `kept` for want of a kept parent above it."""
        kept_codes = {division.code for division in kept}
        by_code = {division.code: division for division in every}
        for division in group:
            if division.code in kept_codes:
                continue
            message = parent_problem(division, by_code.get)
            if message is None:
                message = f"its parent {division.parent_code} was left out (see its own problem)"
            yield StoredProblem("division", division.code, "parent_code", message)

    def _valid_stations(self, stations: list[Station]) -> list[Station]:
        """The stations that meet the rules, sit in a kept division and report to a kept station; every
        other one becomes a problem. Adds the kept ones to the graph, with their links."""
        problems = self.problems
        fast = _fields_surely_valid(stations)
        by_rank: list[dict[str, tuple[int, Station]]] = [{} for _ in STATION_LEVELS]
        rejected: dict[str, int] = {}
        for index, station in enumerate(stations):
            found = station_field_problems(station, index) if not fast else _status_problems(station, index)
            if found:
                problems.extend(_stored("station", station.id, found, station.version))
                rejected[station.id] = index
            else:
                by_rank[station.level.rank][station.id] = (index, station)
        left_out = {(problem.kind, problem.key) for problem in problems}
        loaded: dict[str, Station] = {}

        def by_id() -> dict[str, Station]:
            """Every loaded station by id (made when first asked: only a bad parent link needs it)."""
            if not loaded:
                loaded.update((station.id, station) for station in stations)
            return loaded

        kept: list[Station] = []
        for group in by_rank:
            found = placement_problems(group, self, recheck_reporting=False)
            for problem in found:
                station = stations[problem.row]
                group.pop(station.id, None)
                rejected[station.id] = problem.row
                message = problem.message
                if problem.column == "parent_id" and station.parent_id in rejected:
                    message = f"its parent station {station.parent_id} was left out (see its own problem)"
                elif problem.message.startswith("unknown parent") and station.parent_id in (
                    loaded := by_id()
                ):
                    parent = loaded[station.parent_id]  # of a lower level, so not placed yet
                    message = (
                        f"a {station.level} reports to a {station.level.parent_level}, "
                        f"but {parent.id} is a {parent.level}"
                    )
                elif problem.column == "division_code" and ("division", station.division_code) in left_out:
                    message = f"its division {station.division_code} was left out (see its own problem)"
                problems.append(
                    StoredProblem("station", station.id, problem.column, message, station.version)
                )
            records = [station for _, station in group.values()]
            _add_nodes_in_bulk(self.graph, {station_node(s.id): {"station": s} for s in records})
            links: list[tuple[Node, Node]] = []
            for station in records:
                links.append((station_node(station.id), station.division_code))
                if station.parent_id is not None:
                    links.append((station_node(station.id), station_node(station.parent_id)))
            _add_edges_in_bulk(self.graph, links)
            kept.extend(records)
        return kept

    def _sums_over_limit(self) -> list[StoredProblem]:
        """A problem for each division whose roll-up reaches past `MAX_SUM` on some day (only
        possible in a store written by hand or by an older version): the sums are exact, but
        GraphQL cannot answer them. Looks below a division only where its total is too large."""
        found: list[StoredProblem] = []
        nodes = self._node
        stack = [
            code
            for code, data in nodes.items()
            if isinstance(code, str) and data["division"].parent_code is None
        ]
        while stack:
            code = stack.pop()
            timeline: Timeline | None = nodes[code]["timeline"]
            if timeline is None or all(
                max(timeline.rows[c::WIDTH], default=0) <= MAX_SUM for c in _SUM_COLUMNS
            ):
                continue
            excess = _first_excess(timeline)
            if excess is None:
                continue
            column, day, value = excess
            when = date.fromordinal(day)
            found.append(
                StoredProblem(
                    "division",
                    code,
                    _SUM_COLUMNS[column],
                    f"the roll-up of {_SUM_COLUMNS[column]} here reaches {value:,} on {when}, "
                    f"more than {MAX_SUM:,}, the largest a GraphQL Int holds",
                )
            )
            stack.extend(n for n in self._pred[code] if isinstance(n, str))
        return found

    def _build_aggregates(self, by_rank: list[list[Division]], stations: list[Station]) -> None:
        """Every division's totals and timeline, bottom-up, one level at a time."""
        nodes = self._node
        for rank in reversed(range(1, len(by_rank))):
            self._add_totals_to_parents(by_rank[rank], rank)
        # Per level: division code -> day -> full-width counter changes of its subtree so far.
        daily: list[dict[str, dict[int, list[int]]]] = [defaultdict(dict) for _ in by_rank]
        for station in stations:
            changes = daily[station.level.division_level.rank][station.division_code]
            for day, delta in _station_deltas(station, +1):
                _add_full(changes, day, delta)
        for code, delta_by_day in self._all_coverage_changes(stations).items():
            level = nodes[code]["division"].level
            for day, change in delta_by_day.items():
                _add_full(daily[level.rank][code], day, ((COVERED_COLUMN[level], change),))
        for rank in reversed(range(len(by_rank))):
            for code, changes in daily[rank].items():
                if not changes:  # only stations that never opened
                    continue
                data = nodes[code]
                data["timeline"] = Timeline.from_daily_changes(changes)
                parent_code = data["division"].parent_code
                if parent_code is not None:
                    parent_rank = nodes[parent_code]["division"].level.rank
                    _merge_daily(daily[parent_rank][parent_code], changes)
            daily[rank].clear()

    def _add_totals_to_parents(self, divisions: list[Division], rank: int) -> None:
        """Add the (complete) totals of `divisions`, all of level `rank`, to their parents."""
        nodes = self._node
        lone = _UNIT_TOTALS[DIVISION_LEVELS[rank]]
        lone_children: Counter[str] = Counter()
        for division in divisions:
            totals = nodes[division.code]["totals"]
            parent_code = division.parent_code
            assert parent_code is not None, "a division below a province has a parent"
            if totals is lone:  # the common case, a division with nothing below it: just count it
                lone_children[parent_code] += 1
            else:
                parent = nodes[parent_code]
                parent["totals"] = _sum_totals(parent["totals"], totals)
        column = rank - 1
        for parent_code, count in lone_children.items():
            parent = nodes[parent_code]
            totals = parent["totals"]
            parent["totals"] = (*totals[:column], totals[column] + count, *totals[column + 1 :])

    def _all_coverage_changes(self, stations: Iterable[Station]) -> dict[str, Counter[int]]:
        by_division: dict[str, list[Station]] = defaultdict(list)
        for station in stations:
            if station.opened_on is not None:
                by_division[station.division_code].append(station)
        return {code: _coverage_changes(members) for code, members in by_division.items()}

    # --- reading: the network as it is -----------------------------------------------------------

    def division(self, code: str) -> Division | None:
        data = self._node.get(code)
        return data["division"] if data is not None else None

    def station(self, station_id: str) -> Station | None:
        data = self._node.get(station_node(station_id))
        return data.get("station") if data is not None else None

    def stations_reporting_to(self, station_id: str) -> list[Station]:
        """The stations whose parent is `station_id`, by id."""
        with self.lock:
            node = station_node(station_id)
            if node not in self.graph:
                return []
            nodes = self.graph.nodes
            reporting = [nodes[n]["station"] for n in self.graph.pred[node] if isinstance(n, tuple)]
            return sorted(reporting, key=lambda station: station.id)

    def stations_below(self, code: str) -> list[Station]:
        """The stations sitting in division `code` or anywhere below it."""
        with self.lock:
            found: list[Station] = []
            stack = [code]
            while stack:
                for node in self._pred[stack.pop()]:
                    if isinstance(node, str):
                        stack.append(node)
                    else:
                        found.append(self._node[node]["station"])
            return found

    def ancestors(self, code: str) -> list[Division]:
        """The divisions above `code`, root first."""
        with self.lock:
            chain = list(self._ancestor_codes(code))
            return [self.graph.nodes[c]["division"] for c in reversed(chain)]

    def is_within(self, code: str, scope_code: str) -> bool:
        """True when division `code` is `scope_code` or lies below it."""
        with self.lock:
            return code == scope_code or any(c == scope_code for c in self._ancestor_codes(code))

    def children(self, code: str, after: str | None = None, first: int = 100) -> Page[Division]:
        """The divisions directly under `code`, by code, after the code `after`."""
        with self.lock:
            nodes = self.graph.nodes
            codes = sorted(n for n in self.graph.pred[code] if isinstance(n, str))
            return _page(codes, after, first, lambda c: nodes[c]["division"])

    def stations_in(self, code: str, after: str | None = None, first: int = 100) -> Page[Station]:
        """The stations sitting in division `code` itself, by id, after the id `after`."""
        with self.lock:
            nodes = self.graph.nodes
            ids = sorted(n[1] for n in self.graph.pred[code] if isinstance(n, tuple))
            return _page(ids, after, first, lambda i: nodes[station_node(i)]["station"])

    def search(
        self,
        name_contains: str,
        level: DivisionLevel | None = None,
        under: str | None = None,
        after: str | None = None,
        first: int = 100,
    ) -> Page[Division]:
        """Divisions whose name contains `name_contains`, optionally of one level and under a division."""
        with self.lock:
            if self._names is None:
                self._names = _NameIndex(self.division_records())
            matches = sorted(
                code
                for code in self._names.codes_containing(name_contains)
                if (level is None or self.graph.nodes[code]["division"].level is level)
                and (under is None or self.is_within(code, under))
            )
            return _page(matches, after, first, lambda c: self.graph.nodes[c]["division"])

    def left_out_version(self, station_id: str) -> int | None:
        """The stored version of a station left out at load (see `problems`), None for any other."""
        if not self.problems:
            return None
        if self._left_out_versions is None or self._left_out_versions[0] is not self.problems:
            versions = {
                problem.key: problem.version or 0 for problem in self.problems if problem.kind == "station"
            }
            self._left_out_versions = (self.problems, versions)
        return self._left_out_versions[1].get(station_id)

    def division_records(self) -> Iterator[Division]:
        nodes = self.graph.nodes
        return (nodes[n]["division"] for n in self.graph if isinstance(n, str))

    def station_records(self) -> Iterator[Station]:
        nodes = self.graph.nodes
        return (nodes[n]["station"] for n in self.graph if isinstance(n, tuple))

    # --- reading: spec §3 on a day ---------------------------------------------------------------

    def covered(self, code: str, day: date) -> bool | None:
        """Whether an active station of the division's own level sits in it on `day` (None: a province)."""
        with self.lock:
            data = self.graph.nodes[code]
            level: DivisionLevel = data["division"].level
            if level not in COVERED_COLUMN:
                return None
            return self._value(data, day, COVERED_COLUMN[level]) > 0

    def coverage(self, code: str, day: date) -> list[LevelCoverage]:
        """For every level below the division, top-down: its subtree's divisions and how many are covered."""
        with self.lock:
            data = self.graph.nodes[code]
            timeline: Timeline | None = data["timeline"]
            row = timeline.row_at(day.toordinal()) if timeline is not None else None
            totals = data["totals"]
            return [
                LevelCoverage(level, totals[level.rank - 1], row[COVERED_COLUMN[level]] if row else 0)
                for level in data["division"].level.levels_below
            ]

    def coverage_trend(self, code: str, level: DivisionLevel, days: Iterable[date]) -> list[LevelCoverage]:
        """The coverage of one level below the division on each of `days`: one lookup per day."""
        with self.lock:
            data = self.graph.nodes[code]
            timeline: Timeline | None = data["timeline"]
            total = data["totals"][level.rank - 1]
            column = COVERED_COLUMN[level]
            return [
                LevelCoverage(level, total, timeline.value_at(day.toordinal(), column) if timeline else 0)
                for day in days
            ]

    def rollup(self, code: str, day: date) -> Rollup:
        """The stations active on `day` in the division's subtree: counts per level and staff sums."""
        with self.lock:
            timeline: Timeline | None = self.graph.nodes[code]["timeline"]
            if timeline is None:
                return Rollup()
            row = timeline.row_at(day.toordinal())
            return Rollup(*row[: VOLUNTEERS + 1])

    def uncovered(
        self, code: str, level: DivisionLevel, day: date, after: str | None = None, first: int = 100
    ) -> Page[Division]:
        """The level-`level` divisions under `code` not covered on `day`, by code, after the code `after`.

        The whole sorted list is found once (skipping subtrees with nothing uncovered at that level, so
        the cost follows the size of the answer, not of the subtree) and kept until the next write,
        so walking the pages costs one search, not one per page.
        """
        with self.lock:
            key = (code, level, day)
            codes = self._uncovered_lists.pop(key, None)
            if codes is None:
                codes = sorted(self._uncovered_codes(code, level, day))
            self._uncovered_lists[key] = codes
            while len(self._uncovered_lists) > UNCOVERED_LISTS_KEPT:
                del self._uncovered_lists[next(iter(self._uncovered_lists))]
            nodes = self._node
            return _page(codes, after, first, lambda c: nodes[c]["division"])

    def _uncovered_codes(self, code: str, level: DivisionLevel, day: date) -> Iterator[str]:
        """The uncovered level-`level` divisions at or below `code`, unordered: a walk down that skips
        every subtree where the level's total equals its covered count on the day (both read straight
        from the node dicts: this loop is most of a gap list's cost)."""
        column = COVERED_COLUMN.get(level)
        if column is None or level.rank < self._node[code]["division"].level.rank:
            return
        slot, ordinal = level.rank - 1, day.toordinal()
        nodes, pred = self._node, self._pred
        stack = [code]
        while stack:
            current = stack.pop()
            data = nodes[current]
            timeline: Timeline | None = data["timeline"]
            covered = timeline.value_at(ordinal, column) if timeline is not None else 0
            if data["totals"][slot] == covered:
                continue
            if data["division"].level is level:
                yield current
                continue
            stack.extend(n for n in pred[current] if n.__class__ is str)

    def _value(self, data: Attributes, day: date, column: int) -> int:
        timeline: Timeline | None = data["timeline"]
        return timeline.value_at(day.toordinal(), column) if timeline is not None else 0

    def _ancestor_codes(self, code: str) -> Iterator[str]:
        """The codes above `code`, nearest first."""
        nodes = self.graph.nodes
        parent = nodes[code]["division"].parent_code
        while parent is not None:
            yield parent
            parent = nodes[parent]["division"].parent_code

    # --- checking a write before it is made ------------------------------------------------------

    def sums_over_limit(self, old: Iterable[Station], new: Iterable[Station]) -> list[SumExcess]:
        """Where replacing the stations `old` by `new` (stored stations by their new versions, None
        for none) would take a roll-up total (station counts or staff sums) of some division past
        `MAX_SUM` on some day. Totals already past it are reported only where the write adds to them.

        Costs the stations' own changes, merged up the tree level by level, plus one walk over the
        timeline of each division they reach, from the first day they change.
        """
        old, new = list(old), list(new)
        with self.lock:
            if self._surely_within_limit(new):
                return []
            nodes = self._node
            by_rank: list[dict[str, dict[int, list[int]]]] = [defaultdict(dict) for _ in DivisionLevel]
            for records, sign in ((old, -1), (new, +1)):
                for station in records:
                    data = nodes.get(station.division_code)
                    if data is None or "division" not in data:
                        continue  # validation reports an unknown division
                    changes = by_rank[data["division"].level.rank][station.division_code]
                    for day, delta in _station_deltas(station, sign):
                        _add_full(changes, day, delta)
            found: list[SumExcess] = []
            for rank in reversed(range(len(by_rank))):
                for code, changes in by_rank[rank].items():
                    found.extend(_excesses(code, nodes[code]["timeline"], changes))
                    parent_code = nodes[code]["division"].parent_code
                    if parent_code is not None:
                        parent_rank = nodes[parent_code]["division"].level.rank
                        _merge_daily(by_rank[parent_rank][parent_code], changes)
            return found

    def _surely_within_limit(self, new: Sequence[Station]) -> bool:
        """A quick bound: no roll-up total can pass `MAX_SUM` when the largest total any root reaches
        on any day, plus everything `new` adds, stays within it (totals below a root never exceed the
        root's, since counts and staff are never negative). The roots' peaks are kept as an upper
        bound that writes raise (`apply`), and measured again only when that bound is not enough."""
        added = _added_totals(new)
        for exact in (False, True):
            if self._root_peaks is None or (exact and not self._peaks_exact):
                self._root_peaks, self._peaks_exact = self._measure_root_peaks(), True
            if all(self._root_peaks[c] + added[c] <= MAX_SUM for c in _SUM_COLUMNS):
                return True
            if self._peaks_exact:
                return False
        return False

    def _measure_root_peaks(self) -> list[int]:
        """The largest total of each roll-up column that any root division reaches on any day."""
        if self._roots is None:
            self._roots = [
                code
                for code, data in self._node.items()
                if isinstance(code, str) and data["division"].parent_code is None
            ]
        peaks = [0] * WIDTH
        for code in self._roots:
            timeline = self._node[code]["timeline"]
            if timeline is not None and len(timeline):
                for column in _SUM_COLUMNS:
                    peaks[column] = max(peaks[column], max(timeline.rows[column::WIDTH]))
        return peaks

    def sums_over_limit_after_moves(
        self, moves: Mapping[str, str], find: Callable[[str], Division | None]
    ) -> list[SumExcess]:
        """Where moving divisions (code -> new parent code, the new parents looked up with `find`, which
        knows the divisions about to be written) would take a roll-up total of their new ancestors
        past `MAX_SUM`: each moved subtree's totals leave its old ancestors and join its new ones."""
        with self.lock:
            nodes = self._node
            changes_of: dict[str, dict[int, list[int]]] = defaultdict(dict)
            for code, new_parent in moves.items():
                timeline: Timeline | None = nodes[code]["timeline"] if code in nodes else None
                if timeline is None:
                    continue
                moved = list(timeline.daily_changes())
                new_chain = [new_parent, *codes_above(new_parent, find)]
                for ancestor, sign in [(c, -1) for c in self._ancestor_codes(code)] + [
                    (c, 1) for c in new_chain
                ]:
                    for day, row in moved:
                        _add_full(
                            changes_of[ancestor], day, [(column, sign * n) for column, n in enumerate(row)]
                        )
            found: list[SumExcess] = []
            for code, changes in changes_of.items():
                data = nodes.get(code)
                found.extend(_excesses(code, data["timeline"] if data is not None else None, changes))
            return found

    # --- keeping current -------------------------------------------------------------------------

    def sync(self, store: Store, written: Changes | None = None) -> bool:
        """Catch up with the store: apply what was written since `version`. True when anything changed.

        `written` is what the caller has just committed: when it is the only write since `version`, it
        is applied as it is, without reading it back (and not at all when already caught up with).
        Readers keep being answered from the current version until the next one is complete (see
        `apply`).

        Changes that break a rule, or that touch a record left out at load (see `problems`), and any
        failure to apply them, rebuild the engine from the store instead, so the engine never
        disagrees with the store (a rebuild lists what it left out).
        """
        with self.updating:
            if written is not None and not self._stale:
                if written.version <= self.version:
                    return False  # caught up with already (by the background catch-up)
                if written.version == self.version + 1 and self._can_apply(written):
                    try:
                        self.apply(written)
                    except Exception:
                        self._rebuild_from(store)
                    return True
            current = store.data_version()
            if current == self.version and not self._stale:
                return False
            if current < self.version or self._stale:
                self._rebuild_from(store)
                return True
            try:
                phases, started = self.catch_up_cpu, time.thread_time()
                phases.clear()
                changes = store.changes_since(self.version)  # a row that cannot be read: ValueError
                phases["read"] = time.thread_time() - started
                if len(changes.divisions) >= DIVISIONS_REBUILT:
                    self._rebuild_from(store)
                    return True
                started = time.thread_time()
                if not self._can_apply(changes):
                    raise _Unappliable
                phases["check"] = time.thread_time() - started
                self.apply(changes)
            except StoreError:
                raise
            except Exception:
                self._rebuild_from(store)
            return True

    def _rebuild_from(self, store: Store) -> None:
        """Replace everything with a fresh load of `store`. Until one succeeds the engine counts as
        stale (it may hold half a change), so the next `sync` tries again."""
        self._stale = True
        self._replace_with(NetworkEngine.from_store(store))
        self._stale = False

    def _can_apply(self, changes: Changes) -> bool:
        """True when every changed record meets the rules on its own, names records that exist, and
        none of them was left out at load."""
        left_out = {(problem.kind, problem.key) for problem in self.problems}
        codes = {division.code for division in changes.divisions}
        ids = {station.id for station in changes.stations}
        for division in changes.divisions:
            if ("division", division.code) in left_out or division_problems(division):
                return False
            parent_code = division.parent_code
            if parent_code is not None and parent_code not in codes and self.division(parent_code) is None:
                return False
        fast = _fields_surely_valid(changes.stations)
        for station in changes.stations:
            if ("station", station.id) in left_out:
                return False
            if (_status_problems if fast else station_field_problems)(station, 0):
                return False
            if station.division_code not in codes and self.division(station.division_code) is None:
                return False
            parent_id = station.parent_id
            if parent_id is not None and parent_id not in ids and self.station(parent_id) is None:
                return False
        return True

    def _replace_with(self, other: NetworkEngine) -> None:
        """Swap in another engine's network (built beside this one), at once for readers."""
        with self.lock:
            self.graph, self.version, self._names = other.graph, other.version, None
            self.problems, self._root_peaks, self._roots = other.problems, None, None
            self._uncovered_lists.clear()

    def apply(self, changes: Changes) -> None:
        """Apply written records: update the graph and only the aggregates they affect.

        A few stations (up to `SMALL_CHANGE`) and any division change are applied in place under
        `lock`, one record at a time. More stations are prepared in bulk without `lock`, as a build
        does (their per-day changes summed bottom-up, each affected division's timeline rebuilt once
        from its old one plus those changes), and swapped in under `lock` in one short step; readers
        see the old version or the new one, never part of it.
        """
        with self.updating:
            if changes.divisions or len(changes.stations) <= SMALL_CHANGE:
                with self.lock:
                    self._uncovered_lists.clear()
                    self._note_peaks(changes)
                    if changes.divisions:
                        self._apply_divisions(changes.divisions)
                    for station in changes.stations:
                        self._apply_station(station)
                    self.version = changes.version
                return
            with _collector_paused():
                started = time.thread_time()
                prepared = self._prepare_stations(changes.stations)
                self.catch_up_cpu["prepare"] = time.thread_time() - started
                started = time.thread_time()
                with self.lock:
                    self._swap_in(prepared)
                    self._uncovered_lists.clear()
                    self._note_peaks(changes)
                    self.version = changes.version
                self.catch_up_cpu["swap"] = time.thread_time() - started

    def _note_peaks(self, changes: Changes) -> None:
        """Keep the roots' peak totals an upper bound (see `_surely_within_limit`) through a change."""
        if changes.divisions:  # a move may take a subtree's totals elsewhere: measure again
            self._roots = self._root_peaks = None
        elif self._root_peaks is not None:  # a write adds at most what its stations bring
            added = _added_totals(changes.stations)
            self._root_peaks = [peak + more for peak, more in zip(self._root_peaks, added, strict=True)]
            self._peaks_exact = False

    def _prepare_stations(self, stations: Sequence[Station]) -> _PreparedStations:
        """The new records (as graph entries) and the new timelines of every division they affect,
        computed from the live graph without changing it (callers hold `updating`, so nothing else
        changes it)."""
        latest = {station.id: station for station in stations}
        nodes, pred = self._node, self._pred
        daily: dict[str, dict[int, list[int]]] = defaultdict(dict)
        arriving: dict[str, list[Station]] = defaultdict(list)
        leaving: set[str] = set()
        # The graph entries of new stations, ready to be dropped in: attributes, out-links (to the
        # division and the parent) and empty in-links, and the in-links they add to their division
        # and parent. Rewritten stations are relinked under the lock.
        new_nodes: dict[Node, Attributes] = {}
        new_pred: dict[Node, Links] = {}
        rewritten: list[tuple[Node, Station]] = []
        for station in latest.values():
            node: Node = ("station", station.id)  # station_node(), inline: this loop runs once per row
            data = nodes.get(node)
            if data is None:
                new_nodes[node] = {"station": station}
                new_pred[node] = {}
            else:
                old: Station = data["station"]
                leaving.add(old.division_code)
                _add_station_days(daily[old.division_code], old, -1)
                rewritten.append((node, station))
            arriving[station.division_code].append(station)
            _add_station_days(daily[station.division_code], station, +1)
        for code in leaving.union(arriving):
            here = [n for n in pred[code] if isinstance(n, tuple)]
            column = COVERED_COLUMN[nodes[code]["division"].level]
            members = arriving[code]
            if not here and len(members) == 1:  # the commonest case: a division's first station
                only = members[0]
                if only.opened_on is not None:  # covered while it is open; its rows exist already
                    days_here = daily[code]
                    days_here[only.opened_on.toordinal()][column] += 1
                    if only.closed_on is not None:
                        days_here[only.closed_on.toordinal()][column] -= 1
                continue
            if here:
                staying = [nodes[n]["station"] for n in here if n[1] not in latest]
                change = _coverage_changes(staying + arriving[code])
                change.subtract(_coverage_changes(nodes[n]["station"] for n in here))
            else:  # the common case in a large import: the division's first stations
                change = _coverage_changes(arriving[code])
            for day, n in change.items():
                if n:
                    _add_full(daily[code], day, ((column, n),))
        # Bottom-up, one level at a time: each division's changes are complete once its children's
        # are merged in, so its new timeline is built once.
        by_rank: list[list[str]] = [[] for _ in DivisionLevel]
        for code in daily:
            by_rank[nodes[code]["division"].level.rank].append(code)
        timelines: list[tuple[Attributes, Timeline | None]] = []
        for rank in reversed(range(len(by_rank))):
            for code in by_rank[rank]:
                data = nodes[code]
                changes = daily[code]
                timelines.append((data, _with_changes(data["timeline"], changes)))
                parent_code = data["division"].parent_code
                if parent_code is not None:
                    if parent_code not in daily:
                        by_rank[nodes[parent_code]["division"].level.rank].append(parent_code)
                    _merge_daily(daily[parent_code], changes)
        new_succ: dict[Node, Links] = {}
        back_links: list[tuple[Links, Node, Attributes]] = []
        for node, attributes in new_nodes.items():
            station = attributes["station"]
            out = new_succ[node] = {station.division_code: {}}
            back_links.append((pred[station.division_code], node, out[station.division_code]))
            if station.parent_id is not None:
                parent = station_node(station.parent_id)
                out[parent] = {}
                back_links.append(
                    (new_pred[parent] if parent in new_pred else pred[parent], node, out[parent])
                )
        return _PreparedStations(new_nodes, new_succ, new_pred, back_links, rewritten, timelines)

    def _swap_in(self, prepared: _PreparedStations) -> None:
        """Put prepared stations and timelines into the graph (callers hold `lock`): a few dict
        updates and one pass over the links and timelines, no computing."""
        nodes, succ, pred = self._node, _dicts(self.graph)._succ, self._pred
        nodes.update(prepared.new_nodes)
        succ.update(prepared.new_succ)
        pred.update(prepared.new_pred)
        for into, node, data in prepared.back_links:
            into[node] = data
        links: list[tuple[Node, Node]] = []
        for node, station in prepared.rewritten:
            nodes[node]["station"] = station
            out = succ[node]
            for head in out:
                del pred[head][node]
            out.clear()
            links.append((node, station.division_code))
            if station.parent_id is not None:
                links.append((node, station_node(station.parent_id)))
        _add_edges_in_bulk(self.graph, links)
        for data, timeline in prepared.timelines:
            data["timeline"] = timeline

    def _apply_divisions(self, divisions: Sequence[Division]) -> None:
        graph, nodes = self.graph, self.graph.nodes
        to_attach: list[str] = []
        for division in divisions:
            old = self.division(division.code)
            if old is None:
                graph.add_node(division.code, **_division_attributes(division))
            else:
                if old.level is not division.level:
                    raise ValueError(f"division {division.code} cannot change level")
                if old.parent_code != division.parent_code and old.parent_code is not None:
                    self._shift_subtree(division.code, -1)
                    graph.remove_edge(division.code, old.parent_code)
                nodes[division.code]["division"] = division
            if division.parent_code is not None and (old is None or old.parent_code != division.parent_code):
                to_attach.append(division.code)
        for code in to_attach:
            graph.add_edge(code, nodes[code]["division"].parent_code)
            self._shift_subtree(code, +1)
        self._names = None

    def _shift_subtree(self, code: str, sign: int) -> None:
        """Add (+1) or remove (-1) the aggregates of `code`'s subtree to or from each of its ancestors."""
        nodes = self.graph.nodes
        data = nodes[code]
        moved_totals = tuple(sign * n for n in data["totals"])
        timeline: Timeline | None = data["timeline"]
        moved_days = list(timeline.daily_changes()) if timeline is not None else []
        for ancestor in self._ancestor_codes(code):
            above = nodes[ancestor]
            above["totals"] = _sum_totals(above["totals"], moved_totals)
            for day, changes in moved_days:
                self._timeline_of(above).add(
                    day, [(column, sign * n) for column, n in enumerate(changes) if n]
                )

    def _apply_station(self, station: Station) -> None:
        graph, nodes = self.graph, self.graph.nodes
        node = station_node(station.id)
        old = self.station(station.id)
        affected = {station.division_code} | ({old.division_code} if old else set())
        coverage_before = {code: self._coverage_changes_of(code) for code in affected}
        if old is not None:
            self._add_along_ancestry(old.division_code, _station_deltas(old, -1))
            graph.remove_edges_from(list(graph.out_edges(node)))
        graph.add_node(node, station=station)
        graph.add_edge(node, station.division_code)
        if station.parent_id is not None:
            graph.add_edge(node, station_node(station.parent_id))
        self._add_along_ancestry(station.division_code, _station_deltas(station, +1))
        for code in affected:
            change = self._coverage_changes_of(code)
            change.subtract(coverage_before[code])
            column = COVERED_COLUMN[nodes[code]["division"].level]
            self._add_along_ancestry(code, [(day, ((column, n),)) for day, n in change.items() if n])

    def _coverage_changes_of(self, code: str) -> Counter[int]:
        nodes = self.graph.nodes
        return _coverage_changes(nodes[n]["station"] for n in self.graph.pred[code] if isinstance(n, tuple))

    def _add_along_ancestry(self, code: str, deltas: Iterable[tuple[int, Delta]]) -> None:
        """Apply per-day deltas to the timeline of `code` and of every division above it."""
        deltas = list(deltas)
        if not deltas:
            return
        nodes = self.graph.nodes
        for target in (code, *self._ancestor_codes(code)):
            timeline = self._timeline_of(nodes[target])
            for day, delta in deltas:
                timeline.add(day, delta)

    @staticmethod
    def _timeline_of(data: Attributes) -> Timeline:
        timeline: Timeline | None = data["timeline"]
        if timeline is None:
            timeline = data["timeline"] = Timeline()
        return timeline


# --- helpers -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _PreparedStations:
    """Stations ready to go into the graph (new nodes with their attributes and links, and the links
    to add to the nodes they point at; rewritten ones), and the new timeline for the attributes of
    every division they affect."""

    new_nodes: dict[Node, Attributes]
    new_succ: dict[Node, Links]
    new_pred: dict[Node, Links]
    back_links: list[tuple[Links, Node, Attributes]]
    rewritten: list[tuple[Node, Station]]
    timelines: list[tuple[Attributes, Timeline | None]]


def _add_station_days(daily: dict[int, list[int]], station: Station, sign: int) -> None:
    """Add what a station brings (sign +1) or takes away (-1) to full-width per-day changes."""
    if station.opened_on is None:
        return
    column = STATION_COLUMN[station.level]
    days = [(station.opened_on.toordinal(), sign)]
    if station.closed_on is not None:
        days.append((station.closed_on.toordinal(), -sign))
    for day, way in days:
        row = daily.get(day)
        if row is None:
            row = daily[day] = [0] * WIDTH
        row[column] += way
        row[STAFF] += way * station.staff
        row[CERTIFIED_STAFF] += way * station.certified_staff
        row[VOLUNTEERS] += way * station.volunteers


def _with_changes(timeline: Timeline | None, changes: dict[int, list[int]]) -> Timeline | None:
    """A new timeline: `timeline` (left unchanged) plus full-width per-day `changes`, in one merge
    of the two day lists (rows before the first change are copied whole). Exact at any size: a total
    that does not fit the timeline's 64-bit rows is rebuilt with Python integers."""
    if not changes:
        return timeline
    if timeline is None or not len(timeline):
        return Timeline.from_daily_changes(changes)
    try:
        return _merged(timeline, changes)
    except OverflowError:
        combined = dict(timeline.daily_changes())
        _merge_daily(combined, changes)
        return Timeline.from_daily_changes(combined)


def _merged(timeline: Timeline, changes: dict[int, list[int]]) -> Timeline:
    """`_with_changes` for a timeline with rows, in the kind of rows it has. Walks the change days,
    not the old days: the old rows between two change days are copied in one slice and shifted by
    the changes so far column by column (`_shifted`)."""
    old_days, old_rows = timeline.days, timeline.rows
    change_days = sorted(changes)
    start = bisect_left(old_days, change_days[0])
    days, rows = old_days[:start], old_rows[: start * WIDTH]
    carry: Sequence[int] = ZERO_ROW  # the changes summed up to the current day
    i, n = start, len(old_days)
    for day in change_days:
        j = bisect_left(old_days, day, i)
        if j > i:  # old days before this change: their old totals plus the changes so far
            days.extend(old_days[i:j])
            rows.extend(_shifted(old_rows[i * WIDTH : j * WIDTH], carry))
            i = j
        carry = list(map(add, carry, changes[day]))
        if i < n and old_days[i] == day:
            before: Sequence[int] = old_rows[i * WIDTH : (i + 1) * WIDTH]
            i += 1
        else:
            before = old_rows[(i - 1) * WIDTH : i * WIDTH] if i else ZERO_ROW
        days.append(day)
        rows.extend(map(add, before, carry))
    if i < n:
        days.extend(old_days[i:])
        rows.extend(_shifted(old_rows[i * WIDTH :], carry))
    merged = Timeline()
    merged.days, merged.rows = days, rows
    return merged


_COLUMNWISE_FROM = 8
"""From how many rows `_shifted` works column by column."""


def _shifted(rows: Rows, carry: Sequence[int]) -> Rows:
    """`rows` (full-width rows, a copy the caller owns) with `carry` added to each, column by column
    (one C-level pass per changed column); an array overflowing 64 bits raises OverflowError."""
    count = len(rows) // WIDTH
    if count < _COLUMNWISE_FROM:  # a few rows: row by row costs less than a pass per column
        out = rows[:0]
        for start in range(0, len(rows), WIDTH):
            out.extend(map(add, rows[start : start + WIDTH], carry))
        return out
    for column, change in enumerate(carry):
        if change:
            shifted = map(add, rows[column::WIDTH], repeat(change, count))
            rows[column::WIDTH] = array(rows.typecode, shifted) if isinstance(rows, array) else list(shifted)
    return rows


_CODE, _NAME, _PARENT_CODE = attrgetter("code"), attrgetter("name"), attrgetter("parent_code")
_ID, _DIVISION_CODE, _PARENT_ID = attrgetter("id"), attrgetter("division_code"), attrgetter("parent_id")
_UNIT_TOTALS = {level: tuple(int(level is counted) for counted in COVERAGE_LEVELS) for level in DivisionLevel}


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: a build allocates millions of small containers and frees
    none, and the collector would rescan the growing heap again and again for nothing. What is left
    afterwards is frozen (`gc.freeze`: never scanned again), so no later collection, on whatever
    thread, pauses the process for a full pass over the network (over a second at national scale)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if collecting:
            gc.enable()


# networkx's add_nodes_from/add_edges_from check and copy every item in a Python loop, which is most of
# a national cold start. These fill the same DiGraph dicts (node -> attributes, successors,
# predecessors, one data dict per edge) for new nodes and edges between existing nodes.
class _GraphDicts(Protocol):
    """The dicts behind a networkx DiGraph: node -> attributes, and node -> successors or
    predecessors. networkx keeps them private, so its type stubs do not declare them."""

    _node: dict[Node, Attributes]
    _succ: dict[Node, Links]
    _pred: dict[Node, Links]


def _dicts(graph: nx.DiGraph[Node]) -> _GraphDicts:
    """`graph`'s own dicts (the same objects, for reading and filling them directly)."""
    return cast(_GraphDicts, graph)


def _add_nodes_in_bulk(graph: nx.DiGraph[Node], attributes: Mapping[Node, Attributes]) -> None:
    """Add new nodes with their attribute dicts (taken over, not copied)."""
    dicts = _dicts(graph)
    dicts._node.update(attributes)
    dicts._succ.update({node: {} for node in attributes})
    dicts._pred.update({node: {} for node in attributes})


def _add_edges_in_bulk(graph: nx.DiGraph[Node], edges: Iterable[tuple[Node, Node]]) -> None:
    """Add edges between nodes that already exist, without data."""
    dicts = _dicts(graph)
    succ, pred = dicts._succ, dicts._pred
    for tail, head in edges:
        data: Attributes = {}
        succ[tail][head] = data
        pred[head][tail] = data


def _division_attributes(division: Division) -> Attributes:
    """The attributes of a division's node before anything is attached below it."""
    return {"division": division, "totals": _UNIT_TOTALS[division.level], "timeline": None}


def _sum_totals(left: tuple[int, ...], right: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(a + b for a, b in zip(left, right, strict=True))


def _station_deltas(station: Station, sign: int) -> list[tuple[int, Delta]]:
    """The per-day counter changes a station brings (sign +1) or takes away (sign -1)."""
    if station.opened_on is None:
        return []
    counts = (
        (STATION_COLUMN[station.level], 1),
        (STAFF, station.staff),
        (CERTIFIED_STAFF, station.certified_staff),
        (VOLUNTEERS, station.volunteers),
    )
    deltas: list[tuple[int, Delta]] = [(station.opened_on.toordinal(), [(c, sign * n) for c, n in counts])]
    if station.closed_on is not None:
        deltas.append((station.closed_on.toordinal(), [(c, -sign * n) for c, n in counts]))
    return deltas


def _coverage_changes(stations: Iterable[Station]) -> Counter[int]:
    """+1 on each day a division becomes covered by these stations, -1 on each day it stops being."""
    open_ended = date.max.toordinal() + 1
    intervals = sorted(
        (s.opened_on.toordinal(), s.closed_on.toordinal() if s.closed_on else open_ended)
        for s in stations
        if s.opened_on is not None
    )
    merged: list[list[int]] = []
    for opened, closed in intervals:
        if merged and opened <= merged[-1][1]:  # overlapping or touching spans: no gap in coverage
            merged[-1][1] = max(merged[-1][1], closed)
        else:
            merged.append([opened, closed])
    changes: Counter[int] = Counter()
    for opened, closed in merged:
        changes[opened] += 1
        if closed != open_ended:
            changes[closed] -= 1
    return changes


class _Unappliable(Exception):
    """Changes the engine does not apply one by one (it rebuilds from the store instead)."""


def _quietly(check: Callable[[], bool]) -> bool:
    """The fast bulk check's verdict; False (look at each record) when a value is not even a str
    or an int, as in a store written by hand."""
    try:
        return bool(check())
    except (TypeError, ValueError):
        return False


def _added_totals(stations: Iterable[Station]) -> list[int]:
    """What `stations` add at most to any roll-up total (full width; only the roll-up columns set)."""
    added = [0] * WIDTH
    for station in stations:
        if station.opened_on is not None:
            added[STATION_COLUMN[station.level]] += 1
            added[STAFF] += station.staff
            added[CERTIFIED_STAFF] += station.certified_staff
            added[VOLUNTEERS] += station.volunteers
    return added


def _fields_surely_valid(stations: Sequence[Station]) -> bool:
    """True when a fast pass over all of `stations` finds every field in range (ids, names, links,
    counts, dates); what it cannot tell is left to `_status_problems`. False: look at each one."""
    return _quietly(
        lambda: (
            all_codes_valid(map(_ID, stations))
            and all_names_valid(map(_NAME, stations))
            and all_references_valid(map(_DIVISION_CODE, stations))
            and all_references_valid(filter(None, map(_PARENT_ID, stations)))
            and all(_counts_in_range(list(map(attrgetter(column), stations))) for column in COUNT_COLUMNS)
            and _dates_in_range(stations)
        )
    )


def _counts_in_range(counts: list[int]) -> bool:
    """True when every count passes `count_problem` (a fast pass over all of them)."""
    return not counts or (min(counts) >= 0 and max(counts) <= MAX_COUNT)


def _dates_in_range(stations: Sequence[Station]) -> bool:
    """True when every date of `stations` passes `date_problem` (a fast pass over all of them)."""
    from graph_service.domain.validation import FIRST_YEAR, LAST_YEAR

    days = [d for s in stations for d in (s.opened_on, s.closed_on) if d is not None]
    return not days or (min(days).year >= FIRST_YEAR and max(days).year <= LAST_YEAR)


def _status_problems(station: Station, row: int) -> list[Problem]:
    """The per-station rules a fast bulk pass cannot make: status against dates, certified ≤ staff."""
    if station.certified_staff > station.staff:
        return station_field_problems(station, row)
    status = station.status
    opened, closed = station.opened_on, station.closed_on
    if status is StationStatus.OPERATING and opened is not None and closed is None:
        return []
    if status is StationStatus.CLOSED and opened is not None and closed is not None and opened < closed:
        return []
    if status in (StationStatus.PLANNED, StationStatus.BUILDING) and opened is None and closed is None:
        return []
    return station_field_problems(station, row)


def _stored(
    kind: str, key: str, problems: Iterable[Problem], version: int | None = None
) -> list[StoredProblem]:
    return [StoredProblem(kind, key, p.column, p.message, version) for p in problems]


def _first_excess(timeline: Timeline) -> tuple[int, int, int] | None:
    """The first (column, day, value) where a roll-up total of `timeline` is above `MAX_SUM`."""
    for day, row in timeline.totals_from(timeline.days[0] if len(timeline) else 0):
        for column in _SUM_COLUMNS:
            if row[column] > MAX_SUM:
                return column, day, row[column]
    return None


def _excesses(code: str, timeline: Timeline | None, changes: dict[int, list[int]]) -> list[SumExcess]:
    """Where adding the per-day `changes` to `timeline` takes a roll-up total past `MAX_SUM` on a day
    on which the changes add to it (at most one per column: the first day)."""
    if not any(row[column] > 0 for row in changes.values() for column in _SUM_COLUMNS):
        return []
    days = sorted(changes)
    points = days
    if timeline is not None:
        later = timeline.days[bisect_left(timeline.days, days[0]) :]
        points = sorted(set(days).union(later))
    running = [0] * WIDTH
    found: dict[int, SumExcess] = {}
    for day in points:
        change = changes.get(day)
        if change is not None:
            running = [a + b for a, b in zip(running, change, strict=True)]
        base = timeline.row_at(day) if timeline is not None else ZERO_ROW
        for column in _SUM_COLUMNS:
            if running[column] > 0 and column not in found and base[column] + running[column] > MAX_SUM:
                found[column] = SumExcess(
                    code, _SUM_COLUMNS[column], date.fromordinal(day), base[column] + running[column]
                )
    return list(found.values())


def _add_full(daily: dict[int, list[int]], day: int, delta: Delta) -> None:
    row = daily.get(day)
    if row is None:
        row = daily[day] = [0] * WIDTH
    for column, change in delta:
        row[column] += change


def _merge_daily(into: dict[int, list[int]], changes: dict[int, list[int]]) -> None:
    """Add per-day full-width changes into another such map (rows are taken over, not copied)."""
    for day, row in changes.items():
        existing = into.get(day)
        into[day] = list(row) if existing is None else list(map(add, existing, row))


def _page(keys: Sequence[str], after: str | None, first: int, load: Callable[[str], T]) -> Page[T]:
    """The `first` keys after `after` (keys sorted), loaded, with the total and whether more follow."""
    start = bisect_right(keys, after) if after is not None else 0
    chosen = keys[start : start + first]
    return Page([load(key) for key in chosen], len(keys), start + first < len(keys))


class _NameIndex:
    """Every division name in one string, so a substring search is one C-speed scan."""

    def __init__(self, divisions: Iterable[Division]) -> None:
        records = sorted(divisions, key=lambda d: d.code)
        self.codes = [division.code for division in records]
        self.starts = array("q")
        position = 0
        for division in records:
            self.starts.append(position)
            position += len(division.name) + 1
        self.text = "\n".join(division.name for division in records)

    def codes_containing(self, needle: str) -> Iterator[str]:
        if not needle or "\n" in needle:
            return
        text, starts = self.text, self.starts
        position = text.find(needle)
        while position != -1:
            index = bisect_right(starts, position) - 1
            yield self.codes[index]
            next_start = starts[index + 1] if index + 1 < len(starts) else len(text)
            position = text.find(needle, next_start)
