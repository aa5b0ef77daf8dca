"""A step function of counters over days: the aggregate a division keeps for its whole subtree.

Each `Timeline` holds, for the distinct days on which something in the subtree changed, the running
totals of every counter (`COLUMNS`) from that day on. Asking for a day is a binary search; adding an
event rewrites only the rows on and after its day, so events at or near today are cheap however large
the history is.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, MutableSequence, Sequence
from operator import add

from graph_service.domain.levels import COVERAGE_LEVELS, STATION_LEVELS, DivisionLevel, StationLevel

# Counter columns: stations active per level, their staff sums, divisions covered per level, and the
# change in the number of divisions per level of the subtree since the start of time (spec §6: a
# division valid from a day adds 1 on that day, one valid until a day takes 1 away on it; the
# divisions valid from the start are counted in a node's `totals`).
STATION_COLUMN: dict[StationLevel, int] = {level: index for index, level in enumerate(STATION_LEVELS)}
STAFF, CERTIFIED_STAFF, VOLUNTEERS = 4, 5, 6
COVERED_COLUMN: dict[DivisionLevel, int] = {level: 7 + index for index, level in enumerate(COVERAGE_LEVELS)}
VALID_COLUMN: dict[DivisionLevel, int] = {
    level: 7 + len(COVERAGE_LEVELS) + index for index, level in enumerate(COVERAGE_LEVELS)
}
WIDTH = 7 + 2 * len(COVERAGE_LEVELS)
ZERO_ROW: tuple[int, ...] = (0,) * WIDTH

# One change to the counters: (column, delta) pairs.
Delta = Sequence[tuple[int, int]]
# A timeline's rows: a 64-bit array("q"), or a list of Python integers once a total outgrows it.
Rows = MutableSequence[int]


class Timeline:
    """Running totals of `WIDTH` counters as a step function of the day (a proleptic ordinal).

    The totals are exact at any size: they are kept in a 64-bit array, which turns into a list of
    Python integers (unbounded) the first time a total would not fit in 64 bits. Days are ordinals
    of `datetime.date` (at most 3,652,059), so they always fit in 32 bits.
    """

    __slots__ = ("days", "rows")

    def __init__(self) -> None:
        self.days = array("i")
        self.rows: Rows = array("q")

    @classmethod
    def from_daily_changes(cls, changes: Mapping[int, Sequence[int]]) -> Timeline:
        """Build from full-width per-day changes (day → WIDTH deltas), in O(days · WIDTH)."""
        timeline = cls.__new__(cls)
        days = sorted(changes)
        timeline.days = array("i", days)
        totals = changes[days[0]] if days else ()
        flat = list(totals)
        for day in days[1:]:
            totals = list(map(add, totals, changes[day]))
            flat += totals
        try:
            timeline.rows = array("q", flat)
        except OverflowError:  # a total beyond 64 bits: keep them all as Python integers
            timeline.rows = flat
        return timeline

    def __len__(self) -> int:
        return len(self.days)

    def row_at(self, day: int) -> Sequence[int]:
        """The totals of every counter on `day`: the row of the last change on or before it."""
        index = bisect_right(self.days, day)
        return self.rows[(index - 1) * WIDTH : index * WIDTH] if index else ZERO_ROW

    def value_at(self, day: int, column: int) -> int:
        """The total of one counter on `day`."""
        index = bisect_right(self.days, day)
        return self.rows[(index - 1) * WIDTH + column] if index else 0

    def pair_at(self, day: int, first: int, second: int) -> tuple[int, int]:
        """The totals of two counters on `day` (one binary search, no row copied)."""
        index = bisect_right(self.days, day)
        if not index:
            return 0, 0
        rows, start = self.rows, (index - 1) * WIDTH
        return rows[start + first], rows[start + second]

    def add(self, day: int, delta: Delta) -> None:
        """Apply `delta` from `day` on; costs O(log n) plus the rows on or after `day`."""
        days, rows = self.days, self.rows
        index = bisect_left(days, day)
        if index == len(days) or days[index] != day:
            days.insert(index, day)
            start = index * WIDTH
            rows[start:start] = rows[start - WIDTH : start] if index else _zero_row_like(rows)
        for column, change in delta:
            if change:
                self._add_to_column(index * WIDTH + column, change)

    def _add_to_column(self, start: int, change: int) -> None:
        """Add `change` to every WIDTH-th total from position `start` on, exactly."""
        rows = self.rows
        position = start
        try:
            for position in range(start, len(rows), WIDTH):
                rows[position] += change
        except OverflowError:  # beyond 64 bits: go on with Python integers (that total was not written)
            rows = self.rows = list(rows)
            for rest in range(position, len(rows), WIDTH):
                rows[rest] += change

    def totals_from(self, day: int) -> Iterable[tuple[int, Sequence[int]]]:
        """(day, totals) for `day` and for every later day on which the totals change."""
        days, rows = self.days, self.rows
        index = bisect_right(days, day)
        yield day, (rows[(index - 1) * WIDTH : index * WIDTH] if index else ZERO_ROW)
        for position in range(index, len(days)):
            yield days[position], rows[position * WIDTH : (position + 1) * WIDTH]

    def daily_changes(self) -> Iterable[tuple[int, list[int]]]:
        """The per-day changes that make up this timeline (the inverse of `from_daily_changes`)."""
        previous: Sequence[int] = ZERO_ROW
        for index, day in enumerate(self.days):
            row = self.rows[index * WIDTH : (index + 1) * WIDTH]
            yield day, [now - before for now, before in zip(row, previous, strict=True)]
            previous = row


def _zero_row_like(rows: Rows) -> Rows:
    """A row of zeros of the same kind as `rows`."""
    return array("q", ZERO_ROW) if isinstance(rows, array) else list(ZERO_ROW)
