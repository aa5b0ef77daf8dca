"""The engine's reads: the network as it is (records, links, pages, name search) and spec §3 on a day
(coverage, roll-ups, uncovered divisions), each a lookup or a binary search at one node."""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from heapq import heappop, heappush

from graph_service.domain.levels import DivisionLevel
from graph_service.domain.model import Division, Station
from graph_service.domain.validation import codes_above
from graph_service.domain.validity import is_valid_on, parent_on
from graph_service.engine.graphs import walk_down
from graph_service.engine.paging import Page, page_of
from graph_service.engine.state import EngineState
from graph_service.engine.timeline import COVERED_COLUMN, VALID_COLUMN, VOLUNTEERS, Timeline
from graph_service.engine.values import Attributes, LevelCoverage, Rollup, station_node

UNCOVERED_LISTS_KEPT = 16


class Queries(EngineState):
    """The engine's reads; each takes `lock`."""

    def division(self, code: str) -> Division | None:
        data = self._node.get(code)
        return data["division"] if data is not None else None

    def station(self, station_id: str) -> Station | None:
        data = self._node.get(station_node(station_id))
        return data.get("station") if data is not None else None

    def stations_reporting_to(self, station_id: str, day: date | None = None) -> list[Station]:
        """The stations whose parent (latest reporting line) is `station_id`, by id; with `day`,
        those whose reporting line valid that day points at it instead (spec §6: an edition may
        change a line from a day on, which `parent_id` already gives)."""
        with self.lock:
            node = station_node(station_id)
            if node not in self.graph:
                return []
            nodes = self._node
            ids = {n[1] for n in self._pred[node] if n.__class__ is tuple}
            if day is not None:
                ids.update(i for i in self._reporters.get(station_id, ()) if station_node(i) in nodes)
            reporting = [nodes[station_node(i)]["station"] for i in sorted(ids)]
            if day is None:
                return reporting
            return [station for station in reporting if parent_on(station.lines(), day) == station_id]

    def stations_below(self, code: str) -> list[Station]:
        """The stations sitting in division `code` or anywhere below it."""
        with self.lock:
            found: list[Station] = []
            nodes, pred = self._node, self._pred

            def take(division_code: str) -> bool:
                found.extend(nodes[n]["station"] for n in pred[division_code] if n.__class__ is tuple)
                return True

            walk_down(pred, [code], take)
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

    def children(
        self, code: str, after: str | None = None, first: int = 100, day: date | None = None
    ) -> Page[Division]:
        """The divisions directly under `code`, by code, after the code `after`; with `day`, only
        those valid that day (spec §6)."""
        with self.lock:
            nodes = self.graph.nodes
            codes = sorted(
                n
                for n in self.graph.pred[code]
                if isinstance(n, str) and (day is None or is_valid_on(nodes[n]["division"], day))
            )
            return page_of(codes, after, first, lambda c: nodes[c]["division"])

    def stations_in(self, code: str, after: str | None = None, first: int = 100) -> Page[Station]:
        """The stations sitting in division `code` itself, by id, after the id `after`."""
        with self.lock:
            nodes = self.graph.nodes
            ids = sorted(n[1] for n in self.graph.pred[code] if isinstance(n, tuple))
            return page_of(ids, after, first, lambda i: nodes[station_node(i)]["station"])

    def search(
        self,
        name_contains: str,
        level: DivisionLevel | None = None,
        under: str | None = None,
        after: str | None = None,
        first: int = 100,
        day: date | None = None,
    ) -> Page[Division]:
        """Divisions whose name contains `name_contains`, optionally of one level, under a division,
        and valid on `day` (spec §6)."""
        with self.lock:
            if self._names is None:
                self._names = NameIndex(self.division_records())
            nodes = self.graph.nodes
            matches = sorted(
                code
                for code in self._names.codes_containing(name_contains)
                if (level is None or nodes[code]["division"].level is level)
                and (day is None or is_valid_on(nodes[code]["division"], day))
                and (under is None or self.is_within(code, under))
            )
            return page_of(matches, after, first, lambda c: self.graph.nodes[c]["division"])

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

    def covered(self, code: str, day: date) -> bool | None:
        """Whether an active station of the division's own level sits in it on `day` (None: a province)."""
        self._check_built()
        with self.lock:
            data = self.graph.nodes[code]
            level: DivisionLevel = data["division"].level
            if level not in COVERED_COLUMN:
                return None
            return self._value(data, day, COVERED_COLUMN[level]) > 0

    def coverage(self, code: str, day: date) -> list[LevelCoverage]:
        """For every level below the division, top-down: its subtree's divisions and how many are covered."""
        self._check_built()
        with self.lock:
            data = self.graph.nodes[code]
            timeline: Timeline | None = data["timeline"]
            row = timeline.row_at(day.toordinal()) if timeline is not None else None
            totals = data["totals"]
            return [
                LevelCoverage(
                    level,
                    totals[level.rank - 1] + (row[VALID_COLUMN[level]] if row else 0),
                    row[COVERED_COLUMN[level]] if row else 0,
                )
                for level in data["division"].level.levels_below
            ]

    def coverage_trend(self, code: str, level: DivisionLevel, days: Iterable[date]) -> list[LevelCoverage]:
        """The coverage of one level below the division on each of `days`: one lookup per day."""
        self._check_built()
        with self.lock:
            data = self.graph.nodes[code]
            timeline: Timeline | None = data["timeline"]
            static = data["totals"][level.rank - 1]
            column, valid = COVERED_COLUMN[level], VALID_COLUMN[level]
            if timeline is None:
                return [LevelCoverage(level, static, 0) for _ in days]
            trend = []
            for day in days:
                row = timeline.row_at(day.toordinal())
                trend.append(LevelCoverage(level, static + row[valid], row[column]))
            return trend

    def rollup(self, code: str, day: date) -> Rollup:
        """The stations active on `day` in the division's subtree: counts per level and staff sums."""
        self._check_built()
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

        A first page is found alone (`_first_uncovered`: its cost follows the page, not the answer).
        A later one comes from the whole sorted list, found once (skipping subtrees with nothing
        uncovered at that level) and kept until the next write, so walking the pages costs one search,
        not one per page.
        """
        self._check_built()
        with self.lock:
            key = (code, level, day)
            codes = self._uncovered_lists.pop(key, None)
            if codes is None:
                if after is None:
                    return self._first_uncovered(code, level, day, first)
                codes = sorted(self._uncovered_codes(code, level, day))
            self._uncovered_lists[key] = codes
            while len(self._uncovered_lists) > UNCOVERED_LISTS_KEPT:
                del self._uncovered_lists[next(iter(self._uncovered_lists))]
            nodes = self._node
            return page_of(codes, after, first, lambda c: nodes[c]["division"])

    def _first_uncovered(self, code: str, level: DivisionLevel, day: date, first: int) -> Page[Division]:
        """The first `first` of `uncovered` (callers hold `lock`), by a best-first walk down that stops
        there: a heap holds the level's divisions keyed by their codes and the divisions above them
        keyed by the lowest of the level's codes below them (`_lowest_code`), so the level's divisions
        come off it in code order. Subtrees with nothing uncovered are skipped, as in
        `_uncovered_codes`; the total is the count of uncovered ones at `code` itself."""
        counters = self._uncovered_counters(code, level, day)
        if counters is None:
            return Page([], 0, False)
        nodes, pred = self._node, self._pred
        total = _uncovered_count(nodes[code], *counters)
        lowest = self._lowest_code(code, level) if total else None
        heap = [] if lowest is None else [(lowest, code)]
        found: list[Division] = []
        while heap and len(found) < first:
            _, current = heappop(heap)
            division: Division = nodes[current]["division"]
            if division.level is level:
                found.append(division)
                continue
            for child in pred[current]:
                if child.__class__ is str and _uncovered_count(nodes[child], *counters):
                    lowest = self._lowest_code(child, level)
                    if lowest is not None:
                        heappush(heap, (lowest, child))
        return Page(found, total, len(found) < total)

    def _lowest_code(self, code: str, level: DivisionLevel) -> str | None:
        """The lowest code among the level-`level` divisions at or below `code`, None when there are
        none: a bound on what a walk below it finds. Kept for the divisions above the level until the
        divisions change (no more than the divisions above villages: tens of thousands)."""
        division: Division = self._node[code]["division"]
        if division.level is level:
            return code
        if division.level.rank > level.rank:
            return None
        kept = self._lowest_codes.setdefault(level, {})
        if code not in kept:
            below = (self._lowest_code(child, level) for child in self._pred[code] if child.__class__ is str)
            kept[code] = min((c for c in below if c is not None), default=None)
        return kept[code]

    def _uncovered_codes(self, code: str, level: DivisionLevel, day: date) -> list[str]:
        """The uncovered level-`level` divisions at or below `code`, unordered: a walk down that skips
        every subtree where the level's total equals its covered count on the day (both read straight
        from the node dicts: this walk is most of a gap list's cost)."""
        counters = self._uncovered_counters(code, level, day)
        if counters is None:
            return []
        nodes = self._node
        found: list[str] = []

        def look(current: str) -> bool:
            """Note `current` if it is an uncovered division of the level valid on the day; go below
            it only while its subtree has uncovered ones of the level that day."""
            data = nodes[current]
            if not _uncovered_count(data, *counters):
                return False
            if data["division"].level is level:
                found.append(current)
                return False
            return True

        walk_down(self._pred, [code], look)
        return found

    def _uncovered_counters(
        self, code: str, level: DivisionLevel, day: date
    ) -> tuple[int, int, int, int] | None:
        """What `_uncovered_count` reads for level `level` on `day`: (the level's static count slot,
        the day's ordinal, its covered column, its valid column); None when no division of the level
        can be uncovered under `code` (a level without stations, or one above `code`)."""
        column = COVERED_COLUMN.get(level)
        if column is None or level.rank < self._node[code]["division"].level.rank:
            return None
        return level.rank - 1, day.toordinal(), column, VALID_COLUMN[level]

    def _value(self, data: Attributes, day: date, column: int) -> int:
        timeline: Timeline | None = data["timeline"]
        return timeline.value_at(day.toordinal(), column) if timeline is not None else 0

    def _ancestor_codes(self, code: str) -> list[str]:
        """The codes above `code`, nearest first (the domain's one walk up, over the graph)."""
        return codes_above(code, self.division)


class NameIndex:
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


def _uncovered_count(data: Attributes, slot: int, ordinal: int, column: int, valid: int) -> int:
    """How many divisions of a level are uncovered on the day `ordinal` at or below the division whose
    node attributes are `data`: those of the level valid that day (its static count, `slot` = its
    rank - 1, plus its `valid` counter) less those covered (its `column` counter)."""
    totals: Sequence[int] = data["totals"]
    timeline: Timeline | None = data["timeline"]
    if timeline is None:
        return totals[slot]
    covered, added = timeline.pair_at(ordinal, column, valid)
    return totals[slot] + added - covered
