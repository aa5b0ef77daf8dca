"""Building the engine's network from records: the rules checked in bulk, records that break them left
out and listed, then every aggregate computed bottom-up."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from datetime import date

from graph_service.domain.levels import DIVISION_LEVELS, STATION_LEVELS, DivisionLevel
from graph_service.domain.model import Division, Station
from graph_service.domain.validation import (
    MAX_SUM,
    all_codes_valid,
    all_names_valid,
    all_references_valid,
    division_problems,
    parent_problem,
    placement_problems,
    station_field_problems,
)
from graph_service.engine.checks import (
    CODE,
    NAME,
    PARENT_CODE,
    SUM_COLUMNS,
    fields_surely_valid,
    first_excess,
    quietly,
    status_problems,
    stored_problems,
)
from graph_service.engine.daily import (
    add_full,
    added_totals,
    coverage_changes,
    merge_daily,
    placed_deltas,
    station_deltas,
    station_spans,
    validity_deltas,
)
from graph_service.engine.graphs import (
    UNIT_TOTALS,
    ZERO_TOTALS,
    add_edges_in_bulk,
    add_nodes_in_bulk,
    collector_paused,
    note_reporting,
    note_visits,
    static_totals,
    sum_totals,
    walk_down,
)
from graph_service.engine.state import EngineState
from graph_service.engine.timeline import COVERED_COLUMN, WIDTH, Delta, SharedTimeline, Timeline
from graph_service.engine.values import PartialNetwork, StationNode, StoredProblem, station_node

Days = tuple[tuple[int, Delta], ...]
"""Per-day (column, change) deltas, as a key."""


class Building(EngineState):
    """Building the network and its aggregates from the records taken (`NetworkEngine.load`)."""

    def _build(self, aggregates: bool = True, bound: list[int] | None = None) -> None:
        """Keep the loaded records that meet the rules (listing the others in `problems`), add them
        in bulk, then compute every aggregate bottom-up. Unless `aggregates`: leave the aggregates for
        later (`build_aggregates`) when the stations' own totals show that no roll-up can pass
        `MAX_SUM` (then no stored division breaks that rule, which only they can tell otherwise).
        `bound`: the records are part of the network, whose totals reach at most that; never build
        the aggregates of a part."""
        graph = self.graph
        divisions, self._loading_divisions = self._loading_divisions, []
        stations, self._loading_stations = self._loading_stations, []
        by_rank = self._valid_divisions(divisions)
        del divisions
        unit = UNIT_TOTALS
        add_nodes_in_bulk(
            graph,
            {
                d.code: {
                    "division": d,
                    "totals": unit[d.level] if d.valid_from is None else static_totals(d),
                    "timeline": None,
                }
                for group in by_rank
                for d in group
            },
        )
        add_edges_in_bulk(
            graph,
            # Every division below a province has a parent: the test only tells the type checker so.
            [(d.code, d.parent_code) for group in by_rank[1:] for d in group if d.parent_code is not None],
        )
        stations = self._valid_stations(stations)
        if bound is not None:
            self._root_peaks, self._peaks_exact = bound, False
            self._unbuilt, self.is_part = (by_rank, stations), True
            return
        if not aggregates:
            bound = added_totals(stations)  # no roll-up total can be larger
            if all(bound[column] <= MAX_SUM for column in SUM_COLUMNS):
                self._root_peaks, self._peaks_exact = bound, False
                self._unbuilt = by_rank, stations
                return
        self._build_aggregates(by_rank, stations)
        self.problems.extend(self._sums_over_limit())

    def build_aggregates(self) -> None:
        """Build the aggregates a load without them left for later (`NetworkEngine.load`); nothing
        when they are built; `PartialNetwork` for an engine holding part of the network. Never
        called while holding `lock`."""
        if self._unbuilt is None:
            return
        if self.is_part:
            raise PartialNetwork("the aggregates need the whole network: this engine holds part of it")
        with self.updating, self.lock:
            if self._unbuilt is None:
                return
            (by_rank, stations), self._unbuilt = self._unbuilt, None
            with collector_paused():
                self._build_aggregates(by_rank, stations)

    def _valid_divisions(self, divisions: list[Division]) -> list[list[Division]]:
        """The divisions that meet the rules and hang under a kept division of a higher level, by
        rank; every other one becomes a problem."""
        problems = self.problems
        fast = quietly(
            lambda: (
                all_codes_valid(map(CODE, divisions))
                and all_names_valid(map(NAME, divisions))
                and all_references_valid(filter(None, map(PARENT_CODE, divisions)))
            )
        )
        by_rank: list[list[Division]] = [[] for _ in DivisionLevel]
        for division in divisions:
            if not fast and (found := division_problems(division)):
                problems.extend(stored_problems("division", division.code, found))
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
        fast = fields_surely_valid(stations)
        by_rank: list[dict[str, tuple[int, Station]]] = [{} for _ in STATION_LEVELS]
        rejected: dict[str, int] = {}
        for index, station in enumerate(stations):
            found = station_field_problems(station, index) if not fast else status_problems(station, index)
            if found:
                problems.extend(stored_problems("station", station.id, found, station.version))
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
            add_nodes_in_bulk(self.graph, {station_node(s.id): {"station": s} for s in records})
            links: list[tuple[str | StationNode, str | StationNode]] = []
            for station in records:
                links.append((station_node(station.id), station.division_code))
                if station.parent_id is not None:
                    links.append((station_node(station.id), station_node(station.parent_id)))
            add_edges_in_bulk(self.graph, links)
            for station in records:
                if station.reporting_lines:
                    note_reporting(self._reporters, station, +1)
            kept.extend(records)
        return kept

    def _sums_over_limit(self) -> list[StoredProblem]:
        """A problem for each division whose roll-up reaches past `MAX_SUM` on some day (only
        possible in a store written by hand or by an older version): the sums are exact, but
        GraphQL cannot answer them. Looks below a division only where its total is too large."""
        found: list[StoredProblem] = []
        nodes = self._node

        def look(code: str) -> bool:
            """Note the first excess of `code`'s roll-up, if any: only then are its children looked at."""
            timeline: Timeline | None = nodes[code]["timeline"]
            if timeline is None or all(
                max(timeline.rows[c::WIDTH], default=0) <= MAX_SUM for c in SUM_COLUMNS
            ):
                return False
            excess = first_excess(timeline)
            if excess is None:
                return False
            column, day, value = excess
            when = date.fromordinal(day)
            found.append(
                StoredProblem(
                    "division",
                    code,
                    SUM_COLUMNS[column],
                    f"the roll-up of {SUM_COLUMNS[column]} here reaches {value:,} on {when}, "
                    f"more than {MAX_SUM:,}, the largest a GraphQL Int holds",
                )
            )
            return True

        roots = [
            code
            for code, data in nodes.items()
            if isinstance(code, str) and data["division"].parent_code is None
        ]
        walk_down(self._pred, roots, look)
        return found

    def _build_aggregates(self, by_rank: list[list[Division]], stations: list[Station]) -> None:
        """Every division's totals and timeline, bottom-up, one level at a time."""
        nodes = self._node
        for rank in reversed(range(1, len(by_rank))):
            self._add_totals_to_parents(by_rank[rank], rank)
        # Per level: division code -> day -> full-width counter changes of its subtree so far.
        daily: list[dict[str, dict[int, list[int]]]] = [defaultdict(dict) for _ in by_rank]
        linked = bool(self._predecessors)
        for station in stations:
            by_code = daily[station.level.division_level.rank]
            spans = self._counted_spans(station) if linked else None
            if not station.placements and (spans is None or spans == station_spans(station)):
                changes = by_code[station.division_code]
                for day, delta in station_deltas(station, +1):
                    add_full(changes, day, delta)
                continue
            spans = spans if spans is not None else station_spans(station)
            nodes[station_node(station.id)]["spans"] = spans
            note_visits(nodes, station, spans, +1)
            for code, deltas in placed_deltas(station, +1, spans):
                if code in nodes:
                    for day, delta in deltas:
                        add_full(by_code[code], day, delta)
        for code, delta_by_day in self._all_coverage_changes(stations).items():
            level = nodes[code]["division"].level
            for day, change in delta_by_day.items():
                add_full(daily[level.rank][code], day, ((COVERED_COLUMN[level], change),))
        self._add_validity(by_rank, daily)
        for rank in reversed(range(len(by_rank))):
            for code, changes in daily[rank].items():
                if not changes:  # only stations that never opened
                    continue
                data = nodes[code]
                data["timeline"] = Timeline.from_daily_changes(changes)
                parent_code = data["division"].parent_code
                if parent_code is not None:
                    parent_rank = nodes[parent_code]["division"].level.rank
                    merge_daily(daily[parent_rank][parent_code], changes)
            daily[rank].clear()

    def _add_validity(
        self, by_rank: list[list[Division]], daily: list[dict[str, dict[int, list[int]]]]
    ) -> None:
        """Add each division's validity days (`validity_deltas`) to the per-day changes `daily`
        (division code -> day -> full-width changes, by rank), bottom-up.

        A division with nothing else in its subtree's changes (the common case after an edition: a
        village with only its `valid_from`) gets no per-day map of its own: it holds a
        `SharedTimeline`, one for every division with the same validity days at its level, and its
        days go straight into its parent's map, counted once per parent and validity (what merging
        its own map would have done). A division with a map makes sure its parent has one (the
        final pass merges into it)."""
        nodes = self._node
        # (validity, rank) -> its kind's index in `kinds`: the validity days and their shared timeline.
        known: dict[tuple[date | None, date | None, int], int] = {}
        kinds: list[tuple[Days, SharedTimeline]] = []
        for rank in reversed(range(len(by_rank))):
            own = daily[rank]
            lone: Counter[tuple[str, int]] = Counter()  # (parent code, kind) -> divisions
            for division in by_rank[rank]:
                if division.valid_from is None and division.valid_to is None:
                    continue
                key = (division.valid_from, division.valid_to, rank)
                kind = known.get(key)
                if kind is None:
                    deltas = tuple(validity_deltas(division, +1))
                    kind = known[key] = len(kinds)
                    kinds.append((deltas, SharedTimeline.from_daily_changes(_add_days({}, deltas))))
                deltas, timeline = kinds[kind]
                code, parent_code = division.code, division.parent_code
                if not deltas:
                    continue
                if code not in own and parent_code is not None:
                    nodes[code]["timeline"] = timeline
                    lone[parent_code, kind] += 1
                else:
                    _add_days(own[code], deltas)
            for code in own:
                parent_code = nodes[code]["division"].parent_code
                if parent_code is not None:
                    daily[nodes[parent_code]["division"].level.rank].setdefault(parent_code, {})
            for (parent_code, kind), count in lone.items():
                scaled = [(day, [(c, n * count) for c, n in delta]) for day, delta in kinds[kind][0]]
                _add_days(daily[nodes[parent_code]["division"].level.rank][parent_code], scaled)

    def _add_totals_to_parents(self, divisions: list[Division], rank: int) -> None:
        """Add the (complete) totals of `divisions`, all of level `rank`, to their parents."""
        nodes = self._node
        lone = UNIT_TOTALS[DIVISION_LEVELS[rank]]
        lone_children: Counter[str] = Counter()
        for division in divisions:
            totals = nodes[division.code]["totals"]
            parent_code = division.parent_code
            assert parent_code is not None, "a division below a province has a parent"
            if totals is lone:  # the common case, a division with nothing below it: just count it
                lone_children[parent_code] += 1
            elif totals is not ZERO_TOTALS:  # (a lone division valid from a day adds nothing here)
                parent = nodes[parent_code]
                parent["totals"] = sum_totals(parent["totals"], totals)
        column = rank - 1
        for parent_code, count in lone_children.items():
            parent = nodes[parent_code]
            totals = parent["totals"]
            parent["totals"] = (*totals[:column], totals[column] + count, *totals[column + 1 :])

    def _all_coverage_changes(self, stations: Iterable[Station]) -> dict[str, Counter[int]]:
        by_division: dict[str, list[Station]] = defaultdict(list)
        nodes = self._node
        for station in stations:
            if station.opened_on is not None:
                for code in {code for code, _, _ in self._spans_of(station)}:
                    if code in nodes:
                        by_division[code].append(station)
        return {
            code: coverage_changes(members, nodes[code]["division"], self._spans_of)
            for code, members in by_division.items()
        }


def _add_days(changes: dict[int, list[int]], deltas: Iterable[tuple[int, Delta]]) -> dict[int, list[int]]:
    """Add per-day (column, change) deltas to full-width per-day `changes`; returns `changes`."""
    for day, delta in deltas:
        add_full(changes, day, delta)
    return changes
