"""Checking a write before it is made: would it take a roll-up total past `MAX_SUM` on some day?"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence

from graph_service.domain.levels import DivisionLevel
from graph_service.domain.model import Division, Station
from graph_service.domain.validation import MAX_SUM, codes_above
from graph_service.engine.checks import SUM_COLUMNS, excesses
from graph_service.engine.daily import add_full, added_totals, merge_daily, station_deltas
from graph_service.engine.state import EngineState
from graph_service.engine.timeline import WIDTH, Timeline
from graph_service.engine.values import SumExcess


class Limits(EngineState):
    """The sum checks of a write (spec §7), from the aggregates as they stand."""

    def sums_over_limit(self, old: Iterable[Station], new: Iterable[Station]) -> list[SumExcess]:
        """Where replacing the stations `old` by `new` (stored stations by their new versions, None
        for none) would take a roll-up total (station counts or staff sums) of some division past
        `MAX_SUM` on some day. Totals already past it are reported only where the write adds to them.

        Costs the stations' own changes, merged up the tree level by level, plus one walk over the
        timeline of each division they reach, from the first day they change.
        """
        old, new = list(old), list(new)
        if self._unbuilt is not None:
            with self.lock:
                if self._surely_within_limit(new):
                    return []
            self.build_aggregates()
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
                    for day, delta in station_deltas(station, sign):
                        add_full(changes, day, delta)
            found: list[SumExcess] = []
            for rank in reversed(range(len(by_rank))):
                for code, changes in by_rank[rank].items():
                    found.extend(excesses(code, nodes[code]["timeline"], changes))
                    parent_code = nodes[code]["division"].parent_code
                    if parent_code is not None:
                        parent_rank = nodes[parent_code]["division"].level.rank
                        merge_daily(by_rank[parent_rank][parent_code], changes)
            return found

    def _surely_within_limit(self, new: Sequence[Station]) -> bool:
        """A quick bound: no roll-up total can pass `MAX_SUM` when the largest total any root reaches
        on any day, plus everything `new` adds, stays within it (totals below a root never exceed the
        root's, since counts and staff are never negative). The roots' peaks are kept as an upper
        bound that writes raise (`apply`), and measured again only when that bound is not enough."""
        added = added_totals(new)
        if self._unbuilt is not None:  # the peaks are the bound the load left, nothing to measure
            assert self._root_peaks is not None
            return all(self._root_peaks[c] + added[c] <= MAX_SUM for c in SUM_COLUMNS)
        for exact in (False, True):
            if self._root_peaks is None or (exact and not self._peaks_exact):
                self._root_peaks, self._peaks_exact = self._measure_root_peaks(), True
            if all(self._root_peaks[c] + added[c] <= MAX_SUM for c in SUM_COLUMNS):
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
                for column in SUM_COLUMNS:
                    peaks[column] = max(peaks[column], max(timeline.rows[column::WIDTH]))
        return peaks

    def sums_over_limit_after_moves(
        self, moves: Mapping[str, str], find: Callable[[str], Division | None]
    ) -> list[SumExcess]:
        """Where moving divisions (code -> new parent code, the new parents looked up with `find`, which
        knows the divisions about to be written) would take a roll-up total of their new ancestors
        past `MAX_SUM`: each moved subtree's totals leave its old ancestors and join its new ones."""
        self.build_aggregates()
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
                        add_full(
                            changes_of[ancestor], day, [(column, sign * n) for column, n in enumerate(row)]
                        )
            found: list[SumExcess] = []
            for code, changes in changes_of.items():
                data = nodes.get(code)
                found.extend(excesses(code, data["timeline"] if data is not None else None, changes))
            return found
