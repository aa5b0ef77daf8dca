"""A step function of counters over days: the aggregate a division keeps for its whole subtree.

Each `Timeline` holds, for the distinct days on which something in the subtree changed, the running
totals of every counter (`COLUMNS`) from that day on. Asking for a day is a binary search; adding an
event rewrites only the rows on and after its day, so events at or near today are cheap however large
the history is.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from operator import add

from graph_service.domain.levels import COVERAGE_LEVELS, STATION_LEVELS, DivisionLevel, StationLevel

# Counter columns: stations active per level, their staff sums, and divisions covered per level.
STATION_COLUMN: dict[StationLevel, int] = {level: index for index, level in enumerate(STATION_LEVELS)}
STAFF, CERTIFIED_STAFF, VOLUNTEERS = 4, 5, 6
COVERED_COLUMN: dict[DivisionLevel, int] = {level: 7 + index for index, level in enumerate(COVERAGE_LEVELS)}
WIDTH = 7 + len(COVERAGE_LEVELS)
ZERO_ROW: tuple[int, ...] = (0,) * WIDTH

# One change to the counters: (column, delta) pairs.
Delta = Sequence[tuple[int, int]]


class Timeline:
    """Running totals of `WIDTH` counters as a step function of the day (a proleptic ordinal)."""

    __slots__ = ("days", "rows")

    def __init__(self) -> None:
        self.days = array("i")
        self.rows = array("i")

    @classmethod
    def from_daily_changes(cls, changes: Mapping[int, Sequence[int]]) -> Timeline:
        """Build from full-width per-day changes (day → WIDTH deltas), in O(days · WIDTH)."""
        timeline = cls()
        days = sorted(changes)
        timeline.days = array("i", days)
        rows = timeline.rows = array("i", changes[days[0]]) if days else array("i")
        for day in days[1:]:
            rows.extend(map(add, rows[-WIDTH:], changes[day]))
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

    def add(self, day: int, delta: Delta) -> None:
        """Apply `delta` from `day` on; costs O(log n) plus the rows on or after `day`."""
        days, rows = self.days, self.rows
        index = bisect_left(days, day)
        if index == len(days) or days[index] != day:
            days.insert(index, day)
            start = index * WIDTH
            rows[start:start] = rows[start - WIDTH : start] if index else array("i", ZERO_ROW)
        end = len(rows)
        for column, change in delta:
            if change:
                for position in range(index * WIDTH + column, end, WIDTH):
                    rows[position] += change

    def daily_changes(self) -> Iterable[tuple[int, list[int]]]:
        """The per-day changes that make up this timeline (the inverse of `from_daily_changes`)."""
        previous = ZERO_ROW
        for index, day in enumerate(self.days):
            row = self.rows[index * WIDTH : (index + 1) * WIDTH]
            yield day, [now - before for now, before in zip(row, previous, strict=True)]
            previous = row
