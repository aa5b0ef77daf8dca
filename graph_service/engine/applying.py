"""Keeping the engine current: checking and applying written records (in place for a few, in bulk
for many: see `bulk`), and swapping in a network built beside it."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Sequence

from graph_service.domain.changes import Changes
from graph_service.domain.model import Division, Station
from graph_service.domain.validation import division_problems, station_field_problems
from graph_service.engine.checks import fields_surely_valid, status_problems
from graph_service.engine.daily import (
    added_totals,
    coverage_changes,
    placed_deltas,
    station_spans,
    validity_deltas,
)
from graph_service.engine.graphs import (
    collector_paused,
    division_attributes,
    note_reporting,
    note_visits,
    static_totals,
    sum_totals,
)
from graph_service.engine.state import EngineState
from graph_service.engine.timeline import COVERED_COLUMN, Delta, SharedTimeline, Timeline
from graph_service.engine.values import Attributes, station_node

SMALL_CHANGE = 64
"""Up to this many stations a catch-up updates the aggregates in place, one station at a time (cheap
for a few); more are prepared in bulk beside the live aggregates and swapped in (see `apply`)."""


class Applying(EngineState):
    """Applying `Changes` to the network."""

    @property
    def stale(self) -> bool:
        """True when applying a change failed half way and no rebuild has replaced the network since:
        the network may then hold part of a change, so the caller must rebuild (`replace_with`)."""
        return self._stale

    def can_apply(self, changes: Changes) -> bool:
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
        fast = fields_surely_valid(changes.stations)
        for station in changes.stations:
            if ("station", station.id) in left_out:
                return False
            if (status_problems if fast else station_field_problems)(station, 0):
                return False
            if station.division_code not in codes and self.division(station.division_code) is None:
                return False
            parent_id = station.parent_id
            if parent_id is not None and parent_id not in ids and self.station(parent_id) is None:
                return False
        return True

    def replace_with(self, other: EngineState) -> None:
        """Swap in another engine's network (built beside this one), at once for readers; the
        network is no longer stale."""
        with self.updating, self.lock:
            self._stale = False
            self.graph, self.version, self._names = other.graph, other.version, None
            self.problems, self._root_peaks, self._roots = other.problems, None, None
            self._unbuilt, self.is_part = other._unbuilt, other.is_part
            self._uncovered_lists.clear()
            self._lowest_codes.clear()

    def apply(self, changes: Changes) -> None:
        """Apply written records (the next data version's, checked with `can_apply`): update the
        graph and only the aggregates they affect.

        A few stations (up to `SMALL_CHANGE`) and any division change are applied in place under
        `lock`, one record at a time. More stations are prepared in bulk without `lock`, as a build
        does (their per-day changes summed bottom-up, each affected division's timeline rebuilt once
        from its old one plus those changes), and swapped in under `lock` in one short step; readers
        see the old version or the new one, never part of it. Should applying fail part way, the
        error is raised and the engine counts as `stale` until it is replaced (`replace_with`).
        """
        with self.updating:
            try:
                self._apply(changes)
            except BaseException:
                self._stale = True
                raise

    def _apply(self, changes: Changes) -> None:
        """`apply`, without the bookkeeping of a failure."""
        self.build_aggregates()
        self.catch_up_cpu.clear()
        if (
            changes.divisions
            or changes.successors
            or len(changes.stations) <= SMALL_CHANGE
            or self._any_split(changes.stations)
        ):
            with self.lock:
                self._uncovered_lists.clear()
                self._note_peaks(changes)
                if changes.divisions:
                    self._lowest_codes.clear()
                    self._apply_divisions(changes.divisions)
                if changes.successors:
                    self._set_successors(changes.successors)
                for station in changes.stations:
                    self._apply_station(station)
                if changes.divisions or changes.successors:
                    self._recount_linked()
                self.version = changes.version
            return
        with collector_paused():
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

    def _any_split(self, stations: Sequence[Station]) -> bool:
        """True when a station written, or its version held now, counts anywhere but where it sits
        (spec §6: moved, or in a predecessor before its division existed): those are applied in
        place, one at a time (the bulk path counts each where it sits now)."""
        nodes, linked = self._node, bool(self._predecessors)
        for station in stations:
            if station.placements or "spans" in nodes.get(station_node(station.id), {}):
                return True
            if linked and station.division_code in self._predecessors:
                return True
        return False

    def _note_peaks(self, changes: Changes) -> None:
        """Keep the roots' peak totals an upper bound (see `_surely_within_limit`) through a change."""
        if changes.divisions:  # a move may take a subtree's totals elsewhere: measure again
            self._roots = self._root_peaks = None
        elif self._root_peaks is not None:  # a write adds at most what its stations bring
            added = added_totals(changes.stations)
            self._root_peaks = [peak + more for peak, more in zip(self._root_peaks, added, strict=True)]
            self._peaks_exact = False

    def _apply_divisions(self, divisions: Sequence[Division]) -> None:
        graph, nodes = self.graph, self.graph.nodes
        to_attach: list[str] = []
        revalidated: list[tuple[Division, Division]] = []
        for division in divisions:
            old = self.division(division.code)
            if old is None:
                graph.add_node(division.code, **division_attributes(division))
            else:
                if old.level is not division.level:
                    raise ValueError(f"division {division.code} cannot change level")
                if old.parent_code != division.parent_code and old.parent_code is not None:
                    self._shift_subtree(division.code, -1)
                    graph.remove_edge(division.code, old.parent_code)
                nodes[division.code]["division"] = division
                if (old.valid_from, old.valid_to) != (division.valid_from, division.valid_to):
                    revalidated.append((old, division))
            if division.parent_code is not None and (old is None or old.parent_code != division.parent_code):
                to_attach.append(division.code)
        for code in to_attach:
            graph.add_edge(code, nodes[code]["division"].parent_code)
            self._shift_subtree(code, +1)
        for old, division in revalidated:
            self._revalidate(old, division)
        self._names = None

    def _revalidate(self, old: Division, new: Division) -> None:
        """Move a division's own aggregates from its old validity to its new one (spec §6), in its
        node and every node above it: its count in `totals`, its validity days, and the days it is
        covered (the same stations, clipped to the new days). O(depth) timeline updates."""
        nodes = self.graph.nodes
        static = tuple(n - o for n, o in zip(static_totals(new), static_totals(old), strict=True))
        chain = (new.code, *self._ancestor_codes(new.code))
        if any(static):
            for code in chain:
                nodes[code]["totals"] = sum_totals(nodes[code]["totals"], static)
        self._add_along_ancestry(new.code, validity_deltas(old, -1) + validity_deltas(new, +1))
        column = COVERED_COLUMN.get(new.level)
        if column is None:
            return
        here = self._sat_in(new.code)
        change = coverage_changes(here, new, self._spans_of)
        change.subtract(coverage_changes(here, old, self._spans_of))
        self._add_along_ancestry(new.code, [(day, ((column, n),)) for day, n in change.items() if n])

    def _shift_subtree(self, code: str, sign: int) -> None:
        """Add (+1) or remove (-1) the aggregates of `code`'s subtree to or from each of its ancestors."""
        nodes = self.graph.nodes
        data = nodes[code]
        moved_totals = tuple(sign * n for n in data["totals"])
        timeline: Timeline | None = data["timeline"]
        moved_days = list(timeline.daily_changes()) if timeline is not None else []
        for ancestor in self._ancestor_codes(code):
            above = nodes[ancestor]
            above["totals"] = sum_totals(above["totals"], moved_totals)
            for day, changes in moved_days:
                self._timeline_of(above).add(
                    day, [(column, sign * n) for column, n in enumerate(changes) if n]
                )

    def _apply_station(self, station: Station) -> None:
        """Put `station` (new, rewritten, or the same record counted afresh) in the graph: take away
        what its stored version brought (by the spans it was counted by), add what it brings now
        (by its `_counted_spans`), and the coverage changes of every division either counts in."""
        graph, nodes = self.graph, self.graph.nodes
        node = station_node(station.id)
        old = self.station(station.id)
        old_spans = self._spans_of(old) if old is not None else []
        spans = self._counted_spans(station)
        affected = {station.division_code, *(code for code, _, _ in spans)}
        if old is not None:
            affected |= {old.division_code, *(code for code, _, _ in old_spans)}
        affected = {code for code in affected if code in nodes}
        coverage_before = {code: self._coverage_changes_of(code) for code in affected}
        if old is not None:
            for code, deltas in placed_deltas(old, -1, old_spans):
                if code in nodes:
                    self._add_along_ancestry(code, deltas)
            note_visits(nodes, old, old_spans, -1)
            note_reporting(self._reporters, old, -1)
            graph.remove_edges_from(list(graph.out_edges(node)))
        graph.add_node(node, station=station)
        data = nodes[node]
        data.pop("spans", None)
        if station.placements or spans != station_spans(station):
            data["spans"] = spans
        graph.add_edge(node, station.division_code)
        if station.parent_id is not None:
            graph.add_edge(node, station_node(station.parent_id))
        note_visits(nodes, station, spans, +1)
        note_reporting(self._reporters, station, +1)
        for code, deltas in placed_deltas(station, +1, spans):
            if code in nodes:
                self._add_along_ancestry(code, deltas)
        for code in affected:
            change = self._coverage_changes_of(code)
            change.subtract(coverage_before[code])
            column = COVERED_COLUMN[nodes[code]["division"].level]
            self._add_along_ancestry(code, [(day, ((column, n),)) for day, n in change.items() if n])

    def _recount_linked(self) -> None:
        """Count afresh every station whose spans the divisions' validity or successor links may have
        changed (spec §6: those already split, and those sitting in a division with predecessors):
        each one whose `_counted_spans` differ from those it is counted by."""
        nodes, pred = self._node, self._pred
        candidates = {
            data["station"] for node, data in nodes.items() if node.__class__ is tuple and "spans" in data
        }
        for code in self._predecessors:
            if code in nodes:
                candidates.update(nodes[n]["station"] for n in pred[code] if n.__class__ is tuple)
        for station in sorted(candidates, key=lambda s: s.id):
            if list(self._spans_of(station)) != self._counted_spans(station):
                self._apply_station(station)

    def _coverage_changes_of(self, code: str) -> Counter[int]:
        """The coverage changes of division `code` by every station that ever counted in it."""
        return coverage_changes(self._sat_in(code), self.graph.nodes[code]["division"], self._spans_of)

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
        """A division's timeline, ready to be changed in place: a new one if it has none, a copy of
        its own if it holds a shared one (`SharedTimeline`, see `Building._build_aggregates`)."""
        timeline: Timeline | None = data["timeline"]
        if timeline is None:
            timeline = data["timeline"] = Timeline()
        elif timeline.__class__ is SharedTimeline:
            timeline = data["timeline"] = timeline.copy()
        return timeline
