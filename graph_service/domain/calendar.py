"""Regular series of days (spec §8's `coverageTrend`): every day, week, month, quarter or year."""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from datetime import date, timedelta
from enum import StrEnum


class Interval(StrEnum):
    """The step between two points of a series."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


_MONTHS = {Interval.MONTH: 1, Interval.QUARTER: 3, Interval.YEAR: 12}


def series(start: date, end: date, every: Interval) -> Iterator[date]:
    """The days `start`, `start` + one step, ... up to `end` (included when it falls on a step).

    Month, quarter and year steps keep `start`'s day of the month, clamped to the month's length;
    a `start` on the last day of its month steps to the last day of each later month, so a series
    from 2019-01-31 runs 2019-02-28, 2019-03-31, ...
    """
    if every is Interval.DAY or every is Interval.WEEK:
        step = timedelta(days=1 if every is Interval.DAY else 7)
        day = start
        while day <= end:
            yield day
            day += step
        return
    months = _MONTHS[every]
    month_end = start.day == calendar.monthrange(start.year, start.month)[1]
    index = 0
    while True:
        day = _add_months(start, months * index, month_end)
        if day > end:
            return
        yield day
        index += 1


def count(start: date, end: date, every: Interval, limit: int) -> int:
    """How many days `series(start, end, every)` holds, counting no further than `limit` + 1."""
    total = 0
    for _ in series(start, end, every):
        total += 1
        if total > limit:
            break
    return total


def _add_months(start: date, months: int, month_end: bool) -> date:
    """`start` moved by `months` months: the same day of the month, or the month's last day when
    `month_end` (or when the month is too short)."""
    year, month0 = divmod(start.year * 12 + start.month - 1 + months, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, last if month_end else min(start.day, last))
