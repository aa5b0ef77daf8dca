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
from array import array
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Generic, TypeVar

import networkx as nx

from graph_service.adapters.store import Changes, Store
from graph_service.domain.levels import COVERAGE_LEVELS, DIVISION_LEVELS, DivisionLevel
from graph_service.domain.model import Division, Station
from graph_service.domain.validation import parent_problem, placement_problems
from graph_service.engine.timeline import (
    CERTIFIED_STAFF,
    COVERED_COLUMN,
    STAFF,
    STATION_COLUMN,
    VOLUNTEERS,
    WIDTH,
    Delta,
    Timeline,
)

StationNode = tuple[str, str]
UNCOVERED_LISTS_KEPT = 16


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
    the aggregates of the divisions concerned and their ancestors. Every public method takes `lock`.
    """

    def __init__(self) -> None:
        self.graph = nx.DiGraph()
        self.version = 0
        self.lock = threading.RLock()
        self._names: _NameIndex | None = None
        # Recently asked uncovered lists, (code, level, day) -> sorted codes, oldest first; emptied on writes.
        self._uncovered_lists: dict[tuple[str, DivisionLevel, date], list[str]] = {}
        self._loading_divisions: list[Division] = []
        self._loading_stations: list[Station] = []

    @property
    def graph(self) -> nx.DiGraph:
        return self._graph

    @graph.setter
    def graph(self, graph: nx.DiGraph) -> None:
        self._graph = graph
        # networkx's own algorithms read these dicts directly on hot paths; so do we: node -> attributes,
        # and node -> {child or station: edge data}.
        self._node: dict = graph._node
        self._pred: dict = graph._pred

    # --- building ------------------------------------------------------------------------------

    @classmethod
    def from_store(cls, store: Store) -> NetworkEngine:
        """Load the store in one streaming pass and build the aggregates; `EngineLoadError` if invalid."""
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
        return engine

    def add_division(self, division: Division) -> None:
        """`SnapshotSink`: take one division of a snapshot being loaded (added and linked in `_build`)."""
        self._loading_divisions.append(division)

    def add_station(self, station: Station) -> None:
        """`SnapshotSink`: take one station of a snapshot being loaded (added and linked in `_build`)."""
        self._loading_stations.append(station)

    def _build(self) -> None:
        """Add the loaded records in bulk, check them all, then compute every aggregate bottom-up."""
        graph = self.graph
        divisions, self._loading_divisions = self._loading_divisions, []
        stations, self._loading_stations = self._loading_stations, []
        unit = _UNIT_TOTALS
        _add_nodes_in_bulk(
            graph, {d.code: {"division": d, "totals": unit[d.level], "timeline": None} for d in divisions}
        )
        _add_nodes_in_bulk(graph, {station_node(s.id): {"station": s} for s in stations})
        problems: list[str] = []
        by_rank: list[list[Division]] = [[] for _ in DivisionLevel]
        links: list[tuple[str | StationNode, str | StationNode]] = []
        nodes = self._node
        for division in divisions:
            rank = division.level.rank
            by_rank[rank].append(division)
            parent = nodes.get(division.parent_code)
            if parent is not None and parent["division"].level.rank < rank:
                links.append((division.code, division.parent_code))
                continue
            message = parent_problem(division, self.division)
            if message is not None:
                problems.append(f"division {division.code}: {message}")
        for station in stations:
            if self.division(station.division_code) is not None:
                links.append((station_node(station.id), station.division_code))
            if station.parent_id is not None and self.station(station.parent_id) is not None:
                links.append((station_node(station.id), station_node(station.parent_id)))
        _add_edges_in_bulk(graph, links)
        del links
        placed = {station.id: (index, station) for index, station in enumerate(stations)}
        for problem in placement_problems(placed, self, recheck_reporting=False):
            problems.append(f"station {stations[problem.row].id}: {problem.message}")
        if problems:
            raise EngineLoadError(problems)
        self._build_aggregates(by_rank, stations)

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
            if totals is lone:  # the common case, a division with nothing below it: just count it
                lone_children[division.parent_code] += 1
            else:
                parent = nodes[division.parent_code]
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

    def _uncovered_count(self, code: str, level: DivisionLevel, day: date) -> int:
        data = self.graph.nodes[code]
        if level not in COVERED_COLUMN or level.rank < data["division"].level.rank:
            return 0
        return data["totals"][level.rank - 1] - self._value(data, day, COVERED_COLUMN[level])

    def _uncovered_codes(self, code: str, level: DivisionLevel, day: date) -> Iterator[str]:
        stack = [code]
        nodes, pred = self.graph.nodes, self.graph.pred
        while stack:
            current = stack.pop()
            if self._uncovered_count(current, level, day) == 0:
                continue
            if nodes[current]["division"].level is level:
                yield current
                continue
            stack.extend(n for n in pred[current] if isinstance(n, str))

    def _value(self, data: dict, day: date, column: int) -> int:
        timeline: Timeline | None = data["timeline"]
        return timeline.value_at(day.toordinal(), column) if timeline is not None else 0

    def _ancestor_codes(self, code: str) -> Iterator[str]:
        """The codes above `code`, nearest first."""
        nodes = self.graph.nodes
        parent = nodes[code]["division"].parent_code
        while parent is not None:
            yield parent
            parent = nodes[parent]["division"].parent_code

    # --- keeping current -------------------------------------------------------------------------

    def sync(self, store: Store) -> bool:
        """Catch up with the store: apply what was written since `version`. True when anything changed."""
        with self.lock:
            current = store.data_version()
            if current == self.version:
                return False
            if current < self.version:
                self._replace_with(NetworkEngine.from_store(store))
                return True
            self.apply(store.changes_since(self.version))
            return True

    def _replace_with(self, other: NetworkEngine) -> None:
        self.graph, self.version, self._names = other.graph, other.version, None
        self._uncovered_lists.clear()

    def apply(self, changes: Changes) -> None:
        """Apply written records: update the graph and only the aggregates they affect."""
        with self.lock:
            self._uncovered_lists.clear()
            if changes.divisions:
                self._apply_divisions(changes.divisions)
            for station in changes.stations:
                self._apply_station(station)
            self.version = changes.version

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
    def _timeline_of(data: dict) -> Timeline:
        if data["timeline"] is None:
            data["timeline"] = Timeline()
        return data["timeline"]


# --- helpers -------------------------------------------------------------------------------------

_UNIT_TOTALS = {level: tuple(int(level is counted) for counted in COVERAGE_LEVELS) for level in DivisionLevel}


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: a build allocates millions of small containers and frees
    none, and the collector would rescan the growing heap again and again for nothing."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


# networkx's add_nodes_from/add_edges_from check and copy every item in a Python loop, which is most of
# a national cold start. These fill the same DiGraph dicts (node -> attributes, successors,
# predecessors, one data dict per edge) for new nodes and edges between existing nodes.
def _add_nodes_in_bulk(graph: nx.DiGraph, attributes: dict) -> None:
    """Add new nodes with their attribute dicts (taken over, not copied)."""
    graph._node.update(attributes)
    graph._succ.update({node: {} for node in attributes})
    graph._pred.update({node: {} for node in attributes})


def _add_edges_in_bulk(graph: nx.DiGraph, edges: Iterable[tuple[object, object]]) -> None:
    """Add edges between nodes that already exist, without data."""
    succ, pred = graph._succ, graph._pred
    for tail, head in edges:
        data: dict = {}
        succ[tail][head] = data
        pred[head][tail] = data


def _division_attributes(division: Division) -> dict:
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
        if existing is None:
            into[day] = list(row)
        else:
            for column in range(WIDTH):
                existing[column] += row[column]


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
