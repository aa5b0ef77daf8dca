"""Per-day counter changes: what a station brings to a division's timeline, when a division is
covered, and a timeline plus changes (the merge a bulk catch-up makes per division)."""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from itertools import repeat
from operator import add

from graph_service.domain.model import Division, Station
from graph_service.domain.validity import Find, valid_predecessor
from graph_service.engine.timeline import (
    CERTIFIED_STAFF,
    STAFF,
    STATION_COLUMN,
    VALID_COLUMN,
    VOLUNTEERS,
    WIDTH,
    ZERO_ROW,
    Delta,
    Rows,
    Timeline,
)


def station_deltas(station: Station, sign: int) -> list[tuple[int, Delta]]:
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


OPEN_ENDED = date.max.toordinal() + 1
"""The day after every date: the end of a span that never ends."""


def station_spans(station: Station) -> list[tuple[str, int, int]]:
    """(division code, first day, day after the last) of each span of days on which `station` was
    active and sat in that division (spec §6: its placement history cut at each move), in order; the
    last day is `OPEN_ENDED` for a span that has not ended."""
    if station.opened_on is None:
        return []
    opened = station.opened_on.toordinal()
    closed = station.closed_on.toordinal() if station.closed_on is not None else OPEN_ENDED
    if not station.placements:
        return [(station.division_code, opened, closed)] if opened < closed else []
    spans = []
    for placement in station.placements:
        start = opened if placement.from_ is None else max(opened, placement.from_.toordinal())
        end = closed if placement.to is None else min(closed, placement.to.toordinal())
        if start < end:
            spans.append((placement.division_code, start, end))
    return spans


Span = tuple[str, int, int]
"""(division code, first day, day after the last): a station counts in that division on those days."""


def counted_spans(station: Station, find: Find, predecessors: Mapping[str, Sequence[str]]) -> list[Span]:
    """The spans of days on which `station` was active, each with the division it counts in (spec
    §6): where it sat (`station_spans`), and on days before that division's `valid_from`, its
    predecessor valid that day (`valid_predecessor`: successor links followed backwards, of several
    the lowest code). With none, it stays in its own division, which covers nothing before it is
    valid but is rolled up by its ancestors."""
    spans = station_spans(station)
    if not predecessors:
        return spans
    counted: list[Span] = []
    for code, start, end in spans:
        division = find(code)
        begins = division.valid_from.toordinal() if division and division.valid_from else None
        if begins is None or start >= begins or code not in predecessors:
            counted.append((code, start, end))
            continue
        early_end = min(end, begins)
        cuts = sorted(
            {start, early_end} | {d for d in _bounds_back(code, find, predecessors) if start < d < early_end}
        )
        for first, after in zip(cuts, cuts[1:], strict=False):
            there = valid_predecessor(code, date.fromordinal(first), find, predecessors) or code
            if counted and counted[-1][0] == there and counted[-1][2] == first:
                counted[-1] = (there, counted[-1][1], after)
            else:
                counted.append((there, first, after))
        if end > begins:
            counted.append((code, begins, end))
    return counted


def _bounds_back(code: str, find: Find, predecessors: Mapping[str, Sequence[str]]) -> set[int]:
    """The days on which a division reached from `code` by successor links backwards becomes or
    stops being valid: the only days on which `valid_predecessor` of `code` can change."""
    days: set[int] = set()
    seen = {code}
    step = list(predecessors.get(code, ()))
    while step:
        following: list[str] = []
        for other in step:
            if other in seen:
                continue
            seen.add(other)
            found = find(other)
            if found is not None:
                days.update(d.toordinal() for d in (found.valid_from, found.valid_to) if d is not None)
            following.extend(predecessors.get(other, ()))
        step = following
    return days


def placed_deltas(
    station: Station, sign: int, spans: Sequence[Span] | None = None
) -> list[tuple[str, list[tuple[int, Delta]]]]:
    """What a station brings (sign +1) or takes away (-1) to the timelines of each division it
    counts in: (division code, per-day changes), one entry per span (`spans`, default the station's
    own `station_spans`)."""
    if spans is None and not station.placements:
        return [(station.division_code, station_deltas(station, sign))] if station.opened_on else []
    counts = (
        (STATION_COLUMN[station.level], 1),
        (STAFF, station.staff),
        (CERTIFIED_STAFF, station.certified_staff),
        (VOLUNTEERS, station.volunteers),
    )
    placed: list[tuple[str, list[tuple[int, Delta]]]] = []
    for code, start, end in station_spans(station) if spans is None else spans:
        deltas: list[tuple[int, Delta]] = [(start, [(c, sign * n) for c, n in counts])]
        if end != OPEN_ENDED:
            deltas.append((end, [(c, -sign * n) for c, n in counts]))
        placed.append((code, deltas))
    return placed


def spans_in(spans: Iterable[Sequence[Span]], code: str) -> list[tuple[int, int]]:
    """The days (first, after the last) of the `spans` (of several stations) counted in `code`."""
    return [(start, end) for station_spans in spans for at, start, end in station_spans if at == code]


def add_station_days(daily: dict[int, list[int]], station: Station, sign: int) -> None:
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


def validity_deltas(division: Division, sign: int) -> list[tuple[int, Delta]]:
    """The per-day changes a division's validity brings (sign +1) to its own level's count of
    divisions, or takes away (-1): +1 on its `valid_from`, -1 on its `valid_to` (spec §6). A division
    valid from the start is counted in the `totals` instead (`static_totals`)."""
    column = VALID_COLUMN.get(division.level)
    if column is None:
        return []
    deltas: list[tuple[int, Delta]] = []
    if division.valid_from is not None:
        deltas.append((division.valid_from.toordinal(), ((column, sign),)))
    if division.valid_to is not None:
        deltas.append((division.valid_to.toordinal(), ((column, -sign),)))
    return deltas


def coverage_changes(
    stations: Iterable[Station], within: Division, spans: Callable[[Station], Sequence[Span]] | None = None
) -> Counter[int]:
    """+1 on each day division `within` becomes covered by these stations (those that ever counted
    in it), -1 on each day it stops being: only while they counted in it (spec §6: `spans`, default
    `station_spans`: a moved station covers its old division until the move, its new one from it)
    and only on the days it is valid."""
    open_ended = OPEN_ENDED
    low, high = 0, open_ended
    if within.valid_from is not None:
        low = within.valid_from.toordinal()
    if within.valid_to is not None:
        high = within.valid_to.toordinal()
    intervals = sorted(spans_in(map(spans or station_spans, stations), within.code))
    merged: list[list[int]] = []
    for opened, closed in intervals:
        if merged and opened <= merged[-1][1]:  # overlapping or touching spans: no gap in coverage
            merged[-1][1] = max(merged[-1][1], closed)
        else:
            merged.append([opened, closed])
    changes: Counter[int] = Counter()
    for start, end in merged:
        opened, closed = max(start, low), min(end, high)
        if opened >= closed:
            continue
        changes[opened] += 1
        if closed != open_ended:
            changes[closed] -= 1
    return changes


def add_full(daily: dict[int, list[int]], day: int, delta: Delta) -> None:
    row = daily.get(day)
    if row is None:
        row = daily[day] = [0] * WIDTH
    for column, change in delta:
        row[column] += change


def merge_daily(into: dict[int, list[int]], changes: dict[int, list[int]]) -> None:
    """Add per-day full-width changes into another such map (rows are taken over, not copied)."""
    for day, row in changes.items():
        existing = into.get(day)
        into[day] = list(row) if existing is None else list(map(add, existing, row))


def with_changes(timeline: Timeline | None, changes: dict[int, list[int]]) -> Timeline | None:
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
        merge_daily(combined, changes)
        return Timeline.from_daily_changes(combined)


def _merged(timeline: Timeline, changes: dict[int, list[int]]) -> Timeline:
    """`with_changes` for a timeline with rows, in the kind of rows it has. Walks the change days,
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


def added_totals(stations: Iterable[Station]) -> list[int]:
    """What `stations` add at most to any roll-up total (full width; only the roll-up columns set)."""
    added = [0] * WIDTH
    for station in stations:
        if station.opened_on is not None:
            added[STATION_COLUMN[station.level]] += 1
            added[STAFF] += station.staff
            added[CERTIFIED_STAFF] += station.certified_staff
            added[VOLUNTEERS] += station.volunteers
    return added


def totals_bound(stations: int, staff: int, certified_staff: int, volunteers: int) -> list[int]:
    """The most any roll-up total can reach in a network of `stations` stations whose staff,
    certified staff and volunteers add up to those (full width; only the roll-up columns set)."""
    bound = [0] * WIDTH
    for column in STATION_COLUMN.values():
        bound[column] = stations
    bound[STAFF], bound[CERTIFIED_STAFF], bound[VOLUNTEERS] = staff, certified_staff, volunteers
    return bound
